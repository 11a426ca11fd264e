"""`make serve`: the app under uvicorn on loopback with the local function's settings, against this session's
stack; it checks API keys itself (no API Gateway in front)."""

import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.conftest import REPO, local_env

START_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(stack):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "scripts.serve", "--port", str(port)],
        cwd=REPO,
        env={**local_env(), "RELOAD": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"make serve exited ({server.returncode}):\n{server.stdout.read()[-4000:]}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"make serve did not answer /health within {START_TIMEOUT_SECONDS} s")
            time.sleep(0.3)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_health_answers(served):
    response = served.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_a_key_route_answers_with_the_users_key_against_the_local_tables(served, user):
    response = served.get("/v1/models", headers={"x-api-key": user.registration["api_key"]})
    assert response.status_code == 200, response.text
    assert response.json()["data"]


def test_the_app_refuses_a_missing_or_unknown_key_itself(served):
    missing = served.get("/v1/models")
    unknown = served.get("/v1/models", headers={"x-api-key": "gw-not-a-real-key-0000000000000000"})
    for response, code in ((missing, "api_key_missing"), (unknown, "api_key_unknown")):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == code
