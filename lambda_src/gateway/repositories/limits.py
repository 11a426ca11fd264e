"""Limit counters and per-user limit overrides, in the usage table.

Items:
  LIMIT#<user> / MINUTE#<yyyy-mm-ddThh:mm>  requests
  LIMIT#<user> / DAY#<yyyy-mm-dd>           requests, tokens
  LIMIT#<user> / MONTH#<yyyy-mm>            tokens, cost_micros
  LIMIT#<user> / OVERRIDE                   limits an admin set for this user
Windows are UTC calendar periods. A reservation is one conditional ADD per window item, run in the same
transaction as the call's record (see UsageRepository.begin): DynamoDB checks and applies each atomically, so
concurrent requests can never together pass a limit. Condition expressions cannot add, so each check compares
the current value with (limit - amount).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import attribute_value, batch_get_all, client, error_code, table

WINDOW_TTL = {"MINUTE": timedelta(minutes=5), "DAY": timedelta(days=3), "MONTH": timedelta(days=62)}


@dataclass(frozen=True)
class Windows:
    minute: str
    day: str
    month: str

    @classmethod
    def at(cls, moment: datetime) -> "Windows":
        return cls(
            minute=f"MINUTE#{moment:%Y-%m-%dT%H:%M}",
            day=f"DAY#{moment:%Y-%m-%d}",
            month=f"MONTH#{moment:%Y-%m}",
        )

    def sort_keys(self) -> tuple[str, str, str]:
        return (self.minute, self.day, self.month)

    @classmethod
    def of(cls, sort_keys: tuple[str, ...]) -> "Windows":
        minute, day, month = sort_keys
        return cls(minute=minute, day=day, month=month)


@dataclass(frozen=True)
class Check:
    """One limit on one counter: refuse when current + amount would pass `limit`."""

    name: str
    attribute: str
    amount: int
    limit: int


@dataclass
class CounterMove:
    """ADDs to one window item, with the checks that must hold first."""

    sort_key: str
    adds: dict[str, int]
    checks: list[Check] = field(default_factory=list)
    expires_at: int | None = None


def _key(user_id: str, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"LIMIT#{user_id}"}, "sk": {"S": sort_key}}


def transact_item(table_name: str, user_id: str, move: CounterMove) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds = []
    for index, (attribute, amount) in enumerate(sorted(move.adds.items())):
        names[f"#a{index}"] = attribute
        values[f":a{index}"] = amount
        adds.append(f"#a{index} :a{index}")
    expression = "ADD " + ", ".join(adds)
    if move.expires_at is not None:
        expression += " SET expires_at = if_not_exists(expires_at, :ttl)"
        values[":ttl"] = move.expires_at
    conditions = []
    for index, check in enumerate(move.checks):
        names[f"#c{index}"] = check.attribute
        values[f":c{index}"] = check.limit - check.amount
        conditions.append(f"(attribute_not_exists(#c{index}) OR #c{index} <= :c{index})")
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": _key(user_id, move.sort_key),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {k: attribute_value(v) for k, v in values.items()},
    }
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": update}


def override_key(user_id: str) -> dict[str, str]:
    return {"pk": f"LIMIT#{user_id}", "sk": "OVERRIDE"}


def override_from_item(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (item or {}).items() if k not in ("pk", "sk", "updated_at", "updated_by")}


class LimitRepository:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def counters(self, user_id: str, windows: Windows) -> dict[str, dict[str, int]]:
        """Current values of the window items, by sort key (missing items read as zeros)."""
        keys = [
            {"pk": f"LIMIT#{user_id}", "sk": sort_key}
            for sort_key in (windows.minute, windows.day, windows.month)
        ]
        # Every key read, unprocessed ones retried: a key left out would read as zero use.
        found = {item["sk"]: item for item in batch_get_all(table(self.table_name), keys, consistent=True)}
        counters = ("requests", "tokens", "cost_micros")
        return {
            key["sk"]: {name: int(found.get(key["sk"], {}).get(name, 0)) for name in counters} for key in keys
        }

    def consume(self, user_id: str, move: CounterMove) -> bool:
        """Apply one window item's ADDs if its checks hold; False (and nothing added) when one would not."""
        try:
            client("dynamodb").update_item(**transact_item(self.table_name, user_id, move)["Update"])
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def override(self, user_id: str) -> dict[str, Any]:
        item = table(self.table_name).get_item(Key=override_key(user_id), ConsistentRead=True).get("Item")
        return override_from_item(item)

    def set_override(self, user_id: str, limits: dict[str, Any], updated_at: str, updated_by: str) -> None:
        item = {k: v for k, v in limits.items() if v is not None}
        item.update(pk=f"LIMIT#{user_id}", sk="OVERRIDE", updated_at=updated_at, updated_by=updated_by)
        table(self.table_name).put_item(Item=item)
