"""Time in one place, so rules about windows and expiry can be tested at any instant."""

import secrets
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds: sorts correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sortable_id() -> str:
    """A time-ordered id (milliseconds in hex, then randomness): newest sorts last as text."""
    return f"{int(utcnow().timestamp() * 1000):012x}{secrets.token_hex(8)}"
