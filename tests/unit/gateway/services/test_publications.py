from dataclasses import dataclass, replace
from types import SimpleNamespace

import pytest

from gateway.auth.standing import UserStandings
from gateway.providers.cognito import UserNotFoundError
from gateway.repositories.access import AccessRepository
from gateway.repositories.bots import BotItem, BotKeyItem, BotRepository, PublicationItem
from gateway.services.api_keys import InvalidApiKeyError, hash_key
from gateway.services.bots import BotService, NotBotOwnerError
from gateway.services.publications import (
    BotUnavailableError,
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
    world.repository.save(world.bot, None, previous=hidden)  # visible again
    world.pool.users["owner"] = (True, ["CreatingBotAllowed"])
    world.service._owner_standing = _owner_standing(world.pool)[0]
    with pytest.raises(BotUnavailableError):
        world.service.resolve(world.bot.bot_id, "secret")


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
