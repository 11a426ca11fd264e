"""Bedrock for unit tests: real botocore clients behind Stubber, fed each provider's real response shapes."""

import io
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.support.aws import REGION


@dataclass(frozen=True)
class Shape:
    """One provider family: a model, its native request, its native response, what the gateway reads."""

    model_id: str
    request: dict[str, Any]
    response: dict[str, Any]
    output: str
    input_tokens: int
    output_tokens: int


SHAPES: dict[str, Shape] = {
    "anthropic-messages": Shape(
        "anthropic.claude-3-haiku-20240307-v1:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "Say hi"}],
        },
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-haiku",
            "content": [{"type": "text", "text": "Hi there"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 3},
        },
        "Hi there",
        10,
        3,
    ),
    "anthropic-completions": Shape(
        "anthropic.claude-v2:1",
        {"prompt": "\n\nHuman: Say hi\n\nAssistant:", "max_tokens_to_sample": 50},
        {"completion": " Hello!", "stop_reason": "stop_sequence", "stop": "\n\nHuman:"},
        " Hello!",
        12,
        2,
    ),
    "amazon-titan-text": Shape(
        "amazon.titan-text-express-v1",
        {"inputText": "Say hi", "textGenerationConfig": {"maxTokenCount": 50}},
        {
            "inputTextTokenCount": 3,
            "results": [{"tokenCount": 2, "outputText": "Hi!", "completionReason": "FINISH"}],
        },
        "Hi!",
        3,
        2,
    ),
    "amazon-nova": Shape(
        "us.amazon.nova-lite-v1:0",
        {
            "messages": [{"role": "user", "content": [{"text": "Say hi"}]}],
            "inferenceConfig": {"maxTokens": 50},
        },
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Hello from Nova"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7},
        },
        "Hello from Nova",
        4,
        3,
    ),
    "meta-llama": Shape(
        "meta.llama3-8b-instruct-v1:0",
        {"prompt": "Say hi", "max_gen_len": 50},
        {
            "generation": "Hi, I am Llama",
            "prompt_token_count": 5,
            "generation_token_count": 4,
            "stop_reason": "stop",
        },
        "Hi, I am Llama",
        5,
        4,
    ),
    "mistral": Shape(
        "mistral.mistral-7b-instruct-v0:2",
        {"prompt": "<s>[INST] Say hi [/INST]", "max_tokens": 50},
        {"outputs": [{"text": "Bonjour", "stop_reason": "stop"}]},
        "Bonjour",
        9,
        1,
    ),
    "cohere-command": Shape(
        "cohere.command-text-v14",
        {"prompt": "Say hi", "max_tokens": 50},
        {
            "id": "c1",
            "prompt": "Say hi",
            "generations": [{"id": "g1", "text": "Hey", "finish_reason": "COMPLETE"}],
        },
        "Hey",
        3,
        1,
    ),
    "cohere-command-r": Shape(
        "cohere.command-r-v1:0",
        {"message": "Say hi", "max_tokens": 50},
        {
            "response_id": "r1",
            "text": "Hello, Command R here",
            "generation_id": "g1",
            "finish_reason": "COMPLETE",
            "chat_history": [],
        },
        "Hello, Command R here",
        3,
        4,
    ),
    "ai21-jurassic": Shape(
        "ai21.j2-ultra-v1",
        {"prompt": "Say hi", "maxTokens": 50},
        {
            "id": 1,
            "prompt": {"text": "Say hi", "tokens": []},
            "completions": [
                {"data": {"text": "Shalom", "tokens": []}, "finishReason": {"reason": "endoftext"}}
            ],
        },
        "Shalom",
        3,
        1,
    ),
    "ai21-jamba": Shape(
        "ai21.jamba-1-5-mini-v1:0",
        {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 50},
        {
            "id": "j1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi from Jamba"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 6, "completion_tokens": 3, "total_tokens": 9},
        },
        "Hi from Jamba",
        6,
        3,
    ),
}

CATALOG = [
    ("anthropic.claude-3-haiku-20240307-v1:0", "Anthropic", "Claude 3 Haiku", ["TEXT", "IMAGE"], ["TEXT"]),
    ("anthropic.claude-v2:1", "Anthropic", "Claude", ["TEXT"], ["TEXT"]),
    ("amazon.titan-text-express-v1", "Amazon", "Titan Text G1 - Express", ["TEXT"], ["TEXT"]),
    ("amazon.nova-lite-v1:0", "Amazon", "Nova Lite", ["TEXT", "IMAGE", "VIDEO"], ["TEXT"]),
    ("amazon.titan-embed-text-v2:0", "Amazon", "Titan Text Embeddings V2", ["TEXT"], ["EMBEDDING"]),
    ("cohere.embed-english-v3", "Cohere", "Embed English", ["TEXT"], ["EMBEDDING"]),
    ("meta.llama3-8b-instruct-v1:0", "Meta", "Llama 3 8B Instruct", ["TEXT"], ["TEXT"]),
    ("mistral.mistral-7b-instruct-v0:2", "Mistral AI", "Mistral 7B Instruct", ["TEXT"], ["TEXT"]),
    ("cohere.command-text-v14", "Cohere", "Command", ["TEXT"], ["TEXT"]),
    ("cohere.command-r-v1:0", "Cohere", "Command R", ["TEXT"], ["TEXT"]),
    ("ai21.j2-ultra-v1", "AI21 Labs", "Jurassic-2 Ultra", ["TEXT"], ["TEXT"]),
    ("ai21.jamba-1-5-mini-v1:0", "AI21 Labs", "Jamba 1.5 Mini", ["TEXT"], ["TEXT"]),
    ("stability.unpriced-model-v1", "Stability AI", "Not in the price table", ["TEXT"], ["IMAGE"]),
    ("acme.mystery-v1", "Acme", "Unknown response shape", ["TEXT"], ["TEXT"]),
]


def catalog_response() -> dict[str, Any]:
    return {
        "modelSummaries": [
            {
                "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
                "modelId": model_id,
                "modelName": name,
                "providerName": provider,
                "inputModalities": inputs,
                "outputModalities": outputs,
            }
            for model_id, provider, name, inputs, outputs in CATALOG
        ]
    }


def invoke_response(
    body: dict[str, Any] | str, input_tokens: int, output_tokens: int, token_headers: bool = True
) -> dict[str, Any]:
    """InvokeModel's answer; without `token_headers` the gateway must read the counts from the body."""
    raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"x-amzn-bedrock-invocation-latency": "12"}
    if token_headers:
        headers["x-amzn-bedrock-input-token-count"] = str(input_tokens)
        headers["x-amzn-bedrock-output-token-count"] = str(output_tokens)
    return {
        "body": StreamingBody(io.BytesIO(raw), len(raw)),
        "contentType": "application/json",
        "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": headers},
    }


def converse_response(
    text: str, input_tokens: int, output_tokens: int, stop: str = "end_turn"
) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": 5},
    }


@dataclass
class StubbedBedrock:
    """Queue answers with `control` / `runtime` (Stubber); `calls` records what the runtime was asked."""

    control: Stubber
    runtime: Stubber
    clients: dict[str, Any]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def catalog(self) -> None:
        self.control.add_response("list_foundation_models", catalog_response())

    def invoke(self, shape: Shape, token_headers: bool = True) -> None:
        self.runtime.add_response(
            "invoke_model",
            invoke_response(shape.response, shape.input_tokens, shape.output_tokens, token_headers),
        )

    def converse(self, text: str, input_tokens: int, output_tokens: int, stop: str = "end_turn") -> None:
        self.runtime.add_response("converse", converse_response(text, input_tokens, output_tokens, stop))


def stubbed_bedrock() -> StubbedBedrock:
    control = boto3.client("bedrock", region_name=REGION)
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    stub = StubbedBedrock(
        Stubber(control), Stubber(runtime), {"bedrock": control, "bedrock-runtime": runtime}
    )

    def record(params, model, **_):
        stub.calls.append((model.name, params))

    runtime.meta.events.register("provide-client-params.bedrock-runtime.*", record)
    stub.control.activate()
    stub.runtime.activate()
    return stub
