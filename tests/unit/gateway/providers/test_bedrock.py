import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from gateway.errors import AppError
from gateway.providers.bedrock import (
    BedrockModels,
    ModelAccessDeniedError,
    ModelError,
    ModelNotFoundError,
    _model_error,
)
from tests.support.bedrock import catalog_response


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_catalog_is_cached_briefly(bedrock, monkeypatch):
    clock = Clock()
    models = BedrockModels(catalog_ttl_seconds=300, clock=clock)
    calls = []
    monkeypatch.setattr(
        bedrock.clients["bedrock"], "list_foundation_models", lambda: calls.append(1) or catalog_response()
    )
    for _ in range(5):
        assert "amazon.nova-lite-v1:0" in models.catalog()
    assert len(calls) == 1
    clock.now += 301
    models.catalog()
    assert len(calls) == 2


def _client_error(code, message="m"):
    return ClientError({"Error": {"Code": code, "Message": message}}, "InvokeModel")


def test_bedrock_errors_keep_their_code_and_message_only():
    error = _model_error(_client_error("ModelErrorException", "The model crashed"))
    assert isinstance(error, ModelError)
    assert (error.status_code, error.code) == (502, "model_error")
    assert error.message == "Bedrock answered ModelErrorException: The model crashed"
    assert error.details == {"bedrock_error": "ModelErrorException"}
    assert isinstance(_model_error(_client_error("ResourceNotFoundException")), ModelNotFoundError)


# Every error botocore's service model lists for Converse and InvokeModel, and what a client should do.
@pytest.mark.parametrize(
    ("bedrock_code", "status", "code", "retry_after"),
    [
        ("ThrottlingException", 429, "model_throttled", True),
        ("ServiceQuotaExceededException", 429, "model_throttled", True),
        ("ServiceUnavailableException", 503, "model_unavailable", True),
        ("ModelNotReadyException", 503, "model_unavailable", True),
        ("ValidationException", 400, "model_rejected_request", False),
        ("AccessDeniedException", 403, "model_access_denied", False),
        ("ResourceNotFoundException", 404, "model_not_found", False),
        ("ModelTimeoutException", 504, "model_timeout", False),
        ("ModelErrorException", 502, "model_error", False),
        ("InternalServerException", 502, "model_error", False),
    ],
)
def test_bedrock_errors_map_to_what_clients_act_on(bedrock_code, status, code, retry_after):
    error = _model_error(_client_error(bedrock_code, "Input is too long"), HAIKU)
    assert (error.status_code, error.code) == (status, code)
    assert ("Retry-After" in error.headers) is retry_after
    if retry_after:
        assert int(error.headers["Retry-After"]) >= 1


def test_validation_keeps_bedrocks_message():
    error = _model_error(
        _client_error("ValidationException", "messages: text content blocks must be non-empty")
    )
    assert error.message == "Bedrock refused the request: messages: text content blocks must be non-empty"
    assert error.details == {"bedrock_error": "ValidationException"}


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [
        (
            ParamValidationError(report="Invalid length for parameter system[0].text"),
            400,
            "model_rejected_request",
        ),
        (EndpointConnectionError(endpoint_url="https://bedrock-runtime"), 503, "model_unavailable"),
        (ConnectionClosedError(endpoint_url="https://bedrock-runtime"), 503, "model_unavailable"),
        (ReadTimeoutError(endpoint_url="https://bedrock-runtime"), 504, "model_timeout"),
        (ConnectTimeoutError(endpoint_url="https://bedrock-runtime"), 504, "model_timeout"),
    ],
)
def test_botocore_errors_of_a_model_call_are_domain_errors(bedrock, monkeypatch, raised, status, code):
    def fail(**_):
        raise raised

    monkeypatch.setattr(bedrock.clients["bedrock-runtime"], "converse", fail)
    with pytest.raises(AppError) as caught:
        BedrockModels(catalog_ttl_seconds=300).converse(
            HAIKU, [{"role": "user", "content": [{"text": "hi"}]}]
        )
    assert (caught.value.status_code, caught.value.code) == (status, code)
    if code == "model_rejected_request":
        assert "system[0].text" in caught.value.message


DENIED = "User: arn:aws:sts::123456789012:assumed-role/gateway-fn/x is not authorized to perform this action"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"


def test_access_denied_on_a_model_is_403_with_the_enablement_hint():
    error = _model_error(_client_error("AccessDeniedException", DENIED), HAIKU)
    assert isinstance(error, ModelAccessDeniedError)
    assert (error.status_code, error.code) == (403, "model_access_denied")
    assert HAIKU in error.message
    assert "Model access" in error.message
    assert "Marketplace" in error.message
    assert "use-case form" in error.message
    # Bedrock's message names the role and the account: the caller does not see it.
    assert "123456789012" not in error.message
    assert error.details == {"model_id": HAIKU, "bedrock_error": "AccessDeniedException"}


def test_access_denied_on_the_catalog_is_the_gateways_own_problem():
    error = _model_error(_client_error("AccessDeniedException", DENIED))
    assert (error.status_code, error.code) == (502, "model_catalog_access_denied")
    assert "bedrock:ListFoundationModels" in error.message
    assert "123456789012" not in error.message


@pytest.mark.parametrize("operation", ["invoke", "converse"])
def test_invoke_and_converse_name_the_model_they_were_refused(bedrock, operation):
    models = BedrockModels(catalog_ttl_seconds=300)
    bedrock.runtime.add_client_error(
        "invoke_model" if operation == "invoke" else "converse",
        service_error_code="AccessDeniedException",
        service_message=DENIED,
        http_status_code=403,
    )
    call = {
        "invoke": lambda: models.invoke(LLAMA, {"prompt": "hi"}),
        "converse": lambda: models.converse(LLAMA, [{"role": "user", "content": [{"text": "hi"}]}]),
    }[operation]
    with pytest.raises(ModelAccessDeniedError) as refused:
        call()
    assert LLAMA in refused.value.message
