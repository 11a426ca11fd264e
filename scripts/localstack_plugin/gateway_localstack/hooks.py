"""Wires the plugin into a starting LocalStack (entry point `localstack.hooks.on_infra_start`) and stops the
Lambda workers when it shuts down. The services and the Lambda executor are plugins of their own (see
pyproject.toml); this covers what has no plugin namespace: an HTTP route, a request-chain handler and the
headers of gateway responses.
"""

from __future__ import annotations

import logging
import os

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


@hooks.on_infra_start()
def register() -> None:
    from localstack.services.apigateway.next_gen.execute_api import handlers
    from localstack.services.edge import ROUTER

    from .apigw.handlers import CognitoAuthorizerAndUsagePlans, apply_gateway_response_headers
    from .cognito.confirmation import MAILBOX_ROUTE, serve_mailbox
    from .cognito.jwks import ROUTE, serve_jwks

    ROUTER.add(ROUTE, serve_jwks)
    ROUTER.add(MAILBOX_ROUTE, serve_mailbox, methods=["GET"])
    if os.environ.get("GATEWAY_LOCALSTACK_APIGW", "1") == "1":
        handlers.preprocess_request.append(CognitoAuthorizerAndUsagePlans())
        apply_gateway_response_headers(handlers.gateway_exception_handler)
    LOG.info(
        "gateway_localstack: Cognito JWKS and mailbox routes and REST API authorizer/usage plans/gateway "
        "response headers registered"
    )


@hooks.on_infra_shutdown()
def stop_lambda_workers() -> None:
    from .lambda_executor.executor import stop_all

    stop_all()
