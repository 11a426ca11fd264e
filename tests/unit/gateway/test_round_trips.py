"""How many AWS requests a governed model call makes besides the model itself, on a warm process (the second
call of a key), counted by the botocore hook every unit run records with (tests/support/aws_calls.py).
Each is a network round trip on AWS, in sequence: they are the latency the gateway adds."""

import json

import pytest

from gateway import deps
from gateway.settings import get_settings
from tests.support import aws_calls
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import signed_up

HAIKU = SHAPES["anthropic-messages"]
# One BatchGetItem (key, session item, limit override), the reservation with the call record, the settlement
# with the roll-ups and the audit event. Issue 14 asks 2 without a limit: not reached yet.
MODEL_CALL = 3
# A conversation turn also reads the conversation and its history and stores both messages (not folded yet).
CONVERSATION_TURN = 8


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
    "POST /bedrock": _bedrock_call,
    "POST /v1/chat/completions": _chat_completion,
    "POST /conversations/{id}/messages": _conversation_message,
}


@pytest.mark.parametrize("limited", [False, True], ids=["no-limit", "limit"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_warm_model_call_makes_few_aws_requests(api, bedrock, monkeypatch, route, limited):
    if limited:
        _limited(monkeypatch)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    started = api.post("/conversations", headers=headers, json={"model_id": HAIKU.model_id})
    headers = {**headers, "conversation": started.json()["conversation_id"]}
    call = ROUTES[route]
    call(api, bedrock, headers)  # the first call of the key warms the process's caches
    with aws_calls.Recorded(aws_calls.unit_recording()) as recorded:
        call(api, bedrock, headers)
    operations = recorded.operations()
    print(route, "limit" if limited else "no limit", len(operations), operations)
    assert len(operations) <= (CONVERSATION_TURN if "conversations" in route else MODEL_CALL), operations
    assert operations.count("dynamodb:BatchGetItem") == 1
    assert "dynamodb:GetItem" not in operations or "conversations" in route
