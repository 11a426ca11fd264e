import json

import pytest

from tests.unit.gateway.api.helpers import signed_up

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def test_models_with_the_api_key_alone(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.get("/v1/models", headers={"x-api-key": headers["x-api-key"]})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert {"id": HAIKU, "object": "model", "created": 0, "owned_by": "Anthropic"} in body["data"]


def test_chat_completion_maps_to_converse(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Bonjour", 7, 1, stop="max_tokens")
    response = api.post(
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {headers['x-api-key']}"},  # how the openai client sends its key
        json={
            "model": HAIKU,
            "messages": [
                {"role": "system", "content": "Answer in French"},
                {"role": "user", "content": [{"type": "text", "text": "Hello"}]},
            ],
            "max_tokens": 1,
            "temperature": 0.2,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Bonjour"}
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}
    _, params = bedrock.calls[-1]
    assert params["system"] == [{"text": "Answer in French"}]
    assert params["messages"] == [{"role": "user", "content": [{"text": "Hello"}]}]
    assert params["inferenceConfig"] == {"maxTokens": 1, "temperature": 0.2}


def test_stream_true_answers_one_chunk_then_done(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Hi", 2, 1)
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "user", "content": "Hello"}], "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hi"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_v1_refuses_missing_or_revoked_keys(api, bedrock):
    headers, registration, _ = signed_up(api)
    assert api.get("/v1/models").status_code == 403
    api.delete(f"/me/api-keys/{registration['key_id']}", headers={"authorization": headers["authorization"]})
    response = api.get("/v1/models", headers={"x-api-key": headers["x-api-key"]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_conversation_must_start_with_the_user(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "assistant", "content": "Hi"}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_messages"


def test_a_model_not_enabled_is_an_openai_permission_error(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
    )
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "user", "content": "Hello"}]},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("permission_error", "model_access_denied")
    assert HAIKU in error["message"]


def test_v1_errors_carry_openais_type_and_other_routes_do_not(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    invalid = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "assistant", "content": "Hi"}]},
    )
    assert (invalid.status_code, invalid.json()["error"]["type"]) == (400, "invalid_request_error")
    assert api.get("/v1/models").json()["error"]["type"] == "permission_error"
    assert "type" not in api.get("/no-such-route").json()["error"]


def test_an_empty_system_message_is_dropped_not_sent_to_bedrock(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("Hi", 3, 1)
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={
            "model": HAIKU,
            "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}],
        },
    )
    assert response.status_code == 200, response.text
    [(operation, params)] = bedrock.calls
    assert operation == "Converse"
    assert "system" not in params


@pytest.mark.parametrize(
    ("bedrock_code", "http_status", "status", "openai_type", "code"),
    [
        ("ThrottlingException", 429, 429, "rate_limit_error", "model_throttled"),
        ("ServiceUnavailableException", 503, 503, "server_error", "model_unavailable"),
        ("ModelNotReadyException", 429, 503, "server_error", "model_unavailable"),
        ("ValidationException", 400, 400, "invalid_request_error", "model_rejected_request"),
        ("ModelErrorException", 424, 502, "server_error", "model_error"),
    ],
)
def test_bedrock_errors_are_the_openai_errors_its_client_retries_or_not(
    api, bedrock, bedrock_code, http_status, status, openai_type, code
):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_client_error(
        "converse",
        service_error_code=bedrock_code,
        service_message="Input too long",
        http_status_code=http_status,
    )
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "user", "content": "Hello"}]},
    )
    error = response.json()["error"]
    assert (response.status_code, error["type"], error["code"]) == (status, openai_type, code)
    # The openai client retries 429 and 5xx and waits what Retry-After says; 400 it does not retry.
    assert ("retry-after" in response.headers) is (status in (429, 503))
    if code == "model_rejected_request":
        assert "Input too long" in error["message"]
