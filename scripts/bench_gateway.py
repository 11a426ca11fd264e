#!/usr/bin/env python3
"""Benchmark: the gateway's own time per `POST /bedrock`, in-process, and the AWS requests it makes.

The Lambda handler (FastAPI + Mangum) is called with API Gateway proxy events carrying a real Cognito token
(RS256-verified) and API key, and a model stub that answers at once. Measured, median and p99 per call:
  - baseline: a bare FastAPI + Mangum app whose route does the same HTTP work (reads the JSON body, answers
    the model's JSON), through the same handler with the same event;
  - the gateway, with every step (key lookup, sign-out check, limits, usage record and roll-ups, audit event)
    running against an in-memory DynamoDB (scripts/bench_dynamodb_standin.py): botocore serializes, signs and
    parses each request, only the network is gone. Overhead = gateway - baseline.
    Targets: median overhead <= 2.0 ms, p99 overhead <= 5.0 ms;
  - the DynamoDB requests per call (the stand-in counts them: each is a round trip on AWS), next to the
    target: 2 for a caller without limits, 3 with;
  - the AWS requests per route besides the model's, counted by a botocore hook against moto, each next to
    its target (issue 14): POST /bedrock without a limit 2, with one 3, /v1/chat/completions 2, a
    conversation message 3 (its history adds one);
  - the gateway against moto in-process, for reference only (moto's speed, not DynamoDB's).
Exits non-zero when a figure misses its target.
"""

import argparse
import json
import os
import statistics
import time
from unittest import mock

from bench_support import empty_table, percentile, prepare, signed_in_app

prepare()

TARGET_MEDIAN_MS = 2.0
TARGET_P99_MS = 5.0
# AWS requests besides the model call: this benchmark's caller has no limit to reserve against.
TARGET_REQUESTS_WITHOUT_LIMIT = 2
# Per route (issue 14): one more with a limit to reserve against; a conversation turn reads its history.
TARGET_REQUESTS_PER_ROUTE = {
    "POST /bedrock, no limit": 2,
    "POST /bedrock, with a limit": 3,
    "POST /v1/chat/completions, no limit": 2,
    "POST /conversations/{id}/messages, no limit": 3,
}
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    if args.calls < 1000:
        parser.error("--calls must be at least 1000")

    from moto import mock_aws

    with mock_aws():
        missed = run(args.calls)
    if missed:
        raise SystemExit(f"bench_gateway: missed: {', '.join(missed)}")


def bare_app_handler(answer_body: dict) -> object:
    """The baseline: FastAPI + Mangum, one route doing the same HTTP work, nothing else."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from mangum import Mangum

    bare = FastAPI()

    @bare.post("/bedrock")
    async def invoke(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"model_id": body["modelId"], "output": answer_body})

    return Mangum(bare, lifespan="off")


def run(calls: int) -> list[str]:

    from tests.support.aws import build_stack
    from tests.support.bedrock import SHAPES, catalog_response
    from tests.support.events import LambdaContext, api_gateway_event

    stack = build_stack()
    os.environ.update(stack.environment())

    from gateway.providers.bedrock import BedrockModels, FoundationModel, Invocation

    app, headers = signed_in_app()

    shape = SHAPES["anthropic-messages"]
    answer = Invocation(body=shape.response, raw=json.dumps(shape.response), header_usage=None, latency_ms=0)
    catalog = {
        s["modelId"]: FoundationModel(s["modelId"], s["providerName"], s["modelName"], (), ())
        for s in catalog_response()["modelSummaries"]
    }

    def stub_invoke(self, model_id, body, *_timeout):
        return answer

    # The handler, as Lambda calls it, against the same app (dependency overrides included).
    from mangum import Mangum

    handler = Mangum(app, lifespan="off")
    body = {"modelId": MODEL_ID, "inferenceParameters": shape.request}

    def timed(label: str, call) -> list[float]:
        for i in range(20):  # warm-up
            call(f"{label}-warm-{i}")
        samples = []
        for i in range(calls):
            started = time.perf_counter()
            call(f"{label}-{i}")
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    with (
        mock.patch.object(BedrockModels, "invoke", stub_invoke),
        mock.patch.object(BedrockModels, "catalog", lambda self: catalog),
    ):
        stub = timed("stub", lambda _rid: stub_invoke(None, MODEL_ID, shape.request))

        def through_gateway(request_id: str) -> None:
            result = handler(
                api_gateway_event("POST", "/bedrock", body, headers, request_id), LambdaContext()
            )
            if result["statusCode"] != 200:
                raise SystemExit(f"bench: gateway answered {result['statusCode']}: {result['body']}")

        import boto3
        from bench_dynamodb_standin import DynamoDBStandIn
        from moto.core.botocore_stubber import BotocoreStubber

        store = DynamoDBStandIn()
        low_level = boto3.client("dynamodb")
        for variable in ("GATEWAY_TABLE_API_KEYS", "GATEWAY_TABLE_USAGE", "GATEWAY_TABLE_AUDIT"):
            name = stack.environment()[variable]
            store.seed(name, low_level.scan(TableName=name)["Items"])
        moto_call = BotocoreStubber.__call__

        def to_store(stubber, event_name, request, **kwargs):
            if ".dynamodb." in event_name or event_name.endswith(".dynamodb"):
                return store.answer(request)
            return moto_call(stubber, event_name, request, **kwargs)

        bare = bare_app_handler(shape.response)

        def through_bare(request_id: str) -> None:
            result = bare(api_gateway_event("POST", "/bedrock", body, headers, request_id), LambdaContext())
            if result["statusCode"] != 200:
                raise SystemExit(f"bench: bare app answered {result['statusCode']}")

        baseline = timed("bare", through_bare)
        with mock.patch.object(BotocoreStubber, "__call__", to_store):
            through_gateway("count-warm")
            store.requests.clear()
            through_gateway("count")
            per_call = dict(store.requests)
            without_dynamodb = timed("memory", through_gateway)

        def through_gateway_fresh_tables(request_id: str) -> None:
            if request_id.endswith("00"):
                for variable in ("GATEWAY_TABLE_USAGE", "GATEWAY_TABLE_AUDIT"):
                    empty_table(stack.environment()[variable])
            through_gateway(request_id)

        with_dynamodb = timed("moto", through_gateway_fresh_tables)
        requests_per_route = count_requests_per_route(handler, headers, body)

    base = statistics.median(baseline)
    print(f"POST /bedrock in-process, {calls} calls each (model stub answers at once)")
    print(f"  model stub alone:                median {statistics.median(stub):7.3f} ms")
    base_p99 = percentile(baseline, 0.99)
    print(f"  bare FastAPI + Mangum (baseline): median {base:7.3f} ms   p99 {base_p99:7.3f} ms")
    for label, samples in (
        ("gateway, in-memory DynamoDB:", without_dynamodb),
        ("gateway, moto (reference):", with_dynamodb),
    ):
        median = statistics.median(samples)
        print(
            f"  {label:<32} median {median:7.3f} ms   p99 {percentile(samples, 0.99):7.3f} ms"
            f"   overhead median {median - base:7.3f} ms"
        )
    missed = []
    overhead = statistics.median(without_dynamodb) - base
    overhead_p99 = percentile(without_dynamodb, 0.99) - percentile(baseline, 0.99)
    requests = sum(per_call.values())
    for label, value, target, unit in (
        ("median overhead", overhead, TARGET_MEDIAN_MS, " ms"),
        ("p99 overhead", overhead_p99, TARGET_P99_MS, " ms"),
        ("AWS requests per call (no limit)", requests, TARGET_REQUESTS_WITHOUT_LIMIT, ""),
    ):
        verdict = "ok" if value <= target else "MISSED"
        print(f"  target: {label} <= {target}{unit}: {value:.3f}{unit} {verdict}")
        if value > target:
            missed.append(label)
    print(f"  AWS requests per call: {per_call}")
    print("AWS requests per route besides the model's (botocore hook, moto; a warm process's second call)")
    for route, operations in requests_per_route.items():
        target = TARGET_REQUESTS_PER_ROUTE[route]
        verdict = "ok" if len(operations) <= target else "MISSED"
        listed = ", ".join(operation.removeprefix("dynamodb:") for operation in operations)
        print(f"  {route:<44} {len(operations)} ({listed})   target <= {target} {verdict}")
        if len(operations) > target:
            missed.append(f"AWS requests of {route}")
    return missed


def count_requests_per_route(handler, headers: dict[str, str], bedrock_body: dict) -> dict[str, list[str]]:
    """The AWS operations (besides the model's) of each route's second call, by a hook on botocore's one
    entry point for every client call."""
    import base64

    from botocore.client import BaseClient

    from gateway import deps
    from gateway.clock import iso, utcnow
    from gateway.domain import TokenUsage
    from gateway.providers.bedrock import BedrockModels, Conversation
    from tests.support.events import LambdaContext, api_gateway_event

    made: list[str] = []
    original = BaseClient._make_api_call

    def counted(client, operation, params):
        if not client.meta.service_model.service_name.startswith("bedrock"):
            made.append(f"{client.meta.service_model.service_name}:{operation}")
        return original(client, operation, params)

    def answer(*_args, **_kwargs):
        return Conversation(text="Paris", usage=TokenUsage(5, 3), stop_reason="end_turn", latency_ms=0)

    def send(method: str, path: str, payload: dict, route_headers: dict[str, str], request_id: str) -> dict:
        event = api_gateway_event(method, path, payload, route_headers, request_id)
        result = handler(event, LambdaContext())
        if result["statusCode"] >= 300:
            raise SystemExit(f"bench: {method} {path} answered {result['statusCode']}: {result['body']}")
        return json.loads(result["body"])

    chat = ({"authorization": f"Bearer {headers['x-api-key']}"}, {"model": MODEL_ID, "messages": [
        {"role": "user", "content": "Hello"}]})  # fmt: skip
    conversation = send("POST", "/conversations", {"model_id": MODEL_ID}, headers, "count-conversation")
    message = (f"/conversations/{conversation['conversation_id']}/messages", {"content": "Where?"})
    routes = {
        "POST /bedrock, no limit": ("/bedrock", bedrock_body, headers),
        "POST /v1/chat/completions, no limit": ("/v1/chat/completions", chat[1], chat[0]),
        "POST /conversations/{id}/messages, no limit": (message[0], message[1], headers),
        "POST /bedrock, with a limit": ("/bedrock", bedrock_body, headers),
    }
    counts: dict[str, list[str]] = {}
    with mock.patch.object(BedrockModels, "converse", answer):
        for index, (route, (path, payload, route_headers)) in enumerate(routes.items()):
            if route.endswith("with a limit"):  # a per-user override the key's batch read brings along
                claims = headers["authorization"].split()[1].split(".")[1]
                user_id = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["sub"]
                deps.limit_service.get().set_override(
                    user_id, {"requests_per_day": 10**6}, iso(utcnow()), "bench"
                )
            send("POST", path, payload, route_headers, f"count-{index}-warm")
            made.clear()
            with mock.patch.object(BaseClient, "_make_api_call", counted):
                send("POST", path, payload, route_headers, f"count-{index}")
            counts[route] = list(made)
    return counts


if __name__ == "__main__":
    main()
