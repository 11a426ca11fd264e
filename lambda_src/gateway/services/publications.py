"""Published bots: a bot as its own API, with its own API Gateway usage plan (throttle, quota) and keys.

A published call runs with the bot's rights only: the policy of a user in no group (never its owner's, who may
be an admin), metered to the subject `bot:<bot id>`, which its owner and admins can read. It is refused
(bot_unavailable) while the bot is hidden, or its owner is disabled or may no longer publish; an admin may end
any publication. Terraform caps what a publication may ask for (publication_max).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.auth.groups import effective_groups
from gateway.auth.standing import UserStandings
from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from gateway.providers.api_gateway import ApiGatewayKeys, ApiStage
from gateway.repositories.bots import BotItem, BotKeyItem, BotRepository, PublicationItem
from gateway.repositories.usage import ROLLUP_COUNTERS, UsageRepository
from gateway.services.api_keys import (
    ApiKeyMissingError,
    ApiKeyRevokedError,
    ApiKeyUnknownError,
    hash_key,
    issue_key,
)
from gateway.services.bots import (
    PUBLISHED_GROUPS,
    BotService,
    Member,
    NotBotOwnerError,
    manages,
    metering_subject,
)
from gateway.services.models import ModelService
from gateway.settings import GROUP_PUBLISH_ALLOWED, PublicationMax

# Which bot a plan or key serves, for whoever reads the account's usage plans.
BOT_TAG = "gateway-bot"


class NotPublishedError(NotFoundError):
    code = "bot_not_published"
    message = "The bot is not published."


_QUOTA_CAPS = {"DAY": "quota_per_day", "WEEK": "quota_per_week", "MONTH": "quota_per_month"}


class BotUnavailableError(ForbiddenError):
    code = "bot_unavailable"
    message = "This bot is not available."


class PublicationLimitError(BadRequestError):
    code = "publication_limit_exceeded"
    message = "The publication asks for more than this gateway allows."


class OwnerStanding:
    """Whether a user may keep a bot published: enabled and in PublishAllowed (or Admin, which implies it), as
    their standing in Cognito says. The standing is the one auth uses (auth/standing.py): cached briefly per
    process, and read again at once after a change made through the admin API."""

    def __init__(self, standings: UserStandings) -> None:
        self._standings = standings

    def may_publish(self, user_id: str) -> bool:
        standing = self._standings.current(user_id, self._standings.session(user_id).rights_version)
        return standing.enabled and GROUP_PUBLISH_ALLOWED in effective_groups(standing.groups)


def check_within(cap: PublicationMax, throttle: dict[str, Any], quota: dict[str, Any]) -> None:
    """Refuse a throttle or quota above what Terraform allows (publication_max)."""
    allowed = {
        "rate_limit": cap.rate_limit,
        "burst_limit": cap.burst_limit,
        "quota_limit": getattr(cap, _QUOTA_CAPS[quota["period"]]),
    }
    asked = {
        "rate_limit": throttle["rateLimit"],
        "burst_limit": throttle["burstLimit"],
        "quota_limit": quota["limit"],
    }
    over = [name for name, value in asked.items() if value > allowed[name]]
    if over:
        raise PublicationLimitError(
            "The publication asks for more than allowed: "
            + ", ".join(f"{name} {asked[name]} > {allowed[name]}" for name in over)
            + f" (quota per {quota['period']}).",
            details={"allowed": allowed, "period": quota["period"], "exceeded": over},
        )


@dataclass(frozen=True)
class PublicationView:
    publication: PublicationItem
    keys: list[BotKeyItem]
    metered: dict[str, dict[str, Any]]
    gateway_usage: dict[str, Any] | None


class PublicationService:
    def __init__(
        self,
        bots: BotService,
        repository: BotRepository,
        gateway: ApiGatewayKeys,
        models: ModelService,
        usage: UsageRepository,
        max_active_keys: int,
        owner_standing: OwnerStanding,
        publication_max: PublicationMax,
    ) -> None:
        self._bots = bots
        self._repository = repository
        self._gateway = gateway
        self._models = models
        self._usage = usage
        self._max_active_keys = max_active_keys
        self._owner_standing = owner_standing
        self._publication_max = publication_max

    def publish(
        self, owner: Member, bot_id: str, throttle: dict[str, Any], quota: dict[str, Any]
    ) -> tuple[PublicationItem, BotKeyItem, str]:
        bot = self._bots.owned(owner, bot_id)
        check_within(self._publication_max, throttle, quota)
        if bot.published or self._repository.publication(bot_id):
            raise ConflictError("The bot is already published.", code="already_published")
        # Refused now rather than on every call: the bot's rights are those of a user in no group.
        self._models.check(bot.model_id, PUBLISHED_GROUPS)
        stage = self._gateway.default_stage()
        plan_id = self._gateway.create_usage_plan(
            name=f"bot-{bot_id}",
            stage=stage,
            throttle=throttle,
            quota=quota,
            tags={BOT_TAG: bot_id},
        )
        publication = PublicationItem(
            bot_id=bot_id,
            usage_plan_id=plan_id,
            api_id=stage.api_id,
            stage=stage.stage,
            throttle=throttle,
            quota=quota,
            created_at=iso(utcnow()),
        )
        try:
            self._repository.add_publication(publication)
            self._repository.set_published(bot_id, True, publication.created_at)
        except Exception:
            self._gateway.delete_usage_plan(plan_id, stage)  # no plan without its record
            raise
        key, value = self._new_key(publication)
        return publication, key, value

    def view(self, member: Member, bot_id: str) -> PublicationView:
        """The owner's (or an admin's) view: settings, keys and usage."""
        if not manages(self._bots.visible(member, bot_id), member):
            raise NotBotOwnerError()
        publication = self._publication(bot_id)
        now = utcnow()
        day, month = now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")
        subject = metering_subject(bot_id)
        metered = {
            name: _totals(self._usage.total(subject, period))
            for name, period in (("today", f"DAY#{day}"), ("this_month", f"MONTH#{month}"))
        }
        first_day = (now - timedelta(days=6)).strftime("%Y-%m-%d")
        return PublicationView(
            publication=publication,
            keys=self._repository.keys(bot_id),
            metered=metered,
            gateway_usage=self._gateway.usage(publication.usage_plan_id, first_day, day),
        )

    def unpublish(self, member: Member, bot_id: str) -> None:
        """Its owner, or any admin (the kill switch): keys are revoked first, then the plan and records go."""
        if not manages(self._bots.visible(member, bot_id), member):
            raise NotBotOwnerError()
        publication = self._publication(bot_id)
        keys = self._repository.keys(bot_id)
        now = iso(utcnow())
        for key in keys:  # refused by the app at once, whatever the gateway still caches
            if key.active:
                self._repository.revoke_key(key, now)
        for key in keys:
            self._gateway.delete(key.key_id)
        self._gateway.delete_usage_plan(
            publication.usage_plan_id, ApiStage(api_id=publication.api_id, stage=publication.stage)
        )
        self._repository.delete_keys(bot_id)
        self._repository.delete_publication(bot_id)
        self._repository.set_published(bot_id, False, now)

    def add_key(self, owner: Member, bot_id: str) -> tuple[BotKeyItem, str]:
        self._bots.owned(owner, bot_id)
        publication = self._publication(bot_id)
        active = [key for key in self._repository.keys(bot_id) if key.active]
        if len(active) >= self._max_active_keys:
            raise BadRequestError(
                f"At most {self._max_active_keys} active keys per published bot: revoke one first.",
                code="api_key_limit",
            )
        return self._new_key(publication)

    def revoke_key(self, owner: Member, bot_id: str, key_id: str) -> BotKeyItem:
        self._bots.owned(owner, bot_id)
        self._publication(bot_id)
        key = self._repository.key(bot_id, key_id)
        if key is None:
            raise NotFoundError("No such API key.", code="api_key_not_found")
        if key.active:
            key = self._repository.revoke_key(key, iso(utcnow()))
            self._gateway.disable(key_id)
        return key

    def resolve(self, bot_id: str, value: str | None) -> tuple[BotItem, BotKeyItem]:
        """The published bot a key belongs to; any other key (a user's, another bot's) is refused."""
        if not value:
            raise ApiKeyMissingError("Send one of this bot's API keys in the x-api-key header.")
        key = self._repository.find_key(hash_key(value))
        if key is None or key.bot_id != bot_id:
            # A user's key, or another bot's: either way not a key of this bot.
            raise ApiKeyUnknownError(
                "This is not an API key of this published bot (a user's API key does not work here)."
            )
        if not key.active:
            raise ApiKeyRevokedError("This bot key has been revoked: ask the bot's owner for an active one.")
        bot = self._repository.get(bot_id)
        if bot is None or not bot.published:
            raise NotPublishedError()
        if bot.visibility != "visible":
            raise BotUnavailableError("This bot has been hidden by an administrator.")
        if not self._owner_standing.may_publish(bot.owner_id):
            raise BotUnavailableError("This bot's owner may no longer publish it.")
        return bot, key

    def _publication(self, bot_id: str) -> PublicationItem:
        publication = self._repository.publication(bot_id)
        if publication is None:
            raise NotPublishedError()
        return publication

    def _new_key(self, publication: PublicationItem) -> tuple[BotKeyItem, str]:
        def store(key_id: str, key_hash: str, created_at: str) -> BotKeyItem:
            key = BotKeyItem(
                bot_id=publication.bot_id,
                key_id=key_id,
                key_hash=key_hash,
                state="active",
                created_at=created_at,
            )
            self._repository.add_key(key)
            return key

        return issue_key(
            self._gateway,
            f"bot-{publication.bot_id}",
            f"API key of published bot {publication.bot_id}",
            store,
            usage_plan_id=publication.usage_plan_id,
            tags={BOT_TAG: publication.bot_id},
        )


def _totals(item: dict[str, Any] | None) -> dict[str, Any]:
    item = item or {}
    return {name: int(item.get(name, 0)) for name in ROLLUP_COUNTERS}
