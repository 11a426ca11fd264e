"""What the in-process benchmarks share: import path, fake AWS credentials, a signed-in app, percentiles,
emptying tables."""

import json
import os
import sys
from pathlib import Path
from typing import Any

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


def signed_in_app() -> tuple[Any, dict[str, str]]:
    """The app in-process against the moto stack the environment names, with one confirmed, signed-in user:
    the app and that user's token and key headers."""
    from fastapi.testclient import TestClient
    from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse

    from gateway import deps
    from gateway.main import create_app

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
    return app, {"authorization": f"Bearer {tokens['id_token']}", "x-api-key": registration["api_key"]}


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
