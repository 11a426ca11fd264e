"""Time in one place, so rules about windows and expiry can be tested at any instant.

Every wall-clock read of the app's rules goes through utcnow(); tests replace the source with set_source()
(tests/support/clock.py), so no test depends on where in a minute, day or month it runs. Comparisons with
another system's clock (a Cognito token's `iat` against a sign-out) keep reading the system clock.
"""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    return _source()


def epoch_seconds() -> int:
    """utcnow() as whole seconds since the epoch (DynamoDB TTL attributes)."""
    return int(utcnow().timestamp())


def set_source(source: Callable[[], datetime] | None) -> None:
    """Read time from `source` (timezone-aware); None: the system clock again."""
    global _source
    _source = source or _system_now


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: sorts correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sortable_id() -> str:
    """A time-ordered id (milliseconds in hex, then randomness): newest sorts last as text."""
    return f"{int(utcnow().timestamp() * 1000):012x}{secrets.token_hex(8)}"
