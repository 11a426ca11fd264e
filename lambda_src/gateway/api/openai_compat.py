"""OpenAI-compatible routes, so the official `openai` client works by changing its base URL.

Chat completions map to Bedrock's Converse API. `stream: true` gets the whole answer as one server-sent
event chunk followed by `[DONE]` (API Gateway REST + Lambda cannot stream incrementally), which streaming
clients read as a stream that arrives at once.
"""

import json
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway import blocking, deps
from gateway.api.numbers import MAX_OUTPUT_TOKENS
from gateway.api.openai_content import ImageUrlPart
from gateway.api.openai_tools import (
    MAX_TOOLS,
    TOOL_CALL_ID_PATTERN,
    ToolCall,
    ToolChoice,
    ToolDefinition,
    openai_tool_calls,
    tool_config,
    tool_result_block,
    tool_use_block,
    uses_tools,
)
from gateway.auth.dependencies import KeyCaller, KeyUser
from gateway.errors import BadRequestError
from gateway.services.audit import Audit
from gateway.services.models import ConverseOutcome, ModelService

router = APIRouter(prefix="/v1", tags=["openai"])
Models = Annotated[ModelService, Depends(deps.model_service)]

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "content_filtered": "content_filter",
    "tool_use": "tool_calls",
}


class TextPart(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    # None only for an assistant message that calls tools (OpenAI's shape).
    content: str | list[TextPart | ImageUrlPart] | None = None
    tool_calls: list[ToolCall] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_call_id: str | None = Field(default=None, pattern=TOOL_CALL_ID_PATTERN)
    name: str | None = Field(default=None, max_length=256)  # OpenAI's optional author name; not sent

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    def images(self) -> list[ImageUrlPart]:
        return [part for part in self.content or [] if isinstance(part, ImageUrlPart)]

    def blocks(self) -> list[dict[str, Any]]:
        """This message's Converse content blocks (a tool message's belong to a user turn)."""
        if self.role == "tool":
            if self.tool_call_id is None:
                raise BadRequestError("A tool message needs its tool_call_id.", code="invalid_messages")
            return [tool_result_block(self.tool_call_id, self.text())]
        if self.tool_calls and self.role != "assistant":
            raise BadRequestError("Only assistant messages may carry tool_calls.", code="invalid_messages")
        if self.content is None and not self.tool_calls:
            raise BadRequestError(f"A {self.role} message needs content.", code="invalid_messages")
        if self.images():
            if self.role != "user":
                raise BadRequestError("Only user messages may carry images.", code="invalid_messages")
            # Text and images in the order sent; Bedrock refuses empty text blocks.
            return [
                part.block() if isinstance(part, ImageUrlPart) else {"text": part.text}
                for part in self.content or []
                if isinstance(part, ImageUrlPart) or part.text
            ]
        calls = [tool_use_block(call) for call in self.tool_calls or []]
        # An assistant turn that only called tools has no text; Bedrock refuses empty text blocks.
        text = [] if calls and not self.text() else [{"text": self.text()}]
        return text + calls


class ChatCompletionRequest(BaseModel):
    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=500)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: str | list[str] | None = None
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1, description="Only one choice is supported.")
    tools: list[ToolDefinition] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None  # accepted; the model decides how many tools it calls


def converse_request(
    body: ChatCompletionRequest,
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    # An empty system message says nothing; Bedrock refuses empty text blocks, OpenAI accepts it: dropped.
    system = [{"text": m.text()} for m in body.messages if m.role in ("system", "developer") and m.text()]
    turns: list[dict[str, Any]] = []
    for message in body.messages:
        if message.role in ("system", "developer"):
            continue
        role = "user" if message.role == "tool" else message.role
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(message.blocks())
        else:
            turns.append({"role": role, "content": message.blocks()})
    if not turns or turns[0]["role"] != "user":
        raise BadRequestError("The first non-system message must be from the user.", code="invalid_messages")
    config: dict[str, Any] = {}
    if max_tokens := body.max_completion_tokens or body.max_tokens:
        config["maxTokens"] = max_tokens
    if body.temperature is not None:
        config["temperature"] = body.temperature
    if body.top_p is not None:
        config["topP"] = body.top_p
    if body.stop:
        config["stopSequences"] = [body.stop] if isinstance(body.stop, str) else body.stop
    return turns, system, config


def converse_tool_config(body: ChatCompletionRequest, turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    config = tool_config(body.tools, body.tool_choice)
    if config is None and uses_tools(turns):
        # Converse refuses toolUse/toolResult blocks without a toolConfig: say so before the call.
        raise BadRequestError(
            "Messages with tool_calls or tool results need the request's tools (and tool_choice other than "
            '"none").',
            code="tools_required",
        )
    return config


def answer_message(outcome: ConverseOutcome) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text}
    if outcome.tool_uses:
        message["content"] = outcome.text or None
        message["tool_calls"] = openai_tool_calls(outcome.tool_uses)
    if outcome.reasoning:
        message["reasoning_content"] = outcome.reasoning
    return message


def answer_usage(outcome: ConverseOutcome) -> dict[str, Any]:
    """OpenAI's usage: prompt tokens include cached ones (Bedrock counts cache reads and writes apart)."""
    usage = outcome.usage
    prompt_tokens = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    answer: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt_tokens + usage.output_tokens,
    }
    if usage.cache_read_tokens or usage.cache_write_tokens:
        answer["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    return answer


def completion(outcome: ConverseOutcome, created: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{outcome.request_id}",
        "object": "chat.completion",
        "created": created,
        "model": outcome.model_id,
        "choices": [
            {
                "index": 0,
                "message": answer_message(outcome),
                "finish_reason": FINISH_REASONS.get(outcome.stop_reason, "stop"),
            }
        ],
        "usage": answer_usage(outcome),
    }


def one_chunk_stream(outcome: ConverseOutcome, created: int) -> str:
    base = {
        "id": f"chatcmpl-{outcome.request_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": outcome.model_id,
    }
    delta = answer_message(outcome)
    for index, call in enumerate(delta.get("tool_calls", [])):
        call["index"] = index  # stream deltas number their tool calls
    chunks = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {
            **base,
            "choices": [
                {"index": 0, "delta": {}, "finish_reason": FINISH_REASONS.get(outcome.stop_reason, "stop")}
            ],
            "usage": answer_usage(outcome),
        },
    ]
    return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"


@router.get("/models", name="openai.models.list")
def list_models(user: KeyUser, models: Models) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": model.model_id, "object": "model", "created": 0, "owned_by": model.provider or "bedrock"}
            for model in models.models_for(user.groups)
        ],
    }


@router.post("/chat/completions", name="openai.chat.completions", response_model=None)
@blocking.as_async
def chat_completions(
    body: ChatCompletionRequest, caller: KeyCaller, models: Models, audit: Audit
) -> dict[str, Any] | Response:
    audit.resource = f"model/{body.model}"
    messages, system, config = converse_request(body)
    tools = converse_tool_config(body, messages)
    outcome = models.converse(caller, body.model, messages, system or None, config or None, tool_config=tools)
    created = int(time.time())
    if body.stream:
        return Response(one_chunk_stream(outcome, created), media_type="text/event-stream")
    return completion(outcome, created)
