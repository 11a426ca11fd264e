"""InvokeModel bodies per model family: the native request each family takes and the native response it sends.

Imports nothing from LocalStack. A family is `parse(body) -> Prompt` plus
`build(model, prompt, reply) -> dict`; the catalog's `family` field names the one a model uses.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.prompt import Prompt, Reply, as_text_blocks, positive_int, template_turns


def _require(body: dict[str, Any], key: str, kind: type, kind_name: str) -> Any:
    if key not in body:
        raise BedrockError.malformed(f"#: required key [{key}] not found")
    if not isinstance(body[key], kind) or isinstance(body[key], bool):
        raise BedrockError.malformed(f"#/{key}: expected type: {kind_name}")
    return body[key]


def _optional(body: dict[str, Any], key: str, kind: type, kind_name: str) -> Any:
    if body.get(key) is None:
        return None
    return _require(body, key, kind, kind_name)


def _single_prompt(
    body: dict[str, Any], key: str, limit_key: str | None, config: dict | None = None
) -> Prompt:
    text = _require(body, key, str, "String")
    source = body if config is None else config
    limit = positive_int(source.get(limit_key), f"#/{limit_key}") if limit_key else None
    return Prompt(turns=template_turns(text), counted=[text], max_tokens=limit)


# --- Anthropic Claude 3 (messages API) -----------------------------------------------------------------


def _anthropic_content(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    blocks = as_text_blocks(content, where)
    return "\n".join(blocks)


def parse_anthropic_messages(body: dict[str, Any]) -> Prompt:
    _require(body, "anthropic_version", str, "String")
    limit = positive_int(_require(body, "max_tokens", int, "Integer"), "#/max_tokens")
    messages = _require(body, "messages", list, "JSONArray")
    if not messages:
        raise BedrockError.validation("messages: at least one message is required")
    prompt = Prompt(max_tokens=limit)
    system = body.get("system")
    if system is not None:
        prompt.system.append(_anthropic_content(system, "#/system"))
    for index, message in enumerate(messages):
        where = f"#/messages/{index}"
        if not isinstance(message, dict):
            raise BedrockError.malformed(f"{where}: expected type: JSONObject")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise BedrockError.malformed(f"{where}/role: {role!r} is not a valid enum value")
        if "content" not in message:
            raise BedrockError.malformed(f"{where}: required key [content] not found")
        prompt.turns.append((role, _anthropic_content(message["content"], f"{where}/content")))
    if prompt.turns[0][0] != "user":
        raise BedrockError.validation('messages: first message must use the "user" role')
    prompt.counted = prompt.system + [text for _, text in prompt.turns]
    return prompt


def anthropic_model_name(model_id: str) -> str:
    """`anthropic.claude-3-haiku-20240307-v1:0` -> `claude-3-haiku-20240307`, as Claude's replies name it."""
    name = model_id.split(".", 1)[-1]
    return re.sub(r"-v\d+(:\d+)?$", "", name)


def build_anthropic_messages(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
        "type": "message",
        "role": "assistant",
        "model": anthropic_model_name(model["modelId"]),
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "max_tokens" if reply.truncated else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


# --- Anthropic Claude v2 / Instant (text completions) ---------------------------------------------------


def parse_anthropic_text(body: dict[str, Any]) -> Prompt:
    text = _require(body, "prompt", str, "String")
    positive_int(_require(body, "max_tokens_to_sample", int, "Integer"), "#/max_tokens_to_sample")
    if "\n\nHuman:" not in text:
        raise BedrockError.validation(
            'Invalid prompt: prompt must start with "\\n\\nHuman:" turn after an optional system prompt'
        )
    if not text.rstrip().endswith("\n\nAssistant:"):
        raise BedrockError.validation('Invalid prompt: prompt must end with "\\n\\nAssistant:" turn')
    return _single_prompt(body, "prompt", "max_tokens_to_sample")


def build_anthropic_text(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "completion": " " + reply.text,
        "stop_reason": "max_tokens" if reply.truncated else "stop_sequence",
        "stop": None if reply.truncated else "\n\nHuman:",
    }


# --- Amazon Titan Text ----------------------------------------------------------------------------------


def parse_titan_text(body: dict[str, Any]) -> Prompt:
    config = _optional(body, "textGenerationConfig", dict, "JSONObject") or {}
    return _single_prompt(body, "inputText", "maxTokenCount", config)


def build_titan_text(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "inputTextTokenCount": reply.input_tokens,
        "results": [
            {
                "tokenCount": reply.output_tokens,
                "outputText": reply.text,
                "completionReason": "LENGTH" if reply.truncated else "FINISH",
            }
        ],
    }


# --- Amazon Nova ----------------------------------------------------------------------------------------


def parse_nova(body: dict[str, Any]) -> Prompt:
    messages = _require(body, "messages", list, "JSONArray")
    if not messages:
        raise BedrockError.validation("A conversation must start with a user message.")
    config = _optional(body, "inferenceConfig", dict, "JSONObject") or {}
    limit_key = "maxTokens" if "maxTokens" in config else "max_new_tokens"
    prompt = Prompt(max_tokens=positive_int(config.get(limit_key), f"#/inferenceConfig/{limit_key}"))
    if body.get("system") is not None:
        prompt.system = as_text_blocks(body["system"], "#/system")
    for index, message in enumerate(messages):
        where = f"#/messages/{index}"
        if not isinstance(message, dict):
            raise BedrockError.malformed(f"{where}: expected type: JSONObject")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise BedrockError.malformed(f"{where}/role: {role!r} is not a valid enum value")
        prompt.turns.append((role, "\n".join(as_text_blocks(message.get("content"), f"{where}/content"))))
    if prompt.turns[0][0] != "user":
        raise BedrockError.validation("A conversation must start with a user message.")
    prompt.counted = prompt.system + [text for _, text in prompt.turns]
    return prompt


def build_nova(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": reply.text}]}},
        "stopReason": "max_tokens" if reply.truncated else "end_turn",
        "usage": {
            "inputTokens": reply.input_tokens,
            "outputTokens": reply.output_tokens,
            "totalTokens": reply.total_tokens,
        },
    }


# --- Meta Llama -----------------------------------------------------------------------------------------


def parse_llama(body: dict[str, Any]) -> Prompt:
    return _single_prompt(body, "prompt", "max_gen_len")


def build_llama(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "generation": reply.text,
        "prompt_token_count": reply.input_tokens,
        "generation_token_count": reply.output_tokens,
        "stop_reason": "length" if reply.truncated else "stop",
    }


# --- Mistral --------------------------------------------------------------------------------------------


def parse_mistral(body: dict[str, Any]) -> Prompt:
    return _single_prompt(body, "prompt", "max_tokens")


def build_mistral(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {"outputs": [{"text": reply.text, "stop_reason": "length" if reply.truncated else "stop"}]}


# --- Cohere Command (text generation) and Command R (chat) ---------------------------------------------


def parse_cohere_command(body: dict[str, Any]) -> Prompt:
    return _single_prompt(body, "prompt", "max_tokens")


def build_cohere_command(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "prompt": prompt.counted[0],
        "generations": [
            {
                "id": str(uuid.uuid4()),
                "text": reply.text,
                "finish_reason": "MAX_TOKENS" if reply.truncated else "COMPLETE",
            }
        ],
    }


_COHERE_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system"}


def parse_cohere_command_r(body: dict[str, Any]) -> Prompt:
    message = _require(body, "message", str, "String")
    history = _optional(body, "chat_history", list, "JSONArray") or []
    preamble = _optional(body, "preamble", str, "String")
    prompt = Prompt(max_tokens=positive_int(body.get("max_tokens"), "#/max_tokens"))
    if preamble is not None:
        prompt.system.append(preamble)
    for index, entry in enumerate(history):
        where = f"#/chat_history/{index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
            raise BedrockError.malformed(f"{where}: expected an object with a String message")
        role = _COHERE_ROLES.get(str(entry.get("role", "")).upper())
        if role is None:
            raise BedrockError.malformed(f"{where}/role: {entry.get('role')!r} is not a valid enum value")
        if role == "system":
            prompt.system.append(entry["message"])
        else:
            prompt.turns.append((role, entry["message"]))
    prompt.turns.append(("user", message))
    prompt.counted = [*prompt.system, *(text for _, text in prompt.turns)]
    return prompt


def build_cohere_command_r(model: dict[str, Any], prompt: Prompt, reply: Reply, body: dict) -> dict[str, Any]:
    history = [dict(entry) for entry in body.get("chat_history") or []]
    history += [{"role": "USER", "message": body["message"]}, {"role": "CHATBOT", "message": reply.text}]
    return {
        "response_id": str(uuid.uuid4()),
        "text": reply.text,
        "generation_id": str(uuid.uuid4()),
        "finish_reason": "MAX_TOKENS" if reply.truncated else "COMPLETE",
        "chat_history": history,
    }


# --- AI21 Jurassic-2 and Jamba --------------------------------------------------------------------------


def parse_ai21_j2(body: dict[str, Any]) -> Prompt:
    return _single_prompt(body, "prompt", "maxTokens")


def build_ai21_j2(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    reason: dict[str, Any] = {"reason": "endoftext"}
    if reply.truncated:
        reason = {"reason": "length", "length": prompt.max_tokens}
    return {
        "id": random.randint(1000, 9999),  # noqa: S311 - an id, not a secret
        "prompt": {"text": prompt.counted[0], "tokens": []},
        "completions": [{"data": {"text": reply.text, "tokens": []}, "finishReason": reason}],
    }


def parse_ai21_jamba(body: dict[str, Any]) -> Prompt:
    messages = _require(body, "messages", list, "JSONArray")
    if not messages:
        raise BedrockError.validation("messages: at least one message is required")
    prompt = Prompt(max_tokens=positive_int(body.get("max_tokens"), "#/max_tokens"))
    for index, message in enumerate(messages):
        where = f"#/messages/{index}"
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise BedrockError.malformed(f"{where}: expected an object with a String content")
        role = message.get("role")
        if role == "system":
            prompt.system.append(message["content"])
        elif role in ("user", "assistant"):
            prompt.turns.append((role, message["content"]))
        else:
            raise BedrockError.malformed(f"{where}/role: {role!r} is not a valid enum value")
    prompt.counted = [message["content"] for message in messages]
    return prompt


def build_ai21_jamba(model: dict[str, Any], prompt: Prompt, reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": "length" if reply.truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.total_tokens,
        },
    }


# --- Text embeddings: Amazon Titan Text Embeddings v2 and Cohere Embed v3 --------------------------------

TITAN_EMBED_DIMENSIONS = (1024, 512, 256)  # the first is the default
COHERE_EMBED_DIMENSIONS = 1024
COHERE_MAX_TEXTS = 96
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
COHERE_EMBEDDING_TYPES = ("float", "int8", "uint8")
_WORD = re.compile(r"\w+")


def embedding(text: str, dimensions: int = TITAN_EMBED_DIMENSIONS[0], normalize: bool = True) -> list[float]:
    """A deterministic vector: a hashed bag of words (each word adds +-1 at two slots chosen by its SHA-256),
    so texts sharing words are closer (higher cosine) than unrelated ones; unit length when `normalize`."""
    vector = [0.0] * dimensions
    for word in _WORD.findall(text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        for slot in range(2):
            index = int.from_bytes(digest[4 * slot : 4 * slot + 4], "big") % dimensions
            vector[index] += 1.0 if digest[8 + slot] & 1 else -1.0
    if not any(vector):  # no word at all (punctuation only): still a valid, non-zero vector
        vector[0] = 1.0
    if not normalize:
        return vector
    norm = math.sqrt(sum(value * value for value in vector))
    return [round(value / norm, 6) for value in vector]


def parse_titan_embed(body: dict[str, Any]) -> Prompt:
    text = _require(body, "inputText", str, "String")
    if not text.strip():
        raise BedrockError.malformed("#/inputText: expected minLength: 1, actual: 0")
    dimensions = body.get("dimensions", TITAN_EMBED_DIMENSIONS[0])
    if dimensions not in TITAN_EMBED_DIMENSIONS or isinstance(dimensions, bool):
        raise BedrockError.malformed(f"#/dimensions: {dimensions} is not a valid enum value")
    if not isinstance(body.get("normalize", True), bool):
        raise BedrockError.malformed("#/normalize: expected type: Boolean")
    return Prompt(turns=[("user", text)], counted=[text])


def build_titan_embed(model: dict[str, Any], prompt: Prompt, reply: Reply, body: dict) -> dict[str, Any]:
    vector = embedding(
        prompt.counted[0], body.get("dimensions", TITAN_EMBED_DIMENSIONS[0]), body.get("normalize", True)
    )
    return {"embedding": vector, "inputTextTokenCount": prompt.input_tokens}


def parse_cohere_embed(body: dict[str, Any]) -> Prompt:
    texts = _require(body, "texts", list, "JSONArray")
    if not 1 <= len(texts) <= COHERE_MAX_TEXTS:
        raise BedrockError.malformed(f"#/texts: expected 1 to {COHERE_MAX_TEXTS} items, found {len(texts)}")
    if not all(isinstance(text, str) for text in texts):
        raise BedrockError.malformed("#/texts: expected type: String")
    input_type = _require(body, "input_type", str, "String")
    if input_type not in COHERE_INPUT_TYPES:
        raise BedrockError.malformed(f"#/input_type: {input_type} is not a valid enum value")
    for kind in _optional(body, "embedding_types", list, "JSONArray") or []:
        if kind not in COHERE_EMBEDDING_TYPES:
            raise BedrockError.malformed(f"#/embedding_types: {kind} is not a valid enum value")
    return Prompt(turns=[("user", text) for text in texts], counted=list(texts))


def _as_type(vector: list[float], kind: str) -> list[float] | list[int]:
    if kind == "int8":
        return [round(value * 127) for value in vector]
    if kind == "uint8":
        return [round((value + 1) * 127.5) for value in vector]
    return vector


def build_cohere_embed(model: dict[str, Any], prompt: Prompt, reply: Reply, body: dict) -> dict[str, Any]:
    vectors = [embedding(text, COHERE_EMBED_DIMENSIONS) for text in prompt.counted]
    kinds = body.get("embedding_types")
    answer: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": list(prompt.counted)}
    if kinds:
        answer["embeddings"] = {kind: [_as_type(v, kind) for v in vectors] for kind in kinds}
        answer["response_type"] = "embeddings_by_type"
    else:
        answer["embeddings"] = vectors
        answer["response_type"] = "embeddings_floats"
    return answer


@dataclass(frozen=True)
class Family:
    parse: Callable[[dict[str, Any]], Prompt]
    build: Callable[..., dict[str, Any]]
    generates_text: bool = True
    build_needs_body: bool = False


FAMILIES: dict[str, Family] = {
    "anthropic-messages": Family(parse_anthropic_messages, build_anthropic_messages),
    "anthropic-text": Family(parse_anthropic_text, build_anthropic_text),
    "titan-text": Family(parse_titan_text, build_titan_text),
    "nova": Family(parse_nova, build_nova),
    "llama": Family(parse_llama, build_llama),
    "mistral": Family(parse_mistral, build_mistral),
    "cohere-command": Family(parse_cohere_command, build_cohere_command),
    "cohere-command-r": Family(parse_cohere_command_r, build_cohere_command_r, build_needs_body=True),
    "ai21-j2": Family(parse_ai21_j2, build_ai21_j2),
    "ai21-jamba": Family(parse_ai21_jamba, build_ai21_jamba),
    "titan-embed": Family(parse_titan_embed, build_titan_embed, generates_text=False, build_needs_body=True),
    "cohere-embed": Family(
        parse_cohere_embed, build_cohere_embed, generates_text=False, build_needs_body=True
    ),
}
