"""Amazon Bedrock: the model catalog, InvokeModel and Converse, with Bedrock's errors made domain errors."""

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from gateway.aws import client
from gateway.domain import TokenUsage
from gateway.errors import (
    AppError,
    BadRequestError,
    ForbiddenError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UpstreamError,
    UpstreamTimeoutError,
)
from gateway.settings import Guardrail

logger = logging.getLogger(__name__)


class ModelError(UpstreamError):
    code = "model_error"
    message = "The model failed."


class ModelTimeoutError(UpstreamTimeoutError):
    code = "model_timeout"
    message = "The model did not answer in time."


# Bedrock sends no Retry-After; a few seconds lets a throttled account's token bucket refill.
RETRY_AFTER_SECONDS = 5


class ModelThrottledError(TooManyRequestsError):
    code = "model_throttled"
    message = "Bedrock is throttling this model for the gateway's account; retry after a pause."


class ModelUnavailableError(ServiceUnavailableError):
    code = "model_unavailable"
    message = "The model is not available right now; retry after a pause."


class ModelRejectedRequestError(BadRequestError):
    code = "model_rejected_request"
    message = "The model refused the request."


class ModelNotFoundError(AppError):
    status_code = 404
    code = "model_not_found"
    message = "No such model."


class ModelAccessDeniedError(ForbiddenError):
    code = "model_access_denied"
    message = "Bedrock refused access to the model."


def model_access_hint(model_id: str) -> str:
    return (
        f"Bedrock refused access to model {model_id}. Model access is enabled once per AWS account and "
        "region by an administrator allowed to subscribe (aws-marketplace:Subscribe): third-party models "
        "need an AWS Marketplace subscription, started by their first call or on the Bedrock console's "
        "Model access page, and Anthropic models a one-time use-case form. The gateway's role must also be "
        "allowed to invoke the model. Ask the gateway's administrators (README: Model access)."
    )


@dataclass(frozen=True)
class FoundationModel:
    model_id: str
    provider: str
    name: str
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]


@dataclass(frozen=True)
class Invocation:
    body: Any  # the parsed JSON body, or None when it is not JSON
    raw: str
    header_usage: TokenUsage | None
    latency_ms: int


@dataclass(frozen=True)
class Conversation:
    text: str
    usage: TokenUsage
    stop_reason: str
    latency_ms: int
    tool_uses: tuple[dict[str, Any], ...] = ()  # Converse toolUse blocks: toolUseId, name, input
    reasoning: str = ""  # the model's reasoningContent text, where it returns one


def _model_error(exc: ClientError, model_id: str | None = None) -> AppError:
    error = exc.response.get("Error", {})
    code, message = error.get("Code", "Unknown"), error.get("Message", "")
    if code == "ResourceNotFoundException":
        return ModelNotFoundError()
    if code == "AccessDeniedException":
        # Bedrock's message names the function's role and account: it goes to the log, not to the caller.
        logger.warning("Bedrock access denied", extra={"model_id": model_id, "bedrock_message": message})
        if model_id is None:  # the catalog: the role lacks a grant, which no caller can fix
            return ModelError(
                "The gateway may not list Bedrock's models (its role needs bedrock:ListFoundationModels).",
                code="model_catalog_access_denied",
                details={"bedrock_error": code},
            )
        return ModelAccessDeniedError(
            model_access_hint(model_id), details={"model_id": model_id, "bedrock_error": code}
        )
    details = {"bedrock_error": code}
    retry_after = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if code in ("ThrottlingException", "ServiceQuotaExceededException"):
        return ModelThrottledError(details=details, headers=retry_after)
    if code in ("ServiceUnavailableException", "ModelNotReadyException"):
        return ModelUnavailableError(details=details, headers=retry_after)
    if code == "ModelTimeoutException":
        return ModelTimeoutError(details=details)
    # Bedrock's own code and message tell the caller what to fix; nothing else of the exception leaves.
    if code == "ValidationException":
        return ModelRejectedRequestError(f"Bedrock refused the request: {message}".strip(), details=details)
    return ModelError(f"Bedrock answered {code}: {message}".strip(), details=details)


def _call_error(exc: Exception, model_id: str) -> AppError:
    """A failed runtime call as the domain error the caller can act on."""
    if isinstance(exc, ClientError):
        return _model_error(exc, model_id)
    if isinstance(exc, ParamValidationError):
        # botocore's report names the parameter and the rule it breaks, never credentials.
        report = str(exc).removeprefix("Parameter validation failed:").strip()
        return ModelRejectedRequestError(
            f"Bedrock would refuse the request: {report}", details={"bedrock_error": "ParamValidationError"}
        )
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return ModelTimeoutError()
    return ModelUnavailableError(
        "Bedrock could not be reached; retry after a pause.",
        details={"bedrock_error": type(exc).__name__},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# What a runtime call can raise that is Bedrock's or the network's doing, not a bug of the gateway.
# (Connection errors: endpoint, TLS, proxy, connect timeout; HTTP client errors: closed, read timeout.)
_CALL_ERRORS = (ClientError, ParamValidationError, BotocoreConnectionError, HTTPClientError)


def _runtime(timeout_seconds: float | None) -> Any:
    """The runtime client, with a read timeout of at most `timeout_seconds` (whole seconds, at least 1)."""
    if timeout_seconds is None:
        return client("bedrock-runtime")
    return client("bedrock-runtime", read_timeout=max(1, math.floor(timeout_seconds)))


def _header_usage(headers: dict[str, str]) -> TokenUsage | None:
    try:
        return TokenUsage(
            input_tokens=int(headers["x-amzn-bedrock-input-token-count"]),
            output_tokens=int(headers["x-amzn-bedrock-output-token-count"]),
            cache_read_tokens=int(headers.get("x-amzn-bedrock-cache-read-input-token-count", 0)),
            cache_write_tokens=int(headers.get("x-amzn-bedrock-cache-write-input-token-count", 0)),
        )
    except (KeyError, ValueError):
        return None


# What Bedrock answers when a guardrail blocked the prompt or the answer: Converse's stop reason, and the
# field InvokeModel adds to the model's native body.
GUARDRAIL_STOP_REASON = "guardrail_intervened"
GUARDRAIL_ACTION_FIELD = "amazon-bedrock-guardrailAction"


def converse_guardrail_config(guardrail: Guardrail) -> dict[str, str]:
    return {
        "guardrailIdentifier": guardrail.id,
        "guardrailVersion": guardrail.version,
        "trace": "disabled",
    }


def invoke_guardrail_parameters(guardrail: Guardrail | None) -> dict[str, str]:
    if guardrail is None:
        return {}
    return {"guardrailIdentifier": guardrail.id, "guardrailVersion": guardrail.version}


def invoke_intervened(body: Any) -> bool:
    return isinstance(body, dict) and body.get(GUARDRAIL_ACTION_FIELD) == "INTERVENED"


class BedrockModels:
    def __init__(self, catalog_ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = catalog_ttl_seconds
        self._clock = clock
        self._catalog: dict[str, FoundationModel] | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def catalog(self) -> dict[str, FoundationModel]:
        """ListFoundationModels, cached briefly: model id -> model."""
        with self._lock:
            if self._catalog is None or self._clock() - self._fetched_at > self._ttl:
                try:
                    summaries = client("bedrock").list_foundation_models()["modelSummaries"]
                except ClientError as exc:
                    raise _model_error(exc) from exc
                except (ReadTimeoutError, ConnectTimeoutError) as exc:
                    raise ModelTimeoutError("Bedrock did not answer in time.") from exc
                self._catalog = {
                    summary["modelId"]: FoundationModel(
                        model_id=summary["modelId"],
                        provider=summary.get("providerName", ""),
                        name=summary.get("modelName", summary["modelId"]),
                        input_modalities=tuple(summary.get("inputModalities", [])),
                        output_modalities=tuple(summary.get("outputModalities", [])),
                    )
                    for summary in summaries
                }
                self._fetched_at = self._clock()
            return self._catalog

    def invoke(
        self,
        model_id: str,
        body: dict[str, Any],
        timeout_seconds: float | None = None,
        guardrail: Guardrail | None = None,
    ) -> Invocation:
        started = time.perf_counter()
        try:
            response = _runtime(timeout_seconds).invoke_model(
                modelId=model_id,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
                **invoke_guardrail_parameters(guardrail),
            )
            raw = response["body"].read().decode("utf-8", errors="replace")
        except _CALL_ERRORS as exc:
            raise _call_error(exc, model_id) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return Invocation(body=parsed, raw=raw, header_usage=_header_usage(headers), latency_ms=latency_ms)

    def converse(
        self,
        model_id: str,
        messages: list[dict[str, Any]],
        system: list[dict[str, str]] | None = None,
        inference_config: dict[str, Any] | None = None,
        timeout_seconds: float | None = None,
        guardrail: Guardrail | None = None,
        tool_config: dict[str, Any] | None = None,
    ) -> Conversation:
        request: dict[str, Any] = {"modelId": model_id, "messages": messages}
        if system:
            request["system"] = system
        if inference_config:
            request["inferenceConfig"] = inference_config
        if tool_config:
            request["toolConfig"] = tool_config
        if guardrail is not None:
            request["guardrailConfig"] = converse_guardrail_config(guardrail)
        started = time.perf_counter()
        try:
            response = _runtime(timeout_seconds).converse(**request)
        except _CALL_ERRORS as exc:
            raise _call_error(exc, model_id) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "".join(block.get("text", "") for block in content)
        tool_uses = tuple(block["toolUse"] for block in content if "toolUse" in block)
        reasoning = "".join(
            block["reasoningContent"].get("reasoningText", {}).get("text", "")
            for block in content
            if "reasoningContent" in block
        )
        usage = response.get("usage", {})
        return Conversation(
            text=text,
            usage=TokenUsage(
                input_tokens=int(usage.get("inputTokens", 0)),
                output_tokens=int(usage.get("outputTokens", 0)),
                cache_read_tokens=int(usage.get("cacheReadInputTokens", 0)),
                cache_write_tokens=int(usage.get("cacheWriteInputTokens", 0)),
            ),
            stop_reason=str(response.get("stopReason", "")),
            latency_ms=latency_ms,
            tool_uses=tool_uses,
            reasoning=reasoning,
        )
