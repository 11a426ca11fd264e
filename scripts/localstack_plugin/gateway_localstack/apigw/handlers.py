"""What LocalStack's community REST API (v1) chain lacks: the COGNITO_USER_POOLS authorizer, usage-plan
throttle/quota per API key, and the header mappings of gateway responses. One handler, appended to the
next-gen `preprocess_request` chain (the extension point LocalStack's RestApiGateway documents), which runs
after routing and before LocalStack's own API key validation. The order is AWS's: authorizer (401), then API
key (403, LocalStack's ApiKeyValidationHandler, called here so the key is known), then usage plan (429). The
decisions live in cognito_authorizer.py, usage_plans.py and gateway_responses.py; this module only reads the
request and the stored API configuration. Gateway responses: LocalStack's exception handler serializes a
refusal without its gateway response's `responseParameters`; apply_gateway_response_headers wraps it to add
them.
"""

from __future__ import annotations

import logging
import time

from localstack.http import Response
from localstack.services.apigateway.next_gen.execute_api import handlers as ls_handlers
from localstack.services.apigateway.next_gen.execute_api.api import (
    RestApiGatewayHandler,
    RestApiGatewayHandlerChain,
)
from localstack.services.apigateway.next_gen.execute_api.context import RestApiInvocationContext
from localstack.services.apigateway.next_gen.execute_api.gateway_response import (
    BaseGatewayException,
    QuotaExceededError,
    ThrottledError,
    UnauthorizedError,
    get_gateway_response_or_default,
)
from localstack.services.apigateway.next_gen.execute_api.handlers.gateway_exception import (
    GatewayExceptionHandler,
)
from localstack.services.apigateway.next_gen.execute_api.moto_helpers import (
    get_usage_plan_keys,
    get_usage_plans,
)

from ..cognito.jwks import moto_jwks
from . import cognito_authorizer, gateway_responses
from .usage_plans import Decision, Quota, Throttle, UsagePlanLimiter

LOG = logging.getLogger(__name__)


class CognitoAuthorizerAndUsagePlans(RestApiGatewayHandler):
    def __init__(self) -> None:
        self.keys = cognito_authorizer.KeySet(moto_jwks())
        self.limiter = UsagePlanLimiter(clock=time.time)

    def __call__(
        self, chain: RestApiGatewayHandlerChain, context: RestApiInvocationContext, response: Response
    ) -> None:
        method = context.resource_method or {}
        if method.get("authorizationType") == "COGNITO_USER_POOLS":
            self.authorize(context, method)
        if method.get("apiKeyRequired"):
            ls_handlers.api_key_validation_handler(chain, context, response)  # 403 unless the key is valid
            self.enforce_usage_plan(context, method)

    def authorize(self, context: RestApiInvocationContext, method: dict) -> None:
        authorizer = context.deployment.rest_api.authorizers.get(method.get("authorizerId") or "") or {}
        header = cognito_authorizer.header_name(authorizer.get("identitySource"))
        try:
            claims = cognito_authorizer.authorize(
                context.invocation_request["headers"].get(header),
                self.keys,
                authorizer.get("providerARNs") or [],
                method.get("authorizationScopes"),
                now=time.time(),
            )
        except cognito_authorizer.Unauthorized as exc:
            LOG.debug("Cognito authorizer %s refused the request: %s", authorizer.get("id"), exc)
            raise UnauthorizedError("Unauthorized") from exc
        context.context_variables["authorizer"] = {"claims": cognito_authorizer.claims_for_context(claims)}

    def enforce_usage_plan(self, context: RestApiInvocationContext, method: dict) -> None:
        key_id = (context.context_variables.get("identity") or {}).get("apiKeyId")
        for plan in get_usage_plans(account_id=context.account_id, region_name=context.region):
            stage = next(
                (
                    s
                    for s in plan.get("apiStages") or []
                    if s.get("apiId") == context.api_id and s.get("stage") == context.stage
                ),
                None,
            )
            if stage is None:
                continue
            keys = get_usage_plan_keys(
                usage_plan_id=plan["id"], account_id=context.account_id, region_name=context.region
            )
            if not any(k.get("id") == key_id for k in keys):
                continue
            method_key = f"{(context.resource or {}).get('path', '')}/{method.get('httpMethod', '')}"
            decision = self.limiter.check(
                plan["id"],
                key_id,
                throttle=Throttle.from_api(plan.get("throttle")),
                quota=Quota.from_api(plan.get("quota")),
                method_throttle=Throttle.from_api((stage.get("throttle") or {}).get(method_key)),
                method=method_key,
            )
            if decision is Decision.THROTTLED:
                raise ThrottledError("Too Many Requests")
            if decision is Decision.QUOTA_EXCEEDED:
                raise QuotaExceededError("Limit Exceeded")
            return


def apply_gateway_response_headers(exception_handler: GatewayExceptionHandler) -> None:
    """Make LocalStack's serializer of API Gateway's refusals add the headers their gateway response maps."""
    if getattr(exception_handler, "_gateway_response_headers", False):
        return
    build = exception_handler.create_exception_response

    def create_exception_response(exception: BaseGatewayException, context: RestApiInvocationContext):
        response = build(exception, context)
        if response is None or context.deployment is None:
            return response
        gateway_response = get_gateway_response_or_default(
            exception.type, context.deployment.rest_api.gateway_responses
        )
        request = context.invocation_request or {}
        request_headers = request.get("headers")
        headers = gateway_responses.response_headers(
            gateway_response.get("responseParameters"),
            lambda name: request_headers.get(name) if request_headers is not None else None,
            request.get("query_string_parameters") or {},
            request.get("path_parameters") or {},
        )
        for name, value in headers.items():
            response.headers[name] = value
        return response

    exception_handler.create_exception_response = create_exception_response
    exception_handler._gateway_response_headers = True
