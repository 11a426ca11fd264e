"""Records every AWS operation the gateway's code makes, with the IAM actions and resources each one needs.

Test-only. Used in two places: in-process by the unit tests (tests/unit/conftest.py), and in the local
emulator's Lambda worker during the end-to-end run, which loads this file by path when
LAMBDA_WORKER_RECORD_AWS_CALLS names a JSONL file (scripts/localstack_plugin/.../worker.py). So: standard
library and botocore only.

The hook wraps botocore's BaseClient._make_api_call, the one method every client call goes through, whatever
session made the client (the app makes its own with boto3.session.Session(), so a handler on the default
session would miss them). A call is recorded even when it fails: it was attempted, so it needs the grant.

One JSON object per line:
    {"function": "gateway" | "post-confirmation" | ... (e2e: the Lambda function's name),
     "service", "operation", "region", "account",
     "needs": [{"action": "dynamodb:PutItem", "resource": "arn:..."}, ...],   # [] when IAM is not involved
     "iam": false when the operation is authorised by a user's token or is public (no IAM evaluated),
     "request_tags": {...}   # API Gateway creations: the tags sent (aws:RequestTag / aws:TagKeys)
     "created": "arn:..."    # API Gateway creations: what was made (its tags are the request's)
     "error": "..."}         # the call could not be described: the evaluation fails on it
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

# Operations AWS authorises without IAM: a user's access token, or none (each one's API reference says
# "Amazon Cognito doesn't evaluate AWS Identity and Access Management (IAM) policies in requests for this
# API operation").
COGNITO_IDP_WITHOUT_IAM = frozenset(
    {
        "AssociateSoftwareToken",
        "ChangePassword",
        "ConfirmDevice",
        "ConfirmForgotPassword",
        "ConfirmSignUp",
        "DeleteUser",
        "DeleteUserAttributes",
        "ForgetDevice",
        "ForgotPassword",
        "GetDevice",
        "GetUser",
        "GetUserAttributeVerificationCode",
        "GlobalSignOut",
        "InitiateAuth",
        "ListDevices",
        "ResendConfirmationCode",
        "RespondToAuthChallenge",
        "RevokeToken",
        "SetUserMFAPreference",
        "SetUserSettings",
        "SignUp",
        "UpdateDeviceStatus",
        "UpdateUserAttributes",
        "VerifySoftwareToken",
        "VerifyUserAttribute",
    }
)
# The identity pool's public operations (authorised by the login token in the request).
COGNITO_IDENTITY_WITHOUT_IAM = frozenset({"GetId", "GetCredentialsForIdentity", "GetOpenIdToken"})
STS_WITHOUT_IAM = frozenset({"GetCallerIdentity"})

# A TransactWriteItems / TransactGetItems entry is authorised as the single-item action it performs.
TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}
# bedrock-runtime operations and the IAM action that authorises them (Converse is InvokeModel).
BEDROCK_RUNTIME_ACTIONS = {
    "Converse": "bedrock:InvokeModel",
    "InvokeModel": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "InvokeModelWithResponseStream": "bedrock:InvokeModelWithResponseStream",
}
# Cross-region inference profile ids start with a geography: "us.anthropic...", "eu.", "apac.", "global."...
INFERENCE_PROFILE_PREFIXES = frozenset({"us", "eu", "apac", "us-gov", "global", "jp", "au", "ca"})
# API Gateway resources carrying tags; a usage plan's keys inherit the plan's tags (attribute-based access).
APIGATEWAY_CREATIONS = {"CreateApiKey": "/apikeys", "CreateUsagePlan": "/usageplans"}


def _need(action: str, resource: str) -> dict[str, str]:
    return {"action": action, "resource": resource}


def model_arns(model_id: str, region: str, account: str) -> list[str]:
    """The ARNs InvokeModel is authorised on: a foundation model, or an inference profile and its model."""
    if model_id.startswith("arn:"):
        return [model_id]
    prefix, _, rest = model_id.partition(".")
    if prefix in INFERENCE_PROFILE_PREFIXES and rest:
        # A profile routes to the foundation model in the destination regions: both are authorised.
        return [
            f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}",
            f"arn:aws:bedrock:{region}::foundation-model/{rest}",
        ]
    return [f"arn:aws:bedrock:{region}::foundation-model/{model_id}"]


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[dict[str, str]]:
    def table_arn(name: str) -> str:
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if operation in ("TransactWriteItems", "TransactGetItems"):
        needs = []
        for item in params.get("TransactItems", []):
            ((kind, body),) = item.items()
            needs.append(_need(TRANSACTION_ITEM_ACTIONS[kind], table_arn(body["TableName"])))
        return needs
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [_need(f"dynamodb:{operation}", table_arn(name)) for name in params.get("RequestItems", {})]
    if "TableName" in params:
        arn = table_arn(params["TableName"])
        if params.get("IndexName"):
            arn = f"{arn}/index/{params['IndexName']}"
        return [_need(f"dynamodb:{operation}", arn)]
    return [_need(f"dynamodb:{operation}", "*")]


def describe(
    service_model: Any, operation: str, params: dict[str, Any], result: Any, region: str, account: str
) -> dict[str, Any]:
    """What IAM must allow for this call (see the module docstring for the fields)."""
    service = service_model.service_name
    prefix = service_model.signing_name
    record: dict[str, Any] = {
        "service": service,
        "operation": operation,
        "region": region,
        "account": account,
        "iam": True,
    }
    needs: list[dict[str, str]]
    if (
        (service == "cognito-idp" and operation in COGNITO_IDP_WITHOUT_IAM)
        or (service == "cognito-identity" and operation in COGNITO_IDENTITY_WITHOUT_IAM)
        or (service == "sts" and operation in STS_WITHOUT_IAM)
    ):
        record["iam"] = False
        needs = []
    elif service == "dynamodb":
        needs = _dynamodb(operation, params, region, account)
    elif service == "cognito-idp":
        pool = params.get("UserPoolId")
        resource = f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool}" if pool else "*"
        needs = [_need(f"cognito-idp:{operation}", resource)]
    elif service == "cognito-identity":
        pool = params.get("IdentityPoolId")
        resource = f"arn:aws:cognito-identity:{region}:{account}:identitypool/{pool}" if pool else "*"
        needs = [_need(f"cognito-identity:{operation}", resource)]
    elif service == "apigateway":
        needs = _apigateway(service_model, operation, params, result, region, record)
    elif service == "bedrock-runtime":
        action = BEDROCK_RUNTIME_ACTIONS.get(operation, f"bedrock:{operation}")
        needs = [_need(action, arn) for arn in model_arns(params["modelId"], region, account)]
        # A call with a guardrail also needs ApplyGuardrail on it (Converse: guardrailConfig; InvokeModel: the
        # guardrailIdentifier parameter).
        guardrail = (params.get("guardrailConfig") or {}).get("guardrailIdentifier") or params.get(
            "guardrailIdentifier"
        )
        if guardrail:
            needs.append(
                _need("bedrock:ApplyGuardrail", f"arn:aws:bedrock:{region}:{account}:guardrail/{guardrail}")
            )
    elif service == "bedrock" and "modelIdentifier" in params:
        needs = [
            _need(f"bedrock:{operation}", arn) for arn in model_arns(params["modelIdentifier"], region, "")
        ]
    elif service == "bedrock-agent-runtime" and "knowledgeBaseId" in params:
        arn = f"arn:aws:bedrock:{region}:{account}:knowledge-base/{params['knowledgeBaseId']}"
        needs = [_need(f"bedrock:{operation}", arn)]
    else:
        needs = [_need(f"{prefix}:{operation}", "*")]
    record["needs"] = needs
    return record


def _apigateway(
    service_model: Any, operation: str, params: dict[str, Any], result: Any, region: str, record: dict
) -> list[dict[str, str]]:
    """API Gateway's management API is authorised as apigateway:<HTTP method> on the request's path."""
    from botocore.serialize import create_serializer

    request = create_serializer(service_model.metadata["protocol"]).serialize_to_request(
        params, service_model.operation_model(operation)
    )
    base = f"arn:aws:apigateway:{region}::"
    needs = [_need(f"apigateway:{request['method']}", base + request["url_path"])]
    if operation in APIGATEWAY_CREATIONS:
        record["request_tags"] = dict(params.get("tags") or {})
        if isinstance(result, dict) and result.get("id"):
            created = f"{base}{APIGATEWAY_CREATIONS[operation]}/{result['id']}"
            record["created"] = created
            if record["request_tags"]:
                # Tags given at creation are authorised as tagging the new resource (PUT /tags/{arn}).
                needs.append(_need("apigateway:PUT", f"{base}/tags/{quote(created, safe='')}"))
    return needs


class Recorder:
    """Appends one JSON line per recorded call; several processes may share the file (O_APPEND)."""

    def __init__(self, path: str, account: str, function_of: Callable[[], str | None]) -> None:
        self.path = path
        self.account = account
        self.function_of = function_of
        self._local = threading.local()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def wrap(self, original: Callable) -> Callable:
        recorder = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = None if getattr(recorder._local, "busy", False) else recorder.function_of()
            if function is None:
                return original(client, operation_name, api_params)
            result = None
            try:
                result = original(client, operation_name, api_params)
                return result
            finally:
                recorder._local.busy = True  # describing must not record itself
                try:
                    meta = client.meta
                    record = describe(
                        meta.service_model,
                        operation_name,
                        api_params,
                        result,
                        meta.region_name,
                        recorder.account,
                    )
                except Exception:
                    record = {
                        "service": client.meta.service_model.service_name,
                        "operation": operation_name,
                        "needs": [],
                        "iam": True,
                        "error": traceback.format_exc(limit=3),
                    }
                finally:
                    recorder._local.busy = False
                record["function"] = function
                recorder.write(record)

        _make_api_call.unwrapped = original  # type: ignore[attr-defined]
        return _make_api_call


def install(path: str, account: str, function_of: Callable[[], str | None]) -> Recorder:
    """Record from now on every client call for which function_of() names a function (None: not recorded)."""
    from botocore.client import BaseClient

    recorder = Recorder(path, account, function_of)
    original = BaseClient._make_api_call
    if hasattr(original, "unwrapped"):
        raise RuntimeError("AWS calls are already being recorded in this process")
    BaseClient._make_api_call = recorder.wrap(original)  # type: ignore[method-assign]
    return recorder


def uninstall() -> None:
    from botocore.client import BaseClient

    original = getattr(BaseClient._make_api_call, "unwrapped", None)
    if original is not None:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


# --- the Lambda worker's side (e2e) -------------------------------------------------------------------------


class LambdaRecorder:
    """Everything the function's process calls is the function's; the account comes from its invoked ARN."""

    def __init__(self, path: str) -> None:
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "unknown")
        self.recorder = install(path, account="", function_of=lambda: function)

    def invocation(self, invoked_function_arn: str | None) -> None:
        parts = (invoked_function_arn or "").split(":")
        if len(parts) > 4 and parts[4]:
            self.recorder.account = parts[4]


def install_in_lambda(path: str) -> LambdaRecorder:
    return LambdaRecorder(path)


# --- the unit tests' side -----------------------------------------------------------------------------------

TRIGGERS = {"post_confirmation.py": "post-confirmation", "pre_sign_up.py": "pre-sign-up"}


def function_calling(package_dir: str) -> str | None:
    """Which function's code made the current call: the first caller outside the AWS libraries must be in the
    app's package (a test's own set-up calls are not the function's); a trigger module on the stack names the
    trigger, else it is the gateway."""
    libraries = _library_dirs()
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(libraries):
        frame = frame.f_back
    if frame is None or not frame.f_code.co_filename.startswith(package_dir):
        return None
    triggers_dir = os.path.join(package_dir, "triggers") + os.sep
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(triggers_dir) and os.path.basename(filename) in TRIGGERS:
            return TRIGGERS[os.path.basename(filename)]
        frame = frame.f_back
    return "gateway"


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    import boto3
    import botocore
    import moto

    packages = (os.path.dirname(module.__file__) + os.sep for module in (botocore, boto3, moto))
    return (*packages, __file__)


def _unit_recording_dir() -> str:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get("GATEWAY_TEST_AWS_CALLS_DIR", os.path.join(repo, ".local", "aws-calls"))


def unit_recording() -> str:
    """Where the unit run records: $GATEWAY_TEST_AWS_CALLS_DIR/unit.jsonl (.local/aws-calls/ of the repo); in
    a pytest-xdist worker, that worker's own unit.<worker>.jsonl beside it (see gather_worker_recordings)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return os.path.join(_unit_recording_dir(), f"unit.{worker}.jsonl" if worker else "unit.jsonl")


def worker_recordings() -> list[Path]:
    """The pytest-xdist workers' recordings of the unit run, in the workers' order."""
    return sorted(Path(_unit_recording_dir()).glob("unit.gw*.jsonl"))


def gather_worker_recordings() -> None:
    """Append the workers' recordings to unit.jsonl, which the end-to-end IAM test reads, and remove them."""
    with open(unit_recording(), "ab") as gathered:
        for recording in worker_recordings():
            gathered.write(recording.read_bytes())
            recording.unlink()


def read(path: str) -> list[dict[str, Any]]:
    """The records of a recording file ([] when it does not exist)."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


class Recorded:
    """The calls recorded into `path` while a `with` block ran (read when it ends): counts round trips."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.calls: list[dict[str, Any]] = []

    def __enter__(self) -> Recorded:
        self._start = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        return self

    def __exit__(self, *exc_info: object) -> None:
        with open(self.path, "rb") as f:
            f.seek(self._start)
            self.calls = [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]

    def operations(self, *, besides_models: bool = True) -> list[str]:
        """`service:Operation` of each call, in order; without the model calls (Bedrock's) by default."""
        return [
            f"{call['service']}:{call['operation']}"
            for call in self.calls
            if not (besides_models and call["service"].startswith("bedrock"))
        ]
