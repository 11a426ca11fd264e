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

from gateway import deps
from gateway.api.numbers import MAX_OUTPUT_TOKENS
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
}


class TextPart(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


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


def converse_request(
    body: ChatCompletionRequest,
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    # An empty system message says nothing; Bedrock refuses empty text blocks, OpenAI accepts it: dropped.
    system = [{"text": m.text()} for m in body.messages if m.role in ("system", "developer") and m.text()]
    turns: list[dict[str, Any]] = []
    for message in body.messages:
        if message.role in ("system", "developer"):
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.text()})
        else:
            turns.append({"role": message.role, "content": [{"text": message.text()}]})
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


def completion(outcome: ConverseOutcome, created: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{outcome.request_id}",
        "object": "chat.completion",
        "created": created,
        "model": outcome.model_id,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": outcome.text},
                "finish_reason": FINISH_REASONS.get(outcome.stop_reason, "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": outcome.usage.input_tokens,
            "completion_tokens": outcome.usage.output_tokens,
            "total_tokens": outcome.usage.total_tokens,
        },
    }


def one_chunk_stream(outcome: ConverseOutcome, created: int) -> str:
    base = {
        "id": f"chatcmpl-{outcome.request_id}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": outcome.model_id,
    }
    chunks = [
        {
            **base,
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": outcome.text}, "finish_reason": None}
            ],
        },
        {
            **base,
            "choices": [
                {"index": 0, "delta": {}, "finish_reason": FINISH_REASONS.get(outcome.stop_reason, "stop")}
            ],
            "usage": completion(outcome, created)["usage"],
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
def chat_completions(
    body: ChatCompletionRequest, caller: KeyCaller, models: Models, audit: Audit
) -> dict[str, Any] | Response:
    audit.resource = f"model/{body.model}"
    messages, system, config = converse_request(body)
    outcome = models.converse(caller, body.model, messages, system or None, config or None)
    created = int(time.time())
    if body.stream:
        return Response(one_chunk_stream(outcome, created), media_type="text/event-stream")
    return completion(outcome, created)
