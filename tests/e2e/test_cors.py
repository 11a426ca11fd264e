"""CORS through the local API Gateway, as a browser on this machine sees it: terraform/envs/local allows
http://localhost:* and http://127.0.0.1:*. Preflights reach the function (no token, no key); answers from the
function carry CORS for a listed origin, errors included; API Gateway's own refusals carry it through their
gateway responses."""

import httpx
import pytest

from tests.e2e.conftest import User, signed_up

pytestmark = pytest.mark.e2e

BROWSER = "http://localhost:5173"
OTHER_PORT = "http://127.0.0.1:8080"
STRANGER = "https://evil.example"
SENT_HEADERS = "authorization,content-type,idempotency-key,x-api-key"


@pytest.fixture(scope="module")
def person(stack) -> User:
    return signed_up(stack, "e2e-cors@example.com")


def _preflight(http: httpx.Client, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": SENT_HEADERS,
        },
    )


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/bedrock", "POST"),  # token + API key
        ("/conversations/abc/messages", "POST"),  # the catch-all's {proxy+}
        ("/v1/chat/completions", "POST"),  # API key only
        ("/login", "POST"),  # public
        ("/me/api-keys", "POST"),  # token only
    ],
)
def test_a_preflight_from_a_listed_origin_allows_idempotency_key(http, path, method):
    response = _preflight(http, path, BROWSER, method)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == BROWSER
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert set(SENT_HEADERS.split(",")) <= allowed
    assert method in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_answers_and_app_errors_carry_cors_for_a_listed_origin(http, person):
    origin = {"Origin": OTHER_PORT}
    ok = http.get("/bedrock", headers={**person.headers, **origin})
    assert ok.status_code == 200, ok.text
    missing = http.get(f"/bots/{'f' * 32}", headers={**person.headers, **origin})
    invalid = http.post("/login", json={}, headers=origin)
    for response, status in ((ok, 200), (missing, 404), (invalid, 422)):
        assert response.status_code == status, response.text
        assert response.headers["access-control-allow-origin"] == OTHER_PORT
        assert "Origin" in response.headers["vary"]
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_api_gateways_own_refusals_carry_cors(http, person):
    origin = {"Origin": BROWSER}
    no_token = http.get("/bedrock", headers={"x-api-key": person.registration["api_key"], **origin})
    assert no_token.status_code == 401, no_token.text
    assert no_token.headers["access-control-allow-origin"] == BROWSER
    no_key = http.get("/v1/models", headers=origin)
    assert no_key.status_code == 403, no_key.text
    assert no_key.headers["access-control-allow-origin"] == BROWSER


def test_an_unlisted_origin_gets_no_allow_origin(http, person):
    preflight = _preflight(http, "/bedrock", STRANGER)
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = http.get("/bedrock", headers={**person.headers, "Origin": STRANGER})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    assert "Origin" in answer.headers["vary"]
