from types import SimpleNamespace

import boto3
from boto3.dynamodb.conditions import Key

from gateway import aws
from gateway.repositories import transactions
from tests.support.aws import REGION
from tests.support.faults import FaultInjector
from tests.unit.gateway.api.helpers import signed_up
from tests.unit.gateway.api.test_limits import use_policy

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def _start(api, bedrock, headers, title=None):
    bedrock.catalog()
    response = api.post("/conversations", headers=headers, json={"model_id": HAIKU, "title": title})
    assert response.status_code == 201, response.text
    return response.json()


def test_chatting_keeps_prompts_and_replies_and_sends_the_history(api, bedrock):
    headers, registration, _ = signed_up(api)
    conversation = _start(api, bedrock, headers, title="Trip")
    cid = conversation["conversation_id"]
    assert conversation["title"] == "Trip"

    bedrock.converse("Paris is nice", 5, 3)
    first = api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "Where to go?"})
    assert first.status_code == 200, first.text
    assert first.json()["reply"]["content"] == "Paris is nice"
    assert first.json()["usage"] == {"input_tokens": 5, "output_tokens": 3}

    bedrock.converse("In spring", 12, 2)
    second = api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "When?"})
    assert second.status_code == 200
    operation, params = bedrock.calls[-1]
    assert operation == "Converse"
    assert [(m["role"], m["content"][0]["text"]) for m in params["messages"]] == [
        ("user", "Where to go?"),
        ("assistant", "Paris is nice"),
        ("user", "When?"),
    ]

    detail = api.get(f"/conversations/{cid}", headers=headers).json()
    assert [(m["role"], m["content"]) for m in detail["messages"]] == [
        ("user", "Where to go?"),
        ("assistant", "Paris is nice"),
        ("user", "When?"),
        ("assistant", "In spring"),
    ]
    usage = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-usage")
    calls = usage.query(
        IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(f"USER#{registration['user_id']}")
    )
    assert {item["conversation_id"] for item in calls["Items"]} == {cid}


def test_a_failed_reply_keeps_the_prompt_and_the_next_turn_still_alternates(api, bedrock):
    headers, _, _ = signed_up(api)
    cid = _start(api, bedrock, headers)["conversation_id"]
    bedrock.runtime.add_client_error(
        "converse", service_error_code="ModelErrorException", http_status_code=424
    )
    assert (
        api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "one"}).status_code
        == 502
    )
    bedrock.converse("ok", 3, 1)
    assert (
        api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "two"}).status_code
        == 200
    )
    _, params = bedrock.calls[-1]
    assert [(m["role"], m["content"][0]["text"]) for m in params["messages"]] == [("user", "one\n\ntwo")]


def test_list_is_newest_first_with_paging(api, bedrock):
    headers, _, _ = signed_up(api)
    ids = [_start(api, bedrock, headers, title=f"c{i}")["conversation_id"] for i in range(3)]
    page = api.get("/conversations?limit=2", headers=headers).json()
    assert [c["conversation_id"] for c in page["conversations"]] == [ids[2], ids[1]]
    rest = api.get(f"/conversations?limit=2&next_token={page['next_token']}", headers=headers).json()
    assert [c["conversation_id"] for c in rest["conversations"]] == [ids[0]]
    assert rest["next_token"] is None


def test_others_cannot_see_and_deleted_is_gone_for_the_owner(api, bedrock):
    headers, _, _ = signed_up(api)
    other, _, _ = signed_up(api, email="grace@example.com")
    cid = _start(api, bedrock, headers)["conversation_id"]
    assert api.get(f"/conversations/{cid}", headers=other).status_code == 404
    assert api.delete(f"/conversations/{cid}", headers=other).status_code == 404
    assert api.delete(f"/conversations/{cid}", headers=headers).status_code == 204
    response = api.get(f"/conversations/{cid}", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"
    assert api.get("/conversations", headers=headers).json()["conversations"] == []


def test_bad_input_is_refused(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    neither = api.post("/conversations", headers=headers, json={})
    assert (neither.status_code, neither.json()["error"]["code"]) == (400, "missing_parameter")
    unknown = api.post("/conversations", headers=headers, json={"model_id": "anthropic.nope"})
    assert unknown.json()["error"]["code"] == "model_not_found"
    bot = api.post("/conversations", headers=headers, json={"model_id": HAIKU, "bot_id": "b1"})
    assert (bot.status_code, bot.json()["error"]["code"]) == (404, "bot_not_found")
    cid = _start(api, bedrock, headers)["conversation_id"]
    empty = api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": ""})
    assert empty.status_code == 422
    assert api.get("/conversations?next_token=../../x", headers=headers).status_code == 422


def _messages(api, headers, cid):
    return [
        (m["role"], m["content"])
        for m in api.get(f"/conversations/{cid}", headers=headers).json()["messages"]
    ]


def test_nobody_can_write_to_another_users_conversation(api, bedrock):
    headers, _, _ = signed_up(api)
    other, _, _ = signed_up(api, email="grace@example.com")
    cid = _start(api, bedrock, headers)["conversation_id"]
    response = api.post(f"/conversations/{cid}/messages", headers=other, json={"content": "mine now"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"
    assert bedrock.calls == []
    assert _messages(api, headers, cid) == []


def test_a_turn_refused_by_a_limit_keeps_the_prompt(api, bedrock, monkeypatch):
    use_policy(monkeypatch, requests_per_minute=1)
    headers, _, _ = signed_up(api)
    cid = _start(api, bedrock, headers)["conversation_id"]
    bedrock.converse("Paris", 5, 3)
    assert (
        api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "one"}).status_code
        == 200
    )
    refused = api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "two"})
    assert refused.status_code == 429
    assert _messages(api, headers, cid) == [("user", "one"), ("assistant", "Paris"), ("user", "two")]


def test_a_turn_whose_settlement_is_deferred_still_keeps_both_messages(api, bedrock, monkeypatch):
    headers, registration, _ = signed_up(api)
    cid = _start(api, bedrock, headers)["conversation_id"]
    monkeypatch.setattr(transactions, "sleep", lambda _seconds: None)
    # The retry budget reads no wall time: on a loaded machine, attempts a second apart ran out of it.
    monkeypatch.setattr(transactions, "time", SimpleNamespace(monotonic=lambda: 0.0))
    faults = FaultInjector().attach(aws.client("dynamodb"))
    faults.script(*["throttling"] * transactions.DEFAULT_POLICY.attempts)
    bedrock.converse("Paris", 5, 3)
    sent = api.post(f"/conversations/{cid}/messages", headers=headers, json={"content": "Where?"})
    assert sent.status_code == 200, sent.text
    assert faults.injected["throttling"] == transactions.DEFAULT_POLICY.attempts
    assert _messages(api, headers, cid) == [("user", "Where?"), ("assistant", "Paris")]
    usage = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-usage")
    call = usage.get_item(
        Key={"pk": f"CALL#{registration['user_id']}#{sent.json()['request_id']}", "sk": "CALL"}
    )
    assert call["Item"]["status"] == "pending"  # with its outcome, for the reconciler
    assert int(call["Item"]["outcome"]["output_tokens"]) == 3
