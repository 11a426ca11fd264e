"""TransactWriteItems for moto's DynamoDB that journals only the items it touches.

moto makes a transaction all-or-nothing by deep-copying every table the transaction names before applying it,
so each transaction costs time in proportion to all the data stored (hundreds of milliseconds after a few days
of local use). This version remembers each touched item just before it changes (a copy of the one item, or
"absent") and, when the transaction is cancelled, puts exactly those items back. Everything the caller sees is
moto's: the same checks in the same order, the same errors and the same CancellationReasons (one per action,
"None" for those that would have succeeded, the item for ReturnValuesOnConditionCheckFailure=ALL_OLD).

Most of what is left is moto's UpdateExpression machinery: per action it parses the expression, deep-copies
the parsed tree and walks it a dozen times, several milliseconds for the gateway's roll-up updates. Updates
made only of top-level SET name = :value, SET name = if_not_exists(name, :value) and ADD name :number (all
the gateway writes in transactions) are applied here directly, reading every right-hand side from the item as
it was, as DynamoDB does, and storing the result through the table's put_item (moto's type, key and size
checks). Anything else (nested paths, REMOVE, DELETE, sets, arithmetic, reserved words, key attributes, a
type mismatch, an item put_item refuses) goes to moto's update_item, which applies it or raises its error.
moto also parses each UpdateExpression again for every request (to check the names it uses) and again in
update_item; the parsed tree is kept per expression string. It is never changed after parsing: moto reads it
(find_clauses) or deep-copies it before validating (UpdateExpressionValidator).

`install()` replaces the method on moto's DynamoDBBackend (the emulator calls it when it loads the provider);
`installed()` does the same for a with-block (tests).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
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
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

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

    def remember(self, table: Any, hash_key: Any, range_key: Any, replaced_whole: bool = False) -> None:
        """`replaced_whole`: the write puts a new Item object in place of the stored one, never changing the
        stored one, so the journal keeps that object instead of a copy."""
        had_bucket = table.has_range_key and hash_key in table.items
        current = _peek(table, hash_key, range_key)
        kept = current if replaced_whole or current is None else copy.deepcopy(current)
        before = _ABSENT if kept is None else kept
        self._items.append(_TouchedItem(table, hash_key, range_key, before, had_bucket))
        if table.stream_shard is not None and id(table) not in self._stream_lengths:
            self._stream_lengths[id(table)] = (table, len(table.stream_shard.items))

    def copy_last(self) -> None:
        """The last item remembered, about to be changed in place after all: keep a copy, not the object."""
        touched = self._items[-1]
        if touched.before is not _ABSENT:
            touched.before = copy.deepcopy(touched.before)

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

    plain = _plain_update(table, action) if action_type == "Update" else None
    updated = None if plain is None else _updated_attributes(key, current, plain)
    journal.remember(table, hash_key, range_key, replaced_whole=updated is not None)
    if updated is not None:
        try:
            table.put_item(updated)  # moto's type, key and size checks, then a new Item in place
            return
        except Exception:  # refused before writing: moto's update_item raises the error DynamoDB would,
            journal.copy_last()  # changing the stored item in place
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


# A plain update's action as parsed: (SET or ADD, attribute, value placeholder, what if_not_exists reads).
ParsedAction = tuple[str, str, str, str | None]
# The same resolved for one request: (SET or ADD, attribute name, value in DynamoDB JSON, name read or None).
PlainAction = tuple[str, str, dict[str, Any], str | None]
_NAME = r"(#[A-Za-z0-9_]+|[A-Za-z][A-Za-z0-9_]*)"
_VALUE = r"(:[A-Za-z0-9_]+)"
_SET_ACTION = re.compile(
    rf"\s*{_NAME}\s*=\s*(?:{_VALUE}|if_not_exists\s*\(\s*{_NAME}\s*,\s*{_VALUE}\s*\))\s*"
)
_ADD_ACTION = re.compile(rf"\s*{_NAME}\s+{_VALUE}\s*")
_CLAUSE = re.compile(r"\b(SET|ADD)\s", re.IGNORECASE)
_ACTION_SEPARATOR = re.compile(r",(?![^(]*\))")  # not the comma inside if_not_exists(...)


@functools.lru_cache(maxsize=512)
def _parse_plain(expression: str) -> tuple[ParsedAction, ...] | None:
    """The actions of an update expression made only of plain SET and ADD actions; None for any other."""
    starts = list(_CLAUSE.finditer(expression))
    if not starts or expression[: starts[0].start()].strip():
        return None
    verbs = [start.group(1).upper() for start in starts]
    if len(set(verbs)) != len(verbs):  # a clause twice: DynamoDB refuses it, moto says so
        return None
    actions: list[ParsedAction] = []
    for number, start in enumerate(starts):
        end = starts[number + 1].start() if number + 1 < len(starts) else len(expression)
        for part in _ACTION_SEPARATOR.split(expression[start.end() : end]):
            if verbs[number] == "SET" and (match := _SET_ACTION.fullmatch(part)):
                name, value, read, read_fallback = match.groups()
                actions.append(("SET", name, value or read_fallback, read))
            elif verbs[number] == "ADD" and (match := _ADD_ACTION.fullmatch(part)):
                actions.append(("ADD", match.group(1), match.group(2), None))
            else:
                return None
    return tuple(actions)


def _plain_update(table: Any, action: dict[str, Any]) -> list[PlainAction] | None:
    """The update's actions resolved, when it is plain enough to apply here exactly as DynamoDB would."""
    parsed = _parse_plain(action["UpdateExpression"])
    if parsed is None:
        return None
    names = action.get("ExpressionAttributeNames") or {}
    values = action.get("ExpressionAttributeValues") or {}
    keys = {table.hash_key_attr, table.range_key_attr}

    def resolved(token: str) -> str | None:
        if token.startswith("#"):
            return names.get(token)
        return None if token.upper() in _reserved_words() else token

    plain: list[PlainAction] = []
    for verb, name_token, value_token, read_token in parsed:
        name = resolved(name_token)
        read = resolved(read_token) if read_token else None
        value = values.get(value_token)
        if name is None or name in keys or (read_token and read is None) or value is None:
            return None
        if verb == "ADD" and set(value) != {"N"}:
            return None
        plain.append((verb, name, value, read))
    if len({name for _, name, _, _ in plain}) != len(plain):  # overlapping paths: moto's error
        return None
    return plain


@functools.cache
def _reserved_words() -> frozenset[str]:
    return frozenset(word.upper() for word in ReservedKeywords.get_reserved_keywords())


def _updated_attributes(key: dict[str, Any], current: Any, plain: list[PlainAction]) -> dict[str, Any] | None:
    """The item after the update, in DynamoDB JSON, every right-hand side read from the item as it was; None
    when moto must apply it instead (an ADD to something not a number, a number moto cannot read)."""
    before = current.to_json()["Attributes"] if current is not None else dict(key)
    after = dict(before)
    try:
        for verb, name, value, read in plain:
            if verb == "SET":
                after[name] = before[read] if read is not None and read in before else value
                continue
            existing = before.get(name, {"N": "0"})
            if set(existing) != {"N"}:
                return None
            after[name] = (DynamoType(existing) + DynamoType(value)).to_json()
    except Exception:  # e.g. a malformed number: moto's own path answers as it would
        return None
    return after


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


_parsed_update_expression = functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make)


def install() -> None:
    DynamoDBBackend.transact_write_items = transact_write_items
    UpdateExpressionParser.make = staticmethod(_parsed_update_expression)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    previous = DynamoDBBackend.transact_write_items
    previous_parse = UpdateExpressionParser.__dict__["make"]
    install()
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = previous
        UpdateExpressionParser.make = previous_parse
