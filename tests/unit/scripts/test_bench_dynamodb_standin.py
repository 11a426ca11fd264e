"""The benchmarks' in-memory DynamoDB: conditions applied as DynamoDB applies them, atomically per write,
with boto3 in front of it as the app uses it."""

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts.bench_dynamodb_standin import DynamoDBStandIn, serving

TABLE = "usage"


@pytest.fixture
def dynamodb():
    with mock_aws(), serving(DynamoDBStandIn()) as store:
        yield store, boto3.client("dynamodb", region_name="us-east-1")


def key(sk: str) -> dict:
    return {"pk": {"S": "LIMIT#u"}, "sk": {"S": sk}}


def capped_add(sk: str, limit: int) -> dict:
    """ADD 1 to requests unless it would pass `limit` (the shape of the gateway's limit checks)."""
    return {
        "TableName": TABLE,
        "Key": key(sk),
        "UpdateExpression": "ADD #r :one",
        "ConditionExpression": "attribute_not_exists(#r) OR #r <= :most",
        "ExpressionAttributeNames": {"#r": "requests"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":most": {"N": str(limit - 1)}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def test_a_failed_condition_cancels_the_whole_transaction_with_a_reason_per_action(dynamodb):
    store, client = dynamodb
    client.update_item(**capped_add("DAY", 1))
    record = {"TableName": TABLE, "Item": {"pk": {"S": "CALL#u#r1"}, "sk": {"S": "CALL"}}}

    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[{"Put": record}, {"Update": capped_add("DAY", 1)}])

    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = refused.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["requests"] == {"N": "1"}  # ALL_OLD
    assert (TABLE, "CALL#u#r1", "CALL") not in store.items  # nothing of it written


def test_a_transaction_whose_conditions_hold_writes_every_item(dynamodb):
    store, client = dynamodb
    record = {
        "TableName": TABLE,
        "Item": {"pk": {"S": "CALL#u#r1"}, "sk": {"S": "CALL"}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }

    client.transact_write_items(TransactItems=[{"Put": record}, {"Update": capped_add("DAY", 1)}])

    assert (TABLE, "CALL#u#r1", "CALL") in store.items
    assert store.items[(TABLE, "LIMIT#u", "DAY")]["requests"] == {"N": "1"}


def test_a_single_write_whose_condition_fails_is_refused(dynamodb):
    store, client = dynamodb
    client.update_item(**capped_add("DAY", 1))

    with pytest.raises(ClientError) as refused:
        client.update_item(**capped_add("DAY", 1))

    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert store.items[(TABLE, "LIMIT#u", "DAY")]["requests"] == {"N": "1"}


def test_concurrent_capped_adds_never_pass_the_cap():
    limit, threads = 5, 40
    # Each write waits between its check and its write: without per-item atomicity most would pass the cap.
    with mock_aws(), serving(DynamoDBStandIn(hold_seconds=0.002)) as store:
        client = boto3.client("dynamodb", region_name="us-east-1")
        start_together = threading.Barrier(threads)

        def add(_: int) -> str:
            start_together.wait()
            try:
                client.update_item(**capped_add("DAY", limit))
            except ClientError as exc:
                return exc.response["Error"]["Code"]
            return "admitted"

        with ThreadPoolExecutor(max_workers=threads) as pool:
            outcomes = list(pool.map(add, range(threads)))

    assert outcomes.count("admitted") == limit
    assert outcomes.count("ConditionalCheckFailedException") == threads - limit
    assert store.items[(TABLE, "LIMIT#u", "DAY")]["requests"] == {"N": str(limit)}
    assert store.peak_in_flight > 1  # the requests did overlap in the store
