#!/usr/bin/env python3
"""Benchmark: the gateway's own time per `POST /bedrock`, in-process.

The Lambda handler (FastAPI + Mangum) is called with API Gateway proxy events carrying a real Cognito token
(RS256-verified) and API key, and a model stub that answers at once. Printed: median and p99 per call for the
stub alone and through the gateway, as overhead in ms:
  - without DynamoDB: the repositories (key lookup, sign-out check, audit event, usage record and roll-ups)
    answer from memory, so the figure is the gateway's own work. Target: median overhead <= 5 ms.
  - with DynamoDB (moto in-process): every read and write made. moto copies a table for each transaction, so
    its cost grows with the table; the tables are emptied every 100 calls (untimed) to keep the figure about
    the gateway, and it is still moto's speed, not DynamoDB's.
"""

import argparse
import json
import os
import statistics
import time
from unittest import mock

from bench_support import empty_table, percentile, prepare

prepare()

TARGET_MEDIAN_MS = 5.0
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    if args.calls < 1000:
        parser.error("--calls must be at least 1000")

    from moto import mock_aws

    with mock_aws():
        run(args.calls)


def run(calls: int) -> None:
    from fastapi.testclient import TestClient

    from tests.support.aws import build_stack
    from tests.support.bedrock import SHAPES, catalog_response
    from tests.support.events import LambdaContext, api_gateway_event

    stack = build_stack()
    os.environ.update(stack.environment())

    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    from gateway import deps
    from gateway.main import create_app
    from gateway.providers.bedrock import BedrockModels, FoundationModel, Invocation
    from gateway.repositories.api_keys import ApiKeyRepository
    from gateway.repositories.audit import AuditRepository
    from gateway.repositories.usage import UsageRepository
    from gateway.services.api_keys import hash_key

    app = create_app()
    # The pool's keys from moto instead of over HTTP (an override would cost FastAPI a re-analysis per call).
    moto_jwks = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)
    deps.token_verifier.get()._jwks._fetch = lambda _url: moto_jwks
    client = TestClient(app)
    password = "Correct-horse-9"
    client.post("/register", json={"email": "bench@example.com", "password": password, "fullname": "Bench"})
    # moto in-process accepts any confirmation code.
    registration = client.post(
        "/register/confirm", json={"email": "bench@example.com", "code": "123456"}
    ).json()
    tokens = client.post("/login", json={"email": "bench@example.com", "password": password}).json()
    headers = {"authorization": f"Bearer {tokens['id_token']}", "x-api-key": registration["api_key"]}

    shape = SHAPES["anthropic-messages"]
    answer = Invocation(body=shape.response, raw=json.dumps(shape.response), header_usage=None, latency_ms=0)
    catalog = {
        s["modelId"]: FoundationModel(s["modelId"], s["providerName"], s["modelName"], (), ())
        for s in catalog_response()["modelSummaries"]
    }

    def stub_invoke(self, model_id, body):
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

        key_record = deps.api_key_repository.get().find_by_hash(hash_key(registration["api_key"]))
        in_memory = [
            mock.patch.object(ApiKeyRepository, "find_by_hash", lambda self, key_hash: key_record),
            mock.patch.object(ApiKeyRepository, "touch", lambda *a, **k: None),
            mock.patch.object(ApiKeyRepository, "signed_out_at", lambda self, user_id: 0),
            mock.patch.object(AuditRepository, "add", lambda *a, **k: None),
            mock.patch.object(UsageRepository, "begin", lambda *a, **k: None),
            mock.patch.object(UsageRepository, "settle", lambda *a, **k: True),
        ]
        for patch in in_memory:
            patch.start()
        without_dynamodb = timed("memory", through_gateway)
        for patch in in_memory:
            patch.stop()

        def through_gateway_fresh_tables(request_id: str) -> None:
            if request_id.endswith("00"):
                for variable in ("GATEWAY_TABLE_USAGE", "GATEWAY_TABLE_AUDIT"):
                    empty_table(stack.environment()[variable])
            through_gateway(request_id)

        with_dynamodb = timed("moto", through_gateway_fresh_tables)

    base = statistics.median(stub)
    print(f"POST /bedrock in-process, {calls} calls each (model stub answers at once)")
    print(f"  stub alone:                      median {base:7.3f} ms   p99 {percentile(stub, 0.99):7.3f} ms")
    for label, samples in (
        ("gateway, without DynamoDB:", without_dynamodb),
        ("gateway, with DynamoDB (moto):", with_dynamodb),
    ):
        median = statistics.median(samples)
        print(
            f"  {label:<32} median {median:7.3f} ms   p99 {percentile(samples, 0.99):7.3f} ms"
            f"   overhead median {median - base:7.3f} ms"
        )
    overhead = statistics.median(without_dynamodb) - base
    verdict = "ok" if overhead <= TARGET_MEDIAN_MS else "OVER"
    print(f"  target: median overhead without DynamoDB <= {TARGET_MEDIAN_MS} ms: {overhead:.3f} ms {verdict}")


if __name__ == "__main__":
    main()
