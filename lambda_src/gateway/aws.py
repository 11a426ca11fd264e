"""boto3 clients, created once per process with the settings' region and (locally) endpoint."""

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import DYNAMODB_CONTEXT, Binary, TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

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
    made = boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=config,
    )
    if service == "dynamodb":
        _prepare_dynamodb(made)
    return made


@cache
def table(name: str) -> Any:
    settings = get_settings()
    resource = boto3.session.Session().resource(
        "dynamodb",
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_DYNAMODB_CONFIG,
    )
    _prepare_dynamodb(resource.meta.client)
    return resource.Table(name)


def _prepare_dynamodb(dynamodb: Any) -> None:
    dynamodb.meta.events.register("before-call.dynamodb.Scan", _refuse_scan)
    _drop_table_arn_lists(dynamodb)


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


def query_pages(dynamodb_table: Any, **query: Any) -> Iterator[dict[str, Any]]:
    """Every page of a DynamoDB Query, following LastEvaluatedKey."""
    while True:
        page = dynamodb_table.query(**query)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_all(dynamodb_table: Any, **query: Any) -> list[dict[str, Any]]:
    """Every item a DynamoDB Query matches."""
    return [item for page in query_pages(dynamodb_table, **query) for item in page.get("Items", [])]


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call ("" when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


BATCH_GET_LIMIT = 100  # keys per BatchGetItem request


def batch_get_all(
    dynamodb_table: Any, keys: list[dict[str, str]], consistent: bool = False
) -> list[dict[str, Any]]:
    """The items with these keys (pk/sk; any number, repeats ignored), 100 per request, retrying the keys
    DynamoDB leaves unprocessed; a missing item is simply absent."""
    unique = list({(key["pk"], key["sk"]): key for key in keys}.values())
    name = dynamodb_table.name
    found: list[dict[str, Any]] = []
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request = {name: {"Keys": unique[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}}
        while request:
            response = dynamodb_table.meta.client.batch_get_item(RequestItems=request)
            found.extend(response.get("Responses", {}).get(name, []))
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


# DynamoDB's attribute values, as boto3's TypeSerializer and TypeDeserializer make and read them. The table
# resource does the same per request by walking the operation's whole shape; these serve the hot path's
# low-level requests, with the plain types the gateway stores first and boto3's own code for the rest.
_TYPE_SERIALIZER = TypeSerializer()
_TYPE_DESERIALIZER = TypeDeserializer()
# boto3 writes numbers through a 38-digit context that refuses to round: any int of fewer digits is exact.
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
    return _TYPE_SERIALIZER.serialize(value)  # Decimal, float (refused), bytes, sets, tuples, other mappings


def item_attributes(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An item (or key, or expression values) of plain values as attribute values."""
    return {name: attribute_value(value) for name, value in item.items()}


def _same(raw: Any) -> Any:
    return raw


def _value_of_map(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: value_of(member) for key, member in raw.items()}


def _value_of_list(raw: list[Any]) -> list[Any]:
    return [value_of(member) for member in raw]


_READERS: dict[str, Any] = {
    "S": _same,
    "N": DYNAMODB_CONTEXT.create_decimal,
    "BOOL": _same,
    "NULL": lambda _raw: None,
    "M": _value_of_map,
    "L": _value_of_list,
    "B": Binary,
}


def value_of(attribute: dict[str, Any]) -> Any:
    """A DynamoDB attribute value as the Python value boto3 deserializes it to (numbers as Decimal)."""
    if len(attribute) == 1:
        ((kind, raw),) = attribute.items()
        reader = _READERS.get(kind)
        if reader is not None:
            return reader(raw)
    return _TYPE_DESERIALIZER.deserialize(attribute)  # sets, and the errors boto3 raises


def item_values(attributes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An item read with the low-level client, as the table resource returns it."""
    return {name: value_of(attribute) for name, attribute in attributes.items()}


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
