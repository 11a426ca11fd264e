"""Usage in DynamoDB: one record per model call, and per-user roll-ups kept with atomic ADDs.

Items (table `usage`):
  CALL#<user id>#<request id> / CALL   one call: pending until settled, then ok or error (TTL expires_at);
                                       gsi1 = USER#<user id> / CALL#<time>#<request id>
  USER#<user id> / <period>#TOTAL      roll-up per period: DAY#yyyy-mm-dd, MONTH#yyyy-mm
  USER#<user id> / <period>#MODEL#<id> roll-up per period and model
  GLOBAL#<shard> / <period>#TOTAL|MODEL#<id>  the organisation's roll-ups (and conversations), in 8 shards
Settling writes the call and every roll-up in one transaction, conditioned on the call still being pending:
a retried request id is never counted twice, and reports never scan.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from gateway.aws import client, error_code, query_all, table
from gateway.errors import ConflictError

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
PENDING, OK, ERROR = "pending", "ok", "error"
ROLLUP_COUNTERS = ("requests", "errors", "input_tokens", "output_tokens", "cost_micros")


class DuplicateRequestError(ConflictError):
    code = "duplicate_request"
    message = "This request id has been used already."


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
        item: dict[str, Any] = {
            **_call_key(call.user_id, call.request_id),
            "gsi1pk": f"USER#{call.user_id}",
            "gsi1sk": f"CALL#{call.started_at}#{call.request_id}",
            "user_id": call.user_id,
            "request_id": call.request_id,
            "model_id": call.model_id,
            "started_at": call.started_at,
            "status": PENDING,
            "expires_at": now_epoch + self._retention_seconds,
        }
        if call.key_id:
            item["key_id"] = call.key_id
        if call.conversation_id:
            item["conversation_id"] = call.conversation_id
        put = {
            "Put": {
                "TableName": self._table_name,
                "Item": {k: _SERIALIZER.serialize(v) for k, v in item.items()},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            client("dynamodb").transact_write_items(TransactItems=[put, *(extra_items or [])])
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            failed = [i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
            if not failed or failed[0] == 0:
                raise DuplicateRequestError() from exc
            old = reasons[failed[0]].get("Item") or {}
            raise CounterRefused(
                failed[0] - 1, {k: _DESERIALIZER.deserialize(v) for k, v in old.items()}
            ) from exc

    def settle(
        self, call: CallRecord, settlement: Settlement, extra_items: list[dict[str, Any]] | None = None
    ) -> bool:
        """Record the outcome and add it to the roll-ups, once; False when it was settled before."""
        names = {"#status": "status"}
        values = {
            ":status": settlement.status,
            ":pending": PENDING,
            ":input": settlement.input_tokens,
            ":output": settlement.output_tokens,
            ":cost": settlement.cost_micros,
            ":latency": settlement.latency_ms,
        }
        update = (
            "SET #status = :status, input_tokens = :input, output_tokens = :output, "
            "cost_micros = :cost, latency_ms = :latency"
        )
        if settlement.error_code:
            update += ", error_code = :error"
            values[":error"] = settlement.error_code
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table_name,
                    "Key": {k: {"S": v} for k, v in _call_key(call.user_id, call.request_id).items()},
                    "UpdateExpression": update,
                    "ConditionExpression": "#status = :pending",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {k: _SERIALIZER.serialize(v) for k, v in values.items()},
                }
            }
        ]
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
                            k: _SERIALIZER.serialize(v)
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
                        "ExpressionAttributeValues": {
                            k: _SERIALIZER.serialize(v) for k, v in increments.items()
                        },
                    }
                }
            )
        try:
            client("dynamodb").transact_write_items(TransactItems=[*items, *(extra_items or [])])
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                return False
            raise
        return True

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
        client("dynamodb").transact_write_items(TransactItems=items)

    def global_rollups(self, first: str, last: str) -> list[dict[str, Any]]:
        """Every shard's roll-ups with first <= sort key <= last~ (e.g. DAY#2026-11-01 .. DAY#2026-11-30)."""
        return [
            item
            for shard in range(GLOBAL_SHARDS)
            for item in query_all(
                table(self._table_name),
                KeyConditionExpression=Key("pk").eq(f"GLOBAL#{shard}") & Key("sk").between(first, f"{last}~"),
            )
        ]

    def rollups_between(self, user_id: str, first: str, last: str) -> list[Rollup]:
        """Roll-ups with first <= sort key <= last~ (e.g. MONTH#2026-01 .. MONTH#2026-03), one query."""
        items = query_all(
            table(self._table_name),
            KeyConditionExpression=Key("pk").eq(f"USER#{user_id}") & Key("sk").between(first, f"{last}~"),
        )
        return [_rollup(item) for item in items]

    def ranked_totals(
        self, period: str, limit: int, start_after: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Users' totals of one period (e.g. DAY#2026-11-22), highest cost first, a page at a time."""
        query: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": Key("gsi2pk").eq(f"COST#{period}"),
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
            KeyConditionExpression=Key("gsi2pk").eq(f"COST#{period}"),
        )

    def total(self, user_id: str, period: str) -> dict[str, Any] | None:
        return (
            table(self._table_name)
            .get_item(Key={"pk": f"USER#{user_id}", "sk": f"{period}#TOTAL"})
            .get("Item")
        )
