"""Usage-plan limits per API key, decided as API Gateway (REST, v1) decides them. No LocalStack imports.

- Throttle: a token bucket per (plan, key) holding at most `burstLimit` tokens, refilled at `rateLimit` tokens
  per second; a request takes one token or is throttled (429 "Too Many Requests"). A burst of 0 lets nothing
  through, as on AWS. A per-method throttle of the plan's API stage (`"/path/METHOD"`) is a second bucket.
- Quota: at most `limit` requests per UTC calendar window (DAY from 00:00, WEEK from Monday 00:00, MONTH from
  the 1st 00:00); in the window where the limiter first saw the plan, `offset` requests are already used up
  ("the number of requests subtracted from the given limit in the initial time period"). Over the quota:
  429 "Limit Exceeded". Only requests that pass both checks are counted.

The counters live in memory: they restart with the emulator, like every other resource in it.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PERIODS = ("DAY", "WEEK", "MONTH")


class Decision(enum.Enum):
    ALLOW = "allow"
    THROTTLED = "throttled"  # 429 {"message": "Too Many Requests"}
    QUOTA_EXCEEDED = "quota_exceeded"  # 429 {"message": "Limit Exceeded"}


@dataclass(frozen=True)
class Throttle:
    rate: float  # tokens per second
    burst: int  # bucket size

    @classmethod
    def from_api(cls, settings: Mapping[str, Any] | None) -> Throttle | None:
        """`{"rateLimit": 10.0, "burstLimit": 20}` as the API returns it; None if the plan has no throttle."""
        if not settings or ("rateLimit" not in settings and "burstLimit" not in settings):
            return None
        return cls(rate=float(settings.get("rateLimit") or 0), burst=int(settings.get("burstLimit") or 0))


@dataclass(frozen=True)
class Quota:
    limit: int
    period: str
    offset: int = 0

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ValueError(f"quota period must be one of {PERIODS}, got {self.period!r}")

    @classmethod
    def from_api(cls, settings: Mapping[str, Any] | None) -> Quota | None:
        """`{"limit": 1000, "period": "DAY", "offset": 0}`; None when the plan has no quota."""
        if not settings or settings.get("limit") is None:
            return None
        return cls(
            limit=int(settings["limit"]),
            period=str(settings.get("period") or "DAY"),
            offset=int(settings.get("offset") or 0),
        )


def quota_window(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar window [start, end) of `period` that contains `now` (an aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        return day, day + timedelta(days=1)
    if period == "WEEK":
        start = day - timedelta(days=day.weekday())  # Monday
        return start, start + timedelta(days=7)
    if period == "MONTH":
        start = day.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start, end
    raise ValueError(f"quota period must be one of {PERIODS}, got {period!r}")


class TokenBucket:
    """Holds up to `burst` tokens (full at creation) and gains `rate` tokens per second."""

    def __init__(self, throttle: Throttle, now: float) -> None:
        self.throttle = throttle
        self._tokens = float(throttle.burst)
        self._last = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)  # a clock that steps back never mints tokens
        self._tokens = min(float(self.throttle.burst), self._tokens + elapsed * self.throttle.rate)
        self._last = max(self._last, now)

    def can_take(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= 1.0

    def take(self, now: float) -> bool:
        if not self.can_take(now):
            return False
        self._tokens -= 1.0
        return True


class UsagePlanLimiter:
    """Thread-safe throttle and quota state for every (usage plan, API key) pair seen."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._used: dict[tuple[str, str, datetime], int] = {}
        self._first_window: dict[
            tuple[str, str], datetime
        ] = {}  # (plan, period) -> start of its first window

    def check(
        self,
        plan_id: str,
        key_id: str,
        throttle: Throttle | None,
        quota: Quota | None,
        method_throttle: Throttle | None = None,
        method: str = "",
    ) -> Decision:
        """Decide one request and, when it is allowed, count it."""
        now = self._clock()
        with self._lock:
            buckets = [
                self._bucket((plan_id, key_id), throttle, now),
                self._bucket((plan_id, key_id, method), method_throttle, now),
            ]
            buckets = [b for b in buckets if b is not None]
            counter = None
            if quota is not None:
                window_start, _ = quota_window(quota.period, datetime.fromtimestamp(now, UTC))
                first = self._first_window.setdefault((plan_id, quota.period), window_start)
                allowed = quota.limit - (quota.offset if window_start == first else 0)
                counter = (plan_id, key_id, window_start)
                if self._used.get(counter, 0) >= allowed:
                    return Decision.QUOTA_EXCEEDED
            if not all(b.can_take(now) for b in buckets):
                return Decision.THROTTLED
            for b in buckets:
                b.take(now)
            if counter is not None:
                if counter not in self._used:  # a new window: drop the key's finished ones
                    self._forget_old_windows(counter)
                self._used[counter] = self._used.get(counter, 0) + 1
            return Decision.ALLOW

    def _bucket(self, key: tuple[str, ...], throttle: Throttle | None, now: float) -> TokenBucket | None:
        if throttle is None:
            self._buckets.pop(key, None)
            return None
        bucket = self._buckets.get(key)
        if bucket is None or bucket.throttle != throttle:  # a changed plan starts a fresh bucket
            bucket = self._buckets[key] = TokenBucket(throttle, now)
        return bucket

    def _forget_old_windows(self, current: tuple[str, str, datetime]) -> None:
        plan_id, key_id, start = current
        for counter in [c for c in self._used if c[:2] == (plan_id, key_id) and c[2] < start]:
            del self._used[counter]
