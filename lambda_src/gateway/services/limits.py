"""Exact limits per user: requests per minute and day, tokens per day and month, a monthly budget in USD.

A user's limits are those of the group that wins by precedence (services/policies.py), each overridable per
user by an admin. Before a model call the worst case is reserved (one request; the prompt's estimated tokens
plus the request's maximum output tokens, and their price) with conditional ADDs that fail when a limit would
be passed; after the call the reservation is settled to the real figures, or released when the call failed.
Windows are UTC calendar periods: the minute, the day and the month in which the call starts.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.aws import plain_number
from gateway.errors import TooManyRequestsError
from gateway.repositories.limits import WINDOW_TTL, Check, CounterMove, LimitRepository, Windows
from gateway.services.policies import policy_for
from gateway.services.pricing import MICROS_PER_USD
from gateway.settings import GroupPolicy, Limits

LIMIT_CODES = {
    "requests_per_minute": "rate_limited",
    "requests_per_day": "quota_exceeded",
    "tokens_per_day": "quota_exceeded",
    "tokens_per_month": "quota_exceeded",
    "budget_usd_per_month": "budget_exceeded",
}
# limit -> the window and the counter it holds
LIMIT_COUNTERS = {
    "requests_per_minute": ("MINUTE", "requests"),
    "requests_per_day": ("DAY", "requests"),
    "tokens_per_day": ("DAY", "tokens"),
    "tokens_per_month": ("MONTH", "tokens"),
    "budget_usd_per_month": ("MONTH", "cost_micros"),
}
OVERRIDABLE = tuple(Limits.model_fields)


class LimitExceededError(TooManyRequestsError):
    def __init__(self, name: str, limit: float, used: float, window: str, retry_after: int) -> None:
        unit = " USD" if name == "budget_usd_per_month" else ""
        super().__init__(
            f"The limit {name} ({limit}{unit}) would be passed: {used}{unit} used in {window}.",
            code=LIMIT_CODES[name],
            details={
                "limit_name": name,
                "limit": limit,
                "used": used,
                "window": window,
                "retry_after_seconds": retry_after,
            },
            headers={"Retry-After": str(retry_after)},
        )


def seconds_until_window_ends(window: str, now: datetime) -> int:
    now = now.astimezone(UTC)
    if window == "MINUTE":
        end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    elif window == "DAY":
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    # Whole seconds, rounded up: a client that waits them is in the next window (end > now, so at least 1).
    return math.ceil((end - now).total_seconds())


@dataclass(frozen=True)
class Reservation:
    user_id: str
    windows: Windows
    tokens: int
    cost_micros: int


class LimitService:
    def __init__(
        self, repository: LimitRepository, policies: dict[str, GroupPolicy], default: GroupPolicy
    ) -> None:
        self._repository = repository
        self._policies = policies
        self._default = default

    @property
    def table_name(self) -> str:
        return self._repository.table_name

    def group_limits(self, groups: tuple[str, ...]) -> Limits:
        return policy_for(groups, self._policies, self._default).limits

    def override_of(self, user_id: str, stored: dict[str, Any] | None = None) -> dict[str, Any]:
        """The user's override: `stored` if already read (the item's values), else read now."""
        if stored is None:
            stored = self._repository.override(user_id)
        return {k: plain_number(v) for k, v in stored.items() if k in OVERRIDABLE}

    def limits_for(
        self, user_id: str, groups: tuple[str, ...], stored_override: dict[str, Any] | None = None
    ) -> Limits:
        return self.group_limits(groups).model_copy(update=self.override_of(user_id, stored_override))

    def plan(
        self,
        user_id: str,
        groups: tuple[str, ...],
        tokens: int,
        cost_micros: int,
        now: datetime,
        stored_override: dict[str, Any] | None = None,
    ) -> tuple[Reservation, list[CounterMove]]:
        """The counter moves reserving one call, with their checks (none when the user has no limit);
        refuses at once what no window allows."""
        limits = self.limits_for(user_id, groups, stored_override)
        windows = Windows.at(now)
        moves = _moves(windows, tokens, cost_micros, limits, now)
        for move in moves:
            for check in move.checks:
                if check.amount > check.limit:  # the call alone is larger than the limit
                    current = self._repository.counters(user_id, windows)[move.sort_key]
                    raise self.refused(move, check, current, now)
        return Reservation(user_id, windows, tokens, cost_micros), moves

    def usage_moves(
        self, windows: Windows, tokens: int, cost_micros: int, now: datetime
    ) -> list[CounterMove]:
        """A call that reserved nothing, added to the counters once it is over (limits may show its use)."""
        return _moves(windows, tokens, cost_micros, Limits(), now)

    def settle_moves(self, reservation: Reservation, tokens: int, cost_micros: int) -> list[CounterMove]:
        token_delta, cost_delta = tokens - reservation.tokens, cost_micros - reservation.cost_micros
        return [
            CounterMove(reservation.windows.day, {"tokens": token_delta}),
            CounterMove(reservation.windows.month, {"tokens": token_delta, "cost_micros": cost_delta}),
        ]

    def release_moves(self, reservation: Reservation) -> list[CounterMove]:
        return [
            CounterMove(reservation.windows.minute, {"requests": -1}),
            CounterMove(reservation.windows.day, {"requests": -1, "tokens": -reservation.tokens}),
            CounterMove(
                reservation.windows.month,
                {"tokens": -reservation.tokens, "cost_micros": -reservation.cost_micros},
            ),
        ]

    def refused(
        self, move: CounterMove, check: Check | None, current: dict[str, Any], now: datetime
    ) -> Exception:
        """The error for a move whose checks failed; finds the check from the item's values when not given."""
        if check is None:
            check = next(
                (c for c in move.checks if int(current.get(c.attribute, 0)) + c.amount > c.limit),
                move.checks[0],
            )
        used: float = int(current.get(check.attribute, 0))
        limit: float = check.limit
        if check.name == "budget_usd_per_month":
            used, limit = used / MICROS_PER_USD, limit / MICROS_PER_USD
        window = LIMIT_COUNTERS[check.name][0]
        return LimitExceededError(
            check.name, limit, used, move.sort_key, seconds_until_window_ends(window, now)
        )

    def report(self, user_id: str, groups: tuple[str, ...], now: datetime) -> dict[str, Any]:
        limits = self.limits_for(user_id, groups)
        windows = Windows.at(now)
        counters = self._repository.counters(user_id, windows)
        window_keys = {"MINUTE": windows.minute, "DAY": windows.day, "MONTH": windows.month}
        entries = []
        used: dict[str, float] = {}
        for name, (window, counter) in LIMIT_COUNTERS.items():
            value = counters[window_keys[window]][counter]
            used[name] = value / MICROS_PER_USD if counter == "cost_micros" else value
            limit = getattr(limits, name)
            entries.append(
                {
                    "name": name,
                    "window": window_keys[window],
                    "limit": limit,
                    "used": used[name],
                    "remaining": None if limit is None else max(0, round(limit - used[name], 6)),
                    "resets_in_seconds": seconds_until_window_ends(window, now),
                }
            )
        budget = limits.budget_usd_per_month
        flagged = budget is not None and used["budget_usd_per_month"] >= budget * limits.budget_soft_threshold
        return {"limits": limits, "windows": entries, "budget_flagged": flagged}

    def set_override(self, user_id: str, values: dict[str, Any], at: str, by: str) -> None:
        Limits(**{k: v for k, v in values.items() if v is not None})  # refuses bad values before storing
        stored = {
            k: (Decimal(str(v)) if isinstance(v, float) else v) for k, v in values.items() if k in OVERRIDABLE
        }
        self._repository.set_override(user_id, stored, at, by)


def _moves(
    windows: Windows, tokens: int, cost_micros: int, limits: Limits, now: datetime
) -> list[CounterMove]:
    """One call's ADDs to its windows' counters, each with the checks of the limits that are set."""
    # Rounded, not truncated: int(2.01 * 1e6) is 2009999 (a 2.01 USD budget refused its last micro-dollar).
    budget = (
        None if limits.budget_usd_per_month is None else round(limits.budget_usd_per_month * MICROS_PER_USD)
    )
    return [
        CounterMove(windows.minute, {"requests": 1}, _checks([("requests_per_minute", "requests", 1,
                                                               limits.requests_per_minute)]),
                    _expires_at("MINUTE", now)),
        CounterMove(windows.day, {"requests": 1, "tokens": tokens}, _checks([
            ("requests_per_day", "requests", 1, limits.requests_per_day),
            ("tokens_per_day", "tokens", tokens, limits.tokens_per_day),
        ]), _expires_at("DAY", now)),
        CounterMove(windows.month, {"tokens": tokens, "cost_micros": cost_micros}, _checks([
            ("tokens_per_month", "tokens", tokens, limits.tokens_per_month),
            ("budget_usd_per_month", "cost_micros", cost_micros, budget),
        ]), _expires_at("MONTH", now)),
    ]  # fmt: skip


def _expires_at(window: str, now: datetime) -> int:
    """When a window item of a call made `now` may go (DynamoDB TTL): well after its window ends."""
    return int((now + WINDOW_TTL[window]).timestamp())


def _checks(candidates: list[tuple[str, str, int, int | None]]) -> list[Check]:
    return [
        Check(name, attribute, amount, limit)
        for name, attribute, amount, limit in candidates
        if limit is not None
    ]
