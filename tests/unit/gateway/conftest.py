import json

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

from gateway import deps
from gateway.auth.tokens import JwksCache, TokenVerifier
from gateway.aws import reset_clients
from gateway.main import create_app
from gateway.settings import get_settings
from tests.support import moto_state
from tests.support.aws import build_stack


def _reset_process_state() -> None:
    get_settings.cache_clear()
    deps.reset()
    reset_clients()


@pytest.fixture(autouse=True)
def _test_settings(monkeypatch, clean_gateway_environment):
    """Every test reads settings afresh from its own environment, with fake AWS credentials."""
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "test")
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(variable, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _reset_process_state()
    yield
    _reset_process_state()


@pytest.fixture
def client():
    return TestClient(create_app(), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def built_stack():
    """The Terraform-made resources, built in moto once per test process, and moto's state right after."""
    with mock_aws():
        built = build_stack()
        return built, moto_state.kept()


@pytest.fixture
def stack(monkeypatch, built_stack):
    """The Terraform-made resources, in moto, with the app's settings pointing at them: moto holds what
    building them left and nothing else (tests/support/moto_state.py), whatever earlier tests made."""
    built, state = built_stack
    with mock_aws():
        moto_state.given_back(state)
        for variable, value in built.environment().items():
            monkeypatch.setenv(variable, value)
        _reset_process_state()
        yield built


def moto_verifier() -> TokenVerifier:
    settings = get_settings()
    jwks = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    return TokenVerifier(
        JwksCache(settings.resolved_jwks_url, fetch=lambda _url: jwks),
        settings.token_issuer,
        settings.user_pool_client_id,
    )


@pytest.fixture
def api(stack):
    """The app against the moto stack; JWKS served from moto's key instead of over HTTP."""
    app = create_app()
    app.dependency_overrides[deps.token_verifier] = moto_verifier
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def bedrock(stack, monkeypatch):
    """Bedrock's clients behind Stubber: queue the answers a test expects (see tests/support/bedrock.py)."""
    import gateway.providers.bedrock as bedrock_provider
    from gateway.aws import client as real_client
    from tests.support.bedrock import stubbed_bedrock

    stub = stubbed_bedrock()
    monkeypatch.setattr(
        bedrock_provider,
        "client",
        lambda service, **options: stub.clients.get(service) or real_client(service, **options),
    )
    return stub
