"""OpenAI tool calling on Bedrock Converse, both ways.

Request: `tools` -> `toolConfig.tools[].toolSpec`, `tool_choice` -> `toolConfig.toolChoice` ("none" sends no
tools), an assistant's `tool_calls` -> `toolUse` blocks, a `role: "tool"` message -> a `toolResult` block in a
user turn. Answer: `toolUse` blocks -> `message.tool_calls`, stop reason `tool_use` -> finish reason
`tool_calls`.
"""

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from gateway.errors import BadRequestError

# Bedrock's rules for a tool's name and a tool-use id (ToolSpecification.name, ToolUseBlock.toolUseId).
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
TOOL_CALL_ID_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
MAX_TOOLS = 128
# A function declared without parameters takes none: Bedrock needs a schema all the same.
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


class FunctionDefinition(BaseModel):
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=10_000)
    parameters: dict[str, Any] | None = None
    strict: bool | None = None  # accepted for compatibility; Bedrock has no strict mode to map it to


class ToolDefinition(BaseModel):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionName(BaseModel):
    name: str = Field(pattern=TOOL_NAME_PATTERN)


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: FunctionName


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


class FunctionCall(BaseModel):
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    arguments: str = Field(max_length=1_000_000)


class ToolCall(BaseModel):
    id: str = Field(pattern=TOOL_CALL_ID_PATTERN)
    type: Literal["function"] = "function"
    function: FunctionCall


def tool_config(tools: list[ToolDefinition] | None, choice: ToolChoice | None) -> dict[str, Any] | None:
    """Converse's toolConfig for the request's tools and tool_choice, or None when no tool may be used."""
    if not tools:
        if choice == "required" or isinstance(choice, NamedToolChoice):
            raise BadRequestError(
                "tool_choice asks for a tool but the request declares no tools.",
                code="tool_choice_without_tools",
            )
        return None
    names = [tool.function.name for tool in tools]
    if len(set(names)) != len(names):
        raise BadRequestError("Each tool must have a different function name.", code="duplicate_tool_name")
    if choice == "none":
        return None
    specs = []
    for tool in tools:
        spec: dict[str, Any] = {
            "name": tool.function.name,
            "inputSchema": {"json": tool.function.parameters or NO_PARAMETERS},
        }
        if tool.function.description:
            spec["description"] = tool.function.description
        specs.append({"toolSpec": spec})
    config: dict[str, Any] = {"tools": specs}
    if choice == "required":
        config["toolChoice"] = {"any": {}}
    elif isinstance(choice, NamedToolChoice):
        if choice.function.name not in names:
            raise BadRequestError(
                f"tool_choice names {choice.function.name!r}, which is not among the request's tools.",
                code="unknown_tool_choice",
            )
        config["toolChoice"] = {"tool": {"name": choice.function.name}}
    elif choice == "auto":
        config["toolChoice"] = {"auto": {}}
    return config


def tool_use_block(call: ToolCall) -> dict[str, Any]:
    """An assistant's earlier tool call as the Converse toolUse block it stands for."""
    try:
        arguments = json.loads(call.function.arguments) if call.function.arguments.strip() else {}
    except ValueError as exc:
        raise BadRequestError(
            f"The arguments of tool call {call.id!r} are not valid JSON.", code="invalid_tool_arguments"
        ) from exc
    if not isinstance(arguments, dict):
        raise BadRequestError(
            f"The arguments of tool call {call.id!r} must be a JSON object.", code="invalid_tool_arguments"
        )
    return {"toolUse": {"toolUseId": call.id, "name": call.function.name, "input": arguments}}


def tool_result_block(tool_call_id: str, text: str) -> dict[str, Any]:
    return {"toolResult": {"toolUseId": tool_call_id, "content": [{"text": text}]}}


def uses_tools(turns: list[dict[str, Any]]) -> bool:
    return any("toolUse" in block or "toolResult" in block for turn in turns for block in turn["content"])


def openai_tool_calls(tool_uses: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Converse's toolUse blocks as OpenAI's message.tool_calls (arguments are a JSON string)."""
    return [
        {
            "id": use.get("toolUseId", ""),
            "type": "function",
            "function": {"name": use.get("name", ""), "arguments": json.dumps(use.get("input", {}))},
        }
        for use in tool_uses
    ]
