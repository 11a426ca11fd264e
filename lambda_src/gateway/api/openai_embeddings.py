"""OpenAI's `POST /v1/embeddings` over Bedrock's text embedding models (providers/embeddings.py)."""

import base64
import struct
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gateway import blocking, deps
from gateway.auth.dependencies import KeyCaller
from gateway.errors import BadRequestError
from gateway.providers.embeddings import MAX_INPUT_CHARS, MAX_INPUTS
from gateway.services.audit import Audit
from gateway.services.models import ModelService

router = APIRouter(prefix="/v1", tags=["openai"])
Models = Annotated[ModelService, Depends(deps.model_service)]

EmbeddingInput = Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]


class EmbeddingRequest(BaseModel):
    model: str = Field(min_length=1, max_length=256)
    # Token arrays (OpenAI's list-of-integers input) are not accepted: Bedrock's models take text.
    input: EmbeddingInput | list[EmbeddingInput] = Field(
        description=f"A text or a list of at most {MAX_INPUTS} texts of at most {MAX_INPUT_CHARS} characters."
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1, le=8192)
    user: str | None = Field(default=None, max_length=256)  # accepted; the key already names the user

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


def encoded(vector: list[float], encoding_format: str) -> list[float] | str:
    """OpenAI's base64 encoding: the vector as little-endian float32s."""
    if encoding_format == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@router.post("/embeddings", name="openai.embeddings")
@blocking.as_async
def embeddings(body: EmbeddingRequest, caller: KeyCaller, models: Models, audit: Audit) -> dict[str, Any]:
    audit.resource = f"model/{body.model}"
    texts = body.texts()
    if not 1 <= len(texts) <= MAX_INPUTS:
        raise BadRequestError(
            f"input must hold 1 to {MAX_INPUTS} texts.", code="invalid_input", details={"inputs": len(texts)}
        )
    outcome = models.embed(caller, body.model, texts, body.dimensions)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": encoded(vector, body.encoding_format)}
            for index, vector in enumerate(outcome.vectors)
        ],
        "model": outcome.model_id,
        "usage": {"prompt_tokens": outcome.usage.input_tokens, "total_tokens": outcome.usage.input_tokens},
    }
