from datetime import UTC, datetime

import boto3
import pytest

from tests.support.aws import REGION
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import login, signed_up

HAIKU, LLAMA = SHAPES["anthropic-messages"], SHAPES["meta-llama"]


@pytest.fixture
def admin_headers(api, stack):
    headers, registration, _ = signed_up(api, email="root@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    return {**headers, "authorization": f"Bearer {login(api, email='root@example.com')['id_token']}"}


def test_conversations_and_prompts_of_a_user(api, bedrock, admin_headers):
    headers, user, _ = signed_up(api)
    bedrock.catalog()
    cid = api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id, "title": "t"}).json()[
        "conversation_id"
    ]
    bedrock.converse("reply", 2, 1)
    api.post(
        f"/conversations/{cid}/messages", headers=headers, json={"content": "What is our refund policy?"}
    )
    api.delete(f"/conversations/{cid}", headers=headers)  # deleted for the user, visible to admins

    listed = api.get(f"/admin/users/{user['user_id']}/conversations", headers=admin_headers)
    assert listed.status_code == 200, listed.text
    assert [(c["conversation_id"], c["deleted"]) for c in listed.json()["conversations"]] == [(cid, True)]
    prompts = api.get(
        f"/admin/users/{user['user_id']}/conversations/{cid}/prompts", headers=admin_headers
    ).json()
    assert [p["content"] for p in prompts["prompts"]] == ["What is our refund policy?"]
    missing = api.get(f"/admin/users/{user['user_id']}/conversations/nope/prompts", headers=admin_headers)
    assert missing.status_code == 404


def test_costs_by_model_over_months(api, bedrock, admin_headers):
    headers, user, _ = signed_up(api)
    bedrock.catalog()
    for shape in (HAIKU, HAIKU, LLAMA):
        bedrock.invoke(shape)
        assert (
            api.post(
                "/bedrock",
                headers=headers,
                json={"modelId": shape.model_id, "inferenceParameters": shape.request},
            ).status_code
            == 200
        )
    api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})
    month = f"{datetime.now(UTC):%Y-%m}"
    response = api.get(
        f"/admin/costs/users/{user['user_id']}?start_period={month}&end_period={month}", headers=admin_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["input_tokens"] == 2 * HAIKU.input_tokens + LLAMA.input_tokens
    assert body["conversation_count"] == 1
    by_model = {m["model_id"]: m for m in body["by_model"]}
    assert by_model[HAIKU.model_id]["requests"] == 2
    assert by_model[LLAMA.model_id]["output_tokens"] == LLAMA.output_tokens
    assert body["total_cost_usd"] == pytest.approx(sum(m["cost_usd"] for m in body["by_model"]))
    earlier = api.get(
        f"/admin/costs/users/{user['user_id']}?start_period=2020-01&end_period=2020-02", headers=admin_headers
    ).json()
    assert (earlier["total_cost_usd"], earlier["by_model"], earlier["conversation_count"]) == (0, [], 0)


def test_audit_trail_newest_first_with_paging(api, admin_headers):
    headers, user, _ = signed_up(api)
    api.post("/me/api-keys", headers={"authorization": headers["authorization"]})
    api.get("/me/api-keys", headers={"authorization": headers["authorization"]})
    first = api.get(f"/admin/audit-logs/user/{user['user_id']}?limit=2", headers=admin_headers)
    assert first.status_code == 200, first.text
    events = first.json()["events"]
    assert [e["action"] for e in events] == ["me.api_keys.list", "me.api_keys.create"]
    assert events[0]["timestamp"] >= events[1]["timestamp"]
    assert first.json()["next_token"]
    rest = api.get(
        f"/admin/audit-logs/user/{user['user_id']}?limit=2&next_token={first.json()['next_token']}",
        headers=admin_headers,
    )
    assert [e["action"] for e in rest.json()["events"]] == ["auth.register"]
    epoch = api.get(
        f"/admin/audit-logs/user/{user['user_id']}?start_time=0&end_time=1", headers=admin_headers
    )
    assert epoch.json()["events"] == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start_time=yesterday", "start_time"),
        ("start_time=2026-11-02T00:00:00Z&end_time=2026-11-01T00:00:00Z", "before"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("next_token=forged.token", "paging token"),
    ],
)
def test_bad_report_parameters_are_400(api, admin_headers, query, fragment):
    response = api.get(f"/admin/audit-logs/user/someone?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "query", ["start_period=2026-13", "start_period=2026-1", "start_period=2026-05&end_period=2026-04"]
)
def test_bad_periods_are_400(api, admin_headers, query):
    response = api.get(f"/admin/costs/users/someone?{query}", headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
