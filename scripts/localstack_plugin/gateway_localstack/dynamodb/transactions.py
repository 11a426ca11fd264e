"""TransactWriteItems for moto's DynamoDB that journals only the items it touches.

moto makes a transaction all-or-nothing by deep-copying every table the transaction names before applying it,
so each transaction costs time in proportion to all the data stored (hundreds of milliseconds after a few days
of local use). This version remembers each touched item just before it changes (a copy of the one item, or
"absent") and, when the transaction is cancelled, puts exactly those items back. Everything the caller sees is
moto's: the same checks in the same order, the same errors and the same CancellationReasons (one per action,
"None" for those that would have succeeded, the item for ReturnValuesOnConditionCheckFailure=ALL_OLD).

`install()` replaces the method on moto's DynamoDBBackend (the emulator calls it when it loads the provider);
`installed()` does the same for a with-block (tests).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    ResourceNotFoundException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

MAX_ACTIONS = 100
ACTION_TYPES = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
_ABSENT = object()


@dataclass
class _TouchedItem:
    table: Any  # moto Table
    hash_key: Any  # DynamoType
    range_key: Any  # DynamoType | None
    before: Any  # a private copy of the Item, or _ABSENT
    had_hash_bucket: bool  # range tables keep a dict per hash key; drop one the transaction created


class _Journal:
    """The items a transaction has touched, each as it was before, and each table's stream length."""

    def __init__(self) -> None:
        self._items: list[_TouchedItem] = []
        self._stream_lengths: dict[int, tuple[Any, int]] = {}

    def remember(self, table: Any, hash_key: Any, range_key: Any) -> None:
        had_bucket = table.has_range_key and hash_key in table.items
        current = _peek(table, hash_key, range_key)
        before = _ABSENT if current is None else copy.deepcopy(current)
        self._items.append(_TouchedItem(table, hash_key, range_key, before, had_bucket))
        if table.stream_shard is not None and id(table) not in self._stream_lengths:
            self._stream_lengths[id(table)] = (table, len(table.stream_shard.items))

    def restore(self) -> None:
        for touched in reversed(self._items):
            _put_back(touched)
        for table, length in self._stream_lengths.values():
            shard = table.stream_shard
            if shard is not None and len(shard.items) > length:
                del shard.items[length:]


def _peek(table: Any, hash_key: Any, range_key: Any) -> Any:
    """The stored Item or None; not table.get_item, whose defaultdict lookup creates an empty hash bucket."""
    if not table.has_range_key:
        return table.items.get(hash_key)
    bucket = table.items.get(hash_key)
    return None if bucket is None else bucket.get(range_key)


def _put_back(touched: _TouchedItem) -> None:
    items = touched.table.items
    if not touched.table.has_range_key:
        if touched.before is _ABSENT:
            items.pop(touched.hash_key, None)
        else:
            items[touched.hash_key] = touched.before
        return
    if touched.before is not _ABSENT:
        items[touched.hash_key][touched.range_key] = touched.before
        return
    bucket = items.get(touched.hash_key)
    if bucket is not None:
        bucket.pop(touched.range_key, None)
        if not bucket and not touched.had_hash_bucket:
            del items[touched.hash_key]


def _key_of(table: Any, action_type: str, action: dict[str, Any]) -> dict[str, Any]:
    if action_type != "Put":
        return action["Key"]
    attrs = action["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(backend: DynamoDBBackend, action_type: str, action: dict[str, Any], journal: _Journal) -> None:
    """One action: check its condition against the item as it is, remember the item, then write it."""
    table_name = action["TableName"]
    table = backend.get_table(table_name)
    key = _key_of(table, action_type, action)
    condition = action.get("ConditionExpression")
    names = action.get("ExpressionAttributeNames")
    values = action.get("ExpressionAttributeValues")

    hash_key, range_key = backend.get_keys_value(table, key)
    current = _peek(table, hash_key, range_key)
    if condition is not None and not get_filter_expression(condition, names, values).expr(current):
        wants_old = action.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        old = current.to_json()["Attributes"] if wants_old and current else None
        failure = ConditionalCheckFailed(item=old)
        failure.old_item = old  # for CancellationReasons; moto keeps it only inside the error's JSON body
        raise failure
    if action_type == "ConditionCheck":
        return

    journal.remember(table, hash_key, range_key)
    condition_args = {
        "condition_expression": condition,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if action_type == "Put":
        backend.put_item(table_name, action["Item"], **condition_args)
    elif action_type == "Delete":
        backend.delete_item(table_name, key, **condition_args)
    else:
        backend.update_item(table_name, key, update_expression=action["UpdateExpression"], **condition_args)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > MAX_ACTIONS:
        raise TooManyTransactionsException()
    # Malformed requests are refused whole, before anything is written.
    if any(len(entry) != 1 for entry in transact_items):
        raise TransactWriteSingleOpException
    journal = _Journal()
    targets: set[tuple[str, str]] = set()
    # (Code, Message, Item) per action, as moto's TransactionCanceledException takes them.
    outcomes: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        action_type, action = next(iter(entry.items()))
        try:
            if action_type not in ACTION_TYPES:
                raise ValueError("Unsupported transaction operation")
            target = _target_of(self, action_type, action)
            if target is not None:
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
            _apply(self, action_type, action, journal)
            outcomes.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            journal.restore()
            raise
        except ConditionalCheckFailed as failure:
            old_item = getattr(failure, "old_item", None)
            outcomes.append(("ConditionalCheckFailed", str(failure.message), old_item))
        except Exception as failure:  # as moto: any other failure cancels the transaction with its name
            outcomes.append((type(failure).__name__, str(failure), None))
    if any(code is not None for code, _, _ in outcomes):
        journal.restore()
        raise TransactionCanceledException(outcomes)


def _target_of(backend: DynamoDBBackend, action_type: str, action: dict[str, Any]) -> tuple[str, str] | None:
    """(table, key) to refuse two actions on one item; None when the table is unknown (that action fails)."""
    table_name = action["TableName"]
    try:
        table = backend.get_table(table_name)
    except ResourceNotFoundException:
        return None
    key = _key_of(table, action_type, action)
    return (str(table_name), str(dict(sorted(key.items()))))


def install() -> None:
    DynamoDBBackend.transact_write_items = transact_write_items


@contextlib.contextmanager
def installed() -> Iterator[None]:
    previous = DynamoDBBackend.transact_write_items
    DynamoDBBackend.transact_write_items = transact_write_items
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = previous
