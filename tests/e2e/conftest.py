"""End-to-end: a local stack of its own (own port and state dir), real HTTP through its API Gateway.

The session starts the local AWS target, applies terraform/envs/local with the same dist/lambda.zip that
`make deploy` ships, and stops what it started, even when tests fail. Set E2E_LOCAL_AWS_PORT and
E2E_LOCAL_AWS_DIR to run two e2e stacks side by side.
"""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from localstack_client.session import Session as LocalStackSession
from openai import OpenAI

REPO = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("E2E_LOCAL_AWS_PORT", "4599"))
STATE_DIR = Path(os.environ.get("E2E_LOCAL_AWS_DIR", REPO / ".local" / "e2e"))
LOCAL_AWS_HOST = "127.0.0.1"
# Every AWS call the deployed functions make during this session (tests/support/aws_calls.py, recorded in the
# emulator's Lambda worker); test_iam_by_use.py, which runs last, evaluates them against the roles' policies.
AWS_CALLS = STATE_DIR / "aws-calls.jsonl"


@dataclass(frozen=True)
class LocalStack:
    api_url: str
    outputs: dict
    up_log: str

    def aws(self, service: str):
        """A boto3 client of the stack's emulator; localstack-client points it at host:port."""
        return LocalStackSession(
            localstack_host=f"{LOCAL_AWS_HOST}:{PORT}",
            region_name=self.outputs["region"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        ).client(service)


def local_env() -> dict[str, str]:
    """The environment that points the repo's scripts (local.sh, make admin) at this session's stack."""
    return {
        **os.environ,
        "LOCAL_AWS_HOST": LOCAL_AWS_HOST,
        "LOCAL_AWS_PORT": str(PORT),
        "LOCAL_AWS_DIR": str(STATE_DIR),
        "LAMBDA_ZIP": str(REPO / "dist" / "lambda.zip"),
        "LAMBDA_WORKER_RECORD_AWS_CALLS": str(AWS_CALLS),
        "LAMBDA_WORKER_AWS_CALL_RECORDER": str(REPO / "tests" / "support" / "aws_calls.py"),
    }


def pytest_collection_modifyitems(session, config, items):
    # The IAM evaluation needs every other test's calls of this session: it runs last.
    items.sort(key=lambda item: item.path.name == "test_iam_by_use.py")
    AWS_CALLS.parent.mkdir(parents=True, exist_ok=True)
    AWS_CALLS.write_text("")


def local_sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(REPO / "scripts" / "local.sh"), *args],
        env=local_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"scripts/local.sh {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
            f"{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def stack():
    if not (REPO / "dist" / "lambda.zip").exists():
        pytest.fail("dist/lambda.zip is missing: run `make package` (make e2e does)")
    try:
        up = local_sh("up")
        outputs = {name: value["value"] for name, value in json.loads(local_sh("outputs").stdout).items()}
        yield LocalStack(api_url=outputs["api_url"], outputs=outputs, up_log=up.stdout)
    finally:
        local_sh("down", check=False)


@pytest.fixture
def http(stack):
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


PASSWORD = "Correct-horse-9"


@dataclass(frozen=True)
class User:
    email: str
    registration: dict
    tokens: dict

    @property
    def headers(self) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.tokens['id_token']}",
            "x-api-key": self.registration["api_key"],
        }


def mailbox(email: str) -> list[dict]:
    """What Cognito would have emailed to `email`, oldest first (the local emulator keeps it)."""
    response = httpx.get(f"http://{LOCAL_AWS_HOST}:{PORT}/_gateway/mailbox/{email}", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def latest_code(email: str) -> str:
    messages = mailbox(email)
    assert messages, f"no message for {email}"
    return messages[-1]["code"]


def sign_up(http: httpx.Client, email: str) -> User:
    """Register, confirm with the code from the local mailbox, log in."""
    registered = http.post("/register", json={"email": email, "password": PASSWORD, "fullname": "E2E User"})
    assert registered.status_code == 202, registered.text
    confirmed = http.post("/register/confirm", json={"email": email, "code": latest_code(email)})
    assert confirmed.status_code == 201, confirmed.text
    logged_in = http.post("/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    return User(email=email, registration=confirmed.json(), tokens=logged_in.json())


def signed_up(stack: LocalStack, email: str) -> User:
    """A member of the stack, signed up through its API: what a module's `person` fixture returns."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        return sign_up(client, email)


def openai_client(stack: LocalStack, person: User, **options) -> OpenAI:
    """The official client as the README shows it: the person's key as its credential and in x-api-key, which
    API Gateway reads."""
    key = person.registration["api_key"]
    return OpenAI(base_url=f"{stack.api_url}/v1", api_key=key, default_headers={"x-api-key": key}, **options)


@pytest.fixture(scope="session")
def user(stack):
    return signed_up(stack, "e2e-first@example.com")


@pytest.fixture
def id_token(user):
    return user.tokens["id_token"]


@pytest.fixture(scope="session")
def admin(stack):
    """A member of Admin: signed up through the API, promoted in Cognito, signed in again."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        person = sign_up(client, "e2e-admin@example.com")
        stack.aws("cognito-idp").admin_add_user_to_group(
            UserPoolId=stack.outputs["user_pool_id"],
            Username=person.registration["user_id"],
            GroupName="Admin",
        )
        tokens = client.post("/login", json={"email": person.email, "password": PASSWORD}).json()
        return User(email=person.email, registration=person.registration, tokens=tokens)
