"""The Lambda invocation's deadline, for the request being served (none outside Lambda).

Mangum puts the Lambda context in the ASGI scope (`aws.context`); the request-context middleware turns its
remaining time into a monotonic deadline here, so a model call can stop in time to settle its metering.
"""

import time
from contextvars import ContextVar, Token
from typing import Any

_deadline: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)


def start(scope: dict[str, Any] | Any) -> Token[float | None]:
    """Set the deadline of the request in `scope`; reset with the token it returns."""
    context = scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + remaining() / 1000 if callable(remaining) else None
    return _deadline.set(deadline)


def reset(token: Token[float | None]) -> None:
    _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds until Lambda stops this invocation, or None when not running in Lambda."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
