"""Text embedding models' InvokeModel bodies: one row per model family, like model_formats.py for text.

Titan Text Embeddings v2 embeds one text per call (`inputText`, `dimensions` 256 | 512 | 1024, `normalize`);
Cohere Embed v3 embeds up to 96 texts per call (`texts`, `input_type`, `embedding_types`), always in 1024
dimensions.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.errors import BadRequestError
from gateway.providers.model_formats import base_model_id

MAX_INPUTS = 96  # Cohere's batch size; also bounds the sequential Titan calls of one request
MAX_INPUT_CHARS = 50_000  # Titan v2's limit per text; Cohere truncates nothing and refuses long texts itself


class EmbeddingModelNotSupportedError(BadRequestError):
    code = "model_not_embedding"
    message = (
        "This model does not make embeddings here (supported: Titan Text Embeddings v2, Cohere Embed v3)."
    )


class DimensionsNotSupportedError(BadRequestError):
    code = "dimensions_not_supported"
    message = "The model cannot make embeddings of that many dimensions."


@dataclass(frozen=True)
class EmbeddingFormat:
    name: str
    model_pattern: str  # regular expression over the base model id
    dimensions: tuple[int, ...]  # the sizes the model makes; the first is its default
    batch_size: int  # texts per InvokeModel call
    body: Callable[[list[str], int], dict[str, Any]]
    vectors: Callable[[Any], list[list[float]]]  # the response body's embeddings, in input order
    body_input_tokens: Callable[[Any], int]  # when the token-count header is missing

    def batches(self, texts: list[str], dimensions: int | None) -> list[dict[str, Any]]:
        """The request bodies embedding `texts` in order, refusing a size the model cannot make."""
        size = self.dimensions[0] if dimensions is None else dimensions
        if size not in self.dimensions:
            raise DimensionsNotSupportedError(
                f"This model makes embeddings of {', '.join(map(str, self.dimensions))} dimensions.",
                details={"dimensions": dimensions, "supported": list(self.dimensions)},
            )
        return [
            self.body(texts[start : start + self.batch_size], size)
            for start in range(0, len(texts), self.batch_size)
        ]


def _cohere_vectors(body: Any) -> list[list[float]]:
    embeddings = body.get("embeddings") if isinstance(body, dict) else None
    if isinstance(embeddings, dict):  # asked with embedding_types: {"float": [...]}
        embeddings = embeddings.get("float")
    return embeddings if isinstance(embeddings, list) else []


EMBEDDING_FORMATS: tuple[EmbeddingFormat, ...] = (
    EmbeddingFormat(
        "amazon-titan-embed-text-v2",
        r"amazon\.titan-embed-text-v2",
        (1024, 512, 256),
        1,
        lambda texts, size: {"inputText": texts[0], "dimensions": size, "normalize": True},
        lambda body: [body["embedding"]] if isinstance(body, dict) and "embedding" in body else [],
        lambda body: int(body.get("inputTextTokenCount", 0)) if isinstance(body, dict) else 0,
    ),
    EmbeddingFormat(
        "cohere-embed-v3",
        r"cohere\.embed-(english|multilingual)-v3",
        (1024,),
        MAX_INPUTS,
        lambda texts, size: {"texts": texts, "input_type": "search_document", "embedding_types": ["float"]},
        _cohere_vectors,
        lambda body: 0,
    ),
)


def embedding_format_for(model_id: str) -> EmbeddingFormat:
    base = base_model_id(model_id)
    for row in EMBEDDING_FORMATS:
        if re.match(row.model_pattern, base):
            return row
    raise EmbeddingModelNotSupportedError(details={"model": model_id})
