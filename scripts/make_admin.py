#!/usr/bin/env python3
"""Give a deployment its first admin: promote an existing user to Admin, or create the user.

    make admin EMAIL=ada@example.com ENV=local|dev|prod

The user pool comes from the environment's Terraform outputs. A new user gets a temporary password, printed
once here and never logged; Cognito asks for a new one at the first sign-in (the API's /login answers 403
`challenge_required` until then: set it with the AWS console or `aws cognito-idp admin-set-user-password`).
AWS credentials: the usual boto3 chain for dev/prod; the local emulator's for local.
"""

import argparse
import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parent.parent
ADMIN_GROUP = "Admin"


def terraform_outputs(env: str) -> dict:
    if env == "local":
        state_dir = Path(os.environ.get("LOCAL_AWS_DIR", REPO / ".local" / "aws")) / "terraform"
        outputs_file = state_dir / "outputs.json"
        if not outputs_file.exists():
            raise SystemExit("admin: no local stack outputs: run `make local` first")
        running = state_dir.parent / "instance-id"
        deployed = state_dir / "instance-id"
        if not running.exists() or running.read_text().strip() != deployed.read_text().strip():
            raise SystemExit(
                "admin: the running emulator is not the one `make local` deployed to: `make local`"
            )
        raw = json.loads(outputs_file.read_text())
    else:
        result = subprocess.run(
            [
                str(REPO / "scripts" / "terraform.sh"),
                f"-chdir={REPO / 'terraform' / 'envs' / env}",
                "output",
                "-json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"admin: terraform output failed for {env}: {result.stderr.strip()}")
        raw = json.loads(result.stdout)
    return {name: value["value"] for name, value in raw.items()}


def cognito_client(env: str, outputs: dict):
    if env == "local":
        port = os.environ.get("LOCAL_AWS_PORT", "4566")
        return boto3.client(
            "cognito-idp",
            endpoint_url=f"http://{os.environ.get('LOCAL_AWS_HOST', '127.0.0.1')}:{port}",
            region_name=outputs.get("region", "us-east-1"),
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 (the emulator's fixed credentials)
        )
    return boto3.client("cognito-idp", region_name=outputs.get("region"))


def temporary_password() -> str:
    # Meets the pool's policy: upper, lower, digit and symbol, 20 characters.
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    return core + secrets.choice(string.ascii_uppercase) + secrets.choice(string.ascii_lowercase) + "7!"


def promote(idp, pool_id: str, email: str) -> str:
    """The user's name after making sure they exist and are in Admin; prints a password only when created."""
    email = email.strip().lower()
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
        username = user["Username"]
        print(f"admin: {email} exists")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "UserNotFoundException":
            raise
        password = temporary_password()
        user = idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )["User"]
        username = user["Username"]
        print(f"admin: created {email}; temporary password (shown once): {password}")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=ADMIN_GROUP)
    print(f"admin: {email} is in {ADMIN_GROUP}")
    return username


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--env", default="local", choices=["local", "dev", "prod"])
    args = parser.parse_args()
    if "@" not in args.email:
        raise SystemExit("admin: EMAIL must be an email address")
    outputs = terraform_outputs(args.env)
    promote(cognito_client(args.env, outputs), outputs["user_pool_id"], args.email)


if __name__ == "__main__":
    sys.exit(main())
