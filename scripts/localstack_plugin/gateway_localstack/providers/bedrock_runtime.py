"""`bedrock-runtime`: InvokeModel and Converse answered by the deterministic echo model (or forwarded to an
OpenAI-compatible server when LOCAL_BEDROCK_OPENAI_URL is set). Selected with
PROVIDER_OVERRIDE_BEDROCK_RUNTIME=gateway; the other operations (streaming, async, ApplyGuardrail) answer 501.
A guardrail named on InvokeModel or Converse is the local one (bedrock/guardrails.py).
The decisions live in gateway_localstack.bedrock.runtime (no LocalStack there); this only adapts them.
"""

from __future__ import annotations

import json
import os

from localstack.http import Response
from localstack.services.plugins import Service, aws_provider

from gateway_localstack.bedrock import guardrails, runtime
from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.providers.bedrock import service_error


def invoke_model(context, request):
    body = request.get("body")
    if hasattr(body, "read"):  # the parser hands a blob payload over as a stream
        body = body.read()
    try:
        # The guardrail travels in the X-Amzn-Bedrock-GuardrailIdentifier/-GuardrailVersion headers.
        guardrail = guardrails.named(request.get("guardrailIdentifier"), request.get("guardrailVersion"), "")
        invocation = runtime.invoke_model(request.get("modelId") or "", body, os.environ, guardrail=guardrail)
    except BedrockError as error:
        raise service_error(error) from None
    headers = invocation.headers()
    if context.request_id:
        headers["x-amzn-RequestId"] = context.request_id
    return Response(json.dumps(invocation.body), status=200, headers=headers)


def converse(context, request):
    try:
        return runtime.converse(request, os.environ)
    except BedrockError as error:
        raise service_error(error) from None


class BedrockRuntimeProvider:
    service = "bedrock-runtime"


@aws_provider(api="bedrock-runtime", name="gateway")
def bedrock_runtime():
    return Service.for_provider(
        BedrockRuntimeProvider(),
        dispatch_table_factory=lambda _: {"InvokeModel": invoke_model, "Converse": converse},
    )
