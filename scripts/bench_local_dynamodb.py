#!/usr/bin/env python3
"""Benchmark: one governed `POST /bedrock` with 100,000 items in the local DynamoDB.

The local target's DynamoDB is moto. moto applies TransactWriteItems by deep-copying every table the
transaction names, so a call's time grows with all the data stored; the plugin's journaled transactions
(scripts/localstack_plugin/gateway_localstack/dynamodb/transactions.py) copy only the items they touch.

1. In-process (always): the Lambda handler with a model stub that answers at once, against moto's DynamoDB
   with the usage and audit tables seeded with --items items, per-call time with moto's own transactions
   (before) and with the plugin's (after). This is the app's work plus moto's, without the emulator's hops.
   Target: after <= 50 ms per call (median).
2. Through the local target (when `make local` runs; LOCAL_AWS_PORT, LOCAL_AWS_DIR as for make local): real
   HTTP to the emulator's API Gateway, its Lambda, its DynamoDB and its Bedrock. The same call is timed with
   the tables as they are, then again after --items items are added to them (once: a later run finds them).
   Printed beside it, from the function's own access log: the time inside the Lambda (the app and its
   requests to the emulator's DynamoDB and Bedrock); the rest is the emulator's API Gateway and Lambda
   invocation. Target: median <= 50 ms per call with the items stored.
Exits 1 when a target measured is missed.
"""

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

from bench_support import REPO, percentile, prepare, signed_in_app

prepare()
sys.path.insert(0, str(REPO / "scripts" / "localstack_plugin"))

TARGET_MEDIAN_MS = 50.0
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
SEEDED_TABLES = ("usage", "audit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="items seeded across the tables")
    parser.add_argument("--calls", type=int, default=30, help="timed calls with the journaled transactions")
    # moto's own copies the tables twice per call (seconds each at 100,000 items): one call shows it.
    parser.add_argument("--calls-before", type=int, default=1, help="timed calls with moto's transactions")
    parser.add_argument(
        "--local", choices=("auto", "skip"), default="auto", help="measure through a running local target"
    )
    args = parser.parse_args()
    if args.calls < 1 or args.calls_before < 1:
        parser.error("--calls and --calls-before must be at least 1")

    from moto import mock_aws

    with mock_aws():
        before, after = run(args.items, args.calls_before, args.calls)

    print(f"POST /bedrock in-process against moto, {args.items:,} items stored (the app's and moto's work)")
    for label, samples in (("before (moto's transactions)", before), ("after (journaled)", after)):
        print(
            f"  {label:<30} {len(samples):3d} calls  median {statistics.median(samples):8.2f} ms"
            f"   p99 {percentile(samples, 0.99):8.2f} ms"
        )
    missed = not met("in-process, after", statistics.median(after))
    if args.local == "auto":
        missed |= not through_local_target(args.items, args.calls, statistics.median(after))
    if missed:
        raise SystemExit("bench_local_dynamodb: missed")


def met(label: str, median_ms: float) -> bool:
    ok = median_ms <= TARGET_MEDIAN_MS
    verdict = "ok" if ok else "MISSED"
    print(f"  target: {label} <= {TARGET_MEDIAN_MS:.0f} ms per call: {median_ms:.2f} ms {verdict}")
    return ok


def through_local_target(items: int, calls: int, in_process_ms: float) -> bool:
    """False only when the target was measured and missed; without a local stack it says so and passes."""
    import httpx

    from scripts.make_admin import AdminError, aws_session, local_endpoint, terraform_outputs

    print(
        f"POST /bedrock through the local target at {local_endpoint()} (its API Gateway, Lambda, DynamoDB):"
    )
    try:
        outputs = terraform_outputs("local")
    except AdminError as reason:
        print(f"  not measured: {reason}")
        return True
    endpoint = f"http://{local_endpoint()}"
    try:
        answering = httpx.get(f"{endpoint}/_localstack/health", timeout=5).is_success
    except httpx.HTTPError:
        answering = False
    if not answering or not outputs["api_url"].startswith(endpoint):
        print(f"  not measured: no local stack answers at {endpoint} (make local, same LOCAL_AWS_PORT)")
        return True
    session = aws_session("local", outputs["region"])
    tables = [outputs["table_names"][name] for name in SEEDED_TABLES]
    with httpx.Client(base_url=outputs["api_url"], timeout=60) as api:
        headers = signed_up(api, endpoint)
        for _ in range(3):  # warm-up: the function's cold start, first-call writes
            http_call(api, headers)
        as_is = [http_call(api, headers) for _ in range(calls)]
        started = time.perf_counter()
        added = seed_through_api(session.client("dynamodb"), tables, items)
        seeding = f"added in {time.perf_counter() - started:.0f} s" if added else "there from an earlier run"
        processes = emulator_processes()
        cpu_before = cpu_seconds(processes)
        client_before = time.process_time()
        seeded = [http_call(api, headers) for _ in range(calls)]
        client_cpu_ms = (time.process_time() - client_before) * 1000 / calls
        cpu_after = cpu_seconds(processes)
        cpu_ms = {name: (cpu_after[name] - spent) * 1000 / calls for name, spent in cpu_before.items()}
    inside = lambda_durations(session.client("logs"), outputs["log_group_name"], [rid for _, rid in seeded])
    for label, samples in (
        ("the tables as they are", [ms for ms, _ in as_is]),
        (f"{items:,} more items ({seeding})", [ms for ms, _ in seeded]),
    ):
        print(
            f"  {label:<44} {len(samples):3d} calls  median {statistics.median(samples):8.2f} ms"
            f"   p99 {percentile(samples, 0.99):8.2f} ms"
        )
    if inside:
        rest = [ms - inside[rid] for ms, rid in seeded if rid in inside]
        lambda_ms = statistics.median(inside.values())
        print(
            f"  inside the Lambda (its access log): median {lambda_ms:.2f} ms: the app's and moto's work"
            f" (in-process above: {in_process_ms:.2f} ms) plus the emulator's handling of the function's"
            f" requests to DynamoDB and Bedrock (the difference: {lambda_ms - in_process_ms:.0f} ms)"
        )
        print(
            f"  outside it, the emulator's API Gateway and Lambda invocation:"
            f" median {statistics.median(rest):.2f} ms"
        )
    else:
        print("  (the function's access log had none of these calls: no split inside/outside the Lambda)")
    if cpu_ms:
        print(
            f"  CPU per call (a busy machine inflates it less than time): emulator {cpu_ms['emulator']:.1f}"
            f" ms (its API Gateway, Lambda service, DynamoDB, Bedrock), the Lambda worker"
            f" {cpu_ms['worker']:.1f} ms (the app, botocore), this client {client_cpu_ms:.1f} ms"
        )
    return met(f"through the local target with {items:,} items", statistics.median(ms for ms, _ in seeded))


def emulator_processes() -> dict[str, list[int]]:
    """The emulator's pid and its Lambda workers' (from /proc; empty where there is none, e.g. macOS)."""
    local_dir = Path(os.environ.get("LOCAL_AWS_DIR", REPO / ".local" / "aws"))
    try:
        emulator = int((local_dir / "localstack.pid").read_text())
        workers = [
            int(stat.parent.name)
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent(stat) == emulator and b"worker.py" in (stat.parent / "cmdline").read_bytes()
        ]
    except (OSError, ValueError):
        return {}
    return {"emulator": [emulator], "worker": workers}


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(processes: dict[str, list[int]]) -> dict[str, float]:
    from scripts.bench_http import process_cpu_seconds

    return {name: sum(process_cpu_seconds(pid) for pid in pids) for name, pids in processes.items()}


def signed_up(api: Any, endpoint: str) -> dict[str, str]:
    """A new user's token and API key; the confirmation code from the emulator's mailbox."""
    import httpx

    email, password = f"bench-local-{time.time_ns()}@example.com", "Correct-horse-9"
    registered = api.post("/register", json={"email": email, "password": password, "fullname": "Bench"})
    code = httpx.get(f"{endpoint}/_gateway/mailbox/{email}", timeout=10).json()["messages"][-1]["code"]
    confirmed = api.post("/register/confirm", json={"email": email, "code": code})
    tokens = api.post("/login", json={"email": email, "password": password})
    if (registered.status_code, confirmed.status_code, tokens.status_code) != (202, 201, 200):
        raise SystemExit(
            f"bench: sign-up through the local target failed: {tokens.status_code} {tokens.text}"
        )
    return {"authorization": f"Bearer {tokens.json()['id_token']}", "x-api-key": confirmed.json()["api_key"]}


def http_call(api: Any, headers: dict[str, str]) -> tuple[float, str]:
    """(milliseconds, request id) of one governed call."""
    from tests.support.bedrock import SHAPES

    body = {"modelId": MODEL_ID, "inferenceParameters": SHAPES["anthropic-messages"].request}
    started = time.perf_counter()
    answer = api.post("/bedrock", json=body, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"bench: the local target answered {answer.status_code}: {answer.text}")
    return elapsed, answer.headers["x-request-id"]


def seed_through_api(dynamodb: Any, table_names: list[str], items: int) -> bool:
    """The seed items through BatchWriteItem, unless the last one is already there (an earlier run's)."""
    last = seed_item(items - 1)
    table_of_last = table_names[(items - 1) % len(table_names)]
    if "Item" in dynamodb.get_item(TableName=table_of_last, Key={k: last[k] for k in ("pk", "sk")}):
        return False

    def write(batch: range) -> None:
        requests = {}
        for number in batch:
            requests.setdefault(table_names[number % len(table_names)], []).append(
                {"PutRequest": {"Item": seed_item(number)}}
            )
        while requests:
            requests = dynamodb.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, (range(start, min(start + 25, items)) for start in range(0, items, 25))))
    return True


def lambda_durations(logs: Any, log_group: str, request_ids: list[str]) -> dict[str, float]:
    """duration_ms of these requests from the function's access log (gateway.access), by request id."""
    wanted, found = set(request_ids), {}
    deadline = time.monotonic() + 10  # the emulator ships the function's log lines a moment later
    while time.monotonic() < deadline and len(found) < len(wanted):
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=log_group):
            for event in page["events"]:
                line = event["message"][event["message"].find("{") :]
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if entry.get("request_id") in wanted and "duration_ms" in entry:
                    found[entry["request_id"]] = float(entry["duration_ms"])
        if len(found) < len(wanted):
            time.sleep(1)
    return found


def seed_item(number: int) -> dict[str, Any]:
    """A usage-record-like item, in DynamoDB's wire format."""
    return {
        "pk": {"S": f"USER#seed-{number % 1000:04d}"},
        "sk": {"S": f"CALL#{number:08d}"},
        "model_id": {"S": MODEL_ID},
        "input_tokens": {"N": "120"},
        "output_tokens": {"N": "480"},
        "cost_micros": {"N": "1234"},
        "status": {"S": "settled"},
    }


def seed(table_names: list[str], items: int) -> None:
    """Straight into moto's tables (the API would take minutes for 100,000 items)."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    for number in range(items):
        backend.tables[table_names[number % len(table_names)]].put_item(seed_item(number))


def run(items: int, calls_before: int, calls_after: int) -> tuple[list[float], list[float]]:
    from gateway_localstack.dynamodb import transactions
    from mangum import Mangum

    from tests.support.aws import build_stack
    from tests.support.bedrock import SHAPES, catalog_response
    from tests.support.events import LambdaContext, api_gateway_event

    stack = build_stack()
    environment = stack.environment()
    os.environ.update(environment)

    from gateway.providers.bedrock import BedrockModels, FoundationModel, Invocation

    app, headers = signed_in_app()

    started = time.perf_counter()
    seed([environment[f"GATEWAY_TABLE_{name.upper()}"] for name in SEEDED_TABLES], items)
    print(f"seeded {items:,} items in {time.perf_counter() - started:.1f} s", flush=True)

    shape = SHAPES["anthropic-messages"]
    answer = Invocation(body=shape.response, raw=json.dumps(shape.response), header_usage=None, latency_ms=0)
    catalog = {
        s["modelId"]: FoundationModel(s["modelId"], s["providerName"], s["modelName"], (), ())
        for s in catalog_response()["modelSummaries"]
    }
    handler = Mangum(app, lifespan="off")
    body = {"modelId": MODEL_ID, "inferenceParameters": shape.request}

    def governed_call(request_id: str) -> float:
        started = time.perf_counter()
        result = handler(api_gateway_event("POST", "/bedrock", body, headers, request_id), LambdaContext())
        elapsed = (time.perf_counter() - started) * 1000
        if result["statusCode"] != 200:
            raise SystemExit(f"bench: gateway answered {result['statusCode']}: {result['body']}")
        return elapsed

    with (
        mock.patch.object(BedrockModels, "invoke", lambda *args, **kwargs: answer),
        mock.patch.object(BedrockModels, "catalog", lambda self: catalog),
    ):
        with transactions.installed():
            for i in range(3):  # warm-up: first-call writes, caches
                governed_call(f"warm-{i}")
            # After first: moto's table copies leave garbage whose collection would be charged to later calls.
            after = [governed_call(f"after-{i}") for i in range(calls_after)]
        before = [governed_call(f"before-{i}") for i in range(calls_before)]
    return before, after


if __name__ == "__main__":
    main()
