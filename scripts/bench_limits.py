#!/usr/bin/env python3
"""Benchmark: what the exact limits add per request, and that no limit is ever passed under concurrency.

In-process, with DynamoDB answered by the in-memory stand-in (scripts/bench_dynamodb_standin.py): botocore
serializes, signs and parses every request; the store applies each write's conditions atomically, holding only
the locks of the items that write touches (as DynamoDB does), never one lock over every request.
  - the limit check's added latency per request: the reservation plan (the user's override read included) plus
    the counter items added to the call's transaction, against recording the call alone; median and p99. These
    are the app's and botocore's times (the store's own work is a dict lookup); there is no target for them;
  - concurrency runs: 4N threads, released together, reserve against a limit of N requests a day, several
    times. Target, every run: admitted == N, refused == 3N exactly (no other outcome), the stored counter == N
    and N call records written. The peak number of requests the store served at once is printed: it shows
    the requests overlapped (no global lock). Exits 1 when a run misses.
"""

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from bench_support import percentile, prepare

prepare()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=25, help="N of the concurrency runs (4N threads)")
    parser.add_argument("--runs", type=int, default=5, help="concurrency runs, one user each")
    args = parser.parse_args()

    from bench_dynamodb_standin import DynamoDBStandIn, serving
    from moto import mock_aws

    with mock_aws():
        from tests.support.aws import build_stack

        os.environ.update(build_stack().environment())
        with serving(DynamoDBStandIn()):
            latency(args.calls)
        # Each write holds its items 1 ms between its checks and its writes: without atomic conditions, the
        # requests waiting meanwhile would pass the limit.
        with serving(DynamoDBStandIn(hold_seconds=0.001)) as store:
            missed = sum(not concurrency(store, args.limit, f"concurrent-{run}") for run in range(args.runs))
    if missed:
        raise SystemExit(f"bench_limits: missed: {missed} of {args.runs} concurrency runs")


def latency(calls: int) -> None:
    from gateway.repositories.limits import LimitRepository, transact_item
    from gateway.repositories.usage import UsageRepository
    from gateway.services.limits import LimitService
    from gateway.settings import GroupPolicy, Limits, get_settings

    settings = get_settings()
    generous = GroupPolicy(precedence=1, limits=Limits(requests_per_minute=10**9, tokens_per_day=10**12))
    limits = LimitService(LimitRepository(settings.table_usage), {"Bench": generous}, GroupPolicy())
    usage = UsageRepository(settings.table_usage, 30)

    plain, limited, planning = [], [], []
    for index in range(calls):
        user = f"user-{index % 50}"
        started = time.perf_counter()
        usage.begin(_call(user, 2 * index), int(time.time()))
        plain.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        _, moves = limits.plan(user, ("Bench",), 500, 1000, datetime.now(UTC))
        planned = time.perf_counter()
        usage.begin(
            _call(user, 2 * index + 1),
            int(time.time()),
            [transact_item(limits.table_name, user, m) for m in moves],
        )
        done = time.perf_counter()
        planning.append((planned - started) * 1000)
        limited.append((done - started) * 1000)

    added = [with_limits - alone for with_limits, alone in zip(limited, plain, strict=True)]
    print(f"limit check, {calls} requests in-process (DynamoDB stand-in; the app's and botocore's time):")
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


def concurrency(store, limit: int, user: str) -> bool:
    """4 * limit threads reserve at once for `user`; True when exactly `limit` got through everywhere."""
    from gateway.errors import AppError
    from gateway.repositories.limits import LimitRepository, transact_item
    from gateway.repositories.usage import CounterRefused, UsageRepository
    from gateway.services.limits import LimitService
    from gateway.settings import GroupPolicy, Limits, get_settings

    settings = get_settings()
    strict = GroupPolicy(precedence=1, limits=Limits(requests_per_day=limit))
    limits = LimitService(LimitRepository(settings.table_usage), {"Bench": strict}, GroupPolicy())
    usage = UsageRepository(settings.table_usage, 30)
    threads = 4 * limit
    start_together = threading.Barrier(threads)

    def reserve(index: int) -> str:
        start_together.wait()
        try:
            _, moves = limits.plan(user, ("Bench",), 10, 10, datetime.now(UTC))
            items = [transact_item(limits.table_name, user, m) for m in moves]
            usage.begin(_call(user, index), int(time.time()), items)
        except (AppError, CounterRefused):  # the limit held
            return "refused"
        except Exception as failure:  # counted and named: any other outcome is a miss
            return type(failure).__name__
        return "admitted"

    store.peak_in_flight = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = list(pool.map(reserve, range(threads)))
    admitted, refused = outcomes.count("admitted"), outcomes.count("refused")
    others = sorted({o for o in outcomes if o not in ("admitted", "refused")})
    windows = limits.report(user, ("Bench",), datetime.now(UTC))["windows"]
    counter = next(w["used"] for w in windows if w["name"] == "requests_per_day")
    records = sum(
        1 for table, pk, sk in store.items if table == settings.table_usage and pk.startswith(f"CALL#{user}#")
    )
    ok = admitted == limit and refused == threads - limit and not others and counter == limit == records
    print(
        f"concurrency ({user}): {threads} simultaneous requests, limit {limit}/day:"
        f" admitted {admitted}, refused {refused}{', other: ' + ', '.join(others) if others else ''},"
        f" counter {counter}, call records {records}"
    )
    print(f"  the store served up to {store.peak_in_flight} of these requests at once")
    print(
        f"  target: admitted == counter == records == {limit}, refused == {threads - limit}:"
        f" {'ok' if ok else 'MISSED'}"
    )
    return ok


def _call(user: str, index: int):
    from gateway.repositories.usage import CallRecord

    return CallRecord(user, f"r{index}", None, "m", datetime.now(UTC).isoformat(), None)


if __name__ == "__main__":
    main()
