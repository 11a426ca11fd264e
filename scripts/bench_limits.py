#!/usr/bin/env python3
"""Benchmark: what the exact limits add per request, and that they hold under concurrency.

In-process, with DynamoDB from moto (serialised per request, as DynamoDB applies each write atomically):
  - the limit check's added latency per request: the reservation plan (the user's override read included) plus
    the counter items added to the call's transaction, against recording the call alone; median and p99;
  - a concurrency run: 4N threads reserve at once against a limit of N requests; admitted must equal N.
moto copies a table for every transaction, so its cost grows with the table: the table is emptied every 100
requests (untimed). The figures are still moto's speed, not DynamoDB's; the difference is the point.
"""

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from bench_support import empty_table, percentile, prepare

prepare()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=25, help="N of the concurrency run (4N threads)")
    args = parser.parse_args()

    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action
    DynamoHandler.call_action = lambda self: _locked(lock, original, self)
    with mock_aws():
        run(args.calls, args.limit)


def _locked(lock, original, handler):
    with lock:
        return original(handler)


def run(calls: int, limit: int) -> None:
    from tests.support.aws import build_stack

    os.environ.update(build_stack().environment())
    from gateway.errors import AppError
    from gateway.repositories.limits import LimitRepository, transact_item
    from gateway.repositories.usage import CallRecord, CounterRefused, UsageRepository
    from gateway.services.limits import LimitService
    from gateway.settings import GroupPolicy, Limits, get_settings

    settings = get_settings()
    generous = GroupPolicy(precedence=1, limits=Limits(requests_per_minute=10**9, tokens_per_day=10**12))
    limits = LimitService(LimitRepository(settings.table_usage), {"Bench": generous}, GroupPolicy())
    usage = UsageRepository(settings.table_usage, 30)
    groups = ("Bench",)

    def call(user: str, index: int) -> CallRecord:
        return CallRecord(user, f"r{index}", None, "m", datetime.now(UTC).isoformat(), None)

    plain, limited, planning = [], [], []
    for index in range(calls):
        if index % 100 == 0:
            empty_table(settings.table_usage)
        user = f"user-{index % 50}"
        started = time.perf_counter()
        usage.begin(call(user, 2 * index), int(time.time()))
        plain.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        _, moves = limits.plan(user, groups, 500, 1000, datetime.now(UTC))
        planned = time.perf_counter()
        usage.begin(
            call(user, 2 * index + 1),
            int(time.time()),
            [transact_item(limits.table_name, user, m) for m in moves],
        )
        done = time.perf_counter()
        planning.append((planned - started) * 1000)
        limited.append((done - started) * 1000)

    added = [with_limits - alone for with_limits, alone in zip(limited, plain, strict=True)]
    print(f"limit check, {calls} requests in-process (DynamoDB from moto):")
    for label, samples in (
        ("record the call alone", plain),
        ("plan + record with counters", limited),
        ("planning (override read)", planning),
        ("added by the limit check", added),
    ):
        print(
            f"  {label + ':':<32} median {statistics.median(samples):7.3f} ms"
            f"   p99 {percentile(samples, 0.99):7.3f} ms"
        )

    strict = GroupPolicy(precedence=1, limits=Limits(requests_per_day=limit))
    limits = LimitService(LimitRepository(settings.table_usage), {"Bench": strict}, GroupPolicy())

    def reserve(index: int) -> bool:
        try:
            _, moves = limits.plan("concurrent", groups, 10, 10, datetime.now(UTC))
            items = [transact_item(limits.table_name, "concurrent", m) for m in moves]
            usage.begin(call("concurrent", 10**9 + index), int(time.time()), items)
        except (AppError, CounterRefused):  # the limit held
            return False
        return True

    with ThreadPoolExecutor(max_workers=4 * limit) as pool:
        admitted = sum(pool.map(reserve, range(4 * limit)))
    counted = limits.report("concurrent", groups, datetime.now(UTC))["windows"]
    used = next(w["used"] for w in counted if w["name"] == "requests_per_day")
    verdict = "ok" if admitted == limit == used else "MISMATCH"
    print(
        f"concurrency: {4 * limit} simultaneous requests, limit {limit}: admitted {admitted}, counter {used}"
    )
    print(f"  admitted == limit == counter: {verdict}")


if __name__ == "__main__":
    main()
