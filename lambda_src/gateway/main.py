"""The FastAPI app behind every route, and the Lambda handler that wraps it."""

from fastapi import FastAPI
from mangum import Mangum

from gateway import __version__
from gateway.api import health
from gateway.errors import install_error_handlers
from gateway.logs import configure_logging
from gateway.middleware import RequestContextMiddleware
from gateway.settings import get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="Bedrock Gateway", version=__version__)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    return app


app = create_app()
handler = Mangum(app, lifespan="off")
