"""Usage in DynamoDB: one record per model call, and per-user roll-ups kept with atomic ADDs.

Items (table `usage`):
  CALL#<user id>#<request id> / CALL   one call: pending until settled, then ok or failed (error_code: why;
                                       settled_by: which settlement; TTL expires_at);
                                       gsi1 = USER#<user id> / CALL#<time>#<request id>
  USER#<user id> / <period>#TOTAL      roll-up per period: DAY#yyyy-mm-dd, MONTH#yyyy-mm
  USER#<user id> / <period>#MODEL#<id> roll-up per period and model
  GLOBAL#<shard> / <period>#TOTAL|MODEL#<id>  the organisation's roll-ups (and conversations), in 8 shards
Settling writes the call and every roll-up in one transaction, conditioned on the call still being pending:
a retried request id is never counted twice, and reports never scan. Both transactions are retried through
conflicts and throttles (repositories/transactions.py); a settlement that went through with its answer lost
(the resend then fails its condition) is told from another by `settled_by`, so the items it carried (the
audit event, a conversation's messages) count as written. A pending call holds what it reserved, and a
settlement that still fails leaves its outcome on the call: services/reconciler.py settles or releases it.
A call that reserved nothing (services/models.py says when) is not written before: `record` puts it whole,
settled, with its roll-ups in one transaction; if that still fails, the call is put pending with its outcome
(`reserved` false), for the reconciler to settle as any other.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from gateway.aws import attribute_value, error_code, query_all, table, value_of
from gateway.errors import AppError, ConflictError
from gateway.repositories.transactions import cancellation_codes, is_transient, transact_write

log = logging.getLogger(__name__)

PENDING, OK, FAILED = "pending", "ok", "failed"
ROLLUP_COUNTERS = ("requests", "errors", "input_tokens", "output_tokens", "cost_micros")


class DuplicateRequestError(ConflictError):
    code = "duplicate_request"
    message = "This request id has been used already."


class MeteringBusyError(AppError):
    status_code = 503
    code = "metering_busy"
    message = "Usage metering is busy: retry in a moment."

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class CounterRefused(Exception):  # noqa: N818 (not an error of the caller's: the service decides what it means)
    """A conditional item of the transaction failed: `index` into the extra items, with the item's values."""

    def __init__(self, index: int, item: dict[str, Any]) -> None:
        super().__init__(f"counter {index} refused")
        self.index = index
        self.item = item


@dataclass(frozen=True)
class CallRecord:
    user_id: str
    request_id: str
    key_id: str | None
    model_id: str
    started_at: str
    conversation_id: str | None = None
    # What the call reserved (limit windows' sort keys, tokens, cost): what a later settlement moves.
    reserved_windows: tuple[str, ...] = ()
    reserved_tokens: int = 0
    reserved_cost_micros: int = 0
    # False: nothing was reserved nor written before the call (settled by `record`, not `settle`).
    reserved: bool = True
    # Tells this request's own write from another's with the same request id, when a write is resent.
    attempt: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Settlement:
    status: str
    input_tokens: int
    output_tokens: int
    cost_micros: int
    latency_ms: int
    error_code: str | None = None


@dataclass(frozen=True)
class Rollup:
    period: str
    model_id: str | None
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_micros: int


def _call_key(user_id: str, request_id: str) -> dict[str, str]:
    return {"pk": f"CALL#{user_id}#{request_id}", "sk": "CALL"}


PENDING_SHARDS = 8


def pending_partition(request_id: str) -> str:
    """The gsi1 partition of a pending call: spread over shards so no partition takes every start."""
    return f"PENDING#{int(hashlib.sha256(request_id.encode()).hexdigest(), 16) % PENDING_SHARDS}"


def call_record_from_item(item: dict[str, Any]) -> CallRecord:
    return CallRecord(
        user_id=item["user_id"],
        request_id=item["request_id"],
        key_id=item.get("key_id"),
        model_id=item["model_id"],
        started_at=item["started_at"],
        conversation_id=item.get("conversation_id"),
        reserved_windows=tuple(item.get("reserved_windows", ())),
        reserved_tokens=int(item.get("reserved_tokens", 0)),
        reserved_cost_micros=int(item.get("reserved_cost_micros", 0)),
        reserved=bool(item.get("reserved", True)),
        attempt=str(item.get("attempt", "")),
    )


def _outcome(settlement: Settlement) -> dict[str, Any]:
    """A settled call's outcome attributes."""
    return {
        "status": settlement.status,
        "input_tokens": settlement.input_tokens,
        "output_tokens": settlement.output_tokens,
        "cost_micros": settlement.cost_micros,
        "latency_ms": settlement.latency_ms,
        **({"error_code": settlement.error_code} if settlement.error_code else {}),
    }


def _log_deferred(call: CallRecord, exc: Exception, codes: list[str]) -> None:
    log.warning(
        "settlement deferred to the reconciler",
        extra={"call_request_id": call.request_id, "reason": type(exc).__name__, "code": ",".join(codes)},
    )


def _rollup(item: dict[str, Any]) -> Rollup:
    sort_key: str = item["sk"]
    if sort_key.endswith("#TOTAL"):
        period, model_id = sort_key.removesuffix("#TOTAL"), None
    else:
        period, _, model_id = sort_key.partition("#MODEL#")
    return Rollup(
        period=period,
        model_id=model_id,
        **{counter: int(item.get(counter, 0)) for counter in ROLLUP_COUNTERS},
    )


GLOBAL_SHARDS = 8


def global_shard(key: str) -> str:
    return f"GLOBAL#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % GLOBAL_SHARDS}"


def ranking_key(total_sort_key: str) -> str:
    """DAY#2026-11-22#TOTAL -> COST#DAY#2026-11-22: the partition in which users are ranked by cost."""
    return "COST#" + total_sort_key.removesuffix("#TOTAL")


def rollup_sort_keys(model_id: str, day: str) -> list[str]:
    """The roll-ups one call adds to: its day and month, in total and for its model."""
    month = day[:7]
    return [
        f"DAY#{day}#TOTAL",
        f"DAY#{day}#MODEL#{model_id}",
        f"MONTH#{month}#TOTAL",
        f"MONTH#{month}#MODEL#{model_id}",
    ]


class UsageRepository:
    def __init__(self, table_name: str, retention_days: int) -> None:
        self._table_name = table_name
        self._retention_seconds = retention_days * 86400

    def begin(
        self, call: CallRecord, now_epoch: int, extra_items: list[dict[str, Any]] | None = None
    ) -> None:
        """Record the call as pending, with `extra_items` (limit reservations) in the same transaction."""
        item = self._pending_item(call, now_epoch)
        put = {
            "Put": {
                "TableName": self._table_name,
                "Item": {k: attribute_value(v) for k, v in item.items()},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            transact_write([put, *(extra_items or [])])
        except ClientError as exc:
            if is_transient(exc):  # conflicts or throttles that outlasted the retries: not the caller's doing
                if self._written_by(call):  # an earlier send went through, its answer lost
                    return
                raise MeteringBusyError() from exc
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(exc)
            failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if not failed:
                raise MeteringBusyError() from exc
            if failed[0] == 0:
                if self._written_by(call):  # an earlier send of this very write went through
                    return
                raise DuplicateRequestError() from exc
            reasons = exc.response.get("CancellationReasons", [])
            old = reasons[failed[0]].get("Item") or {}
            raise CounterRefused(failed[0] - 1, {k: value_of(v) for k, v in old.items()}) from exc
        except (ConnectionError, HTTPClientError) as exc:
            if self._written_by(call):
                return
            raise MeteringBusyError() from exc

    def _pending_item(self, call: CallRecord, now_epoch: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            **_call_key(call.user_id, call.request_id),
            "gsi1pk": pending_partition(call.request_id),
            "gsi1sk": f"CALL#{call.started_at}#{call.request_id}",
            "user_id": call.user_id,
            "request_id": call.request_id,
            "model_id": call.model_id,
            "started_at": call.started_at,
            "status": PENDING,
            "attempt": call.attempt,
            "reserved_tokens": call.reserved_tokens,
            "reserved_cost_micros": call.reserved_cost_micros,
            "expires_at": now_epoch + self._retention_seconds,
        }
        if call.reserved_windows:
            item["reserved_windows"] = list(call.reserved_windows)
        if call.key_id:
            item["key_id"] = call.key_id
        if call.conversation_id:
            item["conversation_id"] = call.conversation_id
        if not call.reserved:
            item["reserved"] = False
        return item

    def _written_by(self, call: CallRecord) -> bool:
        """Whether the stored call is this request's own (its answer was lost, e.g. on a dropped line)."""
        return self._own_item(call) is not None

    def _own_item(self, call: CallRecord) -> dict[str, Any] | None:
        """The stored call if this request wrote it; None if another did, none did, or it cannot be read."""
        return self._stored_marked(call, "attempt", call.attempt)

    def _stored_marked(self, call: CallRecord, attribute: str, mark: str) -> dict[str, Any] | None:
        """The stored call if its `attribute` holds `mark` (the write that set it was ours); None otherwise,
        or when it cannot be read."""
        try:
            stored = self.call(call.user_id, call.request_id)
        except (ClientError, ConnectionError, HTTPClientError):
            return None
        return stored if stored is not None and stored.get(attribute) == mark else None

    def call(self, user_id: str, request_id: str) -> dict[str, Any] | None:
        return (
            table(self._table_name)
            .get_item(Key=_call_key(user_id, request_id), ConsistentRead=True)
            .get("Item")
        )

    def settle(
        self, call: CallRecord, settlement: Settlement, extra_items: list[dict[str, Any]] | None = None
    ) -> bool:
        """Record the outcome and add it to the roll-ups, once; True when this settlement went through (even
        if its answer was lost); False when another settled the call before, or when the transaction still
        failed after its retries: the outcome then stays on the pending call (or, if even that write fails,
        the call stays pending as it was) for the reconciler."""
        names = {"#status": "status"}
        values = {
            ":user_partition": f"USER#{call.user_id}",
            ":status": settlement.status,
            ":pending": PENDING,
            ":input": settlement.input_tokens,
            ":output": settlement.output_tokens,
            ":cost": settlement.cost_micros,
            ":latency": settlement.latency_ms,
        }
        update = (
            "SET #status = :status, input_tokens = :input, output_tokens = :output, "
            "cost_micros = :cost, latency_ms = :latency, gsi1pk = :user_partition"
        )
        if settlement.error_code:
            update += ", error_code = :error"
            values[":error"] = settlement.error_code
        # This settlement's own mark: its write is told from another's when an answer is lost.
        settlement_id = uuid.uuid4().hex
        update += ", settled_by = :settled_by"
        values[":settled_by"] = settlement_id
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": {k: {"S": v} for k, v in _call_key(call.user_id, call.request_id).items()},
                    "UpdateExpression": update,
                    "ConditionExpression": "#status = :pending",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {k: attribute_value(v) for k, v in values.items()},
                }
            }
        ]
        items.extend(self._rollup_items(call, settlement))
        try:
            transact_write([*items, *(extra_items or [])])
        except (ClientError, ConnectionError, HTTPClientError) as exc:
            if self._settled_by(call, settlement_id):  # a send went through, its answer lost
                return True
            codes = cancellation_codes(exc) if isinstance(exc, ClientError) else []
            if codes and codes[0] == "ConditionalCheckFailed":
                return False  # settled before, by another settlement (the reconciler's, or the invocation's)
            _log_deferred(call, exc, codes)
            self._keep_outcome(call, settlement)
            return False
        return True

    def _settled_by(self, call: CallRecord, settlement_id: str) -> bool:
        """Whether the stored call was settled by this settlement; False when it cannot be read."""
        return self._stored_marked(call, "settled_by", settlement_id) is not None

    def _rollup_items(self, call: CallRecord, settlement: Settlement) -> list[dict[str, Any]]:
        """The ADDs of one settled call to the user's and the organisation's roll-ups."""
        items: list[dict[str, Any]] = []
        increments = {
            ":requests": 1,
            ":errors": 0 if settlement.status == OK else 1,
            ":input": settlement.input_tokens,
            ":output": settlement.output_tokens,
            ":cost": settlement.cost_micros,
        }
        # The user's hour, for windows that are not a whole day or month (ranked per hour in gsi2).
        user_keys = [
            *rollup_sort_keys(call.model_id, call.started_at[:10]),
            f"HOUR#{call.started_at[:13]}#TOTAL",
        ]
        for sort_key in user_keys:
            items.append(
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": {"pk": {"S": f"USER#{call.user_id}"}, "sk": {"S": sort_key}},
                        "UpdateExpression": "ADD requests :requests, errors :errors, input_tokens :input, "
                        "output_tokens :output, cost_micros :cost SET model_id = :model, user_id = :user"
                        + ("" if "#MODEL#" in sort_key else ", gsi2pk = :ranking"),
                        "ExpressionAttributeValues": {
                            k: attribute_value(v)
                            for k, v in {
                                **increments,
                                ":model": call.model_id if "#MODEL#" in sort_key else "*",
                                ":user": call.user_id,
                                # Totals are ranked by cost per period (gsi2): users by cost, page by page.
                                **({} if "#MODEL#" in sort_key else {":ranking": ranking_key(sort_key)}),
                            }.items()
                        },
                    }
                }
            )
        # The organisation's roll-ups, for analytics: spread over shards so no partition takes every write.
        shard = global_shard(call.request_id)
        for sort_key in rollup_sort_keys(call.model_id, call.started_at[:10]):
            items.append(
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": {"pk": {"S": shard}, "sk": {"S": sort_key}},
                        "UpdateExpression": "ADD requests :requests, errors :errors, input_tokens :input, "
                        "output_tokens :output, cost_micros :cost",
                        "ExpressionAttributeValues": {k: attribute_value(v) for k, v in increments.items()},
                    }
                }
            )
        return items

    def record(
        self,
        call: CallRecord,
        settlement: Settlement,
        now_epoch: int,
        extra_items: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Put a call that reserved nothing, settled, with its roll-ups and `extra_items`, in one transaction;
        False when it still failed after its retries: the call is then put pending with its outcome for the
        reconciler (its roll-ups come then), or, if even that fails, logged as lost."""
        item = {
            **self._pending_item(call, now_epoch),
            "gsi1pk": f"USER#{call.user_id}",
            **_outcome(settlement),
        }
        put = {
            "Put": {
                "TableName": self._table_name,
                "Item": {k: attribute_value(v) for k, v in item.items()},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            transact_write([put, *self._rollup_items(call, settlement), *(extra_items or [])])
        except (ClientError, ConnectionError, HTTPClientError) as exc:
            codes = cancellation_codes(exc) if isinstance(exc, ClientError) else []
            if codes and codes[0] == "ConditionalCheckFailed":
                if self._written_by(call):  # an earlier send of this very transaction went through
                    return True
                log.error("request id recorded before", extra={"call_request_id": call.request_id})
                return False
            _log_deferred(call, exc, codes)
            return self._keep_unsettled(call, settlement, now_epoch)
        return True

    def _keep_unsettled(self, call: CallRecord, settlement: Settlement, now_epoch: int) -> bool:
        """Put the call pending with its outcome, for the reconciler; True if the transaction had in fact
        gone through (its answer lost), False otherwise."""
        item = {**self._pending_item(call, now_epoch), "outcome": _outcome(settlement)}
        try:
            table(self._table_name).put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except (ClientError, ConnectionError, HTTPClientError):
            stored = self._own_item(call)
            if stored is not None:  # the transaction went through after all (settled), or this put did
                return stored.get("status") != PENDING
            # Nothing of this call is stored: only this line tells of it.
            log.exception(
                "unsettled call lost",
                extra={
                    "call_request_id": call.request_id,
                    "user_id": call.user_id,
                    "model_id": call.model_id,
                    "status": settlement.status,
                    "input_tokens": settlement.input_tokens,
                    "output_tokens": settlement.output_tokens,
                    "cost_micros": settlement.cost_micros,
                },
            )
        return False

    def _keep_outcome(self, call: CallRecord, settlement: Settlement) -> None:
        """Store the outcome on the pending call, for the reconciler to settle; best effort."""
        outcome = _outcome(settlement)
        try:
            table(self._table_name).update_item(
                Key=_call_key(call.user_id, call.request_id),
                UpdateExpression="SET outcome = :outcome",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":outcome": outcome, ":pending": PENDING},
            )
        except (ClientError, ConnectionError, HTTPClientError):
            # The call stays pending with its reservation: the reconciler releases it.
            log.exception(
                "outcome of an unsettled call not stored", extra={"call_request_id": call.request_id}
            )

    def pending_before(self, started_before: str) -> list[dict[str, Any]]:
        """Pending calls started before this instant (ISO), from every pending shard of gsi1."""
        return [
            item
            for shard in range(PENDING_SHARDS)
            for item in query_all(
                table(self._table_name),
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :pk AND gsi1sk < :before",
                ExpressionAttributeValues={":pk": f"PENDING#{shard}", ":before": f"CALL#{started_before}"},
            )
        ]

    def count_conversation(self, user_id: str, hour: str, key: str) -> None:
        """One more conversation started in the hour (yyyy-mm-ddThh): in the user's and the organisation's
        roll-ups of its day and month, and the user's of its hour."""
        day, user, shard = hour[:10], f"USER#{user_id}", global_shard(key)
        keys = [
            (pk, f"{period}#TOTAL") for pk in (user, shard) for period in (f"DAY#{day}", f"MONTH#{day[:7]}")
        ]
        keys.append((user, f"HOUR#{hour}#TOTAL"))
        items = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": {"pk": {"S": pk}, "sk": {"S": sort_key}},
                    "UpdateExpression": "ADD conversations :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            for pk, sort_key in keys
        ]
        transact_write(items)

    def global_rollups(self, first: str, last: str) -> list[dict[str, Any]]:
        """Every shard's roll-ups with first <= sort key <= last~ (e.g. DAY#2026-11-01 .. DAY#2026-11-30)."""
        return [
            item
            for shard in range(GLOBAL_SHARDS)
            for item in query_all(
                table(self._table_name),
                KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={":pk": f"GLOBAL#{shard}", ":first": first, ":last": f"{last}~"},
            )
        ]

    def rollups_between(self, user_id: str, first: str, last: str) -> list[Rollup]:
        """Roll-ups with first <= sort key <= last~ (e.g. MONTH#2026-01 .. MONTH#2026-03), one query."""
        items = query_all(
            table(self._table_name),
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": f"USER#{user_id}", ":first": first, ":last": f"{last}~"},
        )
        return [_rollup(item) for item in items]

    def ranked_totals(
        self, period: str, limit: int, start_after: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Users' totals of one period (e.g. DAY#2026-11-22), highest cost first, a page at a time."""
        query: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pk",
            "ExpressionAttributeValues": {":pk": f"COST#{period}"},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_after:
            query["ExclusiveStartKey"] = start_after
        page = table(self._table_name).query(**query)
        return page.get("Items", []), page.get("LastEvaluatedKey")

    def ranked_all(self, period: str) -> list[dict[str, Any]]:
        """Every user's total of one period (used for hours: windows that are not a day or a month)."""
        return query_all(
            table(self._table_name),
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :pk",
            ExpressionAttributeValues={":pk": f"COST#{period}"},
        )

    def total(self, user_id: str, period: str) -> dict[str, Any] | None:
        return (
            table(self._table_name)
            .get_item(Key={"pk": f"USER#{user_id}", "sk": f"{period}#TOTAL"})
            .get("Item")
        )
