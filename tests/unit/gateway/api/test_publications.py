import json

import boto3
import pytest

from gateway.clock import utcnow
from tests.support.aws import REGION, STAGE
from tests.unit.gateway.api.helpers import member_of, signed_up

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
PUBLISH = {
    "throttle": {"rate_limit": 2, "burst_limit": 4},
    "quota": {"limit": 100, "period": "WEEK", "offset": 1},
}


@pytest.fixture
def publisher(api, stack):
    headers, registration = member_of(api, stack, "pat@example.com", "PublishAllowed")
    return headers, registration


def _bot(api, bedrock, headers, **fields):
    bedrock.catalog()
    response = api.post(
        "/bots",
        headers=headers,
        json={
            "title": "Zorbania guide",
            "model_id": HAIKU,
            "instruction": "Answer about Zorbania.",
            "knowledge": {
                "documents": [{"name": "facts.md", "text": "The capital of Zorbania is Quuxville."}]
            },
            **fields,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["bot_id"]


def _publish(api, bedrock, headers):
    bot_id = _bot(api, bedrock, headers)
    bedrock.catalog()
    response = api.post(f"/bots/{bot_id}/publication", headers=headers, json=PUBLISH)
    assert response.status_code == 201, response.text
    return bot_id, response.json()


def _ask(api, bedrock, bot_id, key, content="What is the capital of Zorbania?", **extra):
    bedrock.catalog()
    bedrock.converse("Quuxville", 30, 1)
    return api.post(
        f"/published/bots/{bot_id}/messages", headers={"x-api-key": key}, json={"content": content, **extra}
    )


def test_publishing_creates_a_usage_plan_on_the_stage_and_a_first_key(api, bedrock, stack, publisher):
    headers, _ = publisher
    bot_id, published = _publish(api, bedrock, headers)
    assert published["throttle"] == PUBLISH["throttle"]
    assert published["quota"] == PUBLISH["quota"]
    assert published["endpoint"].endswith(f"/published/bots/{bot_id}/messages")
    key = published["key"]
    assert key["state"] == "active"
    assert len(key["api_key"]) >= 20

    apigw = boto3.client("apigateway", region_name=REGION)
    plan = apigw.get_usage_plan(usagePlanId=published["usage_plan_id"])
    assert plan["apiStages"] == [{"apiId": stack.rest_api_id, "stage": STAGE}]
    assert plan["throttle"] == {"rateLimit": 2.0, "burstLimit": 4}
    assert plan["quota"] == {"limit": 100, "period": "WEEK", "offset": 1}
    assert plan["tags"] == {"gateway-api": stack.rest_api_id, "gateway-bot": bot_id}
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=published["usage_plan_id"])["items"]
    assert [k["id"] for k in plan_keys] == [key["key_id"]]
    gateway_key = apigw.get_api_key(apiKey=key["key_id"], includeValue=True)
    assert gateway_key["value"] == key["api_key"]
    assert gateway_key["tags"] == {"gateway-api": stack.rest_api_id, "gateway-bot": bot_id}
    # Users' keys name the API too: the function's IAM policy lets it manage only keys that do.
    user_keys = [k for k in apigw.get_api_keys()["items"] if k["name"].startswith("user-")]
    assert user_keys
    assert {k["tags"]["gateway-api"] for k in user_keys} == {stack.rest_api_id}

    # Only its hash is stored.
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName="gateway-test-bots",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"BOT#{bot_id}"}},
    )["Items"]
    assert key["api_key"] not in json.dumps(items)

    again = api.post(f"/bots/{bot_id}/publication", headers=headers, json=PUBLISH)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_published")


def test_the_published_endpoint_answers_with_the_bot_and_meters_the_bot(api, bedrock, publisher):
    headers, registration = publisher
    bot_id, published = _publish(api, bedrock, headers)
    key = published["key"]["api_key"]

    first = _ask(api, bedrock, bot_id, key)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["reply"]["content"] == "Quuxville"
    assert body["reply"]["sources"] == ["facts.md"]
    params = bedrock.calls[-1][1]
    assert params["system"] == [{"text": "Answer about Zorbania."}]
    assert "The capital of Zorbania is Quuxville." in params["messages"][-1]["content"][0]["text"]

    follow_up = _ask(api, bedrock, bot_id, key, "And its bridges?", conversation_id=body["conversation_id"])
    assert follow_up.status_code == 200
    assert [m["role"] for m in bedrock.calls[-1][1]["messages"]] == ["user", "assistant", "user"]

    # Metered to the bot, not to its owner; the owner sees it on the publication.
    usage = boto3.client("dynamodb", region_name=REGION)
    owner_calls = usage.query(
        TableName="gateway-test-usage",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{registration['user_id']}"}},
    )["Items"]
    assert not [i for i in owner_calls if i["sk"]["S"].startswith("DAY#")]
    detail = api.get(f"/bots/{bot_id}/publication", headers=headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["usage"]["today"]["requests"] == 2
    assert detail.json()["usage"]["this_month"]["input_tokens"] == 60
    assert [k["key_id"] for k in detail.json()["keys"]] == [published["key"]["key_id"]]
    assert "value" not in detail.json()["keys"][0]
    today = detail.json()["usage"]["today"]
    assert today["cost_usd"] > 0
    assert today["cost_usd"] == round(today["cost_micros"] / 1_000_000, 6)  # the deprecated name, for now

    audit = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-audit")["Items"]
    calls = [i for i in audit if i["action"]["S"] == "published.bots.messages.send"]
    assert {i["user_id"]["S"] for i in calls} == {f"bot:{bot_id}"}


def test_only_the_bots_own_keys_open_its_endpoint(api, bedrock, publisher):
    headers, registration = publisher
    bot_id, published = _publish(api, bedrock, headers)
    _, other = _publish(api, bedrock, headers)
    for key in (registration["api_key"], other["key"]["api_key"], "x" * 40):
        refused = _ask(api, bedrock, bot_id, key)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "api_key_unknown")
        assert "not an API key of this published bot" in refused.json()["error"]["message"]
    missing = api.post(f"/published/bots/{bot_id}/messages", json={"content": "hi"})
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "api_key_missing")
    # A bot's key is not a user's key anywhere else.
    bot_key = {"x-api-key": published["key"]["api_key"]}
    assert api.get("/v1/models", headers=bot_key).status_code == 403
    assert api.get("/bots", headers={**headers, **bot_key}).status_code == 403
    unknown = _ask(api, bedrock, bot_id, published["key"]["api_key"], conversation_id="abc123")
    assert unknown.status_code == 404


def test_revoked_and_unpublished_keys_stop_working(api, bedrock, publisher):
    headers, _ = publisher
    bot_id, published = _publish(api, bedrock, headers)
    first = published["key"]
    added = api.post(f"/bots/{bot_id}/publication/api-keys", headers=headers)
    assert added.status_code == 201
    second = added.json()

    revoked = api.delete(f"/bots/{bot_id}/publication/api-keys/{first['key_id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    refused = _ask(api, bedrock, bot_id, first["api_key"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "api_key_revoked")
    assert (
        boto3.client("apigateway", region_name=REGION).get_api_key(apiKey=first["key_id"])["enabled"] is False
    )
    assert _ask(api, bedrock, bot_id, second["api_key"]).status_code == 200

    in_use = api.delete(f"/bots/{bot_id}", headers=headers)
    assert (in_use.status_code, in_use.json()["error"]["code"]) == (409, "bot_published")
    assert api.delete(f"/bots/{bot_id}/publication", headers=headers).status_code == 204
    assert _ask(api, bedrock, bot_id, second["api_key"]).status_code == 403
    apigw = boto3.client("apigateway", region_name=REGION)
    assert published["usage_plan_id"] not in {p["id"] for p in apigw.get_usage_plans()["items"]}
    assert second["key_id"] not in {k["id"] for k in apigw.get_api_keys()["items"]}
    gone = api.get(f"/bots/{bot_id}/publication", headers=headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "bot_not_published")
    assert api.delete(f"/bots/{bot_id}", headers=headers).status_code == 204


def test_a_published_bot_has_at_most_five_active_keys(api, bedrock, publisher):
    headers, _ = publisher
    bot_id, published = _publish(api, bedrock, headers)
    for _ in range(4):  # the first key came with the publication
        assert api.post(f"/bots/{bot_id}/publication/api-keys", headers=headers).status_code == 201
    sixth = api.post(f"/bots/{bot_id}/publication/api-keys", headers=headers)
    assert (sixth.status_code, sixth.json()["error"]["code"]) == (400, "api_key_limit")
    keys = api.get(f"/bots/{bot_id}/publication", headers=headers).json()["keys"]
    assert len(keys) == 5
    first = published["key"]["key_id"]
    assert api.delete(f"/bots/{bot_id}/publication/api-keys/{first}", headers=headers).status_code == 200
    assert api.post(f"/bots/{bot_id}/publication/api-keys", headers=headers).status_code == 201  # 5 active


def test_publishing_needs_publish_allowed_and_ownership(api, bedrock, stack, publisher):
    creator, _, _ = signed_up(api)
    bot_id = _bot(api, bedrock, creator, shared_scope="all")
    refused = api.post(f"/bots/{bot_id}/publication", headers=creator, json=PUBLISH)
    assert refused.status_code == 403
    other_publisher, _ = publisher
    not_owner = api.post(f"/bots/{bot_id}/publication", headers=other_publisher, json=PUBLISH)
    assert (not_owner.status_code, not_owner.json()["error"]["code"]) == (403, "not_bot_owner")
    private = _bot(api, bedrock, creator)
    assert api.post(f"/bots/{private}/publication", headers=other_publisher, json=PUBLISH).status_code == 404
    assert api.get(f"/bots/{bot_id}/publication", headers=other_publisher).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"throttle": {"rate_limit": 0, "burst_limit": 1}, "quota": {"limit": 1, "period": "DAY"}},
        {"throttle": {"rate_limit": 1, "burst_limit": 0}, "quota": {"limit": 1, "period": "DAY"}},
        {"throttle": {"rate_limit": 1, "burst_limit": 1}, "quota": {"limit": 0, "period": "DAY"}},
        {"throttle": {"rate_limit": 1, "burst_limit": 1}, "quota": {"limit": 1, "period": "YEAR"}},
        {
            "throttle": {"rate_limit": 1, "burst_limit": 1},
            "quota": {"limit": 1, "period": "DAY", "offset": 1},
        },
        {
            "throttle": {"rate_limit": 1, "burst_limit": 1},
            "quota": {"limit": 1, "period": "WEEK", "offset": 7},
        },
        {"throttle": {"rate_limit": 1, "burst_limit": 1}},
    ],
)
def test_bad_publication_settings_are_refused(api, bedrock, publisher, body):
    headers, _ = publisher
    bot_id = _bot(api, bedrock, headers)
    response = api.post(f"/bots/{bot_id}/publication", headers=headers, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "validation_error")
    assert api.get(f"/bots/{bot_id}/publication", headers=headers).status_code == 404


def test_a_published_bot_has_the_rights_of_a_user_in_no_group_even_when_its_owner_is_admin(
    api, bedrock, stack, monkeypatch
):
    monkeypatch.setenv("GATEWAY_DEFAULT_POLICY", json.dumps({"allowed_models": ["amazon.*"]}))
    monkeypatch.setenv(
        "GATEWAY_GROUP_POLICIES", json.dumps({"Admin": {"precedence": 1, "allowed_models": ["*"]}})
    )
    from tests.unit.gateway.conftest import _reset_process_state

    _reset_process_state()
    headers, _ = member_of(api, stack, "root@example.com", "Admin")
    bot_id = _bot(api, bedrock, headers)  # the admin may use Claude
    bedrock.catalog()
    response = api.post(f"/bots/{bot_id}/publication", headers=headers, json=PUBLISH)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "model_not_allowed")
    assert boto3.client("apigateway", region_name=REGION).get_usage_plans()["items"][1:] == []


def _request(host, context_path, path, context_extra=None, proto="https"):
    from starlette.requests import Request

    event = {"path": path, "requestContext": {"path": context_path, **(context_extra or {})}}
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": path,
            "headers": [(b"host", host.encode()), (b"x-forwarded-proto", proto.encode())],
            "aws.event": event,
        }
    )


def test_the_endpoint_is_the_url_the_api_was_reached_by(monkeypatch):
    from gateway.api.publications import published_endpoint
    from gateway.settings import get_settings

    route = "/bots/b1/publication"
    on_aws = _request("abc123.execute-api.eu-west-1.amazonaws.com", f"/prod{route}", route)
    assert (
        published_endpoint(on_aws, "b1")
        == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/published/bots/b1/messages"
    )
    custom_domain = _request("ai.example.com", f"/gateway{route}", route)
    assert (
        published_endpoint(custom_domain, "b1") == "https://ai.example.com/gateway/published/bots/b1/messages"
    )

    monkeypatch.setenv("GATEWAY_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    get_settings.cache_clear()
    local = _request("127.0.0.1:4566", f"/api{route}", route, {"apiId": "xyz", "stage": "api"}, proto="HTTP")
    assert (
        published_endpoint(local, "b1")
        == "http://127.0.0.1:4566/restapis/xyz/api/_user_request_/published/bots/b1/messages"
    )


def test_key_names_are_key_id_and_api_key_with_the_old_ones_kept_for_a_release(api, bedrock, publisher):
    headers, registration = publisher
    assert registration["api_key_id"] == registration["key_id"]
    bot_id, published = _publish(api, bedrock, headers)
    assert published["api_key"] == published["key"]
    assert published["key"]["value"] == published["key"]["api_key"]
    added = api.post(f"/bots/{bot_id}/publication/api-keys", headers=headers).json()
    assert added["value"] == added["api_key"]
    assert set(added) == {"key_id", "state", "created_at", "revoked_at", "api_key", "value"}
    made = api.post("/me/api-keys", headers={"authorization": headers["authorization"]}).json()
    assert {"key_id", "api_key"} <= set(made)


def test_admins_see_a_published_bots_calls_under_its_title(api, bedrock, stack, publisher):
    headers, registration = publisher
    admin, _ = member_of(api, stack, "root@example.com", "Admin")
    bot_id, published = _publish(api, bedrock, headers)
    assert _ask(api, bedrock, bot_id, published["key"]["api_key"]).status_code == 200

    rows = api.get("/admin/users", headers=admin).json()["users"]
    day = utcnow().strftime("%Y%m%d")  # the app's clock
    top = api.get(f"/admin/analytics?start={day}00&end={day}23", headers=admin).json()["top_users"]

    bot_rows = [row for row in rows if row["user_id"] == f"bot:{bot_id}"]
    assert [(row["bot_id"], row["bot_title"]) for row in bot_rows] == [(bot_id, "Zorbania guide")]
    assert bot_rows[0]["cost_usd"] == bot_rows[0]["total_cost_usd"] > 0
    assert [row["bot_title"] for row in top if row["bot_id"] == bot_id] == ["Zorbania guide"]
    assert all(row["bot_id"] is None for row in rows if not row["user_id"].startswith("bot:"))

    # A user's conversations with a bot, as an admin reads them, name the bot too.
    started = api.post("/conversations", headers=headers, json={"bot_id": bot_id})
    assert started.status_code == 201, started.text
    listed = api.get(f"/admin/users/{registration['user_id']}/conversations", headers=admin).json()
    assert [(c["bot_id"], c["bot_title"]) for c in listed["conversations"]] == [(bot_id, "Zorbania guide")]
