import pytest

from gateway.aws import ScanRefusedError, client, table


def test_the_gateway_never_scans(stack):
    with pytest.raises(ScanRefusedError):
        client("dynamodb").scan(TableName="gateway-test-usage")
    with pytest.raises(ScanRefusedError):
        table("gateway-test-audit").scan()


def test_key_reads_still_work(stack):
    assert table("gateway-test-audit").get_item(Key={"pk": "x", "sk": "y"}).get("Item") is None
