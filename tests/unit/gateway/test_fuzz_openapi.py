"""Fuzzing: every operation of the app's own OpenAPI, called in-process with a member's and an admin's valid
credentials and inputs schemathesis generates, answers no 5xx and every error in the one error shape."""

import os
from typing import Any

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from gateway.domain import TokenUsage
from gateway.providers.bedrock import BedrockModels, Conversation, FoundationModel, Invocation
from tests.support.aws import REGION
from tests.support.bedrock import CATALOG, SHAPES
from tests.unit.gateway.api.helpers import login, signed_up

# Examples per operation: bounded so the whole run stays within a few minutes on a small machine.
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "25"))
HAIKU = SHAPES["anthropic-messages"]
MODEL_FIELDS = ("modelId", "model_id", "model")
# Signing out would end the fuzzing session's own credentials: covered by tests/unit/gateway/api/test_auth.py.
SKIPPED = {("POST", "/logout")}


@pytest.fixture
def fake_bedrock(monkeypatch):
    """Bedrock answers every call at once: the fuzzing is about the gateway's own input handling."""
    models = {
        model_id: FoundationModel(model_id, provider, name, tuple(inputs), tuple(outputs))
        for model_id, provider, name, inputs, outputs in CATALOG
    }
    usage = TokenUsage(input_tokens=HAIKU.input_tokens, output_tokens=HAIKU.output_tokens)
    monkeypatch.setattr(BedrockModels, "catalog", lambda self: models)
    monkeypatch.setattr(
        BedrockModels,
        "invoke",
        lambda self, *_, **__: Invocation(body=HAIKU.response, raw="", header_usage=usage, latency_ms=1),
    )
    monkeypatch.setattr(
        BedrockModels,
        "converse",
        lambda self, *_, **__: Conversation(text="ok", usage=usage, stop_reason="end_turn", latency_ms=1),
    )


@pytest.fixture
def credentials(api, stack):
    member, _, _ = signed_up(api, email="member@example.com")
    admin, registration, _ = signed_up(api, email="admin@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    admin = {**admin, "authorization": f"Bearer {login(api, email='admin@example.com')['id_token']}"}
    return {"member": member, "admin": admin}


class _ServerErrorsAsResponses:
    """Starlette answers 500 and then re-raises for the server's log; the test client would raise it. Here the
    500 is the finding, and the exception is kept to show with it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exceptions: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            self.exceptions.append(f"{type(exc).__name__}: {exc}"[:300])


def _error_shape_problem(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f"no error object: {body!r:.200}"
    if not (isinstance(error.get("code"), str) and error["code"]):
        return f"no code: {error!r:.200}"
    if not (isinstance(error.get("message"), str) and error["message"]):
        return f"no message: {error!r:.200}"
    return None


def _with_a_real_model(case: Any, model_id: str) -> None:
    if isinstance(case.body, dict):
        for name in MODEL_FIELDS:
            if name in case.body:
                case.body[name] = model_id


def _fuzz(
    operation: Any, app: _ServerErrorsAsResponses, credentials: dict[str, dict[str, str]], seen: list[str]
):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        ),
        who=st.sampled_from(sorted(credentials)),
        model_id=st.sampled_from([None, HAIKU.model_id, "amazon.nova-lite-v1:0"]),
    )
    def call(case, who, model_id):
        if model_id:
            _with_a_real_model(case, model_id)
        response = case.call(app=app, headers=credentials[who])
        problem = None
        if response.status_code >= 500:
            problem = f"{response.status_code} ({app.exceptions[-1] if app.exceptions else 'no exception'})"
        elif response.status_code >= 400:
            shape = _error_shape_problem(response)
            problem = f"{response.status_code} out of shape ({shape})" if shape else None
        if problem:
            seen.append(
                f"{operation.method.upper()} {operation.path} as {who}: {problem}\n"
                f"  request: {case.as_curl_command()[:600]}\n  response: {response.text[:300]}"
            )
            raise AssertionError(seen[-1])

    return call


def test_no_operation_answers_5xx_or_an_error_out_of_shape(api, fake_bedrock, credentials):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    app = _ServerErrorsAsResponses(api.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        seen: list[str] = []
        try:
            _fuzz(operation, app, credentials, seen)()
        except AssertionError:
            failures.append(seen[-1] if seen else f"{operation.method.upper()} {operation.path}: failed")
    assert operations >= 40, operations  # the whole API, not a schema that failed to load
    assert not failures, "\n\n".join(failures)
