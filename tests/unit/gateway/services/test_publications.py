from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from gateway.auth.standing import UserStandings
from gateway.clock import iso
from gateway.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from gateway.providers.api_gateway import ApiStage
from gateway.providers.cognito import UserNotFoundError
from gateway.repositories.access import AccessRepository
from gateway.repositories.bots import BotItem, BotKeyItem, BotRepository, PublicationItem
from gateway.services.api_keys import (
    ApiKeyMissingError,
    ApiKeyRevokedError,
    ApiKeyUnknownError,
    InvalidApiKeyError,
    hash_key,
)
from gateway.services.bots import PUBLISHED_GROUPS, BotService, NotBotOwnerError
from gateway.services.publications import (
    BOT_TAG,
    BotUnavailableError,
    NotPublishedError,
    OwnerStanding,
    PublicationLimitError,
    PublicationService,
    check_within,
)
from gateway.settings import PublicationMax, get_settings


@dataclass(frozen=True)
class Member:
    user_id: str
    groups: tuple[str, ...] = ()


class _Pool:
    def __init__(self) -> None:
        self.users = {"owner": (True, ["PublishAllowed"])}
        self.reads = 0

    def get_user(self, user_id):
        self.reads += 1
        if user_id not in self.users:
            raise UserNotFoundError()
        return SimpleNamespace(enabled=self.users[user_id][0])

    def groups_of(self, user_id):
        return [SimpleNamespace(name=name) for name in self.users[user_id][1]]


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _owner_standing(pool, clock=None):
    """The owner check over auth's standings (cached per process, refreshed by the admin API's changes)."""
    standings = UserStandings(pool, AccessRepository(get_settings().table_api_keys), 60, clock or _Clock())
    return OwnerStanding(standings), standings


@pytest.mark.parametrize(
    ("enabled", "groups", "may"),
    [
        (True, ["PublishAllowed"], True),
        (True, ["Admin"], True),  # Admin implies PublishAllowed
        (True, ["CreatingBotAllowed"], False),
        (False, ["PublishAllowed"], False),
    ],
)
def test_an_owner_may_keep_publishing_while_enabled_and_allowed(stack, enabled, groups, may):
    pool = _Pool()
    pool.users["owner"] = (enabled, groups)
    assert _owner_standing(pool)[0].may_publish("owner") is may


def test_owner_standing_is_cached_briefly_refreshed_by_admin_changes_and_a_deleted_owner_may_not_publish(
    stack,
):
    pool, clock = _Pool(), _Clock()
    standing, standings = _owner_standing(pool, clock)
    assert standing.may_publish("owner")
    pool.users["owner"] = (False, [])  # as the console would change it
    clock.now = 59
    assert standing.may_publish("owner")  # within the cache window
    clock.now = 60
    assert not standing.may_publish("owner")
    assert pool.reads == 2
    pool.users["owner"] = (True, ["PublishAllowed"])
    standings.changed("owner")  # as the admin API does: seen at the next call, whatever the cache holds
    assert standing.may_publish("owner")
    assert pool.reads == 3
    assert not standing.may_publish("gone")


def test_an_owners_standing_changed_by_another_process_is_seen_at_the_next_call(stack):
    pool, clock = _Pool(), _Clock()
    standing, _ = _owner_standing(pool, clock)
    assert standing.may_publish("owner")
    pool.users["owner"] = (True, ["CreatingBotAllowed"])
    assert standing.may_publish("owner")  # cached
    # Another process's admin call moves the rights version in the table; this process has not forgotten them.
    AccessRepository(get_settings().table_api_keys).bump_rights_version("owner")
    assert not standing.may_publish("owner")
    assert pool.reads == 2


CAP = PublicationMax(
    rate_limit=10, burst_limit=20, quota_per_day=100, quota_per_week=500, quota_per_month=1000
)


@pytest.mark.parametrize(
    ("throttle", "quota", "exceeded"),
    [
        ({"rateLimit": 10, "burstLimit": 20}, {"limit": 100, "period": "DAY"}, []),
        ({"rateLimit": 10.5, "burstLimit": 20}, {"limit": 100, "period": "DAY"}, ["rate_limit"]),
        ({"rateLimit": 1, "burstLimit": 21}, {"limit": 1, "period": "DAY"}, ["burst_limit"]),
        ({"rateLimit": 1, "burstLimit": 1}, {"limit": 101, "period": "DAY"}, ["quota_limit"]),
        ({"rateLimit": 1, "burstLimit": 1}, {"limit": 500, "period": "WEEK"}, []),
        ({"rateLimit": 1, "burstLimit": 1}, {"limit": 1001, "period": "MONTH"}, ["quota_limit"]),
    ],
)
def test_a_publication_may_not_ask_for_more_than_terraform_allows(throttle, quota, exceeded):
    if not exceeded:
        check_within(CAP, throttle, quota)
        return
    with pytest.raises(PublicationLimitError) as refused:
        check_within(CAP, throttle, quota)
    assert refused.value.status_code == 400
    assert refused.value.code == "publication_limit_exceeded"
    assert refused.value.details["exceeded"] == exceeded


class _Gateway:
    def __init__(self) -> None:
        self.deleted_keys: list[str] = []
        self.deleted_plans: list[str] = []

    def delete(self, key_id):
        self.deleted_keys.append(key_id)

    def delete_usage_plan(self, plan_id, stage):
        self.deleted_plans.append(plan_id)


def _published(stack):
    repository = BotRepository(get_settings().table_bots)
    bot = BotItem(
        bot_id="b" * 28,
        owner_id="owner",
        title="t",
        description="",
        instruction="",
        model_id="m",
        inference_parameters={},
        shared_scope="all",
        allowed_users=(),
        allowed_groups=(),
        documents=(),
        knowledge_version="v",
        knowledge_base_id=None,
        visibility="visible",
        essential=False,
        use_count=0,
        created_at="2026-11-29T00:00:00.000Z",
        updated_at="2026-11-29T00:00:00.000Z",
        published=True,
    )
    repository.save(bot, None)
    repository.add_publication(
        PublicationItem(bot.bot_id, "plan1", "api", "prod", {}, {}, "2026-11-29T00:00:00.000Z")
    )
    repository.add_key(BotKeyItem(bot.bot_id, "key1", hash_key("secret"), "active", "2026-11-29"))
    pool, gateway = _Pool(), _Gateway()
    bots = BotService(repository, None, None, None, None, None, None, 4, (), None, 100, 20)
    service = PublicationService(bots, repository, gateway, None, None, 5, _owner_standing(pool)[0], CAP)
    return SimpleNamespace(bot=bot, repository=repository, pool=pool, gateway=gateway, service=service)


def test_a_hidden_bot_or_one_whose_owner_may_no_longer_publish_is_unavailable(stack):
    world = _published(stack)
    assert world.service.resolve(world.bot.bot_id, "secret")[0].bot_id == world.bot.bot_id
    with pytest.raises(InvalidApiKeyError):
        world.service.resolve(world.bot.bot_id, "wrong")
    hidden = replace(world.bot, visibility="hidden", updated_at="2026-11-29T00:00:01.000Z")
    world.repository.save(hidden, None, previous=world.bot)
    with pytest.raises(BotUnavailableError) as refused:
        world.service.resolve(world.bot.bot_id, "secret")
    assert (refused.value.status_code, refused.value.code) == (403, "bot_unavailable")
    assert refused.value.message == "This bot has been hidden by an administrator."
    world.repository.save(world.bot, None, previous=hidden)  # visible again
    world.pool.users["owner"] = (True, ["CreatingBotAllowed"])
    world.service._owner_standing = _owner_standing(world.pool)[0]
    with pytest.raises(BotUnavailableError) as no_longer:
        world.service.resolve(world.bot.bot_id, "secret")
    assert no_longer.value.message == "This bot's owner may no longer publish it."


def test_an_admin_may_unpublish_any_bot_and_its_keys_stop_at_once(stack):
    world = _published(stack)
    with pytest.raises(NotBotOwnerError):
        world.service.unpublish(Member("someone", ("PublishAllowed",)), world.bot.bot_id)
    world.service.unpublish(Member("root", ("Admin",)), world.bot.bot_id)
    assert world.gateway.deleted_keys == ["key1"]
    assert world.gateway.deleted_plans == ["plan1"]
    assert world.repository.publication(world.bot.bot_id) is None
    assert not world.repository.get(world.bot.bot_id).published
    with pytest.raises(InvalidApiKeyError):
        world.service.resolve(world.bot.bot_id, "secret")


# --- Each publication rule, with the bot store in moto and the gateway, models and usage in memory ---

OWNER = Member("owner", ("PublishAllowed",))
THROTTLE = {"rateLimit": 5, "burstLimit": 10}
QUOTA = {"limit": 100, "period": "DAY"}


class _FullGateway(_Gateway):
    """The API Gateway calls a publication makes."""

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[dict] = []
        self.keys: list[dict] = []
        self.disabled: list[str] = []
        self.usage_asked: list[tuple] = []

    def default_stage(self):
        return ApiStage(api_id="api-1", stage="prod")

    def create_usage_plan(self, **plan):
        self.plans.append(plan)
        return f"plan-{len(self.plans)}"

    def create(self, **key):
        self.keys.append(key)
        return f"gwkey-{len(self.keys)}"

    def disable(self, key_id):
        self.disabled.append(key_id)

    def delete_usage_plan(self, plan_id, stage):
        self.deleted_plans.append((plan_id, stage))

    def usage(self, usage_plan_id, first_day, last_day):
        self.usage_asked.append((usage_plan_id, first_day, last_day))
        return {"items": {}}


class _Models:
    def __init__(self) -> None:
        self.checked = []

    def check(self, model_id, groups):
        self.checked.append((model_id, groups))


class _Usage:
    def __init__(self, totals) -> None:
        self.totals = totals
        self.asked = []

    def total(self, subject, period):
        self.asked.append((subject, period))
        return self.totals.get(period)


def _unpublished(stack, usage=None, max_keys=5):
    """The world of _published, with a bot of its own not yet published."""
    world = _published(stack)
    bot = replace(world.bot, bot_id="c" * 28, published=False)
    world.repository.save(bot, None)
    world.bot = bot
    world.gateway, world.models, world.usage = _FullGateway(), _Models(), usage or _Usage({})
    world.service = PublicationService(
        world.service._bots,
        world.repository,
        world.gateway,
        world.models,
        world.usage,
        max_keys,
        _owner_standing(world.pool)[0],
        CAP,
    )
    return world


def test_publishing_makes_a_plan_on_the_default_stage_its_record_and_a_first_key(stack, gateway_clock):
    world = _unpublished(stack)
    created_at = iso(gateway_clock.peek())
    bot_id = world.bot.bot_id
    publication, key, value = world.service.publish(OWNER, bot_id, THROTTLE, QUOTA)
    assert world.models.checked == [("m", PUBLISHED_GROUPS)]
    assert world.gateway.plans == [
        {
            "name": f"bot-{bot_id}",
            "stage": ApiStage("api-1", "prod"),
            "throttle": THROTTLE,
            "quota": QUOTA,
            "tags": {BOT_TAG: bot_id},
        }
    ]
    assert publication == PublicationItem(bot_id, "plan-1", "api-1", "prod", THROTTLE, QUOTA, created_at)
    assert world.repository.publication(bot_id) == publication
    bot = world.repository.get(bot_id)
    assert (bot.published, bot.updated_at) == (True, created_at)
    assert (key.bot_id, key.key_id, key.key_hash, key.state) == (bot_id, "gwkey-1", hash_key(value), "active")
    assert world.repository.keys(bot_id) == [key]
    assert world.gateway.keys[0]["usage_plan_id"] == "plan-1"
    assert world.gateway.keys[0]["tags"] == {BOT_TAG: bot_id}
    assert world.gateway.keys[0]["description"] == f"API key of published bot {bot_id}"
    assert world.gateway.keys[0]["name"].startswith(f"bot-{bot_id}-")
    with pytest.raises(ConflictError) as again:
        world.service.publish(OWNER, bot_id, THROTTLE, QUOTA)
    assert (again.value.code, again.value.message) == ("already_published", "The bot is already published.")
    assert len(world.gateway.plans) == 1


def test_a_bot_with_a_publication_record_is_published_even_if_its_flag_is_not(stack):
    world = _unpublished(stack)
    world.repository.add_publication(
        PublicationItem(world.bot.bot_id, "plan-x", "api", "prod", {}, {}, "2026-11-29T00:00:00.000Z")
    )
    with pytest.raises(ConflictError):
        world.service.publish(OWNER, world.bot.bot_id, THROTTLE, QUOTA)
    assert world.gateway.plans == []


def test_publishing_over_the_cap_or_a_model_the_bot_may_not_use_makes_no_plan(stack):
    world = _unpublished(stack)
    with pytest.raises(PublicationLimitError):
        world.service.publish(OWNER, world.bot.bot_id, {"rateLimit": 11, "burstLimit": 1}, QUOTA)

    def refuse(model_id, groups):
        raise ForbiddenError("no", code="model_not_allowed")

    world.models.check = refuse
    with pytest.raises(ForbiddenError):
        world.service.publish(OWNER, world.bot.bot_id, THROTTLE, QUOTA)
    assert world.gateway.plans == []
    assert not world.repository.get(world.bot.bot_id).published


def test_a_publication_that_cannot_be_stored_deletes_its_plan(stack):
    world = _unpublished(stack)

    def fail(publication):
        raise RuntimeError("no table")

    world.repository.add_publication = fail
    with pytest.raises(RuntimeError):
        world.service.publish(OWNER, world.bot.bot_id, THROTTLE, QUOTA)
    assert world.gateway.deleted_plans == [("plan-1", ApiStage("api-1", "prod"))]
    assert world.gateway.keys == []


def test_only_the_owner_publishes(stack):
    world = _unpublished(stack)
    with pytest.raises(NotBotOwnerError):
        world.service.publish(Member("root", ("Admin",)), world.bot.bot_id, THROTTLE, QUOTA)


def test_the_view_gives_the_bots_metered_use_today_and_this_month_and_a_week_of_gateway_use(
    stack, gateway_clock
):
    gateway_clock.set(datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC))
    usage = _Usage({"DAY#2026-03-01": {"requests": Decimal(3), "cost_micros": Decimal(40)}})
    world = _unpublished(stack, usage)
    world.service.publish(OWNER, world.bot.bot_id, THROTTLE, QUOTA)
    view = world.service.view(Member("root", ("Admin",)), world.bot.bot_id)  # an admin sees it too
    assert view.publication.usage_plan_id == "plan-1"
    assert [k.key_id for k in view.keys] == ["gwkey-1"]
    assert view.metered == {
        "today": {"requests": 3, "errors": 0, "input_tokens": 0, "output_tokens": 0, "cost_micros": 40},
        "this_month": {"requests": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "cost_micros": 0},
    }
    subject = f"bot:{world.bot.bot_id}"
    assert usage.asked == [(subject, "DAY#2026-03-01"), (subject, "MONTH#2026-03")]
    assert world.gateway.usage_asked == [("plan-1", "2026-02-23", "2026-03-01")]
    assert view.gateway_usage == {"items": {}}
    with pytest.raises(NotBotOwnerError):
        world.service.view(Member("someone", ("PublishAllowed",)), world.bot.bot_id)


def test_an_unpublished_bot_has_no_view_keys_or_revocations(stack):
    world = _unpublished(stack)
    bot_id = world.bot.bot_id
    for action in (
        lambda: world.service.view(OWNER, bot_id),
        lambda: world.service.add_key(OWNER, bot_id),
        lambda: world.service.revoke_key(OWNER, bot_id, "gwkey-1"),
        lambda: world.service.unpublish(OWNER, bot_id),
    ):
        with pytest.raises(NotPublishedError) as refused:
            action()
        assert (refused.value.status_code, refused.value.code) == (404, "bot_not_published")


def test_unpublishing_revokes_the_active_keys_deletes_them_and_the_plan_then_the_records(
    stack, gateway_clock
):
    world = _unpublished(stack)
    bot_id = world.bot.bot_id
    world.service.publish(OWNER, bot_id, THROTTLE, QUOTA)
    world.service.add_key(OWNER, bot_id)
    world.service.revoke_key(OWNER, bot_id, "gwkey-1")
    revoked = []
    revoke = world.repository.revoke_key

    def recording_revoke(key, at):
        revoked.append((key.key_id, at))
        return revoke(key, at)

    world.repository.revoke_key = recording_revoke
    unpublished_at = iso(gateway_clock.peek())
    world.service.unpublish(OWNER, bot_id)
    assert revoked == [("gwkey-2", unpublished_at)]  # the one still active, revoked now
    assert sorted(world.gateway.deleted_keys) == ["gwkey-1", "gwkey-2"]
    assert world.gateway.deleted_plans == [("plan-1", ApiStage("api-1", "prod"))]
    assert world.repository.keys(bot_id) == []
    assert world.repository.publication(bot_id) is None
    bot = world.repository.get(bot_id)
    assert (bot.published, bot.updated_at) == (False, unpublished_at)


def test_a_published_bot_has_at_most_its_active_keys_and_revoked_ones_do_not_count(stack):
    world = _unpublished(stack, max_keys=2)
    bot_id = world.bot.bot_id
    world.service.publish(OWNER, bot_id, THROTTLE, QUOTA)
    key, value = world.service.add_key(OWNER, bot_id)  # the second of 2
    assert (key.key_id, key.key_hash, key.state) == ("gwkey-2", hash_key(value), "active")
    with pytest.raises(BadRequestError) as refused:
        world.service.add_key(OWNER, bot_id)
    assert refused.value.code == "api_key_limit"
    assert refused.value.message == "At most 2 active keys per published bot: revoke one first."
    world.service.revoke_key(OWNER, bot_id, "gwkey-1")
    assert world.service.add_key(OWNER, bot_id)[0].key_id == "gwkey-3"
    with pytest.raises(NotBotOwnerError):
        world.service.add_key(Member("root", ("Admin",)), bot_id)


def test_revoking_a_key_marks_it_then_disables_it_in_the_gateway_once(stack, gateway_clock):
    world = _unpublished(stack)
    bot_id = world.bot.bot_id
    world.service.publish(OWNER, bot_id, THROTTLE, QUOTA)
    revoked_at = iso(gateway_clock.peek())
    key = world.service.revoke_key(OWNER, bot_id, "gwkey-1")
    assert (key.state, key.revoked_at) == ("revoked", revoked_at)
    assert world.gateway.disabled == ["gwkey-1"]
    assert world.service.revoke_key(OWNER, bot_id, "gwkey-1").revoked_at == revoked_at
    assert world.gateway.disabled == ["gwkey-1"]
    with pytest.raises(NotFoundError) as missing:
        world.service.revoke_key(OWNER, bot_id, "gwkey-9")
    assert (missing.value.code, missing.value.message) == ("api_key_not_found", "No such API key.")


@pytest.mark.parametrize("value", [None, ""])
def test_no_key_opens_a_published_bot(stack, value):
    world = _published(stack)
    with pytest.raises(ApiKeyMissingError) as refused:
        world.service.resolve(world.bot.bot_id, value)
    assert refused.value.message == "Send one of this bot's API keys in the x-api-key header."


def test_a_bots_key_opens_only_that_bot_while_active_and_published(stack):
    world = _published(stack)
    bot_id = world.bot.bot_id
    bot, key = world.service.resolve(bot_id, "secret")
    assert (bot.bot_id, key.key_id) == (bot_id, "key1")
    with pytest.raises(ApiKeyUnknownError) as unknown:
        world.service.resolve("d" * 28, "secret")  # another bot's endpoint
    assert unknown.value.message == (
        "This is not an API key of this published bot (a user's API key does not work here)."
    )
    world.repository.set_published(bot_id, False, "2026-11-29T00:00:01.000Z")
    with pytest.raises(NotPublishedError):
        world.service.resolve(bot_id, "secret")
    world.repository.set_published(bot_id, True, "2026-11-29T00:00:02.000Z")
    world.repository.revoke_key(world.repository.key(bot_id, "key1"), "2026-11-29T00:00:03.000Z")
    with pytest.raises(ApiKeyRevokedError) as revoked:
        world.service.resolve(bot_id, "secret")
    assert revoked.value.message == "This bot key has been revoked: ask the bot's owner for an active one."


def test_a_key_of_a_deleted_bot_opens_nothing(stack):
    world = _published(stack)
    world.repository.add_key(BotKeyItem("e" * 28, "key2", hash_key("orphan"), "active", "2026-11-29"))
    with pytest.raises(NotPublishedError):
        world.service.resolve("e" * 28, "orphan")


def test_a_refused_publication_names_what_passed_the_cap():
    with pytest.raises(PublicationLimitError) as refused:
        check_within(CAP, {"rateLimit": 11, "burstLimit": 20}, {"limit": 501, "period": "WEEK"})
    assert refused.value.message == (
        "The publication asks for more than allowed: "
        "rate_limit 11 > 10.0, quota_limit 501 > 500 (quota per WEEK)."
    )
    assert refused.value.details == {
        "allowed": {"rate_limit": 10.0, "burst_limit": 20, "quota_limit": 500},
        "period": "WEEK",
        "exceeded": ["rate_limit", "quota_limit"],
    }
