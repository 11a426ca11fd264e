"""The whole path: Terraform -> local AWS -> API Gateway -> Lambda (FastAPI + Mangum) -> CloudWatch Logs."""

import time

import pytest

from gateway import __version__
from tests.e2e.conftest import local_sh

pytestmark = pytest.mark.e2e


def test_health_answers_through_the_gateway(http):
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_errors_keep_the_one_shape_through_the_gateway(http):
    response = http.post("/register", json={"email": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_body_sent_as_curl_d_sends_it_says_which_content_type_to_send(http):
    # curl -d without -H 'content-type: application/json' sends a form type.
    response = http.post(
        "/register",
        content=b'{"email": "ada@example.com", "password": "Correct-horse-9", "fullname": "Ada"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert "content-type: application/json" in response.json()["error"]["message"]


def test_protected_route_without_token_is_401_at_the_gateway(http):
    response = http.get("/me")
    assert response.status_code == 401
    # The gateway's answer, not the app's: the function was never called.
    assert "error" not in response.json()


def test_a_model_call_without_api_key_is_403_at_the_gateway(http, id_token):
    response = http.post("/bedrock", headers={"authorization": f"Bearer {id_token}"}, json={})
    assert response.status_code == 403
    assert "error" not in response.json()


def test_reading_takes_the_token_alone_through_the_gateway(http, id_token):
    response = http.get("/me", headers={"authorization": f"Bearer {id_token}"})
    assert response.status_code == 200, response.text


def test_the_request_log_line_reaches_cloudwatch(stack, http):
    response = http.get("/health")
    request_id = response.headers["x-request-id"]
    logs = stack.aws("logs")
    group = stack.outputs["log_group_name"]
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=group, filterPattern=f'"{request_id}"')["events"]
        lines = [event["message"] for event in events if request_id in event["message"]]
        if lines:
            break
        time.sleep(1)
    assert any('"path": "/health"' in line and '"status": 200' in line for line in lines), lines


def test_running_up_again_changes_nothing(stack):
    local_sh("up")
    plan = local_sh("plan", check=False)
    assert plan.returncode == 0, plan.stdout[-3000:]
