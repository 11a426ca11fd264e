import json
import subprocess
import sys

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, model_validator

from gateway import __version__
from gateway.errors import ConflictError
from gateway.main import create_app, handler
from tests.support.events import LambdaContext, api_gateway_event


def test_health_answers_status_and_version(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_every_response_carries_a_request_id(client):
    assert len(client.get("/health").headers["x-request-id"]) >= 16


def test_unknown_route_uses_the_error_shape(client):
    response = client.get("/no-such-route")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_wrong_method_is_405_in_the_error_shape(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


class _Secretive(BaseModel):
    name: str = Field(min_length=3)
    password: str = Field(min_length=12)

    @model_validator(mode="after")
    def _not_the_name(self) -> "_Secretive":
        if self.password == self.name:
            raise ValueError("the password must not be the name")
        return self


def _app_with_test_routes():
    app = create_app()
    router = APIRouter()

    @router.post("/echo")
    def echo(body: _Secretive) -> dict:
        return {"name": body.name}

    @router.get("/conflict")
    def conflict() -> dict:
        raise ConflictError("That thing exists already.", code="thing_exists")

    @router.get("/boom")
    def boom() -> dict:
        raise RuntimeError("database password is hunter2")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_validation_errors_are_422_and_never_echo_the_input():
    response = _app_with_test_routes().post("/echo", json={"name": "x", "password": "hunter2"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = {problem["field"] for problem in error["details"]["problems"]}
    assert fields == {"name", "password"}
    assert "hunter2" not in response.text


def test_domain_errors_map_to_their_status_and_code():
    response = _app_with_test_routes().get("/conflict")
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "thing_exists", "message": "That thing exists already."}}


def test_unexpected_errors_are_500_without_details():
    response = _app_with_test_routes().get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Internal error."}}
    assert "hunter2" not in response.text


def test_lambda_handler_serves_api_gateway_proxy_events(capsys):
    result = handler(api_gateway_event("GET", "/health", request_id="apigw-req-42"), LambdaContext())
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"status": "ok", "version": __version__}
    # API Gateway's request id correlates the response and the log line.
    assert result["headers"]["x-request-id"] == "apigw-req-42"
    access_lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "gateway.access" in line
    ]
    assert any(
        line["request_id"] == "apigw-req-42" and line["path"] == "/health" and line["status"] == 200
        for line in access_lines
    )


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        # curl -d without -H 'content-type: application/json'
        (
            b'{"name": "abc", "password": "p"}',
            {"content-type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        (
            b'{"name": "abc", "password": "p"}',
            {"content-type": "text/plain; charset=utf-8"},
            415,
            "unsupported_media_type",
        ),
        (b'{"name": "abc", "password": "p"}', {}, 415, "unsupported_media_type"),
        (b'{"name": "abc", ', {"content-type": "application/json"}, 422, "invalid_json"),
        (b"[1, 2]", {"content-type": "application/json"}, 422, "body_not_object"),
        (b"", {"content-type": "application/json"}, 422, "missing_body"),
    ],
)
def test_a_body_that_is_not_a_json_object_says_to_send_one_with_its_content_type(body, headers, status, code):
    response = _app_with_test_routes().post("/echo", content=body, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert "content-type: application/json" in response.json()["error"]["message"]
    assert "hunter2" not in response.text


def test_a_json_body_under_a_json_suffix_type_is_read():
    response = _app_with_test_routes().post(
        "/echo",
        content=b'{"name": "abc", "password": "correct-horse-battery"}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.json() == {"name": "abc"}


def test_a_form_encoded_body_through_api_gateway_is_415_naming_the_header(stack):
    event = api_gateway_event(
        "POST", "/register", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    event["body"] = '{"email": "ada@example.com", "password": "Correct-horse-9", "fullname": "Ada"}'
    result = handler(event, LambdaContext())
    assert result["statusCode"] == 415
    error = json.loads(result["body"])["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/x-www-form-urlencoded" in error["message"]
    assert "content-type: application/json" in error["message"]


def test_a_rule_about_the_whole_body_keeps_its_own_message():
    same = "correct-horse-battery"
    response = _app_with_test_routes().post("/echo", json={"name": same, "password": same})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "the password must not be the name" in response.json()["error"]["message"]


@pytest.mark.parametrize("collecting", [True, False])
def test_the_import_leaves_the_collector_as_it_found_it_with_the_app_frozen_out_of_it(collecting):
    statement = (
        "import gc, sys\n"
        f"{'' if collecting else 'gc.disable()'}\n"
        "before = gc.get_freeze_count()\n"
        "import gateway.main\n"
        "print(gc.isenabled(), gc.get_freeze_count() > before + 10_000)"
    )
    out = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True, check=True).stdout
    assert out.split() == [str(collecting), "True"]


def test_the_openapi_describes_the_error_answers_of_a_json_body_as_they_are_sent():
    import jsonschema

    client = _app_with_test_routes()
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/register"]["post"]["responses"]
    assert {"415", "422"} <= set(responses)
    assert "HTTPValidationError" not in json.dumps(spec)
    error_schema = spec["components"]["schemas"]["Error"]
    for status in ("415", "422"):
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    sent = [
        client.post("/echo", content=b"{}", headers={"content-type": "text/plain"}),
        client.post("/echo", json={"name": "x", "password": "y"}),
    ]
    assert [answer.status_code for answer in sent] == [415, 422]
    for answer in sent:
        jsonschema.validate(answer.json(), error_schema)
