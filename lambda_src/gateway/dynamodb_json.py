"""DynamoDB request bodies written as botocore's JSON serializer writes them, without its walk over the model
on every request.

botocore serializes a request by walking the operation's input shape beside the parameters, one method
looked up by name per value: for the settlement's TransactWriteItems (15 items, about 150 attribute values)
that walk is about 0.3 ms of CPU, more than signing the request. Here each operation's input shape is
compiled once per client into converters that touch only what botocore changes on the way: blobs (base64)
and members sent under another name; a part of the model holding neither is sent as given, with no walk.
The rest of the request (method, target and content-type headers, host prefix) still comes from botocore's
serializer, given no parameters; the body is `json.dumps` of the converted parameters, as botocore's own.

For every request botocore's parameter validation accepts, the body is byte for byte botocore's
(tests/unit/gateway/test_dynamodb_json.py compares them for every DynamoDB operation). Operations whose input
holds a type this module does not write (timestamps, floats, documents) or a host prefix are left to
botocore's serializer, whole. Signing, endpoints, retries, parsing and errors are botocore's, unchanged.
"""

import base64
import json
from collections.abc import Callable
from typing import Any

from botocore.model import OperationModel, Shape

Convert = Callable[[Any], Any]

# The input types written here: what botocore's JSON serializer sends as given, and blobs.
_SENT_AS_GIVEN = frozenset({"string", "integer", "long", "boolean"})
_CONTAINERS = frozenset({"structure", "list", "map"})


class UnsupportedShapeError(Exception):
    """The input holds a type only botocore's serializer writes."""


def _blob(value: Any) -> str:
    # botocore's _get_base64: a str is sent as its UTF-8 bytes.
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


def _children(shape: Shape) -> list[Shape]:
    if shape.type_name == "structure":
        return list(shape.members.values())
    if shape.type_name == "list":
        return [shape.member]
    if shape.type_name == "map":
        return [shape.value]
    return []


def _renames(shape: Shape) -> bool:
    return shape.type_name == "structure" and any(
        "name" in member.serialization for member in shape.members.values()
    )


def _shapes_to_convert(root: Shape) -> set[str]:
    """The names of the shapes under `root` (itself included) whose values botocore changes: blobs, renamed
    members, and whatever holds one of them at any depth (the model is recursive: AttributeValue holds maps
    and lists of AttributeValue)."""
    shapes: dict[str, Shape] = {}
    pending = [root]
    while pending:
        shape = pending.pop()
        if shape.name in shapes:
            continue
        kind = shape.type_name
        if kind not in _SENT_AS_GIVEN and kind not in _CONTAINERS and kind != "blob":
            raise UnsupportedShapeError(f"{shape.name} is a {kind}")
        if kind == "structure" and shape.is_document_type:
            raise UnsupportedShapeError(f"{shape.name} is a document")
        shapes[shape.name] = shape
        pending.extend(_children(shape))
    converted = {name for name, shape in shapes.items() if shape.type_name == "blob" or _renames(shape)}
    changed = True
    while changed:  # up through every holder until nothing new: a fixed point, whatever the cycles
        changed = False
        for name, shape in shapes.items():
            if name not in converted and any(child.name in converted for child in _children(shape)):
                converted.add(name)
                changed = True
    return converted


class _Compiler:
    def __init__(self, converted: set[str]) -> None:
        self._converted = converted
        self._made: dict[str, Convert | None] = {}

    def convert(self, shape: Shape) -> Convert | None:
        """The converter of `shape`'s values; None when botocore sends them as given."""
        if shape.name not in self._converted:
            return None
        if shape.name in self._made:
            return self._made[shape.name]
        kind = shape.type_name
        if kind == "blob":
            self._made[shape.name] = _blob
            return _blob
        # Registered before its parts are compiled: a recursive shape finds itself.
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        return self._map(shape)

    def _structure(self, shape: Shape) -> Convert:
        members: dict[str, tuple[str, Convert | None]] = {}
        # The members botocore changes; a value holding none of them is sent as given (most attribute
        # values: {"S": ...}, {"N": ...}), unless the structure renames one.
        changed: set[str] = set()

        def structure(value: dict[str, Any]) -> dict[str, Any]:
            if changed.isdisjoint(value):
                return value
            converted = {}
            for key, member in value.items():
                name, convert = members[key]  # a KeyError for an unknown member, as botocore's
                converted[name] = member if convert is None else convert(member)
            return converted

        self._made[shape.name] = structure
        for key, member_shape in shape.members.items():
            name = member_shape.serialization.get("name", key)
            convert = self.convert(member_shape)
            members[key] = (name, convert)
            if name != key or convert is not None:
                changed.add(key)
        return structure

    def _list(self, shape: Shape) -> Convert:
        parts: list[Convert] = []

        def converted_list(value: list[Any]) -> list[Any]:
            convert = parts[0]
            return [convert(item) for item in value]

        self._made[shape.name] = converted_list
        parts.append(self._part(shape.member))
        return converted_list

    def _map(self, shape: Shape) -> Convert:
        parts: list[Convert] = []

        def converted_map(value: dict[str, Any]) -> dict[str, Any]:
            convert = parts[0]
            return {key: convert(item) for key, item in value.items()}

        self._made[shape.name] = converted_map
        parts.append(self._part(shape.value))
        return converted_map

    def _part(self, shape: Shape) -> Convert:
        convert = self.convert(shape)
        if convert is None:  # cannot be: a container is converted only when a part is
            raise AssertionError(f"{shape.name} needs no conversion")
        return convert


def _as_given(value: Any) -> Any:
    return value


def body_converter(operation: OperationModel) -> Convert | None:
    """The function turning `operation`'s parameters into the value botocore would `json.dumps` as its
    body; None when botocore's serializer must write this operation."""
    shape = operation.input_shape
    if shape is None or "hostPrefix" in (operation.endpoint or {}):
        return None
    try:
        converted = _shapes_to_convert(shape)
    except UnsupportedShapeError:
        return None
    return _Compiler(converted).convert(shape) or _as_given


class DynamoDBJsonSerializer:
    """A client's serializer (botocore's `serialize_to_request` interface) writing DynamoDB bodies with
    compiled converters, and everything else of the request with `botocore_serializer`."""

    def __init__(self, botocore_serializer: Any) -> None:
        self._botocore = botocore_serializer
        self._converters: dict[str, Convert | None] = {}

    def serialize_to_request(self, parameters: dict[str, Any], operation: OperationModel) -> dict[str, Any]:
        name = operation.name
        if name not in self._converters:
            self._converters[name] = body_converter(operation)
        convert = self._converters[name]
        if convert is None:
            return self._botocore.serialize_to_request(parameters, operation)
        request: dict[str, Any] = self._botocore.serialize_to_request({}, operation)
        request["body"] = json.dumps(convert(parameters)).encode("utf-8")
        return request
