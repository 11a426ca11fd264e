"""The FastAPI app behind every route, and the Lambda handler that wraps it."""

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
    publications,
)
from gateway.cors import cors_middleware
from gateway.errors import install_error_handlers
from gateway.logs import configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.services.audit import AuditMiddleware
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
        bots.router,
        publications.router,
        admin_users.router,
        admin_reports.router,
        admin_bots.router,
    ):
        app.include_router(router)
    return app


app = create_app()
handler = Mangum(app, lifespan="off")
