"""Published bots: the owner (PublishAllowed) turns a bot into an API with its own keys, throttle and quota;
other systems call `POST /published/bots/{id}/messages` with one of those keys alone."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway import deps
from gateway.api.bots import BotId
from gateway.api.conversations import MAX_MESSAGE_CHARS, SendMessageResponse
from gateway.api.names import DEPRECATED_COST_MICROS, DEPRECATED_KEY_OBJECT, DEPRECATED_KEY_VALUE
from gateway.auth.dependencies import CurrentUser, Publisher, api_key_value, request_id_for
from gateway.repositories.bots import BotKeyItem, PublicationItem
from gateway.services.audit import Audit
from gateway.services.bots import metering_subject
from gateway.services.conversations import ConversationService
from gateway.services.pricing import micros_to_usd
from gateway.services.publications import PublicationService
from gateway.settings import get_settings

router = APIRouter(tags=["published bots"])
Publications = Annotated[PublicationService, Depends(deps.publication_service)]
Conversations = Annotated[ConversationService, Depends(deps.conversation_service)]
KeyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]
# Offsets API Gateway accepts per quota period (DAY: none; WEEK: a weekday; MONTH: a day before the 28th).
_MAX_OFFSET = {"DAY": 0, "WEEK": 6, "MONTH": 27}


class Throttle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_limit: float = Field(gt=0, le=10_000, description="Steady requests per second.")
    burst_limit: int = Field(ge=1, le=5_000, description="Requests allowed at once.")


class Quota(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(ge=1, le=100_000_000)
    period: Literal["DAY", "WEEK", "MONTH"]
    offset: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _offset_fits_period(self) -> "Quota":
        if self.offset > _MAX_OFFSET[self.period]:
            raise ValueError(f"offset must be 0 to {_MAX_OFFSET[self.period]} for period {self.period}")
        return self


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    throttle: Throttle
    quota: Quota


class KeyResponse(BaseModel):
    key_id: str
    state: str
    created_at: str
    revoked_at: str | None = None

    @classmethod
    def of(cls, key: BotKeyItem) -> "KeyResponse":
        return cls(key_id=key.key_id, state=key.state, created_at=key.created_at, revoked_at=key.revoked_at)


class NewKeyResponse(KeyResponse):
    api_key: str = Field(description="The key's value: shown once, only its hash is kept.")
    value: str = Field(deprecated=DEPRECATED_KEY_VALUE, description="The same as api_key.")

    @classmethod
    def made(cls, key: BotKeyItem, value: str) -> "NewKeyResponse":
        return cls(**KeyResponse.of(key).model_dump(), api_key=value, value=value)


class PublicationResponse(BaseModel):
    bot_id: str
    endpoint: str
    throttle: Throttle
    quota: Quota
    usage_plan_id: str
    created_at: str

    @classmethod
    def of(cls, publication: PublicationItem, request: Request) -> "PublicationResponse":
        return cls(
            bot_id=publication.bot_id,
            endpoint=published_endpoint(request, publication.bot_id),
            throttle=Throttle(
                rate_limit=publication.throttle["rateLimit"], burst_limit=publication.throttle["burstLimit"]
            ),
            quota=Quota(
                limit=publication.quota["limit"],
                period=publication.quota["period"],
                offset=publication.quota.get("offset", 0),
            ),
            usage_plan_id=publication.usage_plan_id,
            created_at=publication.created_at,
        )


class PublishResponse(PublicationResponse):
    key: NewKeyResponse = Field(description="The first key; its value (key.api_key) is shown once.")
    api_key: NewKeyResponse = Field(deprecated=DEPRECATED_KEY_OBJECT, description="The same as key.")


class MeteredWindow(BaseModel):
    """The bot's calls as the gateway metered them in one UTC window."""

    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cost_micros: int = Field(deprecated=DEPRECATED_COST_MICROS)

    @classmethod
    def of(cls, totals: dict[str, int]) -> "MeteredWindow":
        return cls(**totals, cost_usd=micros_to_usd(totals["cost_micros"]))


class PublicationUsage(BaseModel):
    today: MeteredWindow
    this_month: MeteredWindow
    # API Gateway's own count per key and day against the quota, where the service reports it.
    gateway: dict[str, Any] | None


class PublicationDetail(PublicationResponse):
    keys: list[KeyResponse]
    usage: PublicationUsage


class PublishedMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    conversation_id: str | None = Field(default=None, max_length=64, pattern=r"^[0-9a-f]+$")


def published_endpoint(request: Request, bot_id: str) -> str:
    """The URL other systems call, built from how this request reached the API."""
    event = request.scope.get("aws.event") or {}
    context = event.get("requestContext") or {}
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme).lower()
    host = request.headers.get("host", request.url.netloc)
    route = f"/published/bots/{bot_id}/messages"
    if get_settings().aws_endpoint_url and context.get("apiId"):
        # The local emulator's path-style URL (its host-style one needs DNS for *.localstack.cloud).
        return f"{scheme}://{host}/restapis/{context['apiId']}/{context.get('stage')}/_user_request_{route}"
    # On AWS: what the client wrote before the route (e.g. /prod on the execute-api host; none, or a base
    # path, on a custom domain).
    full_path = str(context.get("path") or "")
    route_path = str(event.get("path") or request.url.path)
    prefix = full_path[: -len(route_path)] if route_path and full_path.endswith(route_path) else ""
    return f"{scheme}://{host}{prefix}{route}"


def _to_gateway(body: PublishRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    throttle = {"rateLimit": body.throttle.rate_limit, "burstLimit": body.throttle.burst_limit}
    quota = {"limit": body.quota.limit, "period": body.quota.period, "offset": body.quota.offset}
    return throttle, quota


@router.post(
    "/bots/{bot_id}/publication", status_code=status.HTTP_201_CREATED, name="bots.publication.create"
)
def publish_bot(
    bot_id: BotId,
    body: PublishRequest,
    request: Request,
    user: Publisher,
    publications: Publications,
    audit: Audit,
) -> PublishResponse:
    audit.resource = f"bot/{bot_id}"
    throttle, quota = _to_gateway(body)
    publication, key, value = publications.publish(user, bot_id, throttle, quota)
    first_key = NewKeyResponse.made(key, value)
    return PublishResponse(
        **PublicationResponse.of(publication, request).model_dump(), key=first_key, api_key=first_key
    )


@router.get("/bots/{bot_id}/publication", name="bots.publication.get")
def get_publication(
    bot_id: BotId, request: Request, user: CurrentUser, publications: Publications, audit: Audit
) -> PublicationDetail:
    audit.resource = f"bot/{bot_id}"
    view = publications.view(user, bot_id)
    return PublicationDetail(
        **PublicationResponse.of(view.publication, request).model_dump(),
        keys=[KeyResponse.of(key) for key in view.keys],
        usage=PublicationUsage(
            today=MeteredWindow.of(view.metered["today"]),
            this_month=MeteredWindow.of(view.metered["this_month"]),
            gateway=view.gateway_usage,
        ),
    )


@router.delete(
    "/bots/{bot_id}/publication", status_code=status.HTTP_204_NO_CONTENT, name="bots.publication.delete"
)
def unpublish_bot(bot_id: BotId, user: Publisher, publications: Publications, audit: Audit) -> None:
    audit.resource = f"bot/{bot_id}"
    publications.unpublish(user, bot_id)


@router.post(
    "/bots/{bot_id}/publication/api-keys",
    status_code=status.HTTP_201_CREATED,
    name="bots.publication.api_keys.create",
)
def create_publication_key(
    bot_id: BotId, user: Publisher, publications: Publications, audit: Audit
) -> NewKeyResponse:
    audit.resource = f"bot/{bot_id}"
    key, value = publications.add_key(user, bot_id)
    return NewKeyResponse.made(key, value)


@router.delete("/bots/{bot_id}/publication/api-keys/{key_id}", name="bots.publication.api_keys.revoke")
def revoke_publication_key(
    bot_id: BotId, key_id: KeyId, user: Publisher, publications: Publications, audit: Audit
) -> KeyResponse:
    audit.resource = f"bot/{bot_id}/api-key/{key_id}"
    return KeyResponse.of(publications.revoke_key(user, bot_id, key_id))


@router.post("/published/bots/{bot_id}/messages", name="published.bots.messages.send")
def send_published_message(
    bot_id: BotId,
    body: PublishedMessageRequest,
    request: Request,
    publications: Publications,
    conversations: Conversations,
    audit: Audit,
) -> SendMessageResponse:
    """Called with the bot's API key alone (`x-api-key`, or `Authorization: Bearer`)."""
    audit.resource = f"bot/{bot_id}"
    bot, key = publications.resolve(bot_id, api_key_value(request))
    audit.user_id = metering_subject(bot_id)
    return SendMessageResponse.of(
        conversations.send_published(
            bot, key.key_id, request_id_for(request), body.content, body.conversation_id
        )
    )
