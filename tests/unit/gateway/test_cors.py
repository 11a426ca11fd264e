import json
import re

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from gateway.cors import exact_origins, port_wildcard_regex
from gateway.errors import NotFoundError
from gateway.main import create_app
from gateway.settings import get_settings

LOCAL_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*", "https://app.example.com"]


def _client(monkeypatch, origins):
    monkeypatch.setenv("GATEWAY_CORS_ALLOWED_ORIGINS", json.dumps(origins))
    get_settings.cache_clear()
    app = create_app()
    router = APIRouter()

    @router.get("/missing")
    def missing() -> dict:
        raise NotFoundError("Nothing here.", code="thing_not_found")

    @router.get("/boom")
    def boom() -> dict:
        raise RuntimeError("unexpected")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def _preflight(client, origin, headers="authorization,content-type,idempotency-key,x-api-key"):
    return client.options(
        "/bots",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:5173", True),
        ("http://localhost", True),
        ("http://127.0.0.1:8080", True),
        ("https://app.example.com", True),
        ("https://localhost:5173", False),  # another scheme
        ("http://localhost.evil.example:5173", False),
        ("http://evil.example/http://localhost:1", False),
        ("http://localhost:5173x", False),
        ("https://app.example.com:8443", False),  # exact origins keep their port
    ],
)
def test_port_wildcards_match_any_port_of_that_scheme_and_host_only(origin, allowed):
    pattern = re.compile(port_wildcard_regex(LOCAL_ORIGINS))
    assert (bool(pattern.fullmatch(origin)) or origin in exact_origins(LOCAL_ORIGINS)) is allowed


def test_without_port_wildcards_there_is_no_regex():
    assert port_wildcard_regex(["https://app.example.com"]) is None
    assert port_wildcard_regex([]) is None


def test_a_preflight_from_an_allowed_origin_allows_the_gateways_headers(monkeypatch):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    response = _preflight(client, "http://localhost:5173")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-api-key", "x-request-id"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_a_preflight_from_another_origin_is_not_allowed(monkeypatch):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    response = _preflight(client, "https://evil.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_for_an_unknown_header_is_not_allowed(monkeypatch):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    assert _preflight(client, "http://localhost:5173", headers="x-something-else").status_code == 400


@pytest.mark.parametrize(("path", "status"), [("/health", 200), ("/missing", 404), ("/boom", 500)])
def test_every_answer_carries_cors_for_an_allowed_origin(monkeypatch, path, status):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    response = client.get(path, headers={"Origin": "http://127.0.0.1:3000"})
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    assert "Origin" in response.headers["vary"]
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed
    assert "retry-after" in exposed


def test_validation_errors_carry_cors_too(monkeypatch):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    response = client.post("/login", json={}, headers={"Origin": "https://app.example.com"})
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


def test_another_origin_gets_no_allow_origin(monkeypatch):
    client = _client(monkeypatch, LOCAL_ORIGINS)
    response = client.get("/health", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_no_listed_origin_means_no_cross_origin_access(monkeypatch):
    client = _client(monkeypatch, [])
    assert (
        "access-control-allow-origin"
        not in client.get("/health", headers={"Origin": "http://localhost:5173"}).headers
    )
    assert _preflight(client, "http://localhost:5173").status_code == 400


def test_any_origin_answers_star_without_credentials(monkeypatch):
    client = _client(monkeypatch, ["*"])
    response = client.get("/missing", headers={"Origin": "https://anywhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert _preflight(client, "https://anywhere.example").headers["access-control-allow-origin"] == "*"
