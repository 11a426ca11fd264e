"""The FastAPI app behind every route, and the Lambda handler that wraps it (and runs the reconciler on its
EventBridge schedule)."""

import math
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from mangum import Mangum
from starlette.types import ASGIApp

from gateway import __version__, deps
from gateway.api import (
    admin_bots,
    admin_reports,
    admin_users,
    auth,
    bedrock,
    bots,
    conversations,
    health,
    me,
    openai_compat,
    openai_embeddings,
    publications,
)
from gateway.cors import cors_middleware
from gateway.errors import install_error_handlers
from gateway.logs import configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.services.audit import AuditMiddleware
from gateway.services.reconciler import Reconciler
from gateway.settings import get_settings


class GatewayApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # CORS outside every other layer: Starlette answers unexpected errors (500) and oversized bodies (413)
        # outside the user middleware, and a browser must be able to read those answers too.
        return cors_middleware(super().build_middleware_stack(), get_settings().cors_allowed_origins)


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = GatewayApp(title="Bedrock Gateway", version=__version__)
    install_error_handlers(app)
    # Added last runs first: the request id exists before the audit event is written.
    app.add_middleware(AuditMiddleware, service_factory=deps.audit_service.get)
    app.add_middleware(RequestContextMiddleware)
    for router in (
        health.router,
        auth.router,
        me.router,
        bedrock.router,
        conversations.router,
        openai_compat.router,
        openai_embeddings.router,
        bots.router,
        publications.router,
        admin_users.router,
        admin_reports.router,
        admin_bots.router,
    ):
        app.include_router(router)
    return app


# Beyond the function's timeout a call still pending has no invocation left to settle it; the margin covers
# clock differences between invocations.
RECONCILE_MARGIN = timedelta(seconds=60)


def is_scheduled_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("source") == "aws.events"
        and event.get("detail-type") == "Scheduled Event"
    )


def reconcile(context: Any) -> dict[str, int]:
    """Settle or release the calls pending longer than any invocation of this function can last: at the
    start of an invocation its remaining time is the function's timeout."""
    timeout_seconds = math.ceil(context.get_remaining_time_in_millis() / 1000)
    reconciler = Reconciler(deps.usage_repository.get(), deps.limit_service.get())
    return reconciler.run(timedelta(seconds=timeout_seconds) + RECONCILE_MARGIN).as_dict()


app = create_app()
http_handler = Mangum(app, lifespan="off")


def handler(event: Any, context: Any) -> Any:
    """The function's entry point: the reconciler on its schedule, the API for everything else."""
    if is_scheduled_event(event):
        return reconcile(context)
    return http_handler(event, context)
