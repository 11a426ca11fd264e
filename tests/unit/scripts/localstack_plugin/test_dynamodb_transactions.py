"""The local DynamoDB's journaled TransactWriteItems: all-or-nothing, conditions honoured, moto's answers
kept, and no copy of whole tables (no LocalStack: moto in-process, the method installed on its backend)."""

import contextlib
import copy

import boto3
import pytest
from botocore.exceptions import ClientError
from gateway_localstack.dynamodb import transactions
from moto import mock_aws

COUNTERS = "counters"
EVENTS = "events"


def _make_tables(client):
    client.create_table(
        TableName=COUNTERS,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName=EVENTS,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=COUNTERS, Item={"pk": {"S": "spent"}, "n": {"N": "5"}, "cap": {"N": "10"}})
    client.put_item(TableName=COUNTERS, Item={"pk": {"S": "doomed"}, "n": {"N": "1"}, "label": {"S": "old"}})
    client.put_item(TableName=EVENTS, Item={"pk": {"S": "key-1"}, "sk": {"S": "001"}, "v": {"S": "old"}})


@pytest.fixture(params=["journaled", "moto"])
def client(request):
    """Each behaviour test runs against the journaled version and against moto's own, which it must match."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        if request.param == "journaled":
            with transactions.installed():
                yield dynamodb
        else:
            yield dynamodb


def _everything(client):
    return {
        table: sorted(client.scan(TableName=table, ConsistentRead=True)["Items"], key=repr)
        for table in (COUNTERS, EVENTS)
    }


def _add(amount, *, at_most=None, key="spent"):
    """ADD amount to the counter; with at_most, only while the counter is <= at_most (cap - amount)."""
    update = {
        "TableName": COUNTERS,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": "ADD n :a",
        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
    }
    if at_most is not None:
        update["ConditionExpression"] = "n <= :most"
        update["ExpressionAttributeValues"][":most"] = {"N": str(at_most)}
    return {"Update": update}


NEW_EVENT = {"Put": {"TableName": EVENTS, "Item": {"pk": {"S": "key-1"}, "sk": {"S": "002"}}}}
NEW_BUCKET_EVENT = {"Put": {"TableName": EVENTS, "Item": {"pk": {"S": "key-9"}, "sk": {"S": "001"}}}}
OVERWRITE_EVENT = {
    "Put": {"TableName": EVENTS, "Item": {"pk": {"S": "key-1"}, "sk": {"S": "001"}, "v": {"S": "new"}}}
}
DELETE_DOOMED = {"Delete": {"TableName": COUNTERS, "Key": {"pk": {"S": "doomed"}}}}
NEW_COUNTER = _add(1, key="fresh")


def test_a_transaction_that_passes_writes_every_item(client):
    client.transact_write_items(TransactItems=[_add(3, at_most=7), NEW_EVENT, DELETE_DOOMED])
    state = _everything(client)
    counters = {item["pk"]["S"]: item for item in state[COUNTERS]}
    assert counters["spent"]["n"] == {"N": "8"}
    assert "doomed" not in counters
    assert {item["sk"]["S"] for item in state[EVENTS]} == {"001", "002"}


def test_a_failing_condition_in_the_middle_undoes_every_item_written_before_and_after_it(client):
    before = _everything(client)
    failing = {
        "ConditionCheck": {
            "TableName": COUNTERS,
            "Key": {"pk": {"S": "spent"}},
            "ConditionExpression": "n > :big",
            "ExpressionAttributeValues": {":big": {"N": "100"}},
        }
    }
    items = [OVERWRITE_EVENT, NEW_EVENT, NEW_BUCKET_EVENT, NEW_COUNTER, failing, DELETE_DOOMED]
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=items)
    error = raised.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in error["CancellationReasons"]] == [
        "None",
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
        "None",
    ]
    assert _everything(client) == before


def test_an_update_whose_own_condition_fails_cancels_and_changes_nothing(client):
    before = _everything(client)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[NEW_EVENT, _add(6, at_most=4)])
    reasons = raised.value.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Message"] == "The conditional request failed"
    assert _everything(client) == before


def test_all_old_returns_the_item_that_failed_its_condition(client):
    put_if_absent = {
        "Put": {
            "TableName": COUNTERS,
            "Item": {"pk": {"S": "spent"}, "n": {"N": "0"}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[put_if_absent])
    (reason,) = raised.value.response["CancellationReasons"]
    assert reason["Code"] == "ConditionalCheckFailed"
    assert reason["Item"] == {"pk": {"S": "spent"}, "n": {"N": "5"}, "cap": {"N": "10"}}


def test_two_actions_on_one_item_are_refused_and_nothing_is_written(client):
    before = _everything(client)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[NEW_EVENT, _add(1), _add(2)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _everything(client) == before


def test_an_unknown_table_refuses_the_transaction_and_nothing_is_written(client):
    before = _everything(client)
    unknown = {"Put": {"TableName": "nope", "Item": {"pk": {"S": "x"}}}}
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=[_add(1), unknown])
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert _everything(client) == before


def test_the_journal_copies_only_the_touched_items_never_a_table(monkeypatch):
    copied = []
    real_deepcopy = copy.deepcopy

    def counting_deepcopy(value, *args, **kwargs):
        copied.append(type(value).__name__)
        return real_deepcopy(value, *args, **kwargs)

    with mock_aws(), transactions.installed():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        monkeypatch.setattr(transactions.copy, "deepcopy", counting_deepcopy)
        dynamodb.transact_write_items(TransactItems=[_arithmetic(1), NEW_EVENT])
    assert "Table" not in copied
    # The journal copied the one existing item moto's update_item changed in place (the new event had no
    # previous version).
    assert copied.count("Item") >= 1


def _arithmetic(amount):
    """n = n + amount: arithmetic, which only moto's own update_item applies."""
    return {
        "Update": {
            "TableName": COUNTERS,
            "Key": {"pk": {"S": "spent"}},
            "UpdateExpression": "SET n = n + :a",
            "ExpressionAttributeValues": {":a": {"N": str(amount)}},
        }
    }


def _update(expression, values, names=None, key="spent"):
    update = {
        "TableName": COUNTERS,
        "Key": {"pk": {"S": key}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": values,
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


def _outcome(items, journaled):
    """(error code, cancellation codes, every item afterwards) of one transaction on fresh tables."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        with transactions.installed() if journaled else contextlib.nullcontext():
            try:
                dynamodb.transact_write_items(TransactItems=items)
                error = (None, None)
            except ClientError as exc:
                reasons = [reason["Code"] for reason in exc.response.get("CancellationReasons", [])]
                error = (exc.response["Error"]["Code"], reasons)
        return (*error, _everything(dynamodb))


NUMBERS = {":one": {"N": "1"}, ":half": {"N": "0.5"}, ":big": {"N": "12345678901234567890"}}
PLAIN_UPDATES = {
    "set and add on an existing item": _update(
        "SET label = :l, #c = :one ADD n :half", {":l": {"S": "x"}, **NUMBERS}, {"#c": "cap"}
    ),
    "a new item": _update("ADD n :big, m :one SET label = :l", {":l": {"S": "x"}, **NUMBERS}, key="new"),
    "if_not_exists, attribute there": _update(
        "SET cap = if_not_exists(cap, :one), spare = if_not_exists(spare, :one)", NUMBERS
    ),
    "if_not_exists reads the item as it was": _update(
        "SET label = :l, previous = if_not_exists(label, :one)", {":l": {"S": "x"}, ":one": {"N": "1"}}
    ),
    "the gateway's roll-up": _update(
        "ADD requests :one, errors :one, cost_micros :big SET model_id = :m, user_id = :m, gsi2pk = :m",
        {":m": {"S": "*"}, **NUMBERS},
        key="rollup",
    ),
}
REFUSED_UPDATES = {
    "ADD to a string": _update("ADD label :one", {":one": {"N": "1"}}, key="doomed"),
    "a key attribute": _update("SET pk = :l", {":l": {"S": "other"}}),
    "a reserved word": _update("SET size = :one", NUMBERS),
    "a path twice": _update("SET n = :one ADD n :one", NUMBERS),
    "an unknown name": _update("SET #missing = :one", NUMBERS, {"#other": "x"}),
    "an ADD of a string": _update("ADD n :l", {":l": {"S": "x"}}),
    "an item over 400 KB": _update("SET blob = :huge", {":huge": {"S": "x" * 410_000}}),
}


@pytest.mark.parametrize("update", PLAIN_UPDATES.values(), ids=PLAIN_UPDATES.keys())
def test_plain_updates_come_out_as_moto_writes_them(update):
    assert _outcome([update, NEW_EVENT], journaled=True) == _outcome([update, NEW_EVENT], journaled=False)


@pytest.mark.parametrize("update", REFUSED_UPDATES.values(), ids=REFUSED_UPDATES.keys())
def test_updates_moto_refuses_are_refused_the_same_way(update):
    assert _outcome([NEW_EVENT, update], journaled=True) == _outcome([NEW_EVENT, update], journaled=False)


def test_plain_updates_skip_motos_update_item_and_copy_no_item(monkeypatch):
    calls, copied = [], []
    real_update_item, real_deepcopy = transactions.DynamoDBBackend.update_item, copy.deepcopy
    monkeypatch.setattr(
        transactions.DynamoDBBackend,
        "update_item",
        lambda *args, **kwargs: (
            calls.append(kwargs["update_expression"]) or real_update_item(*args, **kwargs)
        ),
    )
    monkeypatch.setattr(
        transactions.copy,
        "deepcopy",
        lambda value, *a, **k: copied.append(value) or real_deepcopy(value, *a, **k),
    )
    with mock_aws(), transactions.installed():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        for update in PLAIN_UPDATES.values():
            dynamodb.transact_write_items(TransactItems=[update])
        assert calls == []
        assert copied == []
        dynamodb.transact_write_items(TransactItems=[_arithmetic(2)])
        assert calls == ["SET n = n + :a"]


def test_a_range_table_loses_a_hash_key_the_cancelled_transaction_created():
    with mock_aws(), transactions.installed():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=[NEW_BUCKET_EVENT, _add(6, at_most=4)])
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends["123456789012"]["us-east-1"].tables[EVENTS]
        assert [hash_key.value for hash_key in table.items] == ["key-1"]


def test_an_update_expression_is_parsed_once_and_left_as_parsed():
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with mock_aws(), transactions.installed():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        parsed = UpdateExpressionParser.make("SET n = n + :a")
        shape = copy.deepcopy(parsed).__dict__.keys(), len(parsed.children)
        dynamodb.transact_write_items(TransactItems=[_arithmetic(2)])
        dynamodb.transact_write_items(TransactItems=[_arithmetic(3)])
        dynamodb.update_item(**_arithmetic(4)["Update"])
        assert UpdateExpressionParser.make("SET n = n + :a") is parsed
        assert (parsed.__dict__.keys(), len(parsed.children)) == shape
        counter = dynamodb.get_item(TableName=COUNTERS, Key={"pk": {"S": "spent"}})["Item"]
        assert counter["n"] == {"N": "14"}  # 5 + 2 + 3 + 4: each use applied its own values
    assert UpdateExpressionParser.make("SET n = n + :a") is not UpdateExpressionParser.make("SET n = n + :a")


def test_an_update_put_item_refuses_goes_to_moto_and_is_still_undone(monkeypatch):
    from moto.dynamodb.models.table import Table

    real_put_item = Table.put_item
    refusals = []

    def refusing_once(table, attributes, *args, **kwargs):
        if not refusals:
            refusals.append(attributes)
            raise ValueError("refused")
        return real_put_item(table, attributes, *args, **kwargs)

    failing = {
        "ConditionCheck": {
            "TableName": EVENTS,
            "Key": {"pk": {"S": "key-1"}, "sk": {"S": "001"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    with mock_aws(), transactions.installed():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _make_tables(dynamodb)
        before = _everything(dynamodb)
        monkeypatch.setattr(Table, "put_item", refusing_once)
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=[_add(3), failing])
        monkeypatch.setattr(Table, "put_item", real_put_item)
        assert refusals  # the plain update was refused and applied by moto's update_item in place
        assert _everything(dynamodb) == before
