"""Guardrails named per group: every model call carries it; an intervention is a metered, audited 400."""

import json

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from pydantic import ValidationError

from gateway import deps
from gateway.services.policies import policy_for
from gateway.settings import GroupPolicy, Guardrail, Limits, Settings, get_settings
from tests.support.bedrock import REGION, SHAPES, invoke_response
from tests.unit.gateway.api.helpers import signed_up

HAIKU = SHAPES["anthropic-messages"]
GUARDRAIL = {"id": "abcdef123456", "version": "2"}


def use_guardrail(monkeypatch, guardrail=GUARDRAIL):
    policy = {"precedence": 3, "guardrail": guardrail}
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", json.dumps({"CreatingBotAllowed": policy}))
    get_settings.cache_clear()
    deps.reset()


def day_total(user_id):
    table = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-usage")
    items = table.query(KeyConditionExpression=Key("pk").eq(f"USER#{user_id}"))["Items"]
    return next(item for item in items if item["sk"].startswith("DAY") and item["sk"].endswith("#TOTAL"))


def audited_errors():
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-audit")["Items"]
    return [item["error"]["S"] for item in items if "S" in item.get("error", {})]


def chat(api, headers, text="Hello"):
    return api.post(
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {headers['x-api-key']}"},
        json={"model": HAIKU.model_id, "messages": [{"role": "user", "content": text}]},
    )


def test_converse_carries_the_groups_guardrail(api, bedrock, monkeypatch):
    use_guardrail(monkeypatch)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Hi", 3, 1)
    assert chat(api, headers).status_code == 200
    _, params = bedrock.calls[-1]
    assert params["guardrailConfig"] == {
        "guardrailIdentifier": "abcdef123456",
        "guardrailVersion": "2",
        "trace": "disabled",
    }


def test_no_guardrail_named_sends_none(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Hi", 3, 1)
    assert chat(api, headers).status_code == 200
    _, params = bedrock.calls[-1]
    assert "guardrailConfig" not in params


def test_converse_intervention_is_a_metered_audited_400(api, bedrock, monkeypatch):
    use_guardrail(monkeypatch)
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Sorry, the model cannot answer this.", 12, 0, stop="guardrail_intervened")
    response = chat(api, headers, "something forbidden")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "guardrail_intervened"
    assert error["message"] == "Sorry, the model cannot answer this."
    assert error["type"] == "invalid_request_error"
    day = day_total(registration["user_id"])
    assert (int(day["requests"]), int(day["errors"]), int(day["input_tokens"])) == (1, 1, 12)
    assert "guardrail_intervened" in audited_errors()


def test_invoke_model_carries_the_guardrail_and_reads_its_intervention(api, bedrock, monkeypatch):
    use_guardrail(monkeypatch)
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    blocked = {
        **HAIKU.response,
        "content": [{"type": "text", "text": "Blocked by policy."}],
        "amazon-bedrock-guardrailAction": "INTERVENED",
    }
    bedrock.runtime.add_response(
        "invoke_model",
        invoke_response(blocked, 9, 0),
    )
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "guardrail_intervened"
    assert response.json()["error"]["message"] == "Blocked by policy."
    _, params = bedrock.calls[-1]
    assert (params["guardrailIdentifier"], params["guardrailVersion"]) == ("abcdef123456", "2")
    assert int(day_total(registration["user_id"])["input_tokens"]) == 9


def test_invoke_model_without_intervention_answers(api, bedrock, monkeypatch):
    use_guardrail(monkeypatch)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    response = api.post(
        "/bedrock", headers=headers, json={"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "guardrail",
    [
        {"id": "ABC", "version": "1"},
        {"id": "abc", "version": "v1"},
        {"id": "", "version": "1"},
        {"id": "abc"},
    ],
)
def test_settings_refuse_a_malformed_guardrail(guardrail):
    with pytest.raises(ValidationError):
        Settings(group_policies={"CreatingBotAllowed": {"guardrail": guardrail}})


def test_settings_read_guardrails_from_the_environment(monkeypatch):
    use_guardrail(monkeypatch, {"id": "localguard01", "version": "DRAFT"})
    policy = get_settings().group_policies["CreatingBotAllowed"]
    assert policy.guardrail == Guardrail(id="localguard01", version="DRAFT")


def test_the_winning_groups_guardrail_applies_and_a_tie_keeps_it_only_if_all_name_one():
    strict = Guardrail(id="strict000001", version="1")
    other = Guardrail(id="other0000001", version="3")
    policies = {
        "A": GroupPolicy(precedence=1, guardrail=strict),
        "B": GroupPolicy(precedence=2, guardrail=other),
        "C": GroupPolicy(precedence=1, guardrail=other, limits=Limits()),
        "D": GroupPolicy(precedence=1),
    }
    assert policy_for(["A", "B"], policies, GroupPolicy()).guardrail == strict
    assert policy_for(["B"], policies, GroupPolicy()).guardrail == other
    assert policy_for(["C", "A"], policies, GroupPolicy()).guardrail == strict  # tie: first by name
    assert policy_for(["A", "D"], policies, GroupPolicy()).guardrail is None  # tie: the most generous
    assert policy_for([], policies, GroupPolicy()).guardrail is None


def test_the_iam_check_knows_a_guardrailed_call_needs_apply_guardrail():
    from types import SimpleNamespace

    from tests.support.aws_calls import describe

    runtime = SimpleNamespace(service_name="bedrock-runtime", signing_name="bedrock")
    params = {"modelId": HAIKU.model_id, "guardrailConfig": {"guardrailIdentifier": "localguard01"}}
    record = describe(runtime, "Converse", params, {}, "us-east-1", "000000000000")
    assert {
        "action": "bedrock:ApplyGuardrail",
        "resource": "arn:aws:bedrock:us-east-1:000000000000:guardrail/localguard01",
    } in record["needs"]
    plain = describe(runtime, "Converse", {"modelId": HAIKU.model_id}, {}, "us-east-1", "000000000000")
    assert all(need["action"] != "bedrock:ApplyGuardrail" for need in plain["needs"])


BOT_GUARDRAIL = {"id": "botguard0001", "version": "DRAFT"}


def allow_bot_guardrails(monkeypatch):
    monkeypatch.setenv("GATEWAY_BOT_GUARDRAILS", json.dumps([BOT_GUARDRAIL, GUARDRAIL]))
    get_settings.cache_clear()
    deps.reset()


def test_a_bot_may_name_only_a_listed_guardrail_and_its_chats_use_it(api, bedrock, monkeypatch):
    allow_bot_guardrails(monkeypatch)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    refused = api.post(
        "/bots",
        headers=headers,
        json={"title": "t", "model_id": HAIKU.model_id, "guardrail": {"id": "unlisted0001", "version": "1"}},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "guardrail_not_allowed")

    bedrock.catalog()
    created = api.post(
        "/bots", headers=headers, json={"title": "t", "model_id": HAIKU.model_id, "guardrail": BOT_GUARDRAIL}
    )
    assert created.status_code == 201, created.text
    bot = created.json()
    assert bot["guardrail"] == BOT_GUARDRAIL
    bedrock.catalog()
    conversation = api.post("/conversations", headers=headers, json={"bot_id": bot["bot_id"]}).json()
    bedrock.catalog()
    bedrock.converse("Hi", 3, 1)
    sent = api.post(
        f"/conversations/{conversation['conversation_id']}/messages", headers=headers, json={"content": "Hi"}
    )
    assert sent.status_code == 200, sent.text
    _, params = bedrock.calls[-1]
    assert params["guardrailConfig"]["guardrailIdentifier"] == "botguard0001"
    assert params["guardrailConfig"]["guardrailVersion"] == "DRAFT"

    moved = api.patch(
        f"/bots/{bot['bot_id']}", headers=headers, json={"guardrail": {"id": "unlisted0001", "version": "1"}}
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (400, "guardrail_not_allowed")
    cleared = api.patch(f"/bots/{bot['bot_id']}", headers=headers, json={"guardrail": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["guardrail"] is None
