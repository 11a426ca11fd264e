#!/usr/bin/env python3
"""Run the metering reconciler once, now: invoke the gateway function with the event its schedule sends.

    make reconcile [ENV=local|dev|prod]

The function settles or releases the model calls left pending longer than its timeout and answers with the
counts. The function comes from the environment's Terraform outputs; AWS credentials as for `make admin`.
"""

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.make_admin import AdminError, aws_session, terraform_outputs

# What EventBridge sends for a schedule rule (the fields the handler looks at).
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def invoke_reconciler(lambda_client: Any, function_name: str) -> dict[str, Any]:
    response = lambda_client.invoke(
        FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(SCHEDULED_EVENT)
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise SystemExit(f"reconcile: {function_name} failed: {payload}")
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="local", choices=["local", "dev", "prod"])
    args = parser.parse_args(argv)
    try:
        outputs = terraform_outputs(args.env)
    except AdminError as exc:
        raise SystemExit(str(exc.code).replace("admin:", "reconcile:", 1)) from None
    function_name = outputs["function_name"]
    client = aws_session(args.env, outputs["region"]).client("lambda")
    try:
        counts = invoke_reconciler(client, function_name)
    except (BotoCoreError, ClientError) as exc:
        raise SystemExit(f"reconcile: invoking {function_name} failed: {exc}") from None
    print(f"reconcile: {function_name}: {json.dumps(counts, sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
