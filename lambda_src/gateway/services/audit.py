"""The audit trail: one event per user action, written in one place.

`AuditMiddleware` writes an event for every request that reached a route, named after the route
(`name=` on the decorator), with the caller, IP, user agent, outcome and error code. Routes add what
only they know (the resource, the subject of a failed login) through the `Audit` dependency, so a
new route cannot forget to be audited. Routes in `UNAUDITED_ROUTES` are not user actions.
"""

import logging
import uuid
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.clock import epoch_seconds, iso, utcnow
from gateway.errors import ERROR_CODE_STATE_KEY
from gateway.logs import request_id_var
from gateway.repositories.audit import AuditEvent, AuditRepository

logger = logging.getLogger(__name__)

# The console's page and files are not user actions: a page load would otherwise write a dozen events.
UNAUDITED_ROUTES = frozenset(
    {
        "health",
        "openapi",
        "swagger_ui_html",
        "swagger_ui_redirect",
        "redoc_html",
        "console.index",
        "console.asset",
    }
)
STATE_KEY = "audit"


@dataclass
class AuditContext:
    """What the route knows about the action; the middleware adds the rest."""

    user_id: str | None = None
    resource: str | None = None
    subject: str | None = None
    error: str | None = None
    action: str | None = None  # overrides the route name where one route serves several actions
    # The success event already written with a model call's settlement (see SettlementAudit).
    written: AuditEvent | None = None


def audit_context(request: Request) -> AuditContext:
    """The request's audit context (plain function; `Audit` is its dependency form)."""
    state = request.scope.setdefault("state", {})
    if STATE_KEY not in state:
        state[STATE_KEY] = AuditContext()
    return state[STATE_KEY]


async def _audit_dependency(request: Request) -> AuditContext:
    return audit_context(request)


Audit = Annotated[AuditContext, Depends(_audit_dependency)]


def _client_details(scope: Scope) -> tuple[str | None, str | None]:
    event = scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    headers = {
        key.decode().lower(): value.decode(errors="replace") for key, value in scope.get("headers", [])
    }
    client = scope.get("client")
    ip_address = identity.get("sourceIp") or (client[0] if client else None)
    user_agent = identity.get("userAgent") or headers.get("user-agent")
    return ip_address, user_agent


class AuditService:
    def __init__(self, repository: AuditRepository) -> None:
        self._repository = repository

    @property
    def repository(self) -> AuditRepository:
        return self._repository

    def record(self, event: AuditEvent) -> None:
        # An audit write that fails must not turn a served request into an error; it is logged
        # (without the event's content) so that operators see the gap.
        try:
            self._repository.add(event, epoch_seconds())
        except Exception:
            logger.exception("audit event not written", extra={"action": event.action})

    def settlement_audit(self, scope: Scope) -> "SettlementAudit":
        return SettlementAudit(self, scope)

    def from_request(self, scope: Scope, status: int) -> AuditEvent | None:
        route = scope.get("route")
        if route is None or getattr(route, "name", None) in UNAUDITED_ROUTES:
            return None
        state = scope.get("state") or {}
        context: AuditContext = state.get(STATE_KEY) or AuditContext()
        ip_address, user_agent = _client_details(scope)
        success = status < 400
        return AuditEvent(
            event_id=uuid.uuid4().hex,
            timestamp=iso(utcnow()),
            user_id=context.user_id,
            action=context.action or route.name,
            resource=context.resource,
            ip_address=ip_address,
            user_agent=user_agent,
            success=success,
            error=None if success else (context.error or state.get(ERROR_CODE_STATE_KEY) or f"http_{status}"),
            request_id=request_id_var.get(),
            subject=context.subject,
        )


class SettlementAudit:
    """A model call's success event, written in its settlement transaction (one round trip less); the
    middleware then writes nothing, unless the response still failed: it then writes the failure over it
    (same key), so there is one event per request either way."""

    def __init__(self, service: AuditService, scope: Scope) -> None:
        self._service = service
        self._scope = scope
        self._event: AuditEvent | None = None

    def item(self) -> dict[str, Any] | None:
        self._event = self._service.from_request(self._scope, 200)
        if self._event is None:
            return None
        return self._service.repository.transact_put(self._event, epoch_seconds())

    def written(self) -> None:
        """The settlement that carried item() went through."""
        state = self._scope.setdefault("state", {})
        if STATE_KEY not in state:
            state[STATE_KEY] = AuditContext()
        state[STATE_KEY].written = self._event


class AuditMiddleware:
    def __init__(self, app: ASGIApp, service_factory: Any) -> None:
        self.app = app
        self.service_factory = service_factory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture_status)
        finally:
            service: AuditService = self.service_factory()
            event = service.from_request(scope, status)
            context = (scope.get("state") or {}).get(STATE_KEY)
            written = context.written if context is not None else None
            if event is not None and written is not None:
                if event.success:
                    event = None  # written with the settlement
                else:  # the same key as the one written: replaces it
                    event = replace(event, event_id=written.event_id, timestamp=written.timestamp)
            if event is not None:
                service.record(event)
