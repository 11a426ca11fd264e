"""Forwarding to an OpenAI-compatible /chat/completions (LOCAL_BEDROCK_OPENAI_URL), against a stub server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gateway_localstack.bedrock import runtime
from gateway_localstack.bedrock.errors import BedrockError


class Stub:
    def __init__(self):
        self.requests = []
        self.answer = {}
        self.status = 200


@pytest.fixture
def stub():
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            state.requests.append((self.path, json.loads(self.rfile.read(length))))
            payload = json.dumps(state.answer).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()


def env(stub):
    return {"LOCAL_BEDROCK_OPENAI_URL": stub.url, "LOCAL_BEDROCK_OPENAI_MODEL": "tiny"}


def test_invoke_model_wraps_the_servers_answer_in_the_native_shape(stub):
    stub.answer = {
        "choices": [{"message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 17, "completion_tokens": 3},
    }
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "system": "answer briefly",
        "messages": [{"role": "user", "content": "capital of France?"}],
    }
    result = runtime.invoke_model("anthropic.claude-3-haiku-20240307-v1:0", json.dumps(body), env(stub))
    assert result.body["content"] == [{"type": "text", "text": "Paris."}]
    assert result.body["usage"] == {"input_tokens": 17, "output_tokens": 3}
    assert result.body["stop_reason"] == "end_turn"
    [(path, sent)] = stub.requests
    assert path == "/v1/chat/completions"
    assert sent["model"] == "tiny"
    assert sent["max_tokens"] == 50
    assert sent["messages"] == [
        {"role": "system", "content": "answer briefly"},
        {"role": "user", "content": "capital of France?"},
    ]


def test_converse_length_finish_and_missing_usage(stub):
    stub.answer = {"choices": [{"message": {"content": "one two three"}, "finish_reason": "length"}]}
    answer = runtime.converse(
        {
            "modelId": "amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": "count to ten"}]}],
        },
        env(stub),
    )
    assert answer["output"]["message"]["content"] == [{"text": "one two three"}]
    assert answer["stopReason"] == "max_tokens"
    assert answer["usage"] == {"inputTokens": 3, "outputTokens": 3, "totalTokens": 6}  # word counts
    assert "max_tokens" not in stub.requests[0][1]


def test_single_prompt_family_sends_the_template_turns(stub):
    stub.answer = {"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}]}
    prompt = "<s>[INST] hello [/INST] hi</s>[INST] how are you [/INST]"
    result = runtime.invoke_model(
        "mistral.mistral-7b-instruct-v0:2", json.dumps({"prompt": prompt}), env(stub)
    )
    assert result.body == {"outputs": [{"text": "fine", "stop_reason": "stop"}]}
    assert stub.requests[0][1]["messages"] == [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "how are you"},
    ]


def test_server_error_is_a_model_error(stub):
    stub.status = 500
    stub.answer = {"error": "boom"}
    with pytest.raises(BedrockError) as raised:
        runtime.invoke_model("meta.llama3-8b-instruct-v1:0", json.dumps({"prompt": "hi"}), env(stub))
    assert (raised.value.code, raised.value.status) == ("ModelErrorException", 424)
    assert "boom" in raised.value.message


def test_unreachable_server_is_service_unavailable(stub):
    unreachable = {"LOCAL_BEDROCK_OPENAI_URL": "http://127.0.0.1:9/v1"}
    with pytest.raises(BedrockError) as raised:
        runtime.invoke_model("meta.llama3-8b-instruct-v1:0", json.dumps({"prompt": "hi"}), unreachable)
    assert (raised.value.code, raised.value.status) == ("ServiceUnavailableException", 503)


def test_hooks_still_apply_before_forwarding(stub):
    with pytest.raises(BedrockError) as raised:
        runtime.invoke_model(
            "meta.llama3-8b-instruct-v1:0", json.dumps({"prompt": "[[bedrock:throttle]]"}), env(stub)
        )
    assert raised.value.code == "ThrottlingException"
    assert stub.requests == []


def test_embeddings_are_never_forwarded(stub):
    result = runtime.invoke_model("amazon.titan-embed-text-v2:0", json.dumps({"inputText": "a b"}), env(stub))
    assert result.body["inputTextTokenCount"] == 2
    assert stub.requests == []
