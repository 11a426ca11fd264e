"""bedrock-runtime's InvokeModel and Converse, decided without LocalStack (the provider only adapts them).

Imports nothing from LocalStack. See prompt.py for the token rule and the test hooks, families.py for the
native bodies, openai_compat.py for the optional forwarding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway_localstack.bedrock import catalog, guardrails, openai_compat, tools
from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.families import FAMILIES
from gateway_localstack.bedrock.prompt import (
    IMAGE_MARKER,
    Prompt,
    Reply,
    apply_test_hooks,
    as_text_blocks,
    echo,
    positive_int,
)

CONVERSE_UNSUPPORTED = (
    "This action doesn't support the model that you provided. Try again with a supported text or chat model."
)


IMAGE_UNSUPPORTED = "This model doesn't support the image content block that you provided."
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
MAX_IMAGES = 20
MAX_IMAGE_BYTES = 3_750_000


def image_blocks(content: list[Any], where: str) -> int:
    """How many image blocks a Converse message holds, each checked as Bedrock checks it."""
    count = 0
    for index, block in enumerate(content):
        if not isinstance(block, dict) or "image" not in block:
            continue
        image = block["image"] if isinstance(block["image"], dict) else {}
        if image.get("format") not in IMAGE_FORMATS:
            raise BedrockError.validation(f"{where}.content.{index}.image.format: not one of {IMAGE_FORMATS}")
        data = (image.get("source") or {}).get("bytes")
        if not isinstance(data, bytes | str) or not data:
            raise BedrockError.validation(f"{where}.content.{index}.image.source: bytes are required")
        if len(data) > MAX_IMAGE_BYTES:
            raise BedrockError.validation(f"{where}.content.{index}.image: the image exceeds 3.75 MB")
        count += 1
    if count > MAX_IMAGES:
        raise BedrockError.validation(f"Too many images: at most {MAX_IMAGES} are allowed.")
    return count


@dataclass
class Invocation:
    """InvokeModel's answer: the JSON body and what its X-Amzn-Bedrock-* headers say."""

    body: dict[str, Any]
    input_tokens: int
    output_tokens: int
    latency_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Amzn-Bedrock-Input-Token-Count": str(self.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(self.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(self.latency_ms),
        }


def generate(prompt: Prompt, env: Mapping[str, str]) -> Reply:
    if openai_compat.configured_url(env):
        return openai_compat.forward(prompt, env)
    return echo(prompt)


def _json_object(body: bytes | str | None) -> dict[str, Any]:
    try:
        value = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise BedrockError.malformed(f"the body is not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise BedrockError.malformed(f"expected type: JSONObject, found: {type(value).__name__}")
    return value


def invoke_model(
    model_id: str,
    body: bytes | str | None,
    env: Mapping[str, str],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    guardrail: guardrails.Guardrail | None = None,
) -> Invocation:
    started = clock()
    model = catalog.resolve(model_id)
    family = FAMILIES[model["family"]]
    request = _json_object(body)
    prompt = family.parse(request)
    apply_test_hooks(prompt, sleep)
    blocked = guardrails.intervenes(guardrail, prompt, env)
    if blocked:
        reply = guardrails.blocked_reply(prompt)
    elif family.generates_text:
        reply = generate(prompt, env)
    else:
        reply = Reply("", prompt.input_tokens, 0, truncated=False)
    extra = (request,) if family.build_needs_body else ()
    answer = family.build(model, prompt, reply, *extra)
    if guardrail is not None:
        answer[guardrails.ACTION_FIELD] = "INTERVENED" if blocked else "NONE"
    return Invocation(answer, reply.input_tokens, reply.output_tokens, round((clock() - started) * 1000))


def converse_prompt(request: Mapping[str, Any]) -> Prompt:
    """Converse's request reduced to a Prompt: its text blocks and inferenceConfig.maxTokens."""
    messages = request.get("messages") or []
    if not messages:
        raise BedrockError.validation(
            "A conversation must start with a user message. Try again with a user message."
        )
    config = request.get("inferenceConfig") or {}
    prompt = Prompt(max_tokens=positive_int(config.get("maxTokens"), "inferenceConfig.maxTokens"))
    prompt.system = as_text_blocks(request.get("system") or [], "system")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise BedrockError.validation(f"messages.{index}.role: {role!r} is not user or assistant")
        content = message.get("content") or []
        texts = as_text_blocks(content, f"messages.{index}")
        images = image_blocks(content, f"messages.{index}")
        if images and role != "user":
            raise BedrockError.validation("Only user messages may contain images.")
        prompt.images += images
        prompt.turns.append((role, "\n".join(texts + [IMAGE_MARKER] * images)))
    if prompt.turns[0][0] != "user":
        raise BedrockError.validation(
            "A conversation must start with a user message. Try again with a user message."
        )
    prompt.counted = prompt.system + [text for _, text in prompt.turns]
    return prompt


def converse(
    request: Mapping[str, Any],
    env: Mapping[str, str],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    started = clock()
    model = catalog.resolve(request.get("modelId") or "")
    if not FAMILIES[model["family"]].generates_text:
        raise BedrockError.validation(CONVERSE_UNSUPPORTED)
    prompt = converse_prompt(request)
    if prompt.images and "IMAGE" not in model["inputModalities"]:
        raise BedrockError.validation(IMAGE_UNSUPPORTED)
    tools.count_tool_words(request, prompt)
    guardrail = guardrails.from_converse(request)
    apply_test_hooks(prompt, sleep)
    # Tool use and tool results are decided locally (see tools.py), even when a chat server is configured.
    if guardrails.intervenes(guardrail, prompt, env):
        reply = guardrails.blocked_reply(prompt)
        content, stop_reason = [{"text": reply.text}], guardrails.STOP_REASON
    elif decided := tools.answer(request, prompt):
        content, stop_reason, reply = decided
    else:
        reply = generate(prompt, env)
        content, stop_reason = [{"text": reply.text}], "max_tokens" if reply.truncated else "end_turn"
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": {
            "inputTokens": reply.input_tokens,
            "outputTokens": reply.output_tokens,
            "totalTokens": reply.total_tokens,
        },
        "metrics": {"latencyMs": round((clock() - started) * 1000)},
    }
