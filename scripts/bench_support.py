"""What the in-process benchmarks share: import path, fake AWS credentials, percentiles, emptying tables."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def prepare() -> None:
    """The app and the test support importable, fake credentials for moto, quiet logs."""
    sys.path[:0] = [str(REPO / "lambda_src"), str(REPO)]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        GATEWAY_LOG_LEVEL="ERROR",
    )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def empty_table(table_name: str) -> None:
    """Delete every item (untimed), so that moto's per-transaction table copy stays small."""
    import boto3

    table = boto3.resource("dynamodb").Table(table_name)
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="pk, sk")["Items"]:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
