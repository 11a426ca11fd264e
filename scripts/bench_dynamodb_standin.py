"""An in-memory DynamoDB for the in-process benchmarks: botocore still validates, serializes, signs and parses
every request (the app's work and the client's), only the network and the server are replaced.

It answers the operations a model call makes (GetItem, BatchGetItem, PutItem, UpdateItem, TransactWriteItems)
from a dict of wire-format items: puts store, updates apply their ADDs and plain SETs. Conditions are applied
as DynamoDB applies them: the two the metering relies on directly (a new call record:
attribute_not_exists(pk); a settlement: the call still pending), any other (the limit checks) with moto's
condition evaluator. Each write holds the locks of the items it touches, taken in key order, from its checks
to its last write: a transaction is all-or-nothing and isolated per item, with no lock over the whole store,
so threads may call it at once.
A failed condition answers as DynamoDB does: ConditionalCheckFailedException for a single write,
TransactionCanceledException with one CancellationReason per action (the item for ALL_OLD) for a transaction.
It counts the requests it answers, per operation: the round trips the call would make on AWS.
"""

import contextlib
import functools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

Key = tuple[str, str, str]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kwargs: Any):
        yield self._body


class ConditionFailed(Exception):  # noqa: N818
    pass


class TransactionCanceled(Exception):  # noqa: N818
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons


_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class DynamoDBStandIn:
    def __init__(self, hold_seconds: float = 0.0) -> None:
        # How long each write holds its items between its checks and its writes: a wide window for the races
        # its locks must prevent (concurrent benchmarks), nothing by default.
        self.hold_seconds = hold_seconds
        self.items: dict[Key, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self._item_locks: dict[Key, threading.Lock] = {}
        # How many requests it served at once at most (concurrent benchmarks show their requests overlapped).
        self.peak_in_flight = 0
        self._in_flight = 0
        self._counting = threading.Lock()  # held only to count, never while a request is served

    def seed(self, table: str, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.items[(table, item["pk"]["S"], item["sk"]["S"])] = item

    def answer(self, request: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".", 1)[1]
        body = json.loads(request.body or b"{}")
        with self._counting:
            self.requests[operation] += 1
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        status = 400
        try:
            result = getattr(self, operation)(body)
            status = 200
        except ConditionFailed:
            result = {"__type": _ERROR_PREFIX + "ConditionalCheckFailedException"}
        except TransactionCanceled as cancelled:
            codes = ", ".join(reason["Code"] for reason in cancelled.reasons)
            result = {
                "__type": _ERROR_PREFIX + "TransactionCanceledException",
                "Message": f"Transaction cancelled, please refer cancellation reasons [{codes}]",
                "CancellationReasons": cancelled.reasons,
            }
        finally:
            with self._counting:
                self._in_flight -= 1
        raw = json.dumps(result).encode()
        return AWSResponse(request.url, status, {"content-type": "application/x-amz-json-1.0"}, _Raw(raw))

    def _key(self, table: str, key: dict[str, Any]) -> Key:
        return (table, key["pk"]["S"], key["sk"]["S"])

    @contextlib.contextmanager
    def _holding(self, keys: list[Key]) -> Iterator[None]:
        """The items' locks, in key order (two writes never wait for each other in a cycle)."""
        # dict.setdefault is atomic: two threads asking for one key's lock get the same lock.
        locks = [self._item_locks.setdefault(key, threading.Lock()) for key in sorted(set(keys))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()

    def GetItem(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 (the operation's name)
        item = self.items.get(self._key(body["TableName"], body["Key"]))
        return {"Item": item} if item else {}

    def BatchGetItem(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        responses = {}
        for table, request in body["RequestItems"].items():
            found = (self.items.get(self._key(table, key)) for key in request["Keys"])
            responses[table] = [item for item in found if item]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def PutItem(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        key = self._key(body["TableName"], body["Item"])
        with self._holding([key]):
            if not self._holds(body, self.items.get(key)):
                raise ConditionFailed()
            self._hold()
            self._put(body)
        return {}

    def UpdateItem(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        key = self._key(body["TableName"], body["Key"])
        with self._holding([key]):
            if not self._holds(body, self.items.get(key)):
                raise ConditionFailed()
            self._hold()
            self._update(body)
        return {}

    def TransactWriteItems(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        # DynamoDB refuses two actions on one item, so checking every condition before the first write is
        # the same as checking each just before its own.
        actions = [next(iter(entry.items())) for entry in body["TransactItems"]]
        keys = [self._key(action["TableName"], action.get("Key") or action["Item"]) for _, action in actions]
        with self._holding(keys):
            reasons = [
                self._reason(action, self.items.get(key))
                for (_, action), key in zip(actions, keys, strict=True)
            ]
            self._hold()
            if any(reason["Code"] != "None" for reason in reasons):
                raise TransactionCanceled(reasons)
            for kind, action in actions:
                {"Put": self._put, "Update": self._update}[kind](action)
        return {}

    def _hold(self) -> None:
        if self.hold_seconds:
            time.sleep(self.hold_seconds)

    def _reason(self, action: dict[str, Any], item: dict[str, Any] | None) -> dict[str, Any]:
        if self._holds(action, item):
            return {"Code": "None"}
        reason = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
        if item and action.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
            reason["Item"] = item
        return reason

    def _holds(self, action: dict[str, Any], item: dict[str, Any] | None) -> bool:
        condition = action.get("ConditionExpression")
        if condition is None:
            return True
        if condition == "attribute_not_exists(pk)":
            return item is None
        values = action.get("ExpressionAttributeValues", {})
        if condition == "#status = :pending":
            return (item or {}).get("status") == values[":pending"]
        return _holds_by_moto(condition, action.get("ExpressionAttributeNames", {}), values, item)

    def _put(self, action: dict[str, Any]) -> None:
        self.items[self._key(action["TableName"], action["Item"])] = action["Item"]

    def _update(self, action: dict[str, Any]) -> None:
        key = self._key(action["TableName"], action["Key"])
        names = action.get("ExpressionAttributeNames", {})
        values = action.get("ExpressionAttributeValues", {})
        # A new dict, swapped in whole: a reader without the lock sees the item before or after, never half.
        item = dict(self.items.get(key) or {**action["Key"]})
        for verb, name, value, only_if_absent in _parsed(action["UpdateExpression"]):
            name = names.get(name, name)
            if verb == "ADD":
                total = float(item.get(name, {"N": "0"})["N"]) + float(values[value]["N"])
                item[name] = {"N": str(int(total)) if total.is_integer() else str(total)}
            elif not (only_if_absent and name in item):
                item[name] = values[value]
        self.items[key] = item


@contextlib.contextmanager
def serving(store: DynamoDBStandIn) -> Iterator[DynamoDBStandIn]:
    """Inside moto's mock_aws: DynamoDB requests answered by `store`, every other service by moto."""
    from moto.core.botocore_stubber import BotocoreStubber

    moto_call = BotocoreStubber.__call__

    def to_store(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if ".dynamodb." in event_name or event_name.endswith(".dynamodb"):
            return store.answer(request)
        return moto_call(stubber, event_name, request, **kwargs)

    BotocoreStubber.__call__ = to_store
    try:
        yield store
    finally:
        BotocoreStubber.__call__ = moto_call


def _holds_by_moto(
    condition: str, names: dict[str, str], values: dict[str, Any], item: dict[str, Any] | None
) -> bool:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    stored = None if item is None else Item(DynamoType(item["pk"]), DynamoType(item["sk"]), item)
    return bool(get_filter_expression(condition, names, values).expr(stored))


@functools.cache
def _parsed(expression: str) -> tuple[tuple[str, str, str, bool], ...]:
    """(verb, name, value placeholder, SET only if absent) per action of an update expression."""
    actions = []
    for clause in re.split(r"\b(?=ADD |SET )", expression):
        verb, _, rest = clause.strip().partition(" ")
        for part in filter(None, (p.strip() for p in re.split(r",(?![^(]*\))", rest))):
            if verb == "ADD":
                name, value = part.split()
                actions.append((verb, name, value, False))
                continue
            name, _, value = (s.strip() for s in part.partition("="))
            match = re.match(r"if_not_exists\(\s*\S+\s*,\s*(:\w+)\s*\)", value)
            actions.append((verb, name, match.group(1) if match else value, bool(match)))
    return tuple(actions)
