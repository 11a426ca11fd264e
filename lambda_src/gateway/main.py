"""The FastAPI app behind every route, and the Lambda handler that wraps it (and runs the reconciler on its
EventBridge schedule)."""

# ruff: noqa: E402 (the collector is paused before the imports below, see _COLLECTING)
import gc

# The cold import allocates a few hundred thousand objects that live as long as the process (FastAPI,
# pydantic's validators, botocore) and almost no garbage; the cyclic collector would walk all of them again at
# each of its passes, about 15% of the import. It is paused until the app is built, then those objects are
# frozen out of its later passes (gc.freeze: they are never collected, which they never would have been).
_COLLECTING = gc.isenabled()
gc.disable()

import math
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from mangum import Mangum
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from gateway import __version__, deps
from gateway.cors import cors_middleware
from gateway.errors import describe_errors, install_error_handlers
from gateway.fastapi_compat import skip_unused_pydantic_v1_import
from gateway.lazy_routers import LazyRouter, include_lazy_routers
from gateway.logs import configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.services.audit import AuditMiddleware
from gateway.settings import get_settings

# The app's routers in matching order: (module, the prefixes every path of its router starts with). Each is
# imported and included on the first request whose path starts with one of them (gateway/lazy_routers.py).
LAZY_ROUTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gateway.api.health", ("/health",)),
    ("gateway.api.auth", ("/register", "/login", "/refresh", "/logout")),
    ("gateway.api.me", ("/me",)),
    ("gateway.api.bedrock", ("/bedrock",)),
    ("gateway.api.conversations", ("/conversations",)),
    ("gateway.api.openai_compat", ("/v1/",)),
    ("gateway.api.openai_embeddings", ("/v1/",)),
    ("gateway.api.bots", ("/bots",)),
    ("gateway.api.publications", ("/bots/", "/published/")),
    ("gateway.api.admin_users", ("/admin/",)),
    ("gateway.api.admin_reports", ("/admin/",)),
    ("gateway.api.admin_bots", ("/admin/bots/",)),
    # The web console: its page is the root, its files under /console/. Last, so every API route matches
    # first; a path no other router answers includes it (its module needs nothing the app has not imported).
    ("gateway.api.console", ("/",)),
)


class GatewayApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # CORS outside every other layer: Starlette answers unexpected errors (500) and oversized bodies (413)
        # outside the user middleware, and a browser must be able to read those answers too.
        return cors_middleware(super().build_middleware_stack(), get_settings().cors_allowed_origins)

    @property
    def routes(self) -> list[BaseRoute]:
        """The whole route table: routers still waiting for their first request are included first."""
        include_lazy_routers(self)
        return self.router.routes

    def openapi(self) -> dict[str, Any]:
        include_lazy_routers(self)
        if self.openapi_schema is None:
            self.openapi_schema = describe_errors(super().openapi())
        return self.openapi_schema


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = GatewayApp(title="Bedrock Gateway", version=__version__)
    install_error_handlers(app)
    # Added last runs first: the request id exists before the audit event is written.
    app.add_middleware(AuditMiddleware, service_factory=deps.audit_service.get)
    app.add_middleware(RequestContextMiddleware)
    skip_unused_pydantic_v1_import()
    for module, prefixes in LAZY_ROUTERS:
        app.router.routes.append(LazyRouter(app, module, prefixes))
    if settings.include_routers_at_start:
        include_lazy_routers(app)
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
    from gateway.services.reconciler import Reconciler  # the schedule's invocations only

    timeout_seconds = math.ceil(context.get_remaining_time_in_millis() / 1000)
    reconciler = Reconciler(deps.usage_repository.get(), deps.limit_service.get())
    return reconciler.run(timedelta(seconds=timeout_seconds) + RECONCILE_MARGIN).as_dict()


app = create_app()
http_handler = Mangum(app, lifespan="off")
gc.freeze()
if _COLLECTING:
    gc.enable()


def handler(event: Any, context: Any) -> Any:
    """The function's entry point: the reconciler on its schedule, the API for everything else."""
    if is_scheduled_event(event):
        return reconcile(context)
    return http_handler(event, context)
