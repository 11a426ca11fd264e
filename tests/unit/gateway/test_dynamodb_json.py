"""The DynamoDB client writes request bodies with compiled converters (gateway/dynamodb_json.py): every
request must be the one botocore's own JSON serializer writes, byte for byte."""

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore.model import ServiceModel, Shape
from botocore.serialize import JSONSerializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import aws
from gateway.aws import client, item_attributes, table
from gateway.dynamodb_json import DynamoDBJsonSerializer, body_converter


@cache
def dynamodb_model() -> ServiceModel:
    return botocore.session.Session().get_service_model("dynamodb")


def both(model: ServiceModel, operation: str, parameters: dict[str, Any]) -> tuple[dict, dict]:
    """(botocore's request, ours) for the same parameters."""
    operation_model = model.operation_model(operation)
    botocore_request = JSONSerializer().serialize_to_request(parameters, operation_model)
    ours = DynamoDBJsonSerializer(JSONSerializer()).serialize_to_request(parameters, operation_model)
    return botocore_request, ours


# Every attribute value kind, nested, as the gateway's writer makes them (bytes for binary) and as botocore
# also takes them (a str where a blob goes is sent as its UTF-8 bytes).
ITEM = item_attributes(
    {
        "pk": "USER#ü",
        "sk": "CALL#2026-11-30T02:49:51.812Z",
        "count": 7,
        "cost": Decimal("0.000123"),
        "big": 10**37,
        "flag": True,
        "nothing": None,
        "blob": b"\x00\xffbinary",
        "tags": {"a", "b"},
        "numbers": {1, 2},
        "blobs": {b"x", b"y"},
        "map": {"inner": {"deep": [1, "two", b"3", None, {"e": set()}]}, "empty": {}},
        "list": [[], [b""], {"k": "v"}],
    }
)
ITEM["text_blob"] = {"B": "é as text"}
ITEM["text_blobs"] = {"BS": ["x", "ÿ"]}
KEY = {"pk": {"S": "USER#u"}, "sk": {"S": "SESSION"}}
VALUES = {":n": {"N": "1"}, ":b": {"B": b"\x01"}, ":l": {"L": [{"M": {"x": {"BS": [b"a"]}}}]}}

GATEWAY_REQUESTS = {
    "GetItem": {"TableName": "t", "Key": KEY, "ConsistentRead": True, "ProjectionExpression": "pk, #s"},
    "PutItem": {
        "TableName": "t",
        "Item": ITEM,
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    },
    "UpdateItem": {
        "TableName": "t",
        "Key": KEY,
        "UpdateExpression": "ADD #a :n SET b = :b, l = :l",
        "ExpressionAttributeNames": {"#a": "requests"},
        "ExpressionAttributeValues": VALUES,
        "ReturnValues": "ALL_NEW",
    },
    "DeleteItem": {"TableName": "t", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"},
    "Query": {
        "TableName": "t",
        "IndexName": "gsi1",
        "KeyConditionExpression": "pk = :n",
        "ExpressionAttributeValues": VALUES,
        "ExclusiveStartKey": {**KEY, "gsi1pk": {"B": b"\x02"}},
        "Limit": 25,
        "ScanIndexForward": False,
        "Select": "ALL_ATTRIBUTES",
    },
    "BatchGetItem": {
        "RequestItems": {
            "t": {"Keys": [KEY, {"pk": {"B": b"k"}, "sk": {"S": "x"}}], "ConsistentRead": True},
            "u": {"Keys": [KEY], "ProjectionExpression": "pk"},
        }
    },
    "BatchWriteItem": {
        "RequestItems": {"t": [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": KEY}}]},
        "ReturnConsumedCapacity": "TOTAL",
    },
    "TransactWriteItems": {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": ITEM, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": KEY,
                    "UpdateExpression": "ADD #a :n",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#a": "requests"},
                    "ExpressionAttributeValues": VALUES,
                }
            },
            {"Delete": {"TableName": "t", "Key": KEY}},
            {"ConditionCheck": {"TableName": "t", "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}},
        ],
        "ClientRequestToken": "token-1",
    },
    "TransactGetItems": {"TransactItems": [{"Get": {"TableName": "t", "Key": KEY}}]},
}


@pytest.mark.parametrize("operation", sorted(GATEWAY_REQUESTS))
def test_each_request_the_gateway_makes_is_botocores(operation):
    botocore_request, ours = both(dynamodb_model(), operation, GATEWAY_REQUESTS[operation])
    assert ours == botocore_request
    assert body_converter(dynamodb_model().operation_model(operation)) is not None  # compiled, not botocore's


def test_blobs_are_base64_and_everything_else_is_sent_as_given():
    _, ours = both(dynamodb_model(), "PutItem", {"TableName": "t", "Item": ITEM})
    item = json.loads(ours["body"])["Item"]
    assert item["blob"] == {"B": base64.b64encode(b"\x00\xffbinary").decode()}
    assert item["text_blob"] == {"B": base64.b64encode("é as text".encode()).decode()}
    assert sorted(item["blobs"]["BS"]) == sorted(base64.b64encode(b).decode() for b in (b"x", b"y"))
    assert item["map"]["M"]["inner"]["M"]["deep"]["L"][2] == {"B": base64.b64encode(b"3").decode()}
    assert item["count"] == {"N": "7"}
    assert item["pk"] == {"S": "USER#ü"}


# -- every DynamoDB operation, with parameters drawn from its input shape --------------------------------


def _strategy(shape: Shape, made: dict[str, Any]) -> st.SearchStrategy:
    if shape.name in made:
        return made[shape.name]
    made[shape.name] = st.deferred(lambda: built)  # a recursive shape draws from itself
    kind = shape.type_name
    if kind == "structure":
        members = {name: _strategy(member, made) for name, member in shape.members.items()}
        built = st.fixed_dictionaries({}, optional=members)
    elif kind == "list":
        built = st.lists(_strategy(shape.member, made), max_size=3)
    elif kind == "map":
        built = st.dictionaries(st.text(max_size=3), _strategy(shape.value, made), max_size=3)
    elif kind == "blob":
        built = st.one_of(st.binary(max_size=6), st.text(max_size=4))
    elif kind in ("integer", "long"):
        built = st.integers(-(10**12), 10**12)
    elif kind == "boolean":
        built = st.booleans()
    elif kind in ("float", "double"):
        built = st.floats(allow_nan=False)
    elif kind == "timestamp":
        built = st.datetimes(timezones=st.just(UTC))
    else:
        built = st.text(max_size=6)
    made[shape.name] = built
    return built


@st.composite
def operation_and_parameters(draw):
    model = dynamodb_model()
    name = draw(st.sampled_from(sorted(model.operation_names)))
    shape = model.operation_model(name).input_shape
    parameters = draw(_strategy(shape, {})) if shape is not None else {}
    return name, parameters


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(operation_and_parameters())
def test_every_dynamodb_operation_is_written_as_botocore_writes_it(drawn):
    operation, parameters = drawn
    botocore_request, ours = both(dynamodb_model(), operation, parameters)
    assert ours == botocore_request


def test_the_operations_left_to_botocore_are_only_those_with_types_it_alone_writes():
    model = dynamodb_model()
    left = {name for name in model.operation_names if body_converter(model.operation_model(name)) is None}
    compiled = set(model.operation_names) - left
    assert set(GATEWAY_REQUESTS) <= compiled
    # Those left hold a timestamp (backups, exports, restores) or have no input: botocore writes them.
    assert "RestoreTableToPointInTime" in left


# -- the compiler on models DynamoDB's does not show: renamed members, blobs found through a cycle --------


def _model(shapes: dict[str, Any], endpoint: dict[str, str] | None = None) -> ServiceModel:
    operation = {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "Input"}}
    if endpoint:
        operation["endpoint"] = endpoint
    return ServiceModel(
        {
            "metadata": {
                "protocol": "json",
                "jsonVersion": "1.0",
                "targetPrefix": "Test_2026",
                "serviceId": "Test",
                "signatureVersion": "v4",
                "endpointPrefix": "test",
                "apiVersion": "2026-01-01",
            },
            "operations": {"Op": operation},
            "shapes": shapes,
        }
    )


def test_a_blob_found_only_past_a_cycle_is_still_written():
    # Outer -> Inner -> Outer: the blob sits on Outer, reached after Inner has been seen. Inner must be
    # walked too, or a blob two levels down would go out raw.
    model = _model(
        {
            "Input": {"type": "structure", "members": {"Outer": {"shape": "Outer"}}},
            "Outer": {
                "type": "structure",
                "members": {"Inner": {"shape": "Inner"}, "Data": {"shape": "Bytes"}},
            },
            "Inner": {
                "type": "structure",
                "members": {"Back": {"shape": "Outer"}, "Name": {"shape": "Text"}},
            },
            "Bytes": {"type": "blob"},
            "Text": {"type": "string"},
        }
    )
    parameters = {"Outer": {"Inner": {"Name": "n", "Back": {"Data": b"\x00deep"}}, "Data": b"top"}}
    botocore_request, ours = both(model, "Op", parameters)
    assert ours == botocore_request
    assert base64.b64encode(b"\x00deep").decode() in ours["body"].decode()


def test_members_with_a_wire_name_are_sent_under_it():
    model = _model(
        {
            "Input": {
                "type": "structure",
                "members": {
                    "Plain": {"shape": "Text"},
                    "Renamed": {"shape": "Text", "locationName": "onTheWire"},
                },
            },
            "Text": {"type": "string"},
        }
    )
    botocore_request, ours = both(model, "Op", {"Renamed": "r", "Plain": "p"})
    assert ours == botocore_request
    assert json.loads(ours["body"]) == {"onTheWire": "r", "Plain": "p"}


@pytest.mark.parametrize(
    ("kind", "value"),
    [("timestamp", datetime(2026, 11, 30, 2, 49, 51, 812000, tzinfo=UTC)), ("double", Decimal("1.5"))],
)
def test_types_only_botocore_writes_leave_the_operation_to_it(kind, value):
    model = _model(
        {
            "Input": {
                "type": "structure",
                "members": {"When": {"shape": "Other"}, "Data": {"shape": "Bytes"}},
            },
            "Other": {"type": kind},
            "Bytes": {"type": "blob"},
        }
    )
    assert body_converter(model.operation_model("Op")) is None
    botocore_request, ours = both(model, "Op", {"When": value, "Data": b"d"})
    assert ours == botocore_request


def test_an_unknown_member_beside_a_converted_one_is_refused_as_botocore_refuses_it():
    operation = dynamodb_model().operation_model("PutItem")
    parameters = {"TableName": "t", "Item": ITEM, "Unknown": 1}
    with pytest.raises(KeyError):
        JSONSerializer().serialize_to_request(parameters, operation)
    with pytest.raises(KeyError):
        DynamoDBJsonSerializer(JSONSerializer()).serialize_to_request(parameters, operation)


# -- the app's client ------------------------------------------------------------------------------------


def test_the_apps_client_sends_the_bodies_botocore_would(stack):
    dynamodb = client("dynamodb")
    assert isinstance(dynamodb._serializer, DynamoDBJsonSerializer)
    sent: list[bytes] = []

    def keep(request, **_):
        sent.append(request.body)

    dynamodb.meta.events.register_first("before-send.dynamodb", keep)
    try:
        item = {"pk": "USER#u", "sk": "BLOB", "data": b"\x00\x01", "n": 3, "tags": {"x"}}
        table("gateway-test-audit").put_item(Item=item)
        read = table("gateway-test-audit").get_item(Key={"pk": "USER#u", "sk": "BLOB"}, ConsistentRead=True)
    finally:
        dynamodb.meta.events.unregister("before-send.dynamodb", keep)
    assert read["Item"] == item
    model = dynamodb.meta.service_model
    expected_put = JSONSerializer().serialize_to_request(
        {"TableName": "gateway-test-audit", "Item": item_attributes(item)}, model.operation_model("PutItem")
    )
    assert sent[0] == expected_put["body"]


def test_a_client_with_parameter_validation_keeps_botocores_serializer(stack):
    validating = aws._session().create_client("dynamodb", region_name="us-east-1")
    serializer = validating._serializer
    aws._write_bodies_compiled(validating)
    assert validating._serializer is serializer


def test_an_operation_with_a_host_prefix_is_left_to_botocore():
    shapes = {
        "Input": {"type": "structure", "members": {"Data": {"shape": "Bytes"}}},
        "Bytes": {"type": "blob"},
    }
    model = _model(shapes, endpoint={"hostPrefix": "data."})
    assert body_converter(model.operation_model("Op")) is None
    botocore_request, ours = both(model, "Op", {"Data": b"d"})
    assert ours == botocore_request
    assert ours["host_prefix"] == "data."
