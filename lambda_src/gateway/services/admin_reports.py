"""What admins may read about a user: conversations and prompts, costs by model, the audit trail.

Every listing is a key query (no Scan), paged with signed tokens. Parameters are checked strictly: a bad date,
an end before its start, a limit out of range or a foreign token is a 400 naming the problem.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gateway.aws import plain_number
from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError
from gateway.providers.cognito import CognitoUserPool, UserNotFoundError
from gateway.repositories.api_keys import ApiKeyRepository
from gateway.repositories.audit import AuditEvent, AuditRepository
from gateway.repositories.bots import BotRepository
from gateway.repositories.conversations import ConversationItem, ConversationRepository, MessageItem
from gateway.repositories.usage import UsageRepository
from gateway.services.bots import bot_of_subject
from gateway.services.conversations import ConversationNotFoundError
from gateway.services.paging import PageTokens
from gateway.services.pricing import micros_to_usd

_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_HOUR = re.compile(r"[0-9]{10}")
# Dates outside these years are refused: nothing is recorded there, and window arithmetic near year 1 or
# 9999 would overflow Python's datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
SUPPORTED_YEARS = f"{EARLIEST.year} to {LATEST.year - 1}"

MAX_HOURS = 31 * 24
DEFAULT_AUDIT_WINDOW = timedelta(days=30)


def invalid(message: str) -> BadRequestError:
    return BadRequestError(message, code="invalid_parameter")


def _supported(moment: datetime, name: str, value: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise invalid(f"{name}: {value!r} is outside the supported years {SUPPORTED_YEARS}.")
    return moment


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 (a zone-less time is UTC) or epoch seconds."""
    if value is None or value == "":
        return None
    try:
        if re.fullmatch(r"\d{1,12}(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise invalid(f"{name}: expected ISO 8601 or epoch seconds, got {value!r}.") from exc
    return _supported(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), name, value)


def parse_period(value: str | None, name: str) -> str:
    if not value or not _PERIOD.fullmatch(value):
        raise invalid(f"{name}: expected YYYY-MM, got {value!r}.")
    if not EARLIEST.year <= int(value[:4]) < LATEST.year:
        raise invalid(f"{name}: {value!r} is outside the supported years {SUPPORTED_YEARS}.")
    return value


def check_limit(value: int | None, default: int, maximum: int = 1000) -> int:
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise invalid(f"limit: must be from 1 to {maximum}, got {value}.")
    return value


def _month_bounds(first: str, last: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(first, "%Y-%m").replace(tzinfo=UTC)
    end_month = datetime.strptime(last, "%Y-%m").replace(tzinfo=UTC)
    end = (end_month + timedelta(days=32)).replace(day=1)
    return start, end


def ranking_period(start: str | None, end: str | None, today: datetime) -> tuple[str, datetime, datetime]:
    """The period users are ranked over: one UTC day or one month, from inclusive YYYYMMDDHH bounds."""
    first = _hour(start, "start") if start else today.replace(hour=0, minute=0, second=0, microsecond=0)
    last = _hour(end, "end") if end else first.replace(hour=23)
    if last < first:
        raise invalid("end is before start.")
    if first.hour == 0 and last.hour == 23 and first.date() == last.date():
        return f"DAY#{first:%Y-%m-%d}", first, last + timedelta(hours=1)
    month_end = (first.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(hours=1)
    if first.day == 1 and first.hour == 0 and last == month_end:
        return f"MONTH#{first:%Y-%m}", first, last + timedelta(hours=1)
    raise NotOnePeriodError(first, last)


class NotOnePeriodError(BadRequestError):
    """A window that is not one day or one month: ranked from its hours instead (at most MAX_HOURS)."""

    code = "invalid_parameter"

    def __init__(self, first: datetime, last: datetime) -> None:
        super().__init__("The window is neither one UTC day nor one calendar month.")
        self.first, self.last = first, last

    def hours(self) -> list[str]:
        count = int((self.last - self.first).total_seconds() // 3600) + 1
        if count > MAX_HOURS:
            raise invalid(
                f"A window other than one UTC day or calendar month spans at most {MAX_HOURS // 24} days."
            )
        return [f"HOUR#{self.first + timedelta(hours=index):%Y-%m-%dT%H}" for index in range(count)]


def _hour(value: str, name: str) -> datetime:
    if not _HOUR.fullmatch(value):
        raise invalid(f"{name}: expected YYYYMMDDHH, got {value!r}.")
    try:
        moment = datetime.strptime(value, "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError as exc:
        raise invalid(f"{name}: {value!r} is not a valid hour.") from exc
    return _supported(moment, name, value)


@dataclass(frozen=True)
class UserRow:
    user_id: str  # or a published bot's metering subject (bot:<bot id>)
    email: str | None
    first_name: str | None
    last_name: str | None
    last_sign_in: str | None
    cost_micros: int
    input_tokens: int
    output_tokens: int
    conversation_count: int
    bot_id: str | None = None  # when the row is a published bot's calls
    bot_title: str | None = None


@dataclass(frozen=True)
class ModelCost:
    model_id: str
    cost_micros: int
    input_tokens: int
    output_tokens: int
    requests: int


@dataclass(frozen=True)
class UserCost:
    user_id: str
    cost_micros: int
    input_tokens: int
    output_tokens: int
    conversation_count: int
    by_model: list[ModelCost]


class AdminReports:
    def __init__(
        self,
        conversations: ConversationRepository,
        usage: UsageRepository,
        audit: AuditRepository,
        pages: PageTokens,
        user_pool: CognitoUserPool,
        sessions: ApiKeyRepository,
        bots: BotRepository,
    ) -> None:
        self._conversations = conversations
        self._usage = usage
        self._audit = audit
        self._pages = pages
        self._pool = user_pool
        self._sessions = sessions
        self._bots = bots

    def users_by_cost(
        self, start: str | None, end: str | None, limit: int | None, include_all: bool, token: str | None
    ) -> tuple[list[UserRow], str | None]:
        """Users of the window, highest cost first; with include_all, then the users without use.

        One UTC day or one month reads the per-period ranking a page at a time (the reads grow with the page,
        not with the table). Any other window (up to 31 days) sums the users' hourly totals: its reads grow
        with the users active in the window, and a page is an offset into the sorted sums.
        """
        size = check_limit(limit, 100)
        try:
            period, _, _ = ranking_period(start, end, utcnow())
        except NotOnePeriodError as window:
            ranked = self._hourly_sums(window.hours())

            def ranked_page(after: Any) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
                offset = int(after or 0)
                following = offset + size if offset + size < len(ranked) else None
                return ranked[offset : offset + size], following

            active = {user_id for user_id, _ in ranked}

            def has_use(user_id: str) -> bool:
                return user_id in active

            period = f"HOURS#{start}#{end}"
        else:

            def ranked_page(after: Any) -> tuple[list[tuple[str, dict[str, Any]]], Any]:
                items, last = self._usage.ranked_totals(period, size, after)
                return [(item["user_id"], item) for item in items], last

            def has_use(user_id: str) -> bool:
                return "gsi2pk" in (self._usage.total(user_id, period) or {})

        scope = f"users:{period}:{include_all}"
        state = json.loads(self._pages.decode(token, scope) or '{"phase": "ranked"}')
        rows: list[UserRow] = []
        if state["phase"] == "ranked":
            page, following = ranked_page(state.get("after"))
            rows = self._rows(page)
            if following is not None:
                return rows, self._next({"phase": "ranked", "after": following}, scope)
            if not include_all:
                return rows, None
            if len(rows) >= size:
                return rows, self._next({"phase": "all"}, scope)
            state = {"phase": "all"}
        listing = self._pool.raw(
            "list_users",
            Limit=min(size - len(rows), 60),
            **({"PaginationToken": state["after"]} if state.get("after") else {}),
        )
        idle = []
        for user in listing.get("Users", []):
            user_id = next(
                (a["Value"] for a in user.get("Attributes", []) if a["Name"] == "sub"), user["Username"]
            )
            if not has_use(user_id):  # users with use were listed in the ranked phase
                idle.append((user_id, {}))
        rows += self._rows(idle)
        following = listing.get("PaginationToken")
        return rows, self._next({"phase": "all", "after": following}, scope) if following else None

    def _hourly_sums(self, hours: list[str]) -> list[tuple[str, dict[str, Any]]]:
        sums: dict[str, dict[str, Any]] = {}
        counters = ("cost_micros", "input_tokens", "output_tokens", "conversations")
        for hour in hours:
            for item in self._usage.ranked_all(hour):
                total = sums.setdefault(item["user_id"], dict.fromkeys(counters, 0))
                for name in counters:
                    total[name] += int(item.get(name, 0))
        return sorted(sums.items(), key=lambda entry: (-entry[1]["cost_micros"], entry[0]))

    def _rows(self, totals: list[tuple[str, dict[str, Any]]]) -> list[UserRow]:
        """One row per user from their period total, with names and last sign-in read in one batch (and the
        titles of the published bots among them in another)."""
        bot_ids = {user_id: bot_of_subject(user_id) for user_id, _ in totals}
        profiles = self._sessions.profiles([user_id for user_id, _ in totals if not bot_ids[user_id]])
        titles = self.bot_titles([bot_id for bot_id in bot_ids.values() if bot_id])
        rows = []
        for user_id, total in totals:
            profile = profiles.get(user_id) or {}
            email, name = profile.get("email"), (profile.get("fullname") or "").strip()
            bot_id = bot_ids[user_id]
            if email is None and bot_id is None:  # a user made outside the API: ask Cognito
                try:
                    cognito = self._pool.get_user(user_id)
                    email, name = cognito.email, (cognito.fullname or "").strip()
                except UserNotFoundError:
                    pass
            first, _, last = name.partition(" ")
            rows.append(
                UserRow(
                    user_id=user_id,
                    email=email,
                    first_name=first or None,
                    last_name=last or None,
                    last_sign_in=profile.get("last_sign_in_at"),
                    cost_micros=int(total.get("cost_micros", 0)),
                    input_tokens=int(total.get("input_tokens", 0)),
                    output_tokens=int(total.get("output_tokens", 0)),
                    conversation_count=int(total.get("conversations", 0)),
                    bot_id=bot_id,
                    bot_title=titles.get(bot_id) if bot_id else None,
                )
            )
        return rows

    def analytics(self, start: str | None, end: str | None, granularity: str | None) -> dict[str, Any]:
        """The organisation over a window: a time series, model shares, conversation counts and the top users.
        Reads the organisation's roll-ups (8 shards, one query each), never per-user records."""
        grain = granularity or "day"
        if grain not in ("day", "month"):
            raise invalid(f"granularity: expected day or month, got {grain!r}.")
        now = utcnow()
        last = _hour(end, "end") if end else now.replace(minute=0, second=0, microsecond=0)
        first = _hour(start, "start") if start else (last - timedelta(days=29 if grain == "day" else 365))
        if last < first:
            raise invalid("end is before start.")
        prefix, fmt = ("DAY", "%Y-%m-%d") if grain == "day" else ("MONTH", "%Y-%m")
        counters = ("requests", "input_tokens", "output_tokens", "cost_micros", "conversations")
        series: dict[str, dict[str, int]] = {}
        models: dict[str, dict[str, int]] = {}
        for item in self._usage.global_rollups(f"{prefix}#{first:{fmt}}", f"{prefix}#{last:{fmt}}"):
            period, _, rest = item["sk"].partition("#MODEL#")
            period = period.removesuffix("#TOTAL").split("#", 1)[1]
            target = (
                series.setdefault(period, dict.fromkeys(counters, 0))
                if not rest
                else models.setdefault(rest, dict.fromkeys(counters, 0))
            )
            for name in counters:
                target[name] += int(item.get(name, 0))
        totals = {name: sum(point[name] for point in series.values()) for name in counters}
        top: list[UserRow] | None = None
        try:
            period, _, _ = ranking_period(f"{first:%Y%m%d%H}", f"{last:%Y%m%d%H}", now)
            items, _ = self._usage.ranked_totals(period, 10, None)
            top = self._rows([(item["user_id"], item) for item in items])
        except BadRequestError:
            top = None  # users are ranked per day and per month only
        return {
            "start": iso(first),
            "end": iso(last),
            "granularity": grain,
            "totals": totals,
            "series": [{"period": key, **series[key]} for key in sorted(series)],
            "models": sorted(
                (
                    {
                        "model_id": model,
                        **figures,
                        "share": round(figures["cost_micros"] / totals["cost_micros"], 4)
                        if totals["cost_micros"]
                        else 0.0,
                    }
                    for model, figures in models.items()
                ),
                key=lambda entry: entry["cost_micros"],
                reverse=True,
            ),
            "top_users": top,
        }

    def bot_titles(self, bot_ids: list[str]) -> dict[str, str]:
        """The titles of these bots (one batch read; a deleted bot has none)."""
        wanted = sorted(set(bot_ids))
        return {bot.bot_id: bot.title for bot in self._bots.get_many(wanted)} if wanted else {}

    def _next(self, state: dict[str, object], scope: str) -> str | None:
        return self._pages.encode(json.dumps(state, default=_plain_number), scope)

    def conversations(
        self, user_id: str, limit: int | None, token: str | None
    ) -> tuple[list[ConversationItem], str | None]:
        scope = f"admin-conversations:{user_id}"
        items, last = self._conversations.list_for_user(
            user_id, check_limit(limit, 50), self._pages.decode(token, scope), include_deleted=True
        )
        return items, self._pages.encode(last, scope)

    def prompts(self, user_id: str, conversation_id: str) -> list[MessageItem]:
        if self._conversations.get(user_id, conversation_id) is None:
            raise ConversationNotFoundError()
        return [m for m in self._conversations.messages(conversation_id) if m.role == "user"]

    def costs(self, user_id: str, start_period: str | None, end_period: str | None) -> UserCost:
        this_month = f"{utcnow():%Y-%m}"
        first = parse_period(start_period or this_month, "start_period")
        last = parse_period(end_period or first, "end_period")
        if last < first:
            raise invalid(f"end_period {last} is before start_period {first}.")
        totals = {"cost_micros": 0, "input_tokens": 0, "output_tokens": 0}
        by_model: dict[str, dict[str, int]] = {}
        for rollup in self._usage.rollups_between(user_id, f"MONTH#{first}", f"MONTH#{last}"):
            if rollup.model_id is None:
                for name in totals:
                    totals[name] += getattr(rollup, name)
                continue
            entry = by_model.setdefault(
                rollup.model_id, {"cost_micros": 0, "input_tokens": 0, "output_tokens": 0, "requests": 0}
            )
            for name in entry:
                entry[name] += getattr(rollup, name)
        start, end = _month_bounds(first, last)
        count = self._conversations.count_created_between(
            user_id, f"{int(start.timestamp() * 1000):012x}", f"{int(end.timestamp() * 1000) - 1:012x}~"
        )
        return UserCost(
            user_id=user_id,
            conversation_count=count,
            by_model=sorted(
                (ModelCost(model_id=m, **figures) for m, figures in by_model.items()),
                key=lambda cost: cost.cost_micros,
                reverse=True,
            ),
            **totals,
        )

    def audit_events(
        self, user_id: str, start_time: str | None, end_time: str | None, limit: int | None, token: str | None
    ) -> tuple[list[AuditEvent], str | None]:
        end = parse_time(end_time, "end_time") or utcnow()
        start = parse_time(start_time, "start_time") or end - DEFAULT_AUDIT_WINDOW
        if end < start:
            raise invalid("end_time is before start_time.")
        # The request's own parameters: a default window moves with the clock between pages.
        scope = f"audit:{user_id}:{start_time or ''}:{end_time or ''}"
        events, last = self._audit.list_for_user(
            user_id, iso(start), iso(end), check_limit(limit, 100), self._pages.decode(token, scope)
        )
        return events, self._pages.encode(last, scope)


def _plain_number(value: object) -> object:
    """json's default for the DynamoDB numbers in a paging position."""
    if isinstance(value, Decimal):
        return plain_number(value)
    raise TypeError(f"not serialisable: {type(value).__name__}")


def cost_usd(micros: int) -> float:
    return micros_to_usd(micros)
