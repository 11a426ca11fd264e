"""The FastAPI app behind every route, and the Lambda handler that wraps it."""

from fastapi import FastAPI
from mangum import Mangum

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
from gateway.errors import install_error_handlers
from gateway.logs import configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.services.audit import AuditMiddleware
from gateway.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="Bedrock Gateway", version=__version__)
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
