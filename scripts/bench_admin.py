#!/usr/bin/env python3
"""Benchmark: one page of `GET /admin/users` (users by cost) with 1,000 and with 100,000 users' usage.

In-process with DynamoDB from moto: the day's usage roll-ups of N users are seeded, then the first pages are
read through the admin reports service. Printed per size: page time (moto's speed, not DynamoDB's) and the
DynamoDB items read per page. The items read must not grow with the table: a page reads its own rows only
(the ranked index gives them in order), plus a few per row (profile, last sign-in, conversation count).
"""

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime

from bench_support import prepare

prepare()


class ReadCounter:
    """Counts the items DynamoDB hands back to the gateway's clients (Query, GetItem, BatchGetItem)."""

    def __init__(self) -> None:
        self.items = 0

    def __call__(self, parsed, **_):
        if "Items" in parsed:
            self.items += len(parsed["Items"])
        elif "Count" in parsed:
            self.items += int(parsed.get("ScannedCount", parsed["Count"]))
        if "Item" in parsed:
            self.items += 1
        for found in parsed.get("Responses", {}).values():
            self.items += len(found)


def seed(table_name: str, users: int, day: str) -> None:
    import boto3

    table = boto3.resource("dynamodb").Table(table_name)
    rng = random.Random(7)
    with table.batch_writer() as batch:
        for index in range(users):
            cost = rng.randrange(1, 10_000_000)
            batch.put_item(
                Item={
                    "pk": f"USER#user-{index:06d}",
                    "sk": f"DAY#{day}#TOTAL",
                    "gsi2pk": f"COST#DAY#{day}",
                    "cost_micros": cost,
                    "input_tokens": cost // 3,
                    "output_tokens": cost // 7,
                    "requests": 1 + index % 9,
                    "user_id": f"user-{index:06d}",
                    "model_id": "*",
                }
            )


def measure(users: int, pages: int, page_size: int) -> tuple[list[float], list[int]]:
    from moto import mock_aws

    with mock_aws():
        from tests.support.aws import build_stack

        os.environ.update(build_stack().environment())
        from gateway import deps
        from gateway.aws import client, reset_clients, table
        from gateway.settings import get_settings

        get_settings.cache_clear()
        deps.reset()
        reset_clients()
        settings = get_settings()
        day = f"{datetime.now(UTC):%Y-%m-%d}"
        seed(settings.table_usage, users, day)

        counter = ReadCounter()
        client("dynamodb").meta.events.register("after-call.dynamodb.*", counter)
        for name in (settings.table_usage, settings.table_conversations, settings.table_api_keys):
            table(name).meta.client.meta.events.register("after-call.dynamodb.*", counter)
        reports = deps.admin_reports.get()
        times, reads, token = [], [], None
        for _ in range(pages):
            counter.items = 0
            started = time.perf_counter()
            rows, token = reports.users_by_cost(None, None, page_size, False, token)
            times.append((time.perf_counter() - started) * 1000)
            reads.append(counter.items)
            assert len(rows) == page_size
        return times, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    print(f"GET /admin/users, pages of {args.page_size} users by cost (DynamoDB from moto):")
    per_page_reads = {}
    for users in args.sizes:
        times, reads = measure(users, args.pages, args.page_size)
        per_page_reads[users] = max(reads)
        print(
            f"  {users:>7} users' usage: page time median {statistics.median(times):8.1f} ms,"
            f" items read per page {min(reads)}-{max(reads)}"
        )
    smallest, largest = min(args.sizes), max(args.sizes)
    verdict = "ok" if per_page_reads[largest] <= per_page_reads[smallest] else "GROWS WITH THE TABLE"
    print(
        f"  items read per page, {largest} vs {smallest} users: {per_page_reads[largest]} <= "
        f"{per_page_reads[smallest]}  {verdict}"
    )


if __name__ == "__main__":
    main()
