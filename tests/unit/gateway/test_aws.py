import re
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import aws
from gateway.aws import (
    TABLE_ARN_LIST,
    ScanRefusedError,
    attribute_value,
    client,
    get_items_consistently,
    table,
    value_of,
)


def test_the_gateway_never_scans(stack):
    with pytest.raises(ScanRefusedError):
        client("dynamodb").scan(TableName="gateway-test-usage")
    assert not hasattr(table("gateway-test-audit"), "scan")


def test_the_gateway_never_imports_boto3():
    # Its clients are botocore's; boto3 (resources, s3transfer) would only add to every cold start.
    sources = Path(aws.__file__).parent.rglob("*.py")
    importing = [
        str(path)
        for path in sources
        if re.search(r"^\s*(from|import) boto3\b", path.read_text(), re.MULTILINE)
    ]
    assert importing == []


def test_key_reads_still_work(stack):
    assert table("gateway-test-audit").get_item(Key={"pk": "x", "sk": "y"}).get("Item") is None


def test_query_all_follows_every_page(stack):
    from gateway.aws import query_all, query_pages

    audit = table("gateway-test-audit")
    for index in range(7):
        audit.put_item(Item={"pk": "USER#u", "sk": f"2026-01-01T00:00:0{index}"})
    pages = list(
        query_pages(
            audit, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "USER#u"}, Limit=3
        )
    )
    assert [len(page["Items"]) for page in pages][:2] == [3, 3]
    items = query_all(
        audit, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "USER#u"}, Limit=3
    )
    assert len(items) == 7


# Attribute values: the gateway's own (de)serializer must match boto3's, value for value.
_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**20), max_value=10**20),
)
# Every type boto3 writes, except its own Binary wrapper (the gateway never makes one; it writes bytes).
_scalars = st.one_of(
    st.text(max_size=8),  # the empty string included
    _numbers,
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.binary(max_size=8).map(bytearray),
    st.floats(allow_nan=False),  # refused
    st.frozensets(st.text(max_size=4), max_size=3).map(set),  # the empty set included
    st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=3),
    st.frozensets(_numbers, min_size=1, max_size=3).map(set),
    st.frozensets(st.binary(min_size=1, max_size=4), min_size=1, max_size=3).map(set),
    st.frozensets(st.one_of(st.text(max_size=2), st.integers(0, 9), st.floats()), max_size=3).map(set),
    st.sampled_from([Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), Decimal("1E+200")]),
    st.builds(object),  # refused
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        st.dictionaries(st.text(max_size=5), inner, max_size=2).map(MappingProxyType),
    ),
    max_leaves=12,
)
# What boto3 reads: its own output, and the same with Binary wrappers (which it writes as bytes).
_readable = st.one_of(_values, st.binary(max_size=8).map(Binary), st.lists(st.binary(max_size=4).map(Binary)))


def _boto3_attribute(value):
    try:
        return TypeSerializer().serialize(value)
    except Exception as exc:
        return type(exc)


def _ours(value):
    try:
        return attribute_value(value)
    except Exception as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_attribute_values_match_boto3(value):
    assert _ours(value) == _boto3_attribute(value)


def _typed(value):
    """A value with the type of every part; boto3's Binary counts as what it wraps (they compare equal)."""
    if isinstance(value, Binary):
        return _typed(value.value)
    if isinstance(value, Decimal):
        return ("Decimal", str(value))
    if isinstance(value, dict):
        return ("dict", {key: _typed(member) for key, member in value.items()})
    if isinstance(value, list):
        return ("list", [_typed(member) for member in value])
    if isinstance(value, set):
        return ("set", frozenset(_typed(member) for member in value))
    return (type(value).__name__, value)


@settings(max_examples=400, deadline=None)
@given(_readable)
def test_attribute_values_read_back_as_boto3_reads_them(value):
    attribute = _boto3_attribute(value)
    if isinstance(attribute, type):  # a value boto3 refuses to write: nothing to read back
        return
    read = value_of(attribute)
    expected = TypeDeserializer().deserialize(attribute)
    assert read == expected
    assert _typed(read) == _typed(expected)
    assert value_of(attribute_value(read)) == read  # round trip


@pytest.mark.parametrize(
    ("value", "attribute"),
    [
        ("", {"S": ""}),
        (0, {"N": "0"}),
        (-(10**37), {"N": str(-(10**37))}),
        (Decimal("1.50"), {"N": "1.50"}),
        (True, {"BOOL": True}),
        (None, {"NULL": True}),
        (b"\x00\xff", {"B": b"\x00\xff"}),
        (
            {"a": [1, "x", {"b": None}]},
            {"M": {"a": {"L": [{"N": "1"}, {"S": "x"}, {"M": {"b": {"NULL": True}}}]}}},
        ),
        ({"x", "y"}, {"SS": ["x", "y"]}),
    ],
)
def test_attribute_value_examples(value, attribute):
    made = attribute_value(value)
    if "SS" in attribute:
        assert sorted(made["SS"]) == sorted(attribute["SS"])
    else:
        assert made == attribute


@pytest.mark.parametrize("refused", [1.5, float("nan"), 10**38, Decimal("Infinity"), object()])
def test_values_boto3_refuses_are_refused(refused):
    # Floats and other types: TypeError; more digits than DynamoDB keeps: decimal.Rounded.
    with pytest.raises((TypeError, ArithmeticError)):
        attribute_value(refused)


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}, {"SX": ["1"]}])
def test_unreadable_attribute_values_are_refused(attribute):
    with pytest.raises(TypeError):
        value_of(attribute)
    with pytest.raises(TypeError):
        TypeDeserializer().deserialize(attribute)


@pytest.mark.parametrize(
    "attribute", [{"s": "x"}, {"Bool": True}, {"N": "1", "S": "x"}, {"NS": []}, {"SS": []}]
)
def test_odd_attribute_values_read_as_boto3_reads_them(attribute):
    assert value_of(attribute) == TypeDeserializer().deserialize(attribute)


def test_items_read_together_come_back_as_the_table_resource_returns_them(stack):
    items = [
        {
            "pk": "USER#u",
            "sk": "A",
            "n": 3,
            "d": Decimal("2.25"),
            "m": {"l": [1, "two", None]},
            "s": {"a", "b"},
        },
        {"pk": "USER#u", "sk": "B", "bin": b"\x01", "flag": False, "empty": ""},
    ]
    audit = table("gateway-test-audit")
    for item in items:
        audit.put_item(Item=item)

    read = get_items_consistently(
        [
            ("gateway-test-audit", {"pk": "USER#u", "sk": "B"}),
            ("gateway-test-audit", {"pk": "USER#u", "sk": "missing"}),
            ("gateway-test-audit", {"pk": "USER#u", "sk": "A"}),
        ]
    )

    expected = [audit.get_item(Key={"pk": "USER#u", "sk": sk})["Item"] for sk in ("B", "A")]
    assert read == [expected[0], None, expected[1]]
    assert read[0] == items[1]
    assert read[2] == items[0]


class _Sent(Exception):  # noqa: N818 (a signal, not an error)
    pass


def _endpoints_used(dynamodb, key: dict) -> list[str]:
    """The URLs a client's BatchGetItem and TransactWriteItems would go to (stopped before they leave)."""
    urls: list[str] = []

    def stop(request, **_):
        urls.append(request.url)
        raise _Sent()

    dynamodb.meta.events.register("request-created.dynamodb", stop)
    with pytest.raises(_Sent):
        dynamodb.batch_get_item(RequestItems={"gateway-test-audit": {"Keys": [key]}})
    with pytest.raises(_Sent):
        dynamodb.transact_write_items(
            TransactItems=[{"Put": {"TableName": f"gateway-test-{n}", "Item": key}} for n in range(3)]
        )
    dynamodb.meta.events.unregister("request-created.dynamodb", stop)
    return urls


@pytest.mark.parametrize("account_id", [None, "123456789012"])
def test_table_arn_lists_are_dropped_and_endpoints_stay_the_same(stack, monkeypatch, account_id):
    if account_id:  # botocore may then choose an account-based endpoint
        monkeypatch.setenv("AWS_ACCOUNT_ID", account_id)
        aws.reset_clients()
    ours = client("dynamodb")
    # A client of the same botocore session as ours: what ours changes stays its own.
    plain = aws._session().create_client(
        "dynamodb", region_name="us-east-1", config=Config(parameter_validation=False)
    )
    wire_key = {"pk": {"S": "a"}, "sk": {"S": "b"}}

    for operation in ("BatchGetItem", "TransactWriteItems"):
        parameters = ours.meta.service_model.operation_model(operation).operation_context_parameters
        assert TABLE_ARN_LIST not in parameters
    # botocore still has the parameter (else the code that drops it has nothing left to do).
    assert (
        TABLE_ARN_LIST
        in plain.meta.service_model.operation_model("BatchGetItem").operation_context_parameters
    )
    expected = _endpoints_used(plain, wire_key)
    assert _endpoints_used(ours, wire_key) == expected
    assert (account_id or "dynamodb") in expected[0]


def _answer(response: dict) -> dict:
    """An answer without what differs by table and request: the request's metadata and the table's name."""
    return {
        member: value
        for member, value in response.items()
        if member not in ("ResponseMetadata", "ConsumedCapacity")
    }


def test_a_table_asks_and_answers_as_the_boto3_table_resource(stack):
    """The same requests through gateway.aws.Table and boto3's table resource, on two identical tables."""
    ours = table("gateway-test-audit")
    theirs = boto3.resource("dynamodb", region_name="us-east-1").Table("gateway-test-conversations")
    item = {
        "pk": "USER#u",
        "sk": "A",
        "n": 3,
        "d": Decimal("2.25"),
        "m": {"l": [1, "two", None]},
        "b": b"\x01",
    }
    requests = [
        ("put_item", {"Item": item}),
        ("put_item", {"Item": {**item, "sk": "B", "n": 4}, "ReturnValues": "ALL_OLD"}),
        ("put_item", {"Item": {**item, "sk": "B", "n": 5}, "ReturnValues": "ALL_OLD"}),
        ("get_item", {"Key": {"pk": "USER#u", "sk": "A"}, "ConsistentRead": True}),
        ("get_item", {"Key": {"pk": "USER#u", "sk": "missing"}}),
        (
            "update_item",
            {
                "Key": {"pk": "USER#u", "sk": "A"},
                "UpdateExpression": "ADD n :one SET s = :s",
                "ExpressionAttributeValues": {":one": 1, ":s": {"x", "y"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "query",
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": "USER#u", ":prefix": "A"},
                "Limit": 1,
            },
        ),
        (
            "query",
            {
                "KeyConditionExpression": "pk = :pk",
                "FilterExpression": "n > :three",
                "ExpressionAttributeValues": {":pk": "USER#u", ":three": 3},
                "ExclusiveStartKey": {"pk": "USER#u", "sk": "A"},
            },
        ),
        ("delete_item", {"Key": {"pk": "USER#u", "sk": "B"}, "ReturnValues": "ALL_OLD"}),
    ]
    for operation, request in requests:
        assert _answer(getattr(ours, operation)(**request)) == _answer(getattr(theirs, operation)(**request))
    failing = {
        "Key": {"pk": "USER#u", "sk": "A"},
        "ConditionExpression": "n = :n",
        "ExpressionAttributeValues": {":n": 0},
    }
    errors = []
    for dynamodb_table in (ours, theirs):
        with pytest.raises(ClientError) as raised:
            dynamodb_table.delete_item(**failing)
        errors.append(raised.value.response["Error"]["Code"])
    assert errors == ["ConditionalCheckFailedException"] * 2


def test_a_batch_write_puts_and_deletes_any_number_as_the_batch_writer_does(stack):
    ours = table("gateway-test-audit")
    theirs = boto3.resource("dynamodb", region_name="us-east-1").Table("gateway-test-conversations")
    items = [{"pk": "BOT#b", "sk": f"DOC#{number:03d}", "text": "x" * number} for number in range(60)]
    ours.write_batch(puts=items)
    with theirs.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    ours.write_batch(
        puts=[{"pk": "BOT#b", "sk": "EXTRA"}], deletes=[{"pk": i["pk"], "sk": i["sk"]} for i in items[:30]]
    )
    with theirs.batch_writer() as batch:
        batch.put_item(Item={"pk": "BOT#b", "sk": "EXTRA"})
        for item in items[:30]:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    query = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": "BOT#b"}}
    left = aws.query_all(ours, **query)
    assert left == aws.query_all(theirs, **query)
    assert [item["sk"] for item in left] == [item["sk"] for item in items[30:]] + ["EXTRA"]


def test_a_batch_write_sends_again_what_dynamodb_leaves_unprocessed(stack):
    dynamodb = client("dynamodb")
    last = {"pk": "USER#u", "sk": "LAST"}
    sent: list[list[dict]] = []

    def count(params, **_):
        sent.append(params["RequestItems"]["gateway-test-audit"])

    def leave_the_last_unprocessed_once(parsed, **_):
        if len(sent) == 1:
            parsed["UnprocessedItems"] = {"gateway-test-audit": sent[0][-1:]}

    dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", count)
    dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", leave_the_last_unprocessed_once)
    table("gateway-test-audit").write_batch(puts=[{"pk": "USER#u", "sk": f"{n}"} for n in range(3)] + [last])
    assert [len(request) for request in sent] == [4, 1]
    assert sent[1] == [{"PutRequest": {"Item": aws.item_attributes(last)}}]
