#!/usr/bin/env python3
"""Benchmark: one page of `GET /admin/users` (users by cost) with 1,000 and with 100,000 users.

In-process with AWS from moto: the day's usage roll-ups and the profile (session item: email, name, last
sign-in) of N users are seeded, then the first pages are read through the admin reports service while a hook
on every botocore client records each request. Per page it prints:
  - items read: what DynamoDB reads and charges for (ScannedCount of a Query or Scan, the items a GetItem or
    BatchGetItem returns). Targets: at most 2 per row (the row's roll-up from the ranked index, its profile),
    and no more with 100,000 users than with 1,000 (a page reads its own rows, never the table);
  - profile reads: requests for the rows' names and last sign-in (DynamoDB reads of the session items, Cognito
    user look-ups). Target: batched, at most one request per 100 rows (BatchGetItem's size), none per row;
  - page time, for reference only: moto's speed, not DynamoDB's (moto scans every item of the table to answer
    an index query, so its time grows with the table while the items read do not).
Exits 1 when a target is missed.
"""

import argparse
import math
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from bench_support import prepare

prepare()

BATCH_GET_MOST_KEYS = 100
PROFILE_SORT_KEY = "SESSION"  # a user's session item holds their profile


class RequestLog:
    """Every AWS request the app's clients make: how many, the items DynamoDB read for them, and how many
    asked for profiles."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()  # (service, operation)
        self.items_read = 0
        self.profile_reads = 0

    def clear(self) -> None:
        self.requests.clear()
        self.items_read = self.profile_reads = 0

    def record(self, service: str, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        self.requests[(service, operation)] += 1
        if service == "cognito-idp":
            self.profile_reads += operation == "AdminGetUser"
            return
        if service != "dynamodb":
            return
        keys = [params["Key"]] if "Key" in params else []
        keys += [
            key for request in params.get("RequestItems", {}).values() for key in request.get("Keys", [])
        ]
        self.profile_reads += operation in ("GetItem", "BatchGetItem") and any(map(_is_profile, keys))
        if "ScannedCount" in parsed:  # Query, Scan: every item evaluated is read, filtered or not
            self.items_read += int(parsed["ScannedCount"])
        elif "Item" in parsed:
            self.items_read += 1
        for found in parsed.get("Responses", {}).values():
            self.items_read += len(found)


def _is_profile(key: dict[str, Any]) -> bool:
    sort_key = key.get("sk")
    return PROFILE_SORT_KEY in (sort_key, sort_key.get("S") if isinstance(sort_key, dict) else None)


def recording(log: RequestLog) -> Any:
    """Patches every botocore client to report its requests (and their answers) to `log`."""
    from botocore.client import BaseClient

    make_api_call = BaseClient._make_api_call

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        parsed = make_api_call(client, operation, params)
        log.record(client.meta.service_model.service_name, operation, params, parsed)
        return parsed

    return mock.patch.object(BaseClient, "_make_api_call", recorded)


def seed(usage_table: str, profile_table: str, users: int, day: str) -> None:
    """Straight into moto's tables (the API would take minutes for 100,000 users)."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    usage, profiles = backend.tables[usage_table], backend.tables[profile_table]
    rng = random.Random(7)
    for index in range(users):
        user_id = f"user-{index:06d}"
        cost = rng.randrange(1, 10_000_000)
        usage.put_item(
            {
                "pk": {"S": f"USER#{user_id}"},
                "sk": {"S": f"DAY#{day}#TOTAL"},
                "gsi2pk": {"S": f"COST#DAY#{day}"},
                "cost_micros": {"N": str(cost)},
                "input_tokens": {"N": str(cost // 3)},
                "output_tokens": {"N": str(cost // 7)},
                "requests": {"N": str(1 + index % 9)},
                "user_id": {"S": user_id},
                "model_id": {"S": "*"},
            }
        )
        profiles.put_item(
            {
                "pk": {"S": f"USER#{user_id}"},
                "sk": {"S": "SESSION"},
                "email": {"S": f"{user_id}@example.com"},
                "fullname": {"S": f"User {index}"},
                "last_sign_in_at": {"S": f"{day}T08:00:00Z"},
            }
        )


def measure(users: int, pages: int, page_size: int) -> tuple[list[float], list[int], list[int]]:
    """Per page: time (ms), items read, profile read requests."""
    import os

    from moto import mock_aws

    with mock_aws():
        from tests.support.aws import build_stack

        os.environ.update(build_stack().environment())
        from gateway import deps
        from gateway.aws import reset_clients
        from gateway.settings import get_settings

        get_settings.cache_clear()
        deps.reset()
        reset_clients()
        settings = get_settings()
        seed(settings.table_usage, settings.table_api_keys, users, f"{datetime.now(UTC):%Y-%m-%d}")

        reports = deps.admin_reports.get()
        log = RequestLog()
        times, reads, profile_reads, token = [], [], [], None
        with recording(log):
            for _ in range(pages):
                log.clear()
                started = time.perf_counter()
                rows, token = reports.users_by_cost(None, None, page_size, False, token)
                times.append((time.perf_counter() - started) * 1000)
                reads.append(log.items_read)
                profile_reads.append(log.profile_reads)
                if len(rows) != page_size or any(row.email is None for row in rows):
                    raise SystemExit(f"bench_admin: a page of {len(rows)} rows, or rows without a profile")
        return times, reads, profile_reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    # moto answers an index query by scanning the table: seconds per page at 100,000 users.
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()

    size = args.page_size
    print(f"GET /admin/users, pages of {size} users by cost (AWS from moto, in-process):")
    most_reads, most_profile_reads = {}, {}
    for users in args.sizes:
        times, reads, profile_reads = measure(users, args.pages, size)
        most_reads[users], most_profile_reads[users] = max(reads), max(profile_reads)
        print(
            f"  {users:>7,} users: items read per page {min(reads)}-{max(reads)},"
            f" profile read requests per page {min(profile_reads)}-{max(profile_reads)}"
            f" ({max(profile_reads) / size:.2f} per row),"
            f" page time median {statistics.median(times):7.1f} ms (moto's speed)"
        )
    smallest, largest = min(args.sizes), max(args.sizes)
    batches = math.ceil(size / BATCH_GET_MOST_KEYS)
    targets = (
        (f"items read per page <= 2 per row ({2 * size})", max(most_reads.values()), 2 * size),
        (
            f"items read per page with {largest:,} users <= with {smallest:,}",
            most_reads[largest],
            most_reads[smallest],
        ),
        (f"profile read requests per page <= {batches} (batched)", max(most_profile_reads.values()), batches),
    )
    missed = []
    for label, value, limit in targets:
        verdict = "ok" if value <= limit else "MISSED"
        print(f"  target: {label}: {value} {verdict}")
        if value > limit:
            missed.append(label)
    if missed:
        raise SystemExit(f"bench_admin: missed: {'; '.join(missed)}")


if __name__ == "__main__":
    main()
