import pytest

from gateway.aws import ScanRefusedError, client, table


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
