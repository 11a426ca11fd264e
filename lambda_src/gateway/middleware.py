"""Per-request context: a correlation id and one access log line per request."""

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import blocking, deadline
from gateway.logs import request_id_var

logger = logging.getLogger("gateway.access")

REQUEST_ID_HEADER = b"x-request-id"


def request_id_from_scope(scope: Scope) -> str:
    """API Gateway's request id when behind it (Mangum puts the event in the scope), else a new one."""
    event = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    return str(request_id) if request_id else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_scope(scope)
        token = request_id_var.set(request_id)
        deadline_token = deadline.start(scope)
        blocking_token = blocking.start(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            if blocking.has_loop_to_itself(scope):
                await self.app(scope, receive, send_with_request_id)
            else:
                await blocking.serve_alone(self.app, scope, receive, send_with_request_id)
        finally:
            # Method, path and status only: never headers, query strings or bodies.
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)
            deadline.reset(deadline_token)
            blocking.reset(blocking_token)
