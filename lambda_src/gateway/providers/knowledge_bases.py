"""Amazon Bedrock Knowledge Bases: Retrieve, for bots whose knowledge lives in AWS, with errors made domain
errors."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from gateway.aws import client
from gateway.errors import (
    AppError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UpstreamError,
    UpstreamTimeoutError,
)
from gateway.services.knowledge import Passage
from gateway.settings import KNOWLEDGE_BASE_ID_RE

# Retrieve's own bounds (numberOfResults 1..100, query text up to 20,000 characters).
MAX_RESULTS = 100
MAX_QUERY_CHARS = 20_000

# Where each kind of data source says a result came from, in the order they are looked for.
_LOCATION_FIELDS = (
    ("s3Location", "uri"),
    ("webLocation", "url"),
    ("confluenceLocation", "url"),
    ("salesforceLocation", "url"),
    ("sharePointLocation", "url"),
    ("googleDriveLocation", "url"),
    ("oneDriveLocation", "url"),
    ("kendraDocumentLocation", "uri"),
    ("customDocumentLocation", "id"),
    ("sqlLocation", "query"),
)
_SOURCE_URI_METADATA = "x-amz-bedrock-kb-source-uri"
DEFAULT_SOURCE = "knowledge base"


def _source(result: dict[str, Any]) -> str:
    location = result.get("location") or {}
    for field, key in _LOCATION_FIELDS:
        value = (location.get(field) or {}).get(key)
        if isinstance(value, str) and value:
            return value
    uri = (result.get("metadata") or {}).get(_SOURCE_URI_METADATA)
    return uri if isinstance(uri, str) and uri else DEFAULT_SOURCE


def _text(result: dict[str, Any]) -> str:
    content = result.get("content") or {}
    text = content.get("text")
    if isinstance(text, str) and text.strip():
        return text
    # A structured (SQL) source answers with a row instead of text.
    cells = content.get("row") or []
    return "; ".join(f"{cell.get('columnName', '')}: {cell.get('columnValue', '')}" for cell in cells)


def _knowledge_base_error(exc: ClientError, knowledge_base_id: str) -> AppError:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Unknown"), error.get("Message", "")
    details = {"knowledge_base_id": knowledge_base_id, "bedrock_error": code}
    if code == "ResourceNotFoundException":
        return NotFoundError(
            f"No knowledge base {knowledge_base_id} in this region.",
            code="knowledge_base_not_found",
            details=details,
        )
    if code == "AccessDeniedException":
        return ForbiddenError(
            f"The gateway is not allowed to read knowledge base {knowledge_base_id}: its role may Retrieve "
            "only from the knowledge bases in Terraform's knowledge_base_ids, in its own account and region.",
            code="knowledge_base_access_denied",
            details=details,
        )
    if code == "ValidationException":
        # Bedrock's message says what to fix; nothing else of the exception leaves.
        return BadRequestError(
            f"Bedrock refused the knowledge base request: {message}".strip(),
            code="knowledge_base_invalid",
            details=details,
        )
    if code == "ThrottlingException":
        return TooManyRequestsError(
            "The knowledge base is receiving too many requests; try again shortly.",
            code="knowledge_base_throttled",
            details=details,
        )
    return UpstreamError(
        f"The knowledge base failed: Bedrock answered {code}: {message}".strip(),
        code="knowledge_base_error",
        details=details,
    )


class BedrockKnowledgeBases:
    def retrieve(self, knowledge_base_id: str, query: str, limit: int) -> list[Passage]:
        """The limit passages Bedrock ranks best for the query, in its order, each with its source."""
        if not KNOWLEDGE_BASE_ID_RE.match(knowledge_base_id):
            raise BadRequestError(
                "A knowledge base id is 10 letters and digits.",
                code="knowledge_base_invalid",
                details={"knowledge_base_id": knowledge_base_id[:64]},
            )
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query or limit < 1:
            return []
        try:
            response = client("bedrock-agent-runtime").retrieve(
                knowledgeBaseId=knowledge_base_id,
                retrievalQuery={"text": query},
                retrievalConfiguration={
                    "vectorSearchConfiguration": {"numberOfResults": min(limit, MAX_RESULTS)}
                },
            )
        except ClientError as exc:
            raise _knowledge_base_error(exc, knowledge_base_id) from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise UpstreamTimeoutError(
                "The knowledge base did not answer in time.",
                code="knowledge_base_timeout",
                details={"knowledge_base_id": knowledge_base_id},
            ) from exc
        except BotoCoreError as exc:
            raise UpstreamError(
                "The knowledge base could not be reached.",
                code="knowledge_base_error",
                details={"knowledge_base_id": knowledge_base_id},
            ) from exc
        passages = []
        for result in response.get("retrievalResults", []):
            text = _text(result)
            if text:
                score = result.get("score")
                passages.append(
                    Passage(
                        source=_source(result),
                        text=text,
                        score=float(score) if isinstance(score, int | float) else 0.0,
                    )
                )
        return passages[:limit]
