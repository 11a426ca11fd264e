"""What admins may read about a user: conversations and prompts, costs by model, the audit trail.

Every listing is a key query (no Scan), paged with signed tokens. Parameters are checked strictly: a bad date,
an end before its start, a limit out of range or a foreign token is a 400 naming the problem.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError
from gateway.repositories.audit import AuditEvent, AuditRepository
from gateway.repositories.conversations import ConversationItem, ConversationRepository, MessageItem
from gateway.repositories.usage import UsageRepository
from gateway.services.conversations import ConversationNotFoundError
from gateway.services.paging import PageTokens
from gateway.services.pricing import micros_to_usd

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DEFAULT_AUDIT_WINDOW = timedelta(days=30)


def invalid(message: str) -> BadRequestError:
    return BadRequestError(message, code="invalid_parameter")


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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_period(value: str | None, name: str) -> str:
    if not value or not _PERIOD.match(value):
        raise invalid(f"{name}: expected YYYY-MM, got {value!r}.")
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
    ) -> None:
        self._conversations = conversations
        self._usage = usage
        self._audit = audit
        self._pages = pages

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


def cost_usd(micros: int) -> float:
    return micros_to_usd(micros)
