#!/usr/bin/env python3
"""Benchmark: one governed `POST /bedrock` against the local DynamoDB with 100,000 items stored.

The local target's DynamoDB is moto. moto applies TransactWriteItems by deep-copying every table the
transaction names, so a call's time grows with all the data stored; the plugin's journaled transactions
(scripts/localstack_plugin/gateway_localstack/dynamodb/transactions.py) copy only the items they touch.
This runs the app in-process (the Lambda handler, a model stub that answers at once) against moto with the
usage and audit tables seeded with --items items between them, and prints the per-call time with moto's own
transactions (before) and with the plugin's (after). Target: after <= 50 ms per call (median).
The emulator adds its HTTP hops to these figures; the DynamoDB work is the same code.
"""

import argparse
import json
import os
import statistics
import sys
import time
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
    # moto's own copies the tables twice per call (seconds each at 100,000 items): a few calls show it.
    parser.add_argument("--calls-before", type=int, default=3, help="timed calls with moto's transactions")
    args = parser.parse_args()
    if args.calls < 1 or args.calls_before < 1:
        parser.error("--calls and --calls-before must be at least 1")

    from moto import mock_aws

    with mock_aws():
        before, after = run(args.items, args.calls_before, args.calls)

    print(f"POST /bedrock in-process against moto, {args.items:,} items stored")
    for label, samples in (("before (moto's transactions)", before), ("after (journaled)", after)):
        print(
            f"  {label:<30} {len(samples):3d} calls  median {statistics.median(samples):8.2f} ms"
            f"   p99 {percentile(samples, 0.99):8.2f} ms"
        )
    median_after = statistics.median(after)
    verdict = "ok" if median_after <= TARGET_MEDIAN_MS else "MISSED"
    print(f"  target: after <= {TARGET_MEDIAN_MS:.0f} ms per call: {median_after:.2f} ms {verdict}")
    if median_after > TARGET_MEDIAN_MS:
        raise SystemExit(1)


def seed(table_names: list[str], items: int) -> None:
    """Straight into moto's tables (the API would take minutes for 100,000 items): usage-record-like items."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends["123456789012"]["us-east-1"]
    for number in range(items):
        table = backend.tables[table_names[number % len(table_names)]]
        table.put_item(
            {
                "pk": {"S": f"USER#seed-{number % 1000:04d}"},
                "sk": {"S": f"CALL#{number:08d}"},
                "model_id": {"S": MODEL_ID},
                "input_tokens": {"N": "120"},
                "output_tokens": {"N": "480"},
                "cost_micros": {"N": "1234"},
                "status": {"S": "settled"},
            }
        )


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
