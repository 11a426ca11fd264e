"""Smoke test of the running local AWS target (scripts/local-aws.sh up), through boto3 and plain HTTP.

    .local/aws/emulator/bin/python scripts/localstack_plugin/smoke.py    # any Python with boto3 will do

Checks Cognito (pool, client, user, USER_PASSWORD_AUTH tokens, JWKS), cognito-identity, DynamoDB, a python3.8
Lambda (run on CPython 3.12 by the subprocess executor) and its CloudWatch log line, and a REST API with a
Cognito authorizer, an API key and usage plans: 401 / 403 / 200 / 429 (throttle) / 429 (quota), and Bedrock:
the catalog, InvokeModel per model family (native body and token-count headers), Converse, the errors and the
test hooks (`BEDROCK_ONLY=1` runs just these).
Every run uses fresh names, so it can be repeated against the same emulator. Exits 1 on the first failure.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = "http://{}:{}".format(
    os.environ.get("LOCAL_AWS_HOST", "127.0.0.1"), os.environ.get("LOCAL_AWS_PORT", "4566")
)
REGION = "us-east-1"
RUN = uuid.uuid4().hex[:8]
PASSWORD, TEMPORARY_PASSWORD = "Smoke-Passw0rd!", "Temp-Passw0rd!"

HANDLER = """
import json, sys

def handler(event, context):
    print("smoke-marker {run} python %d.%d" % sys.version_info[:2])
    claims = ((event.get("requestContext") or {{}}).get("authorizer") or {{}}).get("claims") or {{}}
    identity = (event.get("requestContext") or {{}}).get("identity") or {{}}
    body = {{"python": "%d.%d" % sys.version_info[:2], "user": claims.get("cognito:username"),
            "path": event.get("path"), "api_key_id": identity.get("apiKeyId")}}
    return {{"statusCode": 200, "headers": {{"Content-Type": "application/json"}}, "body": json.dumps(body)}}
"""


def client(service: str, **config):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - LocalStack's fixed test credentials
        config=Config(**config) if config else None,
    )


def ok(condition: bool, what: str, detail: object = "") -> None:
    if not condition:
        print(f"FAIL {what}: {detail}")
        sys.exit(1)
    print(f"ok   {what}")


def http(method: str, url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, headers=headers or {})  # noqa: S310 - local http
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def cognito() -> dict:
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=f"smoke-{RUN}")["UserPool"]
    app = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="smoke",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username="ada", TemporaryPassword=TEMPORARY_PASSWORD)
    idp.admin_set_user_password(UserPoolId=pool["Id"], Username="ada", Password=PASSWORD, Permanent=True)
    tokens = idp.initiate_auth(
        ClientId=app["ClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ada", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    ok(bool(tokens.get("IdToken") and tokens.get("AccessToken")), f"cognito-idp: pool {pool['Id']}, tokens")

    status, body = http("GET", f"{ENDPOINT}/{pool['Id']}/.well-known/jwks.json")
    keys = json.loads(body).get("keys", []) if status == 200 else []
    ok(
        status == 200 and keys and keys[0].get("kty") == "RSA",
        "cognito-idp: JWKS of the pool",
        (status, body),
    )
    status, _ = http("GET", f"{ENDPOINT}/{REGION}_doesnotexist{RUN}/.well-known/jwks.json")
    ok(status == 404, "cognito-idp: JWKS of an unknown pool is 404", status)
    return {"pool": pool, "client_id": app["ClientId"], "tokens": tokens}


def cognito_identity(idp: dict) -> None:
    identity = client("cognito-identity")
    provider = f"cognito-idp.{REGION}.amazonaws.com/{idp['pool']['Id']}"
    pool = identity.create_identity_pool(
        IdentityPoolName=f"smoke{RUN}",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": idp["client_id"]}],
    )
    logins = {provider: idp["tokens"]["IdToken"]}
    identity_id = identity.get_id(IdentityPoolId=pool["IdentityPoolId"], Logins=logins)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
    ok(
        bool(credentials.get("AccessKeyId")),
        "cognito-identity: create_identity_pool, get_id, get_credentials_for_identity",
    )


def dynamodb() -> None:
    ddb = client("dynamodb")
    table = f"smoke-{RUN}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "n": {"N": "42"}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "k"}}).get("Item")
    ok(item == {"pk": {"S": "k"}, "n": {"N": "42"}}, "dynamodb: table, put_item, get_item", item)


def lambda_function() -> str:
    iam, lam, logs = client("iam"), client("lambda"), client("logs")
    role = iam.create_role(
        RoleName=f"smoke-{RUN}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("app.py", HANDLER.format(run=RUN))
    name = f"smoke-{RUN}"
    started = time.monotonic()
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.8",  # what Terraform's AWS provider 3.39 accepts; run on CPython 3.12
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=10,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"path": "/direct"}))
    payload = json.loads(response["Payload"].read())
    body = json.loads(payload.get("body", "{}"))
    ok(
        payload.get("statusCode") == 200 and body.get("python") == "3.12" and "FunctionError" not in response,
        f"lambda: python3.8 function created and invoked on CPython {body.get('python')} "
        f"({time.monotonic() - started:.1f}s incl. create and cold start)",
        payload,
    )
    group, found = f"/aws/lambda/{name}", []
    for _ in range(50):
        try:
            events = logs.filter_log_events(logGroupName=group, filterPattern=f'"smoke-marker {RUN}"')[
                "events"
            ]
            found = [e["message"] for e in events]
        except logs.exceptions.ResourceNotFoundException:
            pass
        if found:
            break
        time.sleep(0.2)
    ok(bool(found), f"lambda: printed line in CloudWatch Logs {group}", found)
    return fn["FunctionArn"]


def rest_api(function_arn: str, idp: dict) -> None:
    apigw, lam = client("apigateway"), client("lambda")
    api = apigw.create_rest_api(name=f"smoke-{RUN}")
    root = next(r for r in apigw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/")
    proxy = apigw.create_resource(restApiId=api["id"], parentId=root["id"], pathPart="{proxy+}")
    authorizer = apigw.create_authorizer(
        restApiId=api["id"],
        name="cognito",
        type="COGNITO_USER_POOLS",
        providerARNs=[idp["pool"]["Arn"]],
        identitySource="method.request.header.Authorization",
    )
    apigw.put_method(
        restApiId=api["id"],
        resourceId=proxy["id"],
        httpMethod="ANY",
        authorizationType="COGNITO_USER_POOLS",
        authorizerId=authorizer["id"],
        apiKeyRequired=True,
    )
    apigw.put_integration(
        restApiId=api["id"],
        resourceId=proxy["id"],
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    deployment = apigw.create_deployment(restApiId=api["id"])
    for stage in ("v1", "v2"):
        apigw.create_stage(restApiId=api["id"], stageName=stage, deploymentId=deployment["id"])
    # v1: throttled to a burst of 3 (refilling every 10 s); v2: a quota of 2 a day
    throttled = apigw.create_usage_plan(
        name=f"throttle-{RUN}",
        apiStages=[{"apiId": api["id"], "stage": "v1"}],
        throttle={"rateLimit": 0.1, "burstLimit": 3},
    )
    quota = apigw.create_usage_plan(
        name=f"quota-{RUN}",
        apiStages=[{"apiId": api["id"], "stage": "v2"}],
        quota={"limit": 2, "period": "DAY"},
    )
    keys = {}
    for name, plan, enabled in (("v1", throttled, True), ("v2", quota, True), ("disabled", throttled, False)):
        key = apigw.create_api_key(name=f"{name}-{RUN}", enabled=enabled)
        apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        keys[name] = key["value"]

    def call(stage: str, token: str | None = None, key: str | None = None) -> tuple[int, str]:
        headers = {}
        if token:
            headers["Authorization"] = token
        if key:
            headers["x-api-key"] = key
        return http("GET", f"{ENDPOINT}/restapis/{api['id']}/{stage}/_user_request_/hello", headers)

    id_token = idp["tokens"]["IdToken"]
    expect = [
        ("no token, no key", call("v1"), 401, "Unauthorized"),
        ("no token, valid key (authorizer first)", call("v1", key=keys["v1"]), 401, "Unauthorized"),
        ("forged token", call("v1", id_token[:-4] + "AAAA", keys["v1"]), 401, "Unauthorized"),
        (
            "access token on a method without scopes",
            call("v1", idp["tokens"]["AccessToken"], keys["v1"]),
            401,
            "Unauthorized",
        ),
        ("token, no key", call("v1", id_token), 403, "Forbidden"),
        ("token, unknown key", call("v1", id_token, "not-a-key-" + RUN), 403, "Forbidden"),
        ("token, disabled key", call("v1", id_token, keys["disabled"]), 403, "Forbidden"),
    ]
    for what, (status, body), want_status, want_message in expect:
        ok(
            status == want_status and json.loads(body).get("message") == want_message,
            f"apigw: {what} -> {want_status}",
            (status, body),
        )

    status, body = call("v1", "Bearer " + id_token, keys["v1"])
    answer = json.loads(body) if status == 200 else {}
    ok(
        status == 200
        and answer.get("user") == "ada"
        and answer.get("path") == "/hello"
        and answer.get("api_key_id"),
        "apigw: token + key -> 200 through the Lambda, claims in requestContext.authorizer",
        (status, body),
    )
    status, body = http(
        "GET",
        f"{ENDPOINT}/_aws/execute-api/{api['id']}/v1/hello",
        {"Authorization": id_token, "x-api-key": keys["v1"]},
    )
    ok(
        status == 200,
        "apigw: the same through /_aws/execute-api/<api>/<stage>/ (LocalStack's current URL)",
        status,
    )
    statuses = [call("v1", id_token, keys["v1"]) for _ in range(2)]
    ok(
        [s for s, _ in statuses] == [200, 429]
        and json.loads(statuses[-1][1]).get("message") == "Too Many Requests",
        "apigw: throttle (burst 3, the 4th call) -> 429 Too Many Requests",
        statuses,
    )
    statuses = [call("v2", id_token, keys["v2"]) for _ in range(3)]
    ok(
        [s for s, _ in statuses] == [200, 200, 429]
        and json.loads(statuses[-1][1]).get("message") == "Limit Exceeded",
        "apigw: quota (2 a day) -> 429 Limit Exceeded",
        statuses,
    )


CLAUDE3 = "anthropic.claude-3-haiku-20240307-v1:0"
# model id -> (request for "say hello world", the reply text in the body, is the rest of the body right)
BEDROCK_FAMILIES = {
    CLAUDE3: (
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "say hello world"}]}],
        },
        lambda b: b["content"][0]["text"],
        lambda b: b["stop_reason"] == "end_turn" and b["usage"] == {"input_tokens": 3, "output_tokens": 4},
    ),
    "anthropic.claude-v2:1": (
        {"prompt": "\n\nHuman: say hello world\n\nAssistant:", "max_tokens_to_sample": 64},
        lambda b: b["completion"].strip(),
        lambda b: b["stop_reason"] == "stop_sequence" and b["stop"] == "\n\nHuman:",
    ),
    "amazon.titan-text-express-v1": (
        {"inputText": "say hello world", "textGenerationConfig": {"maxTokenCount": 64}},
        lambda b: b["results"][0]["outputText"],
        lambda b: b["results"][0]["completionReason"] == "FINISH" and b["inputTextTokenCount"] == 3,
    ),
    "us.amazon.nova-lite-v1:0": (
        {
            "messages": [{"role": "user", "content": [{"text": "say hello world"}]}],
            "inferenceConfig": {"maxTokens": 64},
        },
        lambda b: b["output"]["message"]["content"][0]["text"],
        lambda b: b["stopReason"] == "end_turn" and b["usage"]["totalTokens"] == 7,
    ),
    "meta.llama3-8b-instruct-v1:0": (
        {"prompt": "say hello world", "max_gen_len": 64},
        lambda b: b["generation"],
        lambda b: b["stop_reason"] == "stop" and b["generation_token_count"] == 4,
    ),
    "mistral.mistral-large-2402-v1:0": (
        {"prompt": "<s>[INST] say hello world [/INST]", "max_tokens": 64},
        lambda b: b["outputs"][0]["text"],
        lambda b: b["outputs"][0]["stop_reason"] == "stop",
    ),
    "cohere.command-text-v14": (
        {"prompt": "say hello world", "max_tokens": 64},
        lambda b: b["generations"][0]["text"],
        lambda b: b["generations"][0]["finish_reason"] == "COMPLETE" and b["prompt"] == "say hello world",
    ),
    "cohere.command-r-v1:0": (
        {"message": "say hello world", "max_tokens": 64},
        lambda b: b["text"],
        lambda b: b["finish_reason"] == "COMPLETE" and len(b["chat_history"]) == 2,
    ),
    "ai21.j2-ultra-v1": (
        {"prompt": "say hello world", "maxTokens": 64},
        lambda b: b["completions"][0]["data"]["text"],
        lambda b: b["completions"][0]["finishReason"]["reason"] == "endoftext",
    ),
    "eu.ai21.jamba-1-5-mini-v1:0": (
        {"messages": [{"role": "user", "content": "say hello world"}], "max_tokens": 64},
        lambda b: b["choices"][0]["message"]["content"],
        lambda b: b["choices"][0]["finish_reason"] == "stop" and b["usage"]["total_tokens"] == 7,
    ),
}


def bedrock() -> None:
    control, runtime = client("bedrock"), client("bedrock-runtime", retries={"max_attempts": 1})
    models = control.list_foundation_models()["modelSummaries"]
    ok(
        len(models) == 17 and all(m["modelLifecycle"] == {"status": "ACTIVE"} for m in models),
        f"bedrock: list_foundation_models ({len(models)} models)",
        models,
    )
    meta = [m["modelId"] for m in control.list_foundation_models(byProvider="meta")["modelSummaries"]]
    embedding = control.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    ok(
        meta == ["meta.llama3-8b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"]
        and [m["modelId"] for m in embedding][:1] == ["amazon.titan-embed-text-v2:0"],
        "bedrock: list_foundation_models byProvider, byOutputModality",
        (meta, embedding),
    )
    details = control.get_foundation_model(modelIdentifier=CLAUDE3)["modelDetails"]
    ok(
        details["modelArn"] == f"arn:aws:bedrock:{REGION}::foundation-model/{CLAUDE3}"
        and details["providerName"] == "Anthropic",
        "bedrock: get_foundation_model",
        details,
    )

    for model_id, (request, text_of, finished) in BEDROCK_FAMILIES.items():
        response = runtime.invoke_model(modelId=model_id, body=json.dumps(request))
        body = json.loads(response["body"].read())
        headers = response["ResponseMetadata"]["HTTPHeaders"]
        ok(
            text_of(body) == "Echo: say hello world"
            and finished(body)
            and response["contentType"] == "application/json"
            and headers.get("x-amzn-bedrock-output-token-count") == "4"
            and int(headers.get("x-amzn-bedrock-input-token-count", 0)) >= 3
            and "x-amzn-bedrock-invocation-latency" in headers,
            f"bedrock-runtime: invoke_model {model_id} (native body, token headers)",
            (body, headers),
        )
    response = runtime.invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "say hello world"})
    )
    body = json.loads(response["body"].read())
    ok(
        len(body["embedding"]) == 1024
        and body["inputTextTokenCount"] == 3
        and response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-bedrock-input-token-count") == "3",
        "bedrock-runtime: invoke_model amazon.titan-embed-text-v2:0",
        body,
    )
    long_prompt = " ".join(f"w{i}" for i in range(40))
    response = runtime.invoke_model(
        modelId=CLAUDE3,
        body=json.dumps(
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 3,
                "messages": [{"role": "user", "content": long_prompt}],
            }
        ),
    )
    body = json.loads(response["body"].read())
    ok(
        body["stop_reason"] == "max_tokens" and body["content"][0]["text"] == "Echo: w0 w1",
        "bedrock-runtime: max_tokens truncates the reply",
        body,
    )

    answer = runtime.converse(
        modelId="global.anthropic.claude-3-5-sonnet-20240620-v1:0",
        system=[{"text": "be brief"}],
        messages=[{"role": "user", "content": [{"text": "say hello world"}]}],
        inferenceConfig={"maxTokens": 64},
    )
    ok(
        answer["output"]["message"]["content"] == [{"text": "Echo: say hello world"}]
        and answer["stopReason"] == "end_turn"
        and answer["usage"] == {"inputTokens": 5, "outputTokens": 4, "totalTokens": 9}
        and "latencyMs" in answer["metrics"],
        "bedrock-runtime: converse",
        answer,
    )

    def error_of(call, **kwargs) -> tuple[str, int]:
        try:
            call(**kwargs)
        except ClientError as error:
            return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
        return "no error", 200

    say = [{"role": "user", "content": [{"text": "say hello world"}]}]
    expect = [
        (
            "unknown model",
            error_of(runtime.converse, modelId="anthropic.claude-0", messages=say),
            ("ValidationException", 400),
        ),
        (
            "malformed body",
            error_of(runtime.invoke_model, modelId=CLAUDE3, body=b"{no json"),
            ("ValidationException", 400),
        ),
        (
            "embeddings model via converse",
            error_of(runtime.converse, modelId="amazon.titan-embed-text-v2:0", messages=say),
            ("ValidationException", 400),
        ),
        (
            "[[bedrock:throttle]]",
            error_of(
                runtime.converse,
                modelId=CLAUDE3,
                messages=[{"role": "user", "content": [{"text": "hi [[bedrock:throttle]]"}]}],
            ),
            ("ThrottlingException", 429),
        ),
        (
            "[[bedrock:error]]",
            error_of(
                runtime.invoke_model,
                modelId="meta.llama3-8b-instruct-v1:0",
                body=json.dumps({"prompt": "hi [[bedrock:error]]"}),
            ),
            ("ModelErrorException", 424),
        ),
    ]
    for what, got, want in expect:
        ok(got == want, f"bedrock-runtime: {what} -> {want[0]} ({want[1]})", got)
    started = time.monotonic()
    runtime.converse(
        modelId=CLAUDE3, messages=[{"role": "user", "content": [{"text": "[[bedrock:sleep=1]]"}]}]
    )
    waited = time.monotonic() - started
    ok(waited >= 1.0, f"bedrock-runtime: [[bedrock:sleep=1]] answered after {waited:.1f}s", waited)


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def memory_report() -> None:
    """Resident memory of the emulator and of its Lambda workers (Linux /proc; host mode only)."""
    default_dir = Path(__file__).resolve().parents[2] / ".local" / "aws"
    try:
        pid = int((Path(os.environ.get("LOCAL_AWS_DIR", default_dir)) / "localstack.pid").read_text())
        emulator = _rss_mib(pid)
    except (OSError, ValueError):
        return
    workers = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                workers.append(_rss_mib(int(proc.name)))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    print(f"info emulator pid {pid}: {emulator} MiB resident; its Lambda workers: {workers} MiB")


def main() -> None:
    print(f"smoke test of {ENDPOINT} (run {RUN})")
    bedrock()
    if os.environ.get("BEDROCK_ONLY") == "1":
        print("all checks passed")
        return
    idp = cognito()
    cognito_identity(idp)
    dynamodb()
    function_arn = lambda_function()
    rest_api(function_arn, idp)
    memory_report()
    print("all checks passed")


if __name__ == "__main__":
    main()
