"""The model gateway: which models a caller may use, and metered calls to them.

A call is recorded before it is made (a repeated request id is refused), with what it reserves against the
caller's limits, and settled afterwards with the tokens Bedrock reports and their cost, in one transaction
with the caller's roll-ups and the request's audit event: two AWS requests besides the model's.

A call that has nothing to reserve (no limit in the caller's group policy nor in their override) and whose
request id is the gateway's own (unique: no Idempotency-Key) skips the first: nothing is written before the
model is called, and the settlement puts the whole call record (on condition that none exists), with the
counters, the roll-ups and the audit event, in its one transaction. With an Idempotency-Key the client may
send the same id again, so the call is still recorded first and a retry is refused before the model is
called twice.
What the skipped write costs: if the invocation dies after calling the model and before settling (a crash,
or a timeout, which `_model_call_seconds` leaves time to avoid), a call that reserved nothing leaves no
record, where a recorded one is settled by the reconciler as failed ("unsettled", no tokens either).
A settlement that fails after its retries loses nothing either way: the call is then put pending with its
outcome, and services/reconciler.py settles it (UsageRepository.record).
"""

import json
import logging
from dataclasses import dataclass, replace
from typing import Any, Protocol

from gateway import deadline
from gateway.clock import epoch_seconds, iso, utcnow
from gateway.domain import TokenUsage
from gateway.errors import AppError, BadRequestError, ForbiddenError
from gateway.providers.bedrock import (
    GUARDRAIL_STOP_REASON,
    BedrockModels,
    FoundationModel,
    ModelError,
    ModelNotFoundError,
    ModelTimeoutError,
    invoke_intervened,
)
from gateway.providers.embeddings import embedding_format_for
from gateway.providers.model_formats import base_model_id, extract, format_for
from gateway.repositories.limits import transact_item
from gateway.repositories.usage import FAILED, OK, CallRecord, CounterRefused, Settlement, UsageRepository
from gateway.services.images import IMAGE_TOKEN_ALLOWANCE, require_image_input
from gateway.services.limits import LimitService, Reservation
from gateway.services.policies import model_allowed, policy_for
from gateway.services.pricing import PriceTable
from gateway.services.token_estimate import estimate_input_tokens
from gateway.settings import GroupPolicy, Guardrail

logger = logging.getLogger(__name__)

# Below this, a model call would time out before the model could answer: refuse it before calling.
MIN_MODEL_CALL_SECONDS = 1.0


class ModelNotAllowedError(ForbiddenError):
    code = "model_not_allowed"
    message = "Your groups may not use this model."


class GuardrailIntervenedError(BadRequestError):
    code = "guardrail_intervened"
    message = "A guardrail blocked the request or the answer."


@dataclass(frozen=True)
class Caller:
    user_id: str
    groups: tuple[str, ...]
    key_id: str | None
    request_id: str
    # The caller's limit override, when it was read with the key (None: the limits read it themselves).
    limit_override: dict[str, Any] | None = None
    # The request's success audit event, written in the settlement (services/audit.py SettlementAudit).
    audit: Any = None
    # A bot's own guardrail, used instead of the caller's policy's (services/bots.py).
    guardrail: Guardrail | None = None
    # The client chose the request id (Idempotency-Key) and may send it again: the call is recorded before
    # the model is called, limits or not, so that a repeat is refused first. False only for the gateway's ids.
    reusable_request_id: bool = True


@dataclass(frozen=True)
class Answer:
    """What the model answered, for writes that go with the settlement."""

    text: str
    usage: TokenUsage


class SettlementWrites(Protocol):
    """Items a service writes with a model call's settlement (e.g. a conversation's messages)."""

    def items(self, answer: Answer | None) -> list[dict[str, Any]]:
        """The TransactWriteItems entries for this answer, or for a call that failed (None)."""
        ...

    def written(self) -> None:
        """The settlement that carried items() went through."""
        ...


@dataclass(frozen=True)
class InvokeOutcome:
    model_id: str
    output: str | None
    raw: Any
    known_shape: bool
    usage: TokenUsage
    cost_micros: int
    request_id: str


@dataclass(frozen=True)
class EmbedOutcome:
    model_id: str
    vectors: list[list[float]]
    usage: TokenUsage
    cost_micros: int
    request_id: str


@dataclass(frozen=True)
class ConverseOutcome:
    model_id: str
    text: str
    usage: TokenUsage
    stop_reason: str
    cost_micros: int
    request_id: str
    tool_uses: tuple[dict[str, Any], ...] = ()  # Converse toolUse blocks the model asked for
    reasoning: str = ""


class ModelService:
    def __init__(
        self,
        bedrock: BedrockModels,
        usage: UsageRepository,
        prices: PriceTable,
        region: str,
        policies: dict[str, GroupPolicy],
        default_policy: GroupPolicy,
        limits: LimitService,
        default_max_output_tokens: int = 4096,
        chars_per_token: int = 3,
        model_timeout_seconds: float = 25.0,
        settle_margin_seconds: float = 3.0,
    ) -> None:
        self._bedrock = bedrock
        self._usage = usage
        self._prices = prices
        self._region = region
        self._policies = policies
        self._default_policy = default_policy
        self._limits = limits
        self._default_max_output = default_max_output_tokens
        self._chars_per_token = chars_per_token
        self._model_timeout = model_timeout_seconds
        self._settle_margin = settle_margin_seconds

    def models_for(self, groups: tuple[str, ...]) -> list[FoundationModel]:
        policy = policy_for(groups, self._policies, self._default_policy)
        return sorted(
            (model for model in self._bedrock.catalog().values() if model_allowed(policy, model.model_id)),
            key=lambda model: model.model_id,
        )

    def check(self, model_id: str, groups: tuple[str, ...]) -> FoundationModel:
        """The model, if it exists, the caller may use it and it has a price."""
        base = base_model_id(model_id)
        model = self._bedrock.catalog().get(base)
        if model is None:
            raise ModelNotFoundError(f"No model {model_id!r} in this region's Bedrock catalog.")
        if not model_allowed(policy_for(groups, self._policies, self._default_policy), base):
            raise ModelNotAllowedError()
        self._prices.price(base, self._region)  # refuses a model that could not be metered
        return model

    def guardrail_for(self, caller: Caller) -> Guardrail | None:
        """The bot's guardrail, else the one of the caller's effective policy."""
        if caller.guardrail is not None:
            return caller.guardrail
        return policy_for(caller.groups, self._policies, self._default_policy).guardrail

    def invoke(self, caller: Caller, model_id: str, parameters: dict[str, Any]) -> InvokeOutcome:
        self.check(model_id, caller.groups)
        guardrail = self.guardrail_for(caller)
        row = format_for(model_id)
        max_output = extract(row.max_tokens_path, parameters) if row else None
        call, reservation = self._begin(
            caller, model_id, None, self._estimate([json.dumps(parameters)]), max_output
        )
        try:
            invocation = self._bedrock.invoke(model_id, parameters, self._model_call_seconds(), guardrail)
            output = (
                extract(row.output_path, invocation.body) if row and invocation.body is not None else None
            )
            usage = invocation.header_usage or TokenUsage(
                input_tokens=int(extract(row.input_tokens_path, invocation.body) or 0) if row else 0,
                output_tokens=int(extract(row.output_tokens_path, invocation.body) or 0) if row else 0,
            )
        except BaseException as exc:  # whatever ended the call, the reservation is released
            self._settle_failure(call, reservation, exc)
            raise
        if invoke_intervened(invocation.body):
            self._settle_intervention(call, reservation, usage, invocation.latency_ms, output, guardrail)
        cost = self._settle_success(call, reservation, usage, invocation.latency_ms, caller.audit)
        known = isinstance(output, str)
        return InvokeOutcome(
            model_id=model_id,
            output=output if known else None,
            raw=None if known else (invocation.body if invocation.body is not None else invocation.raw),
            known_shape=known,
            usage=usage,
            cost_micros=cost,
            request_id=caller.request_id,
        )

    def converse(
        self,
        caller: Caller,
        model_id: str,
        messages: list[dict[str, Any]],
        system: list[dict[str, str]] | None = None,
        inference_config: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        tool_config: dict[str, Any] | None = None,
        writes: SettlementWrites | None = None,
    ) -> ConverseOutcome:
        images = require_image_input(self.check(model_id, caller.groups), messages)
        guardrail = self.guardrail_for(caller)
        prompt = [block.get("text", "") for m in messages for block in m.get("content", [])]
        prompt += [block.get("text", "") for block in system or []]
        # Tool specs, calls and results are prompt too: their JSON counts toward the reservation.
        prompt += [
            json.dumps(block[kind])
            for m in messages
            for block in m.get("content", [])
            for kind in ("toolUse", "toolResult")
            if kind in block
        ]
        if tool_config:
            prompt.append(json.dumps(tool_config))
        max_output = (inference_config or {}).get("maxTokens")
        estimate = self._estimate(prompt) + images * IMAGE_TOKEN_ALLOWANCE
        call, reservation = self._begin(caller, model_id, conversation_id, estimate, max_output)
        try:
            result = self._bedrock.converse(
                model_id,
                messages,
                system,
                inference_config,
                self._model_call_seconds(),
                guardrail,
                tool_config=tool_config,
            )
        except BaseException as exc:  # whatever ended the call, the reservation is released
            self._settle_failure(call, reservation, exc, writes)
            raise
        if result.stop_reason == GUARDRAIL_STOP_REASON:
            self._settle_intervention(
                call, reservation, result.usage, result.latency_ms, result.text, guardrail, writes
            )
        cost = self._settle_success(
            call, reservation, result.usage, result.latency_ms, caller.audit, writes, result.text
        )
        return ConverseOutcome(
            model_id=model_id,
            text=result.text,
            usage=result.usage,
            stop_reason=result.stop_reason,
            cost_micros=cost,
            request_id=caller.request_id,
            tool_uses=result.tool_uses,
            reasoning=result.reasoning,
        )

    def embed(
        self, caller: Caller, model_id: str, texts: list[str], dimensions: int | None = None
    ) -> EmbedOutcome:
        """Embeddings of `texts`, in order: one reservation and one settlement for all the model calls."""
        self.check(model_id, caller.groups)
        embedding_format = embedding_format_for(model_id)
        bodies = embedding_format.batches(texts, dimensions)
        call, reservation = self._begin(
            caller, model_id, None, self._estimate(texts), None, produces_output=False
        )
        vectors: list[list[float]] = []
        input_tokens = latency_ms = 0
        try:
            for body in bodies:
                invocation = self._bedrock.invoke(model_id, body, self._model_call_seconds())
                batch = embedding_format.vectors(invocation.body)
                if len(batch) != len(body.get("texts", [body.get("inputText")])):
                    raise ModelError("Bedrock answered without the embeddings.", code="model_bad_response")
                vectors += batch
                input_tokens += (
                    invocation.header_usage.input_tokens
                    if invocation.header_usage
                    else embedding_format.body_input_tokens(invocation.body)
                )
                latency_ms += invocation.latency_ms
        except BaseException as exc:  # whatever ended the calls, the reservation is released
            self._settle_failure(call, reservation, exc)
            raise
        usage = TokenUsage(input_tokens=input_tokens, output_tokens=0)
        cost = self._settle_success(call, reservation, usage, latency_ms, caller.audit)
        return EmbedOutcome(model_id, vectors, usage, cost, caller.request_id)

    def limits_report(self, user_id: str, groups: tuple[str, ...]) -> dict[str, Any]:
        return self._limits.report(user_id, groups, utcnow())

    def _estimate(self, texts: list[str]) -> int:
        return estimate_input_tokens(texts, self._chars_per_token)

    def _begin(
        self,
        caller: Caller,
        model_id: str,
        conversation_id: str | None,
        input_estimate: int,
        max_output: Any,
        produces_output: bool = True,
    ) -> tuple[CallRecord, Reservation]:
        """Reserve the worst case against the caller's limits and record the call, in one transaction; or
        nothing, when there is nothing to reserve and the request id cannot come again (module docstring)."""
        now = utcnow()
        base = base_model_id(model_id)
        output = (
            int(max_output)
            if isinstance(max_output, int | float) and max_output > 0
            else self._default_max_output
        )
        if not produces_output:  # embeddings: input tokens only
            output = 0
        worst = TokenUsage(input_tokens=input_estimate, output_tokens=output)
        reservation, moves = self._limits.plan(
            caller.user_id,
            caller.groups,
            worst.total_tokens,
            self._prices.cost_micros(base, self._region, worst),
            now,
            caller.limit_override,
        )
        call = CallRecord(
            user_id=caller.user_id,
            request_id=caller.request_id,
            key_id=caller.key_id,
            model_id=base,
            started_at=iso(now),
            conversation_id=conversation_id,
            reserved_windows=reservation.windows.sort_keys(),
            reserved_tokens=reservation.tokens,
            reserved_cost_micros=reservation.cost_micros,
        )
        if not caller.reusable_request_id and not any(move.checks for move in moves):
            return replace(call, reserved=False, reserved_tokens=0, reserved_cost_micros=0), reservation
        try:
            self._usage.begin(call, int(now.timestamp()), self._moves(caller.user_id, moves))
        except CounterRefused as refused:
            raise self._limits.refused(moves[refused.index], None, refused.item, now) from None
        return call, reservation

    def _moves(self, user_id: str, moves: list[Any]) -> list[dict[str, Any]]:
        return [transact_item(self._limits.table_name, user_id, move) for move in moves]

    def _settle_success(
        self,
        call: CallRecord,
        reservation: Reservation,
        usage: TokenUsage,
        latency_ms: int,
        audit: Any = None,
        writes: SettlementWrites | None = None,
        text: str = "",
    ) -> int:
        audit_item = audit.item() if audit is not None else None
        extra = [audit_item] if audit_item else []
        written = writes.items(Answer(text, usage)) if writes is not None else []
        cost, settled = self._settle_usage(
            call, reservation, usage, latency_ms, OK, extra_items=[*extra, *written]
        )
        if settled and audit_item:
            audit.written()
        if settled and writes is not None:
            writes.written()
        return cost

    def _settle_usage(
        self,
        call: CallRecord,
        reservation: Reservation,
        usage: TokenUsage,
        latency_ms: int,
        status: str,
        error_code: str | None = None,
        extra_items: list[Any] | None = None,
    ) -> tuple[int, bool]:
        """Settle the reservation to what Bedrock reports and bills; the cost and whether it was settled."""
        cost = self._prices.cost_micros(call.model_id, self._region, usage)
        if call.reserved:
            moves = self._limits.settle_moves(reservation, usage.total_tokens, cost)
        else:
            moves = self._limits.usage_moves(reservation.windows, usage.total_tokens, cost, utcnow())
        settlement = Settlement(
            status=status,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_micros=cost,
            latency_ms=latency_ms,
            error_code=error_code,
        )
        return cost, self._write_settlement(
            call, settlement, [*self._moves(call.user_id, moves), *(extra_items or [])]
        )

    def _write_settlement(
        self, call: CallRecord, settlement: Settlement, items: list[dict[str, Any]]
    ) -> bool:
        """Settle a reserved call, or put a call that reserved nothing whole; whether it went through."""
        if call.reserved:
            return self._usage.settle(call, settlement, items)
        return self._usage.record(call, settlement, epoch_seconds(), items)

    def _settle_intervention(
        self,
        call: CallRecord,
        reservation: Reservation,
        usage: TokenUsage,
        latency_ms: int,
        message: Any,
        guardrail: Guardrail | None,
        writes: SettlementWrites | None = None,
    ) -> None:
        """A guardrail blocked the call: metered as Bedrock bills it (the tokens it reports), recorded as
        failed, and answered with the guardrail's message (the middleware audits the error code)."""
        written = writes.items(None) if writes is not None else []
        _, settled = self._settle_usage(
            call,
            reservation,
            usage,
            latency_ms,
            FAILED,
            error_code=GuardrailIntervenedError.code,
            extra_items=written,
        )
        if settled and writes is not None:
            writes.written()
        text = message if isinstance(message, str) and message else GuardrailIntervenedError.message
        details: dict[str, Any] = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
        }
        if guardrail is not None:
            details["guardrail_id"] = guardrail.id
            details["guardrail_version"] = guardrail.version
        raise GuardrailIntervenedError(text, details=details)

    def _model_call_seconds(self) -> float:
        """How long the model may take: the configured timeout, and in Lambda no later than the invocation's
        deadline minus the time to settle."""
        left = deadline.seconds_left()
        if left is None:
            return self._model_timeout
        seconds = min(self._model_timeout, left - self._settle_margin)
        if seconds < MIN_MODEL_CALL_SECONDS:
            raise ModelTimeoutError(
                "Too little of this request's time was left to call the model.",
                details={"seconds_left": round(max(left, 0.0), 3)},
            )
        return seconds

    def _settle_failure(
        self,
        call: CallRecord,
        reservation: Reservation,
        error: BaseException,
        writes: SettlementWrites | None = None,
    ) -> None:
        """Record the call failed, with why, and release its reservation; never hides the original error."""
        reason = error.code if isinstance(error, AppError) else "internal_error"
        if not isinstance(error, AppError):
            logger.error(
                "model call failed unexpectedly",
                extra={"error_type": type(error).__name__, "call_request_id": call.request_id},
            )
        moves = self._limits.release_moves(reservation) if call.reserved else []  # nothing to release
        try:
            written = writes.items(None) if writes is not None else []
            settled = self._write_settlement(
                call,
                Settlement(
                    status=FAILED,
                    input_tokens=0,
                    output_tokens=0,
                    cost_micros=0,
                    latency_ms=0,
                    error_code=reason,
                ),
                [*self._moves(call.user_id, moves), *written],
            )
            if settled and writes is not None:
                writes.written()
        except Exception:
            # The pending record keeps the reservation to release (the reconciler's job); the caller still
            # gets the error that ended the call.
            logger.exception(
                "releasing a failed call's reservation failed", extra={"call_request_id": call.request_id}
            )
