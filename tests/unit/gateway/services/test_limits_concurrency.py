"""Limits hold under concurrency: 4N simultaneous calls through the Lambda handler, exactly N admitted."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from mangum import Mangum
from moto.dynamodb.responses import DynamoHandler

from gateway import deps
from gateway.domain import TokenUsage
from gateway.providers.bedrock import BedrockModels, Invocation
from gateway.services.token_estimate import estimate_tokens
from gateway.settings import get_settings
from tests.support.bedrock import SHAPES
from tests.support.events import LambdaContext, api_gateway_event
from tests.unit.gateway.api.helpers import signed_up

N = 5
HAIKU = SHAPES["anthropic-messages"]
PARAMETERS = {**HAIKU.request, "max_tokens": 40}


@pytest.fixture
def atomic_moto(monkeypatch):
    """DynamoDB applies each request atomically; moto does not: one lock, as the local target has."""
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def serialised(self):
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", serialised)


def _policy(monkeypatch, **limits):
    monkeypatch.setenv(
        "GATEWAY_GROUP_POLICIES", json.dumps({"CreatingBotAllowed": {"precedence": 3, "limits": limits}})
    )
    get_settings.cache_clear()
    deps.reset()


def _reserved_tokens() -> int:
    estimate = estimate_tokens(json.dumps(PARAMETERS), get_settings().reserve_chars_per_token)
    return estimate + PARAMETERS["max_tokens"]


def _fire(api, bedrock, monkeypatch, usage: TokenUsage) -> list[int]:
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    deps.bedrock_models.get().catalog()  # cached before the threads start
    answer = Invocation(body=HAIKU.response, raw="", header_usage=usage, latency_ms=1)
    monkeypatch.setattr(BedrockModels, "invoke", lambda self, model_id, body, *_, **__: answer)
    body = {"modelId": HAIKU.model_id, "inferenceParameters": PARAMETERS}
    handler = Mangum(api.app, lifespan="off")  # the Lambda handler around the test's app

    def one(index: int) -> int:
        # Each thread stands for one Lambda execution environment, with its own event loop.
        asyncio.set_event_loop(asyncio.new_event_loop())
        event = api_gateway_event("POST", "/bedrock", body, headers, request_id=f"concurrent-{index}")
        return handler(event, LambdaContext())["statusCode"]

    with ThreadPoolExecutor(max_workers=4 * N) as pool:
        statuses = list(pool.map(one, range(4 * N)))
    return statuses, headers


def _used(api, headers):
    windows = api.get("/me/usage", headers=headers).json()["windows"]
    return {w["name"]: w["used"] for w in windows}


def test_a_request_limit_admits_exactly_n(api, bedrock, monkeypatch, atomic_moto):
    _policy(monkeypatch, requests_per_day=N)
    statuses, headers = _fire(api, bedrock, monkeypatch, TokenUsage(10, 3))
    assert sorted(statuses) == [200] * N + [429] * (3 * N)
    assert _used(api, headers)["requests_per_day"] == N


def test_a_token_budget_admits_exactly_n(api, bedrock, monkeypatch, atomic_moto):
    reserved = _reserved_tokens()
    _policy(monkeypatch, tokens_per_day=N * reserved + reserved // 2)
    # The model uses exactly what was reserved, so no settlement frees room while the calls run.
    statuses, headers = _fire(api, bedrock, monkeypatch, TokenUsage(reserved - 40, 40))
    assert sorted(statuses) == [200] * N + [429] * (3 * N)
    used = _used(api, headers)
    assert used["tokens_per_day"] == N * reserved
    assert used["requests_per_day"] == N
