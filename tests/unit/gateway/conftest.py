import pytest
from fastapi.testclient import TestClient

from gateway.main import create_app
from gateway.settings import get_settings


@pytest.fixture(autouse=True)
def _test_settings(monkeypatch):
    """Every test reads settings afresh from its own environment."""
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client():
    return TestClient(create_app(), raise_server_exceptions=False)
