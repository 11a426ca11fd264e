from botocore.exceptions import ClientError

from gateway.providers.bedrock import BedrockModels, ModelError, ModelNotFoundError, _model_error
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
    error = _model_error(_client_error("ValidationException", "Malformed input request"))
    assert isinstance(error, ModelError)
    assert error.status_code == 502
    assert error.message == "Bedrock answered ValidationException: Malformed input request"
    assert error.details == {"bedrock_error": "ValidationException"}
    assert isinstance(_model_error(_client_error("ResourceNotFoundException")), ModelNotFoundError)
