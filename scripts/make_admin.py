#!/usr/bin/env python3
"""Give a deployment its first admin: a user in Admin who can sign in at once and has an API key.

    make admin EMAIL=ada@example.com [NAME="Ada Lovelace"] ENV=local|dev|prod

- A new email: the user is created (email verified, no invitation sent) with a generated permanent password.
- A user who cannot sign in with a password of their own (FORCE_CHANGE_PASSWORD, RESET_REQUIRED or
  UNCONFIRMED: made in the console, by an older `make admin`, or never confirmed) gets a generated permanent
  password too; whatever password they had stops working.
- A user who signed up (CONFIRMED) is promoted and keeps their password and API keys.
A generated password is printed once, never logged; with it the script signs in through the deployed API
(POST /login) and makes an API key (POST /me/api-keys), printed once too.

The user pool and the API URL come from the environment's Terraform outputs. AWS credentials: the usual boto3
chain for dev/prod (cognito-idp DescribeUserPool, AdminGetUser, AdminCreateUser, AdminSetUserPassword,
AdminUpdateUserAttributes, AdminConfirmSignUp, AdminAddUserToGroup); the local emulator's for local, whose
state is LOCAL_AWS_DIR (.local/aws) and whose address is the one `make local` applied the stack to (its
Terraform outputs), so a stack started with another LOCAL_AWS_PORT is found without repeating it.
"""

import argparse
import contextlib
import json
import logging
import os
import secrets
import string
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from localstack_client.session import Session as LocalStackSession

REPO = Path(__file__).resolve().parent.parent
ADMIN_GROUP = "Admin"
REQUIRED_OUTPUTS = ("api_url", "region", "user_pool_id")
# Users who sign in already (their own password, or their identity provider); any other status gets a
# generated password.
KEEPS_OWN_SIGN_IN = {"CONFIRMED", "EXTERNAL_PROVIDER"}
# Shell- and JSON-safe symbols, so the printed curl command can be pasted as is.
PASSWORD_SYMBOLS = "-_.~"  # noqa: S105 (an alphabet, not a password)
MIN_PASSWORD_LENGTH = 24
API_TIMEOUT_SECONDS = 60.0  # a cold local Lambda takes a few seconds
LIVENESS_TIMEOUT_SECONDS = 5.0  # the emulator's health route answers at once, even when it is busy


class AdminError(SystemExit):
    """A failure the operator can act on: printed as one line, exit status 1, no traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(f"admin: {message}")


@dataclass(frozen=True)
class AdminAccount:
    username: str
    user_id: str  # the `sub`, which the app knows the user by
    email: str
    created: bool
    # Set only when this run gave the user a new password: the one time it exists in clear.
    password: str | None


# Where the stack is.


def local_endpoint(outputs: dict[str, Any] | None = None) -> str:
    """host:port of the local AWS target: where `make local` applied the stack (of these outputs, else of
    LOCAL_AWS_DIR), else LOCAL_AWS_HOST:LOCAL_AWS_PORT (127.0.0.1:4566)."""
    if outputs is None:
        try:
            raw = json.loads(_local_outputs_file().read_text())
            outputs = {name: value.get("value") for name, value in raw.items()}
        except (OSError, ValueError, AttributeError):
            outputs = {}
    endpoint = _endpoint_of(outputs)
    if endpoint:
        return endpoint
    return f"{os.environ.get('LOCAL_AWS_HOST', '127.0.0.1')}:{os.environ.get('LOCAL_AWS_PORT', '4566')}"


def _endpoint_of(outputs: dict[str, Any]) -> str | None:
    """host:port from the local root's outputs; stacks applied before `local_aws_endpoint` existed have it
    only as the start of `api_url` (http://host:port/restapis/...)."""
    url = outputs.get("local_aws_endpoint") or str(outputs.get("api_url") or "").partition("/restapis/")[0]
    host_port = url.removeprefix("http://").removeprefix("https://").rstrip("/")
    return host_port or None


def terraform_outputs(env: str) -> dict[str, Any]:
    if env == "local":
        raw = _local_outputs()
    else:
        terraform = os.environ.get("TF") or str(REPO / "scripts" / "terraform.sh")
        try:
            result = subprocess.run(
                [
                    *terraform.split(),
                    f"-chdir={REPO / 'terraform' / 'envs' / env}",
                    "output",
                    "-no-color",
                    "-json",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise AdminError(f"cannot run terraform ({terraform}): {exc}") from exc
        if result.returncode != 0:
            if "terraform init" in result.stderr:
                raise AdminError(
                    f"terraform/envs/{env} is not initialised here, so its outputs cannot be read: deploy "
                    f"with `make deploy ENV={env}` (or `terraform init -backend-config=backend.hcl` there)"
                )
            raise AdminError(f"`terraform output` failed for {env}: {result.stderr.strip()}")
        try:
            raw = json.loads(result.stdout or "{}")
        except json.JSONDecodeError as exc:
            raise AdminError(f"`terraform output -json` for {env} did not print JSON") from exc
        if not raw:
            raise AdminError(
                f"{env} has no Terraform outputs: nothing is deployed; run `make deploy ENV={env}`"
            )
    outputs = {name: value["value"] for name, value in raw.items()}
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise AdminError(
            f"the {env} Terraform outputs lack {', '.join(missing)}: apply the current terraform/envs/{env} "
            f"({'make local' if env == 'local' else f'make deploy ENV={env}'})"
        )
    return outputs


def _local_dir() -> Path:
    return Path(os.environ.get("LOCAL_AWS_DIR", REPO / ".local" / "aws"))


def _local_outputs_file() -> Path:
    return _local_dir() / "terraform" / "outputs.json"


def _local_outputs() -> dict[str, Any]:
    local_dir = _local_dir()
    outputs_file = _local_outputs_file()
    if not outputs_file.exists():
        raise AdminError(f"no local stack in {local_dir}: run `make local` first")
    try:
        raw = json.loads(outputs_file.read_text())
    except json.JSONDecodeError as exc:
        raise AdminError(f"{outputs_file} is not JSON: run `make local` again") from exc
    endpoint = _endpoint_of({name: value.get("value") for name, value in raw.items()})
    if endpoint and not _answers(f"http://{endpoint}/_localstack/health"):
        raise AdminError(
            f"nothing answers at http://{endpoint}, where `make local` put the stack of {local_dir}: "
            "start it again with `make local`"
        )
    running = local_dir / "instance-id"
    deployed = local_dir / "terraform" / "instance-id"
    if (
        not (running.exists() and deployed.exists())
        or running.read_text().strip() != deployed.read_text().strip()
    ):
        raise AdminError("the running emulator is not the one `make local` deployed to: run `make local`")
    return raw


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=LIVENESS_TIMEOUT_SECONDS).is_success
    except httpx.HTTPError:
        return False


def aws_session(env: str, region: str) -> Any:
    """boto3-style session: localstack-client's for the local target (it builds each client's endpoint from
    host:port), boto3's credential chain for AWS."""
    if env == "local":
        return LocalStackSession(
            localstack_host=local_endpoint(),
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 (the emulator's fixed credentials)
        )
    return boto3.session.Session(region_name=region)


# The user.


def generated_password(minimum_length: int = 8) -> str:
    """Meets any Cognito password policy: upper, lower, digit and symbol, at least 24 characters."""
    length = max(MIN_PASSWORD_LENGTH, minimum_length)
    alphabet = string.ascii_letters + string.digits + PASSWORD_SYMBOLS
    chars = [
        secrets.choice(string.ascii_uppercase),
        secrets.choice(string.ascii_lowercase),
        secrets.choice(string.digits),
        secrets.choice(PASSWORD_SYMBOLS),
    ]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@contextlib.contextmanager
def wire_logs_silenced() -> Iterator[None]:
    """botocore logs request bodies at DEBUG: keep a password out of any log, whatever the logging setup."""
    logger = logging.getLogger("botocore")
    level = logger.level
    logger.setLevel(max(level, logging.INFO))
    try:
        yield
    finally:
        logger.setLevel(level)


def _attribute(user: dict[str, Any], name: str) -> str | None:
    attributes = user.get("UserAttributes") or user.get("Attributes") or []
    return next((a["Value"] for a in attributes if a["Name"] == name), None)


def ensure_admin(idp: Any, pool_id: str, email: str, name: str | None = None) -> AdminAccount:
    """Makes sure `email` is a verified, enabled, sign-in-ready member of Admin; see the module docstring."""
    email = email.strip().lower()
    policy = (
        idp.describe_user_pool(UserPoolId=pool_id)["UserPool"].get("Policies", {}).get("PasswordPolicy", {})
    )
    created = False
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UserNotFoundException":
            raise
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
        if name:
            attributes.append({"Name": "name", "Value": name})
        # No TemporaryPassword: Cognito makes one nobody sees; the permanent one below replaces it.
        user = idp.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS", UserAttributes=attributes
        )["User"]
        created = True
    username = user["Username"]
    if not user.get("Enabled", True):
        raise AdminError(f"{email} is disabled: enable them first (POST /admin/enableUser or the console)")

    password = None
    status = user.get("UserStatus")
    if status not in KEEPS_OWN_SIGN_IN:
        if status == "UNCONFIRMED":
            idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
        password = generated_password(int(policy.get("MinimumLength", 8)))
        with wire_logs_silenced():
            idp.admin_set_user_password(
                UserPoolId=pool_id, Username=username, Password=password, Permanent=True
            )
    # Sign-in by email and password resets need a verified email; the operator vouches for it.
    if _attribute(user, "email_verified") != "true":
        idp.admin_update_user_attributes(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[{"Name": "email_verified", "Value": "true"}],
        )
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=ADMIN_GROUP)
    user_id = _attribute(user, "sub") or username
    return AdminAccount(username=username, user_id=user_id, email=email, created=created, password=password)


def apply_rights_now(session: Any, api_keys_table: str, user_id: str) -> bool:
    """Bumps the user's rights version, as the admin API does after a group change, so that every Lambda
    process drops its cached standing at the user's next request instead of within a minute (an operator
    without dynamodb:UpdateItem on the table gets the minute: False)."""
    try:
        session.client("dynamodb").update_item(
            TableName=api_keys_table,
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "SESSION"}},
            UpdateExpression="ADD rights_version :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except (BotoCoreError, ClientError):
        return False
    return True


# The API key, through the deployed API.


def _api_failure(step: str, response: httpx.Response) -> AdminError:
    try:
        body = response.json()
        detail = f"{body.get('code', '')}: {body.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        detail = response.text[:200]
    return AdminError(f"{step} answered {response.status_code} ({detail or 'no body'})")


def issue_api_key(http: httpx.Client, email: str, password: str) -> str:
    """Signs in (POST /login) and makes a key (POST /me/api-keys, which needs the token but no key)."""
    with wire_logs_silenced():
        login = http.post("/login", json={"email": email, "password": password})
    if login.status_code != 200:
        raise _api_failure("POST /login", login)
    created = http.post("/me/api-keys", headers={"authorization": f"Bearer {login.json()['id_token']}"})
    if created.status_code != 201:
        raise _api_failure("POST /me/api-keys", created)
    return str(created.json()["api_key"])


# The command.


def _next_steps(api_url: str, account: AdminAccount, api_key: str | None) -> str:
    password = "<the password above>" if account.password else "<your password>"
    signed_in = (
        "Next: log in for an ID token"
        if account.password
        else "Next: call an admin route with the ID token you have (or log in for one)"
    )
    lines = [
        "",
        f"{signed_in}; an admin route takes the token alone:",
        f"  curl -s -X POST {api_url}/login -H 'content-type: application/json' \\",
        f'       -d \'{{"email":"{account.email}","password":"{password}"}}\'',
        f'  curl -s {api_url}/admin/listUsers -H "authorization: Bearer $ID_TOKEN"',
    ]
    if api_key is None:
        lines += [
            "Your API key is the one /register/confirm gave you; a new one (needs only the token):",
            f'  curl -s -X POST {api_url}/me/api-keys -H "authorization: Bearer $ID_TOKEN"',
        ]
    return "\n".join(lines)


def run(env: str, email: str, name: str | None, http: httpx.Client | None = None) -> None:
    outputs = terraform_outputs(env)
    region, pool_id, api_url = outputs["region"], outputs["user_pool_id"], outputs["api_url"].rstrip("/")
    where = f"the local AWS target at {local_endpoint()}" if env == "local" else f"Cognito in {region}"
    try:
        session = aws_session(env, region)
        account = ensure_admin(session.client("cognito-idp"), pool_id, email, name)
    except EndpointConnectionError as exc:
        hint = "start it with `make local`" if env == "local" else "check the network and the region"
        raise AdminError(f"nothing answers at {where}: {hint}") from exc
    except NoCredentialsError as exc:
        raise AdminError(
            "no AWS credentials: set AWS_PROFILE or run `aws configure` / `aws sso login`"
        ) from exc
    except ClientError as exc:
        code, message = exc.response["Error"]["Code"], exc.response["Error"].get("Message", "")
        if code == "ResourceNotFoundException":
            raise AdminError(
                f"user pool {pool_id} does not exist at {where}: the Terraform outputs are stale; apply the "
                "stack again"
            ) from exc
        if code == "UserLambdaValidationException":
            raise AdminError(f"the user pool refused {email}: {message}") from exc
        raise AdminError(f"Cognito refused: {code}: {message}") from exc
    except BotoCoreError as exc:
        raise AdminError(f"AWS call failed: {exc}") from exc

    print(f"admin: {'created' if account.created else 'found'} {account.email}; member of {ADMIN_GROUP}")
    api_keys_table = (outputs.get("table_names") or {}).get("api_keys")
    if api_keys_table and apply_rights_now(session, api_keys_table, account.user_id):
        when = "at the next request, everywhere"
    else:
        when = "at once on /admin/*, within a minute elsewhere (each Lambda process caches a user's groups)"
    # The app reads groups from Cognito, never from the token's claims: no new login is needed.
    print(f"admin: the rights apply {when}, to any token {account.email} holds: no need to log in again")
    if account.password is None:
        print(f"admin: {account.email} keeps their password and API keys")
        print(_next_steps(api_url, account, None))
        return
    # Printed before the API is asked for a key: if that fails, the password is not lost.
    print(f"admin: password (shown once, never stored): {account.password}")
    own_client = http is None
    http = http or httpx.Client(base_url=api_url, timeout=API_TIMEOUT_SECONDS)
    try:
        api_key = issue_api_key(http, account.email, account.password)
    except httpx.HTTPError as exc:
        raise AdminError(
            f"the API at {api_url} did not answer ({type(exc).__name__}); sign in and make a key by hand:"
            f"{_next_steps(api_url, account, None)}"
        ) from exc
    finally:
        if own_client:
            http.close()
    print(f"admin: API key (shown once, never stored): {api_key}")
    print(_next_steps(api_url, account, api_key))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", default=None, help="full name, for a user this creates")
    parser.add_argument("--env", default="local", choices=["local", "dev", "prod"])
    args = parser.parse_args(argv)
    if "@" not in args.email:
        raise AdminError("EMAIL must be an email address")
    run(args.env, args.email, args.name or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
