#!/usr/bin/env python3
"""Serve the gateway app under uvicorn against the local AWS target, with the local Lambda's settings.

    make serve [PORT=8000] [RELOAD=1]

The settings are the deployed local function's own environment (its GATEWAY_* variables, read from the
emulator's Lambda API; the function comes from the local root's Terraform outputs), with the emulator's
address as this machine reaches it. Only loopback is served: no API Gateway is in front, so its usage-plan
throttle and quota do not apply; the app checks tokens and API keys itself, as it does in the Lambda.
RELOAD=1 restarts the server when lambda_src changes (development).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from scripts.make_admin import AdminError, aws_session, local_endpoint, terraform_outputs

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SETTINGS_PREFIX = "GATEWAY_"
# The settings that hold the emulator's address as the function reaches it.
ENDPOINT_SETTINGS = ("GATEWAY_AWS_ENDPOINT_URL", "GATEWAY_JWKS_URL")
# The emulator accepts any credentials; these are the ones its scripts use.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class ServeError(SystemExit):
    pass


def served_environment(function_variables: dict[str, str], endpoint: str, region: str) -> dict[str, str]:
    """The function's GATEWAY_* settings, its AWS endpoint replaced by `endpoint` (http://host:port as this
    machine reaches the emulator), plus the emulator's credentials and region. Anything else the function's
    environment holds is the Lambda runtime's business and is left out."""
    settings = {name: value for name, value in function_variables.items() if name.startswith(SETTINGS_PREFIX)}
    if settings.get("GATEWAY_ENVIRONMENT") != "local":
        raise ServeError(
            "serve: the function is not a local deployment (GATEWAY_ENVIRONMENT="
            f"{settings.get('GATEWAY_ENVIRONMENT')!r}); `make serve` runs against the local target only"
        )
    function_endpoint = settings.get("GATEWAY_AWS_ENDPOINT_URL")
    if not function_endpoint:
        raise ServeError("serve: the function has no GATEWAY_AWS_ENDPOINT_URL: apply terraform/envs/local")
    for name in ENDPOINT_SETTINGS:
        value = settings.get(name)
        if value and value.startswith(function_endpoint):
            settings[name] = endpoint + value[len(function_endpoint) :]
    return {**settings, **LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}


def function_variables(lambda_client: Any, function_name: str) -> dict[str, str]:
    try:
        configuration = lambda_client.get_function_configuration(FunctionName=function_name)
    except (BotoCoreError, ClientError) as exc:
        raise ServeError(f"serve: reading {function_name} from the local target failed: {exc}") from None
    return configuration.get("Environment", {}).get("Variables", {})


def local_settings() -> dict[str, str]:
    try:
        outputs = terraform_outputs("local")
    except AdminError as exc:
        raise ServeError(str(exc.code).replace("admin:", "serve:", 1)) from None
    region = outputs["region"]
    lambda_client = aws_session("local", region).client("lambda")
    variables = function_variables(lambda_client, outputs["function_name"])
    return served_environment(variables, f"http://{local_endpoint(outputs)}", region)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or DEFAULT_PORT))
    parser.add_argument("--reload", action="store_true", default=os.environ.get("RELOAD") == "1")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be 1-65535")

    # Settings are read once per process from the environment (gateway/settings.py); a reloaded server
    # is a child process and inherits them.
    os.environ.update(local_settings())
    import uvicorn

    print(f"serve: http://{HOST}:{args.port} (local target at {local_endpoint()})", flush=True)
    uvicorn.run(
        "gateway.main:app",
        host=HOST,
        port=args.port,
        app_dir=str(REPO / "lambda_src"),
        reload=args.reload,
        reload_dirs=[str(REPO / "lambda_src")] if args.reload else None,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
