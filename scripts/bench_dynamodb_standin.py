"""An in-memory DynamoDB for the in-process benchmarks: botocore still validates, serializes, signs and parses
every request (the app's work and the client's), only the network and the server are replaced.

It answers the operations a model call makes (GetItem, BatchGetItem, PutItem, UpdateItem, TransactWriteItems)
from a dict of wire-format items: puts store, updates apply their ADDs and plain SETs, and the two conditions
the metering relies on are applied (a new call record: attribute_not_exists(pk); a settlement: the call still
pending). Other conditions (limit checks) are not evaluated: the benchmark's caller has no limits. It counts
the requests it answers, per operation: the round trips the call would make on AWS.
"""

import functools
import json
import re
from collections import Counter
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


class DynamoDBStandIn:
    def __init__(self) -> None:
        self.items: dict[Key, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()

    def seed(self, table: str, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.items[(table, item["pk"]["S"], item["sk"]["S"])] = item

    def answer(self, request: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".", 1)[1]
        body = json.loads(request.body or b"{}")
        self.requests[operation] += 1
        try:
            result = getattr(self, operation)(body)
            status = 200
        except ConditionFailed:
            result = {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}
            status = 400
        raw = json.dumps(result).encode()
        return AWSResponse(request.url, status, {"content-type": "application/x-amz-json-1.0"}, _Raw(raw))

    def _key(self, table: str, key: dict[str, Any]) -> Key:
        return (table, key["pk"]["S"], key["sk"]["S"])

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
        self._put(body)
        return {}

    def UpdateItem(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._update(body)
        return {}

    def TransactWriteItems(self, body: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        before = dict(self.items)
        try:
            for entry in body["TransactItems"]:
                ((kind, action),) = entry.items()
                {"Put": self._put, "Update": self._update}[kind](action)
        except ConditionFailed:
            self.items = before
            raise
        return {}

    def _put(self, action: dict[str, Any]) -> None:
        key = self._key(action["TableName"], action["Item"])
        if action.get("ConditionExpression") == "attribute_not_exists(pk)" and key in self.items:
            raise ConditionFailed()
        self.items[key] = action["Item"]

    def _update(self, action: dict[str, Any]) -> None:
        key = self._key(action["TableName"], action["Key"])
        names = action.get("ExpressionAttributeNames", {})
        values = action.get("ExpressionAttributeValues", {})
        item = self.items.get(key)
        condition = action.get("ConditionExpression", "")
        if condition == "#status = :pending" and (item or {}).get("status") != values[":pending"]:
            raise ConditionFailed()
        item = dict(item or {**action["Key"]})
        for verb, name, value, only_if_absent in _parsed(action["UpdateExpression"]):
            name = names.get(name, name)
            if verb == "ADD":
                total = float(item.get(name, {"N": "0"})["N"]) + float(values[value]["N"])
                item[name] = {"N": str(int(total)) if total.is_integer() else str(total)}
            elif not (only_if_absent and name in item):
                item[name] = values[value]
        self.items[key] = item


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
