"""Admin reports: a user's conversations and prompts, costs by model, audit trail."""

import re
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gateway import deps
from gateway.api.names import DEPRECATED_TOTAL_COST
from gateway.auth.dependencies import AdminUser
from gateway.services.admin_reports import AdminReports, cost_usd, invalid
from gateway.services.audit import Audit

router = APIRouter(prefix="/admin", tags=["admin"])
Reports = Annotated[AdminReports, Depends(deps.admin_reports)]


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise invalid(f"{name}: expected a whole number, got {value!r}.")
    return int(value)


class UserCostRow(BaseModel):
    user_id: str = Field(description="The user's id, or a published bot's calls: bot:<bot id>.")
    email: str | None
    first_name: str | None
    last_name: str | None
    last_sign_in: str | None
    cost_usd: float
    input_tokens: int
    output_tokens: int
    conversation_count: int
    bot_id: str | None = Field(default=None, description="Set when the row is a published bot's calls.")
    bot_title: str | None = Field(default=None, description="That bot's title (None once it is deleted).")
    total_cost_usd: float = Field(deprecated=DEPRECATED_TOTAL_COST, description="The same as cost_usd.")


class UserPage(BaseModel):
    users: list[UserCostRow]
    next_token: str | None


@router.get("/users", name="admin.users.by_cost")
def users_by_cost(
    _admin: AdminUser,
    reports: Reports,
    start: str | None = None,
    end: str | None = None,
    limit: str | None = None,
    include_all: str = "false",
    next_token: str | None = None,
) -> UserPage:
    if include_all not in ("true", "false"):
        raise invalid(f"include_all: expected true or false, got {include_all!r}.")
    rows, token = reports.users_by_cost(start, end, _int(limit, "limit"), include_all == "true", next_token)
    return UserPage(users=[_user_row(row) for row in rows], next_token=token)


class SeriesPoint(BaseModel):
    period: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    conversations: int


class ModelShare(BaseModel):
    model_id: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    share: float


class Analytics(BaseModel):
    start: str
    end: str
    granularity: str
    totals: SeriesPoint
    series: list[SeriesPoint]
    models: list[ModelShare]
    top_users: list[UserCostRow] | None


def _point(period: str, figures: dict) -> SeriesPoint:
    return SeriesPoint(
        period=period,
        requests=figures["requests"],
        input_tokens=figures["input_tokens"],
        output_tokens=figures["output_tokens"],
        cost_usd=cost_usd(figures["cost_micros"]),
        conversations=figures["conversations"],
    )


def _user_row(row) -> UserCostRow:
    return UserCostRow(
        user_id=row.user_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        last_sign_in=row.last_sign_in,
        cost_usd=cost_usd(row.cost_micros),
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        conversation_count=row.conversation_count,
        bot_id=row.bot_id,
        bot_title=row.bot_title,
        total_cost_usd=cost_usd(row.cost_micros),
    )


@router.get("/analytics", name="admin.analytics")
def analytics(
    _admin: AdminUser,
    reports: Reports,
    start: str | None = None,
    end: str | None = None,
    granularity: str | None = None,
) -> Analytics:
    report = reports.analytics(start, end, granularity)
    return Analytics(
        start=report["start"],
        end=report["end"],
        granularity=report["granularity"],
        totals=_point("total", report["totals"]),
        series=[_point(point["period"], point) for point in report["series"]],
        models=[
            ModelShare(
                model_id=m["model_id"],
                requests=m["requests"],
                input_tokens=m["input_tokens"],
                output_tokens=m["output_tokens"],
                cost_usd=cost_usd(m["cost_micros"]),
                share=m["share"],
            )
            for m in report["models"]
        ],
        top_users=None if report["top_users"] is None else [_user_row(row) for row in report["top_users"]],
    )


class ConversationSummary(BaseModel):
    conversation_id: str
    title: str
    created_at: str
    bot_id: str | None
    bot_title: str | None = Field(description="The title of the bot it is with (None once that bot is gone).")
    deleted: bool


class ConversationPage(BaseModel):
    conversations: list[ConversationSummary]
    next_token: str | None


class Prompt(BaseModel):
    message_id: str
    content: str
    created_at: str


class PromptList(BaseModel):
    prompts: list[Prompt]


class ModelCostResponse(BaseModel):
    model_id: str
    cost_usd: float
    input_tokens: int
    output_tokens: int
    requests: int


class UserCostResponse(BaseModel):
    user_id: str
    cost_usd: float
    input_tokens: int
    output_tokens: int
    conversation_count: int
    by_model: list[ModelCostResponse]
    total_cost_usd: float = Field(deprecated=DEPRECATED_TOTAL_COST, description="The same as cost_usd.")


class AuditEventResponse(BaseModel):
    event_id: str
    timestamp: str
    action: str
    resource: str | None
    ip_address: str | None
    user_agent: str | None
    success: bool
    error: str | None


class AuditPage(BaseModel):
    events: list[AuditEventResponse]
    next_token: str | None


@router.get("/users/{user_id}/conversations", name="admin.users.conversations")
def user_conversations(
    user_id: str,
    _admin: AdminUser,
    reports: Reports,
    audit: Audit,
    limit: str | None = None,
    next_token: str | None = None,
) -> ConversationPage:
    audit.resource = f"user/{user_id}/conversations"
    items, token = reports.conversations(user_id, _int(limit, "limit"), next_token)
    titles = reports.bot_titles([c.bot_id for c in items if c.bot_id])
    return ConversationPage(
        conversations=[
            ConversationSummary(
                conversation_id=c.conversation_id,
                title=c.title,
                created_at=c.created_at,
                bot_id=c.bot_id,
                bot_title=titles.get(c.bot_id) if c.bot_id else None,
                deleted=c.deleted_at is not None,
            )
            for c in items
        ],
        next_token=token,
    )


@router.get("/users/{user_id}/conversations/{conversation_id}/prompts", name="admin.users.prompts")
def user_prompts(
    user_id: str, conversation_id: str, _admin: AdminUser, reports: Reports, audit: Audit
) -> PromptList:
    audit.resource = f"user/{user_id}/conversation/{conversation_id}"
    return PromptList(
        prompts=[
            Prompt(message_id=m.message_id, content=m.content, created_at=m.created_at)
            for m in reports.prompts(user_id, conversation_id)
        ]
    )


@router.get("/costs/users/{user_id}", name="admin.costs.user")
def user_costs(
    user_id: str,
    _admin: AdminUser,
    reports: Reports,
    audit: Audit,
    start_period: str | None = None,
    end_period: str | None = None,
) -> UserCostResponse:
    audit.resource = f"user/{user_id}/costs"
    cost = reports.costs(user_id, start_period, end_period)
    return UserCostResponse(
        user_id=user_id,
        cost_usd=cost_usd(cost.cost_micros),
        total_cost_usd=cost_usd(cost.cost_micros),
        input_tokens=cost.input_tokens,
        output_tokens=cost.output_tokens,
        conversation_count=cost.conversation_count,
        by_model=[
            ModelCostResponse(
                model_id=m.model_id,
                cost_usd=cost_usd(m.cost_micros),
                input_tokens=m.input_tokens,
                output_tokens=m.output_tokens,
                requests=m.requests,
            )
            for m in cost.by_model
        ],
    )


@router.get("/audit-logs/user/{user_id}", name="admin.audit_logs.user")
def user_audit_logs(
    user_id: str,
    _admin: AdminUser,
    reports: Reports,
    audit: Audit,
    start_time: str | None = None,
    end_time: str | None = None,
    limit: str | None = None,
    next_token: str | None = None,
) -> AuditPage:
    audit.resource = f"user/{user_id}/audit-logs"
    events, token = reports.audit_events(user_id, start_time, end_time, _int(limit, "limit"), next_token)
    return AuditPage(
        events=[
            AuditEventResponse(
                event_id=e.event_id,
                timestamp=e.timestamp,
                action=e.action,
                resource=e.resource,
                ip_address=e.ip_address,
                user_agent=e.user_agent,
                success=bool(e.success),
                error=e.error,
            )
            for e in events
        ],
        next_token=token,
    )
