"""Whatever ends a model call after its reservation, the reservation is released and the call is `failed`."""

import json

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ParamValidationError, ReadTimeoutError
from fastapi.testclient import TestClient

import gateway.providers.bedrock as bedrock_provider
from gateway import deps
from gateway.settings import get_settings
from tests.support.aws import REGION
from tests.support.bedrock import SHAPES
from tests.unit.gateway.api.helpers import signed_up

HAIKU = SHAPES["anthropic-messages"]


@pytest.fixture
def limited(monkeypatch):
    policy = {
        "CreatingBotAllowed": {"precedence": 3, "limits": {"requests_per_minute": 5, "tokens_per_day": 9000}}
    }
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", json.dumps(policy))
    get_settings.cache_clear()
    deps.reset()


def _call(api, headers, key):
    body = {"modelId": HAIKU.model_id, "inferenceParameters": HAIKU.request}
    return api.post("/bedrock", headers={**headers, "idempotency-key": key}, json=body)


def _windows(api, headers):
    response = api.get("/me/usage", headers=headers)
    assert response.status_code == 200, response.text
    return {w["name"]: w["used"] for w in response.json()["windows"]}


def _record(user_id, key):
    table = boto3.resource("dynamodb", region_name=REGION).Table("gateway-test-usage")
    return table.get_item(Key={"pk": f"CALL#{user_id}#idem-{key}", "sk": "CALL"})["Item"]


def _raises(exc):
    def fail(**_):
        raise exc

    return fail


FAILURES = [
    ("client_error", None, 502, "model_error"),
    (
        "param_validation",
        ParamValidationError(report="Invalid length for parameter body, value: 0, valid min length: 1"),
        400,
        "model_rejected_request",
    ),
    ("connection", EndpointConnectionError(endpoint_url="https://bedrock-runtime"), 503, "model_unavailable"),
    ("timeout", ReadTimeoutError(endpoint_url="https://bedrock-runtime"), 504, "model_timeout"),
    ("unexpected", RuntimeError("a bug"), 500, "internal_error"),
]


@pytest.mark.parametrize(("name", "exc", "status", "code"), FAILURES, ids=[f[0] for f in FAILURES])
def test_every_failure_releases_the_reservation_and_ends_failed(
    api, bedrock, limited, monkeypatch, name, exc, status, code
):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    if exc is None:
        bedrock.runtime.add_client_error(
            "invoke_model", service_error_code="ModelErrorException", http_status_code=424
        )
    else:
        monkeypatch.setattr(bedrock.clients["bedrock-runtime"], "invoke_model", _raises(exc))
    response = _call(api, headers, f"fail-{name}")
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert "Traceback" not in response.text
    used = _windows(api, headers)
    assert (used["requests_per_minute"], used["tokens_per_day"]) == (0, 0)
    record = _record(registration["user_id"], f"fail-{name}")
    assert (record["status"], record["error_code"]) == ("failed", code)


def test_a_failure_while_reading_the_answer_also_releases(api, bedrock, limited, monkeypatch):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    monkeypatch.setattr(bedrock_provider, "_header_usage", _raises(KeyError("header")))
    response = _call(api, headers, "bad-answer")
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal_error")
    assert _windows(api, headers)["tokens_per_day"] == 0
    assert _record(registration["user_id"], "bad-answer")["status"] == "failed"


class FakeLambdaContext:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def _in_lambda(api, remaining_ms):
    """The app as Mangum runs it: the Lambda context in the ASGI scope."""

    async def app(scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "aws.context": FakeLambdaContext(remaining_ms)}
        await api.app(scope, receive, send)

    return TestClient(app, raise_server_exceptions=False)


def test_too_little_time_left_answers_504_without_calling_the_model(api, bedrock, limited):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    response = _call(_in_lambda(api, remaining_ms=2500), headers, "deadline-late")
    assert (response.status_code, response.json()["error"]["code"]) == (504, "model_timeout")
    assert bedrock.calls == []
    used = _windows(api, headers)
    assert (used["requests_per_minute"], used["tokens_per_day"]) == (0, 0)
    record = _record(registration["user_id"], "deadline-late")
    assert (record["status"], record["error_code"]) == ("failed", "model_timeout")


@pytest.mark.parametrize(("remaining_ms", "read_timeout"), [(10_000, 6), (60_000, 25)])
def test_the_model_timeout_leaves_the_margin_to_settle(api, bedrock, monkeypatch, remaining_ms, read_timeout):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.invoke(HAIKU)
    asked = []

    def client(service, **options):
        asked.append((service, options))
        return bedrock.clients[service]

    monkeypatch.setattr(bedrock_provider, "client", client)
    response = _call(_in_lambda(api, remaining_ms), headers, f"timed-{remaining_ms}")
    assert response.status_code == 200, response.text
    # 10 s left - 3 s margin = 7 s, less the time already spent: a whole 6; capped at model_timeout_seconds.
    assert ("bedrock-runtime", {"read_timeout": read_timeout}) in asked
