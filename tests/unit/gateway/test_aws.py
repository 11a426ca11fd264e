from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.config import Config
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
    with pytest.raises(ScanRefusedError):
        table("gateway-test-audit").scan()


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
_scalars = st.one_of(
    st.text(max_size=8),  # the empty string included
    _numbers,
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.binary(max_size=8).map(Binary),
    st.frozensets(st.text(max_size=4), min_size=1, max_size=3).map(set),
    st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=3).map(set),
    st.frozensets(st.binary(min_size=1, max_size=4), min_size=1, max_size=3).map(set),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=12,
)


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


@settings(max_examples=400, deadline=None)
@given(_values)
def test_attribute_values_read_back_as_boto3_reads_them(value):
    attribute = _boto3_attribute(value)
    if isinstance(attribute, type):  # a number boto3 refuses to write: nothing to read back
        return
    read = value_of(attribute)
    expected = TypeDeserializer().deserialize(attribute)
    assert read == expected
    assert type(read) is type(expected)
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


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}])
def test_unreadable_attribute_values_are_refused(attribute):
    with pytest.raises(TypeError):
        value_of(attribute)


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
        {"pk": "USER#u", "sk": "B", "bin": Binary(b"\x01"), "flag": False, "empty": ""},
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
    plain = boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", config=Config(parameter_validation=False)
    )
    wire_key, plain_key = {"pk": {"S": "a"}, "sk": {"S": "b"}}, {"pk": "a", "sk": "b"}
    # The table resource's client takes plain values.
    ours = [(client("dynamodb"), wire_key), (table("gateway-test-audit").meta.client, plain_key)]

    for dynamodb, _key in ours:
        for operation in ("BatchGetItem", "TransactWriteItems"):
            parameters = dynamodb.meta.service_model.operation_model(operation).operation_context_parameters
            assert TABLE_ARN_LIST not in parameters
    # botocore still has the parameter (else the code that drops it has nothing left to do).
    assert (
        TABLE_ARN_LIST
        in plain.meta.service_model.operation_model("BatchGetItem").operation_context_parameters
    )
    expected = _endpoints_used(plain, wire_key)
    assert all(_endpoints_used(dynamodb, key) == expected for dynamodb, key in ours)
    assert (account_id or "dynamodb") in expected[0]
