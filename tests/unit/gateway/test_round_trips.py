"""How many AWS requests a governed model call makes besides the model itself, on a warm process (the second
call of a key), counted by the botocore hook every unit run records with (tests/support/aws_calls.py).
Each is a network round trip on AWS, in sequence: they are the latency the gateway adds.

Issue 14: at most 3 besides the model, 2 when the caller has no limit to reserve against; a conversation
turn may add one (its history)."""

import json

import pytest

from gateway import deps
from gateway.settings import get_settings
from tests.support import aws_calls
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import signed_up

HAIKU = SHAPES["anthropic-messages"]
READ_WITH_KEY = "dynamodb:BatchGetItem"  # the key, the session item, the limit override (and a conversation)
RESERVE = SETTLE = "dynamodb:TransactWriteItems"
HISTORY = "dynamodb:Query"
# The reservation (with the pending call record) comes first only when there is a limit to reserve against.
MODEL_CALL = {False: [READ_WITH_KEY, SETTLE], True: [READ_WITH_KEY, RESERVE, SETTLE]}
# The prompt, the reply and the conversation's time are written with the settlement.
CONVERSATION_TURN = {False: [READ_WITH_KEY, HISTORY, SETTLE], True: [READ_WITH_KEY, HISTORY, RESERVE, SETTLE]}


def _limited(monkeypatch):
    policy = {"CreatingBotAllowed": {"precedence": 3, "limits": {"requests_per_minute": 100}}}
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", json.dumps(policy))
    get_settings.cache_clear()
    deps.reset()


def _bedrock_call(api, bedrock, headers):
    bedrock.invoke(HAIKU)
    body = {"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request}
    response = api.post("/bedrock", headers=headers, json=body)
    assert response.status_code == 200, response.text


def _chat_completion(api, bedrock, headers):
    bedrock.converse("Bonjour", 7, 1)
    response = api.post(
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {headers['x-api-key']}"},
        json={"model": HAIKU.model_id, "messages": [{"role": "user", "content": "Hello"}]},
    )
    assert response.status_code == 200, response.text


def _conversation_message(api, bedrock, headers):
    bedrock.converse("Paris", 5, 3)
    response = api.post(
        f"/conversations/{headers['conversation']}/messages", headers=headers, json={"content": "Where?"}
    )
    assert response.status_code == 200, response.text


ROUTES = {
    "POST /bedrock": (_bedrock_call, MODEL_CALL),
    "POST /v1/chat/completions": (_chat_completion, MODEL_CALL),
    "POST /conversations/{id}/messages": (_conversation_message, CONVERSATION_TURN),
}


def _warm_caller(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    started = api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})
    return {**headers, "conversation": started.json()["conversation_id"]}


@pytest.mark.parametrize("limited", [False, True], ids=["no-limit", "limit"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_warm_model_call_makes_few_aws_requests(api, bedrock, monkeypatch, route, limited):
    if limited:
        _limited(monkeypatch)
    headers = _warm_caller(api, bedrock)
    call, expected = ROUTES[route]
    call(api, bedrock, headers)  # the first call of the key warms the process's caches
    with aws_calls.Recorded(aws_calls.unit_recording()) as recorded:
        call(api, bedrock, headers)
    operations = recorded.operations()
    print(route, "limit" if limited else "no limit", len(operations), operations)
    assert operations == expected[limited]
    assert len(operations) <= (3 if limited else 2) + (route == "POST /conversations/{id}/messages")


def test_with_an_idempotency_key_the_call_is_recorded_before_the_model_even_without_a_limit(api, bedrock):
    headers = _warm_caller(api, bedrock)
    _bedrock_call(api, bedrock, headers)
    keyed = {**headers, "idempotency-key": "retry-0042"}
    with aws_calls.Recorded(aws_calls.unit_recording()) as recorded:
        _bedrock_call(api, bedrock, keyed)
    assert recorded.operations() == MODEL_CALL[True]
    models_called = len(bedrock.calls)
    body = {"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request}
    again = api.post("/bedrock", headers=keyed, json=body)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_request"
    assert len(bedrock.calls) == models_called  # refused before the model was called a second time
