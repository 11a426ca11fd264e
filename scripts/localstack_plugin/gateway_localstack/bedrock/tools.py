"""Converse tool use by the local model, deterministic. Imports nothing from LocalStack.

- With a `toolConfig`, a last user message that names a listed tool (e.g. "use get_weather") makes the model
  call it: stop reason `tool_use`, one `toolUse` block. `toolChoice` `tool` calls the named tool whatever the
  prompt says; `any` calls the named-in-prompt tool, else the first.
- The call's input fills the schema's required properties (every property when none is required) from the
  prompt: `<property>=<value>` in the prompt gives the value; else a string gets the prompt's text, a
  number 0, a boolean false, an enum its first value. A schema without properties gets
  `{"query": <prompt text>}`.
- A last user turn that carries `toolResult` blocks is answered with text: `"Echo: "` + the results' text.
- Tool specs, tool calls and tool results count as input words (their JSON, split on whitespace).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.prompt import Prompt, Reply, count_words, echo

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
NO_TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
_ASSIGNMENT = r"\b{name}\s*[=:]\s*\"?([^\s\",;]+)"


def _specs(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    config = request.get("toolConfig")
    if config is None:
        return []
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list) or not tools:
        raise BedrockError.validation("toolConfig.tools: at least one tool is required")
    specs = []
    for index, tool in enumerate(tools):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        name = spec.get("name") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise BedrockError.validation(
                f"toolConfig.tools.{index}.toolSpec.name: must match {TOOL_NAME.pattern}"
            )
        schema = (spec.get("inputSchema") or {}).get("json")
        if not isinstance(schema, dict):
            raise BedrockError.validation(
                f"toolConfig.tools.{index}.toolSpec.inputSchema.json: must be a JSON object"
            )
        specs.append(spec)
    return specs


def _blocks(request: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [
        block[kind]
        for message in request.get("messages") or []
        if isinstance(message, dict)
        for block in message.get("content") or []
        if isinstance(block, dict) and isinstance(block.get(kind), dict)
    ]


def _result_text(result: dict[str, Any]) -> str:
    parts = []
    for item in result.get("content") or []:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            parts.append(item["text"])
        elif isinstance(item, dict) and "json" in item:
            parts.append(json.dumps(item["json"]))
    return "\n".join(parts)


def _last_user_results(request: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    messages = request.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    if last.get("role") != "user":
        return None
    results = [
        block["toolResult"]
        for block in last.get("content") or []
        if isinstance(block, dict) and isinstance(block.get("toolResult"), dict)
    ]
    return results or None


def _mentioned(spec: dict[str, Any], text: str) -> bool:
    name = spec["name"].lower()
    lowered = text.lower()
    return name in lowered or name.replace("_", " ").replace("-", " ") in lowered


def _chosen(specs: list[dict[str, Any]], choice: Any, text: str) -> dict[str, Any] | None:
    by_name = {spec["name"]: spec for spec in specs}
    if isinstance(choice, dict) and isinstance(choice.get("tool"), dict):
        name = choice["tool"].get("name")
        if name not in by_name:
            raise BedrockError.validation(f"toolConfig.toolChoice.tool.name: {name!r} is not a listed tool")
        return by_name[name]
    mentioned = next((spec for spec in specs if _mentioned(spec, text)), None)
    if mentioned is None and isinstance(choice, dict) and "any" in choice:
        return specs[0]
    return mentioned


def _value(name: str, schema: Any, text: str) -> Any:
    schema = schema if isinstance(schema, dict) else {}
    given = re.search(_ASSIGNMENT.format(name=re.escape(name)), text)
    kind = schema.get("type")
    if given:
        raw = given.group(1)
        if kind == "integer" and re.fullmatch(r"-?\d+", raw):
            return int(raw)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", raw):
            return float(raw)
        if kind == "boolean":
            return raw.lower() == "true"
        if kind in (None, "string"):
            return raw
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return {"integer": 0, "number": 0, "boolean": False, "object": {}, "array": []}.get(kind, text)


def tool_input(schema: dict[str, Any], text: str) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return {"query": text}
    required = [name for name in schema.get("required") or [] if name in properties] or list(properties)
    return {name: _value(name, properties[name], text) for name in required}


def tool_use_id(name: str, text: str) -> str:
    return "tooluse_" + hashlib.sha256(f"{name}\n{text}".encode()).hexdigest()[:22]


def count_tool_words(request: Mapping[str, Any], prompt: Prompt) -> None:
    """Tool specs, calls and results are prompt text too: add them to what is counted."""
    prompt.counted += [json.dumps(spec) for spec in _specs(request)]
    prompt.counted += [json.dumps(use.get("input", {})) for use in _blocks(request, "toolUse")]
    prompt.counted += [_result_text(result) for result in _blocks(request, "toolResult")]


def answer(request: Mapping[str, Any], prompt: Prompt) -> tuple[list[dict[str, Any]], str, Reply] | None:
    """The local model's content blocks, stop reason and counts when tools decide the answer, else None."""
    specs = _specs(request)
    if not specs and (_blocks(request, "toolUse") or _blocks(request, "toolResult")):
        raise BedrockError.validation(NO_TOOL_CONFIG)
    results = _last_user_results(request)
    if results is not None:
        reply = echo(dataclasses.replace(prompt, turns=[("user", "\n".join(map(_result_text, results)))]))
        return [{"text": reply.text}], "max_tokens" if reply.truncated else "end_turn", reply
    if not specs:
        return None
    text = prompt.user_text.strip()
    spec = _chosen(specs, (request.get("toolConfig") or {}).get("toolChoice"), text)
    if spec is None:
        return None
    arguments = tool_input(spec["inputSchema"]["json"], text)
    use = {"toolUseId": tool_use_id(spec["name"], text), "name": spec["name"], "input": arguments}
    output_tokens = count_words(f"{spec['name']} {json.dumps(arguments)}")
    reply = Reply("", prompt.input_tokens, output_tokens, truncated=False)
    return [{"toolUse": use}], "tool_use", reply
