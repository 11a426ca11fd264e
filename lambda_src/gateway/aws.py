"""AWS clients, created once per process with the settings' region and (locally) endpoint, and DynamoDB
tables that take and return plain Python values.

botocore only: boto3's session adds nothing to a client but a user-agent name, while importing boto3 (its
resource layer, s3transfer) cost every cold start about 15 ms. DynamoDB's attribute values are written and
read here, exactly as boto3's TypeSerializer and TypeDeserializer make and read them (tests compare them value
for value), and `Table` takes the same requests and gives the same answers as boto3's table resource, through
the one low-level client."""

import threading
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.serialize import JSONSerializer

from gateway.dynamodb_json import DynamoDBJsonSerializer
from gateway.settings import get_settings

# Fail fast enough to answer before API Gateway's 29 s integration timeout.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
# DynamoDB checks every request itself; botocore's client-side check of the same costs about a third of the
# client's CPU per request (the app's requests are built by code, not from user input).
_DYNAMODB_CONFIG = _CLIENT_CONFIG.merge(Config(parameter_validation=False))


class ScanRefusedError(RuntimeError):
    pass


def _refuse_scan(**_: Any) -> None:
    # Every read is a key query or get: a Scan's cost grows with the table, so the app never issues one.
    raise ScanRefusedError("DynamoDB Scan is not used by the gateway")


# Creating a client reads the session's shared loaders and caches: one client at a time (uvicorn's threads).
_CREATING = threading.Lock()


@cache
def _session() -> botocore.session.Session:
    return botocore.session.Session()


@cache
def client(service: str, read_timeout: int | None = None) -> Any:
    """The service's client; `read_timeout` (whole seconds, bedrock-runtime) gives one client per value, so
    a model call near the Lambda's deadline gets a shorter timeout on any botocore version."""
    settings = get_settings()
    config = _DYNAMODB_CONFIG if service == "dynamodb" else _CLIENT_CONFIG
    if service == "bedrock-runtime":
        # One attempt within the model timeout: a retried slow model would outlive the gateway's 29 s.
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=3,
            read_timeout=read_timeout or settings.model_timeout_seconds,
        )
    with _CREATING:
        made = _session().create_client(
            service,
            region_name=settings.region,
            endpoint_url=settings.aws_endpoint_url,
            config=config,
        )
    if service == "dynamodb":
        _prepare_dynamodb(made)
    return made


@cache
def table(name: str) -> "Table":
    return Table(name)


def _prepare_dynamodb(dynamodb: Any) -> None:
    dynamodb.meta.events.register("before-call.dynamodb.Scan", _refuse_scan)
    _drop_table_arn_lists(dynamodb)
    _write_bodies_compiled(dynamodb)


def _write_bodies_compiled(dynamodb: Any) -> None:
    """Request bodies from converters compiled once per operation (gateway/dynamodb_json.py), the same
    bytes as botocore's serializer walking the model on every request. Only over botocore's plain JSON
    serializer (parameter validation off): any other stays."""
    serializer = getattr(dynamodb, "_serializer", None)
    if type(serializer) is JSONSerializer:
        dynamodb._serializer = DynamoDBJsonSerializer(serializer)


# The endpoint parameter botocore fills, per BatchGetItem and TransactWriteItems, with a JMESPath search over
# the whole request: the tables' ARNs, from which an account-based endpoint may be chosen.
TABLE_ARN_LIST = "ResourceArnList"


def _drop_table_arn_lists(dynamodb: Any) -> None:
    """The gateway names its tables (settings), never gives ARNs: a list of names cannot choose an endpoint,
    the region and account do. The search over every item of a transaction still costs about a quarter of
    the client's CPU for it; without the parameter the endpoint resolves the same, from botocore's cache.
    botocore reads the parameters through a cached property: this client's operation models get their own
    value."""
    service = dynamodb.meta.service_model
    for name in service.operation_names:
        operation = service.operation_model(name)
        parameters = operation.operation_context_parameters
        if TABLE_ARN_LIST in parameters:
            operation.operation_context_parameters = {
                key: value for key, value in parameters.items() if key != TABLE_ARN_LIST
            }


def plain_number(value: Any) -> Any:
    """A DynamoDB number (Decimal) as an int or float; anything else as it is."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call ("" when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


# -- attribute values -------------------------------------------------------------------------------------
# Written and read as boto3's TypeSerializer and TypeDeserializer do: the plain types the gateway stores take
# the short way, the rest the same checks in boto3's order (numbers before strings before binary, sets by
# their members, a float refused). One difference that compares equal: binary reads back as bytes, where
# boto3 wraps it in its Binary (whose == and hash are those of its bytes).

# boto3's number context: 38 digits, exponents -128..126, and an error, never a rounding, for anything else.
DYNAMODB_CONTEXT = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)
# Any int of fewer than 39 digits is exact in that context.
_PLAIN_INT_LIMIT = 10**38


def attribute_value(value: Any) -> dict[str, Any]:
    """`value` as a DynamoDB attribute value ({"S": ...}, {"N": ...}, ...), exactly as boto3 serializes it."""
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is int and -_PLAIN_INT_LIMIT < value < _PLAIN_INT_LIMIT:
        return {"N": str(value)}
    if kind is bool:
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if kind is dict:
        return {"M": {key: attribute_value(member) for key, member in value.items()}}
    if kind is list:
        return {"L": [attribute_value(member) for member in value]}
    return _other_attribute_value(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, (int, Decimal))


def _is_binary(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray))


def _all(members: Iterable[Any], test: Any) -> bool:
    # Stops at the first member that fails, as boto3's check does (a float after it is not reached).
    return all(test(member) for member in members)


def _number(value: Any) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _other_attribute_value(value: Any) -> dict[str, Any]:
    """Everything but a plain str, small int, bool, None, dict or list, in boto3's order of checks."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if _is_binary(value):
        return {"B": value}
    if isinstance(value, AbstractSet):
        if _all(value, _is_number):
            return {"NS": [_number(member) for member in value]}
        if _all(value, lambda member: isinstance(member, str)):
            return {"SS": list(value)}
        if _all(value, _is_binary):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {key: attribute_value(member) for key, member in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [attribute_value(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def item_attributes(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """An item (or key, or expression values) of plain values as attribute values."""
    return {name: attribute_value(value) for name, value in item.items()}


def _same(raw: Any) -> Any:
    return raw


def _value_of_map(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value_of(member) for key, member in raw.items()}


def _value_of_list(raw: list[Any]) -> list[Any]:
    return [value_of(member) for member in raw]


# By the type's name in lower case: boto3 looks its reader up so, whatever the case it is given in.
_READERS: dict[str, Any] = {
    "s": _same,
    "n": DYNAMODB_CONTEXT.create_decimal,
    "bool": _same,
    "null": lambda _raw: None,
    "m": _value_of_map,
    "l": _value_of_list,
    "b": _same,
    "ss": set,
    "ns": lambda raw: set(map(DYNAMODB_CONTEXT.create_decimal, raw)),
    "bs": set,
}


def value_of(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as the Python value boto3 deserializes it to (numbers as Decimal)."""
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind = next(iter(attribute))  # boto3 reads the first type given
    reader = _READERS.get(f"{kind}".lower())
    if reader is None:
        raise TypeError(f"Dynamodb type {kind} is not supported")
    return reader(attribute[kind])


def item_values(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An item read with the low-level client, as the table resource returns it."""
    return {name: value_of(attribute) for name, attribute in attributes.items()}


# -- tables -----------------------------------------------------------------------------------------------

# The request members holding items, keys or expression values; the answer members holding items or keys.
_PLAIN_REQUEST_MEMBERS = frozenset({"Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues"})
_PLAIN_ANSWER_MEMBERS = ("Item", "Attributes", "LastEvaluatedKey")
BATCH_GET_LIMIT = 100  # keys per BatchGetItem request
BATCH_WRITE_LIMIT = 25  # puts and deletes per BatchWriteItem request


class Table:
    """One DynamoDB table through the process's one DynamoDB client, asked and answering as boto3's table
    resource is: plain values in Key, Item, ExclusiveStartKey and ExpressionAttributeValues, plain values back
    in Item, Items, Attributes and LastEvaluatedKey; expressions are strings. No Scan (see _refuse_scan)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self._call("get_item", request)

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._call("put_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._call("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return self._call("delete_item", request)

    def query(self, **request: Any) -> dict[str, Any]:
        return self._call("query", request)

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        wire = {
            member: item_attributes(value) if member in _PLAIN_REQUEST_MEMBERS else value
            for member, value in request.items()
        }
        response: dict[str, Any] = getattr(client("dynamodb"), operation)(TableName=self.name, **wire)
        for member in _PLAIN_ANSWER_MEMBERS:
            if member in response:
                response[member] = item_values(response[member])
        if "Items" in response:
            response["Items"] = [item_values(item) for item in response["Items"]]
        return response

    def write_batch(
        self, puts: Iterable[dict[str, Any]] = (), deletes: Iterable[dict[str, Any]] = ()
    ) -> None:
        """Put items and delete keys (puts first), 25 per BatchWriteItem request, sending again what DynamoDB
        leaves unprocessed until none is left, as boto3's batch writer does. Not all-or-nothing."""
        pending = [{"PutRequest": {"Item": item_attributes(item)}} for item in puts]
        pending += [{"DeleteRequest": {"Key": item_attributes(key)}} for key in deletes]
        while pending:
            sent, pending = pending[:BATCH_WRITE_LIMIT], pending[BATCH_WRITE_LIMIT:]
            response = client("dynamodb").batch_write_item(RequestItems={self.name: sent})
            pending += response.get("UnprocessedItems", {}).get(self.name, [])


def query_pages(dynamodb_table: Table, **query: Any) -> Iterator[dict[str, Any]]:
    """Every page of a DynamoDB Query, following LastEvaluatedKey."""
    while True:
        page = dynamodb_table.query(**query)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_all(dynamodb_table: Table, **query: Any) -> list[dict[str, Any]]:
    """Every item a DynamoDB Query matches."""
    return [item for page in query_pages(dynamodb_table, **query) for item in page.get("Items", [])]


def batch_get_all(
    dynamodb_table: Table, keys: list[dict[str, str]], consistent: bool = False
) -> list[dict[str, Any]]:
    """The items with these keys (pk/sk; any number, repeats ignored), 100 per request, retrying the keys
    DynamoDB leaves unprocessed; a missing item is simply absent."""
    unique = list({(key["pk"], key["sk"]): key for key in keys}.values())
    name = dynamodb_table.name
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request = {
            name: {
                "Keys": [item_attributes(key) for key in unique[start : start + BATCH_GET_LIMIT]],
                "ConsistentRead": consistent,
            }
        }
        while request:
            response = client("dynamodb").batch_get_item(RequestItems=request)
            found.extend(item_values(item) for item in response.get("Responses", {}).get(name, []))
            request = response.get("UnprocessedKeys") or {}
    return found


def get_items_consistently(
    requests: list[tuple[str, dict[str, str]]],
) -> list[dict[str, Any] | None]:
    """The items at these (table name, key) pairs, from any tables, in one BatchGetItem (retrying the keys
    DynamoDB leaves unprocessed), in the order asked; None where there is no item. At most 100 pairs."""
    by_table: dict[str, list[dict[str, str]]] = {}
    for name, key in requests:
        if key not in by_table.setdefault(name, []):
            by_table[name].append(key)
    request = {
        name: {"Keys": [item_attributes(key) for key in keys], "ConsistentRead": True}
        for name, keys in by_table.items()
    }
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    while request:
        response = client("dynamodb").batch_get_item(RequestItems=request)
        for name, items in response.get("Responses", {}).items():
            for attributes in items:
                item = item_values(attributes)
                found[(name, item["pk"], item["sk"])] = item
        request = response.get("UnprocessedKeys") or {}
    return [found.get((name, key["pk"], key["sk"])) for name, key in requests]


def put_new_together(table_name: str, items: list[dict[str, Any]]) -> None:
    """Put items that must not exist yet, all or none (one transaction), e.g. a record and its lookup item."""
    client("dynamodb").transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": table_name,
                    "Item": item_attributes(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in items
        ]
    )


def update_existing_together(
    table_name: str,
    keys: list[tuple[str, str]],
    expression: str,
    names: dict[str, str],
    values: dict[str, Any],
) -> None:
    """Apply one update to existing items (pk, sk), all or none; TransactionCanceled if one is missing."""
    client("dynamodb").transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table_name,
                    "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                    "UpdateExpression": expression,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": item_attributes(values),
                }
            }
            for pk, sk in keys
        ]
    )


def reset_clients() -> None:
    """For tests: forget clients made under other settings."""
    client.cache_clear()
    table.cache_clear()
    _session.cache_clear()
