from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from gateway.clock import iso
from gateway.errors import BadRequestError
from gateway.providers.cognito import GroupNotFoundError, UserNotFoundError
from gateway.repositories.bots import BotItem, BotRepository, SharedUser
from gateway.repositories.limits import Check, LimitRepository
from gateway.services.bots import (
    BotNotFoundError,
    BotService,
    DirectoryBudget,
    DirectoryLookupLimitError,
    NotBotOwnerError,
    _first_share,
    _share_partitions,
    can_view,
    manages,
)
from gateway.services.paging import InvalidPageTokenError, PageTokens
from gateway.settings import get_settings


@dataclass(frozen=True)
class Member:
    user_id: str
    groups: tuple[str, ...] = ()


def _bot(scope: str, visibility: str = "visible") -> BotItem:
    return BotItem(
        bot_id="b",
        owner_id="owner",
        title="t",
        description="",
        instruction="",
        model_id="m",
        inference_parameters={},
        shared_scope=scope,
        allowed_users=(SharedUser(user_id="friend", email=None),),
        allowed_groups=("PublishAllowed",),
        documents=(),
        knowledge_version="v",
        knowledge_base_id=None,
        visibility=visibility,
        essential=False,
        use_count=0,
        created_at="",
        updated_at="",
    )


@pytest.mark.parametrize(
    ("scope", "visibility", "member", "sees"),
    [
        ("private", "visible", Member("owner"), True),
        ("private", "visible", Member("friend"), False),
        ("private", "visible", Member("root", ("Admin",)), True),
        ("partial", "visible", Member("friend"), True),
        ("partial", "visible", Member("someone", ("PublishAllowed",)), True),
        ("partial", "visible", Member("someone", ("CreatingBotAllowed",)), False),
        ("partial", "hidden", Member("friend"), False),
        ("partial", "hidden", Member("owner"), True),
        ("all", "visible", Member("anyone"), True),
        ("all", "hidden", Member("anyone"), False),
        ("all", "hidden", Member("root", ("Admin",)), True),
    ],
)
def test_who_sees_a_bot(scope, visibility, member, sees):
    assert can_view(_bot(scope, visibility), member) is sees


class _Pool:
    """Cognito's directory as the service reads it: counts the lookups."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users  # email -> user id
        self.lookups = 0

    def get_user(self, value: str):
        self.lookups += 1
        for email, user_id in self.users.items():
            if value in (email, user_id):
                return SimpleNamespace(user_id=user_id, email=email, enabled=True)
        raise UserNotFoundError()


def _service(stack, pool=None, per_minute=30, max_allowed_users=20):
    """The service over the tables of the test stack (moto)."""
    settings = get_settings()
    budget = DirectoryBudget(LimitRepository(settings.table_usage), per_minute)
    return _sharing_service(pool, budget, BotRepository(settings.table_bots), max_allowed_users)


def test_more_allowed_users_than_allowed_is_400_before_any_lookup(stack):
    pool = _Pool({})
    service = _service(stack, pool, max_allowed_users=2)
    with pytest.raises(BadRequestError) as refused:
        service._resolve_users(["a@x.com", "b@x.com", "c@x.com"], "owner", ())
    assert refused.value.code == "too_many_allowed_users"
    assert pool.lookups == 0


def test_directory_lookups_past_the_minute_budget_are_429_and_known_names_cost_nothing(stack):
    pool = _Pool({f"u{n}@x.com": f"id{n}" for n in range(6)})
    service = _service(stack, pool, per_minute=4)
    first = service._resolve_users(["u0@x.com", "U1@x.com", "id2"], "owner", ())
    assert [user.user_id for user in first] == ["id0", "id1", "id2"]
    # Names the bot already holds are not looked up again: one new lookup of the budget's last.
    again = service._resolve_users(["u0@x.com", "id1", "u2@x.com", "u3@x.com"], "owner", first)
    assert len(again) == 4
    assert pool.lookups == 4
    with pytest.raises(DirectoryLookupLimitError) as refused:
        service._resolve_users(["u4@x.com"], "owner", ())
    assert refused.value.status_code == 429
    assert refused.value.code == "directory_lookup_limit"
    assert pool.lookups == 4
    service._resolve_users(["u4@x.com"], "someone else", ())  # the budget is per member


def _save(repository, number, owner="owner", **fields):
    bot = BotItem(**{**_bot("private").__dict__, "bot_id": f"{number:028x}", "owner_id": owner, **fields})
    repository.save(bot, None)
    return bot


def test_the_bot_list_pages_mine_then_shared_once_each(stack):
    service = _service(stack)
    repository = BotRepository(get_settings().table_bots)
    member = Member("me", ("CreatingBotAllowed",))
    mine = [_save(repository, n, owner="me") for n in range(3)]
    by_user = _save(
        repository, 10, shared_scope="partial", allowed_users=(SharedUser("me", None),), allowed_groups=()
    )
    by_both = _save(
        repository,
        11,
        shared_scope="partial",
        allowed_users=(SharedUser("me", None),),
        allowed_groups=("CreatingBotAllowed",),
    )
    by_group = _save(
        repository, 12, shared_scope="partial", allowed_users=(), allowed_groups=("CreatingBotAllowed",)
    )
    by_group_too = _save(
        repository, 14, shared_scope="partial", allowed_users=(), allowed_groups=("CreatingBotAllowed",)
    )
    _save(repository, 13, shared_scope="partial", allowed_users=(), allowed_groups=("Admin",))
    listed_mine, listed_shared, token, pages = [], [], None, 0
    while True:
        page = service.list_for(member, 2, token)
        assert len(page.mine) + len(page.shared) <= 2
        listed_mine += [bot.bot_id for bot in page.mine]
        listed_shared += [bot.bot_id for bot in page.shared]
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert listed_mine == [bot.bot_id for bot in reversed(mine)]
    assert sorted(listed_shared) == sorted(
        [by_user.bot_id, by_both.bot_id, by_group.bot_id, by_group_too.bot_id]
    )
    assert pages >= 3
    whole = service.list_for(member, 10, None)  # one page: the shared bots newest first
    assert [bot.bot_id for bot in whole.shared] == [
        bot.bot_id for bot in (by_group_too, by_group, by_both, by_user)
    ]
    assert whole.next_token is None
    with pytest.raises(InvalidPageTokenError):  # a token is the member's own
        service.list_for(Member("someone"), 2, service.list_for(member, 2, None).next_token)


# --- Sharing rules one by one: who manages, where shares are kept, the directory budget, names resolved ---


@pytest.mark.parametrize(
    ("member", "manages_it"),
    [
        (Member("owner"), True),
        (Member("root", ("Admin",)), True),
        (Member("friend", ("PublishAllowed", "CreatingBotAllowed")), False),
        (Member("someone"), False),
    ],
)
def test_only_the_owner_and_admins_manage_a_bot(member, manages_it):
    assert manages(_bot("all"), member) is manages_it


def test_a_group_a_member_holds_through_another_shares_the_bot_with_them():
    bot = replace(_bot("partial"), allowed_users=(), allowed_groups=("CreatingBotAllowed",))
    assert can_view(bot, Member("lead", ("PublishAllowed",))) is False
    assert can_view(bot, Member("head", ("Admin",))) is True  # admins manage every bot
    assert can_view(replace(bot, allowed_groups=("PublishAllowed",)), Member("x", ("PublishAllowed",)))


def test_shares_are_looked_up_under_the_member_then_each_group_they_hold():
    member = Member("me", ("PublishAllowed", "CreatingBotAllowed"))
    assert _share_partitions(member) == [
        "SHARE#USER#me",
        "SHARE#GROUP#CreatingBotAllowed",
        "SHARE#GROUP#PublishAllowed",
    ]
    assert _share_partitions(Member("me")) == ["SHARE#USER#me"]


@pytest.mark.parametrize(
    ("users", "groups", "first"),
    [
        (("me",), ("CreatingBotAllowed", "PublishAllowed"), 1),  # by name first
        (("other",), ("PublishAllowed",), 3),
        ((), ("CreatingBotAllowed", "PublishAllowed"), 2),
        (("other",), ("Admin",), 0),  # no share admits the member
    ],
)
def test_a_bot_shared_several_ways_is_listed_under_its_first_share(users, groups, first):
    member = Member("me", ("PublishAllowed", "CreatingBotAllowed"))
    bot = replace(
        _bot("partial"),
        allowed_users=tuple(SharedUser(u, None) for u in users),
        allowed_groups=groups,
    )
    assert _first_share(bot, member, _share_partitions(member)) == first


class _Counters:
    """The limit repository as the directory budget uses it: each consume recorded, refused when told."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.moves = []

    def consume(self, user_id, move):
        self.moves.append((user_id, move))
        return not self.refuse


def test_the_directory_budget_spends_lookups_in_the_members_minute_item(gateway_clock):
    gateway_clock.set(datetime(2026, 3, 15, 10, 20, 45, 500_000, tzinfo=UTC))
    counters = _Counters()
    budget = DirectoryBudget(counters, 12)
    budget.spend("u1", 0)  # nothing to look up: nothing spent
    assert counters.moves == []
    budget.spend("u1", 3)
    [(user_id, move)] = counters.moves
    assert user_id == "u1"
    assert move.sort_key == "MINUTE#2026-03-15T10:20"
    assert move.adds == {"directory_lookups": 3}
    assert move.checks == [Check("directory_lookups_per_minute", "directory_lookups", 3, 12)]
    assert move.expires_at == int(datetime(2026, 3, 15, 10, 25, 46, tzinfo=UTC).timestamp())  # rounded up


def test_a_spent_directory_budget_says_when_the_minute_ends(gateway_clock):
    gateway_clock.set(datetime(2026, 3, 15, 10, 20, 45, tzinfo=UTC))
    with pytest.raises(DirectoryLookupLimitError) as refused:
        DirectoryBudget(_Counters(refuse=True), 12).spend("u1", 1)
    assert refused.value.details == {"directory_lookups_per_minute": 12, "retry_after_seconds": 15}
    assert refused.value.headers == {"Retry-After": "15"}


class _Budget:
    def __init__(self) -> None:
        self.spent = []

    def spend(self, user_id, lookups):
        self.spent.append((user_id, lookups))


def _sharing_service(pool=None, budget=None, repository=None, max_allowed_users=20):
    """The service with what sharing uses given; the rest (models, knowledge) absent."""
    return BotService(
        repository,
        None,
        pool,
        None,
        None,
        None,
        PageTokens(lambda: b"test-key"),
        retrieved_passages=4,
        allowed_knowledge_bases=(),
        directory_budget=budget or _Budget(),
        max_bots_per_user=100,
        max_allowed_users=max_allowed_users,
    )


def test_names_are_resolved_once_each_emails_in_lower_case_the_owner_left_out():
    pool = _Pool({"ann@x.com": "id-ann", "bob@x.com": "Id-Bob", "own@x.com": "owner"})
    budget = _Budget()
    service = _sharing_service(pool, budget)
    users = service._resolve_users(
        [" Ann@X.com ", "ann@x.com", "Id-Bob", " Id-Bob", "own@x.com"],
        "owner",
        (SharedUser("id-old", "old@x.com"),),
    )
    assert users == (
        SharedUser("id-ann", "ann@x.com"),
        SharedUser("Id-Bob", "bob@x.com"),
    )  # ids keep their case
    assert budget.spent == [("owner", 3)]  # ann, Id-Bob, own: three names to look up
    assert pool.lookups == 3


def test_names_the_bot_holds_are_kept_without_a_lookup():
    known = (SharedUser("id-ann", "ann@x.com"), SharedUser("id-bob", None))
    pool, budget = _Pool({}), _Budget()
    users = _sharing_service(pool, budget)._resolve_users(["ANN@x.com", "id-bob"], "owner", known)
    assert users == known
    assert (budget.spent, pool.lookups) == ([("owner", 0)], 0)


def test_an_unknown_name_is_refused_by_name():
    with pytest.raises(BadRequestError) as refused:
        _sharing_service(_Pool({}), _Budget())._resolve_users(["nobody@x.com"], "owner", ())
    assert (refused.value.code, refused.value.message) == (
        "unknown_user",
        "No user 'nobody@x.com' to share the bot with.",
    )


def test_as_many_names_as_allowed_pass_and_one_more_is_refused():
    pool = _Pool({f"u{n}@x.com": f"id{n}" for n in range(3)})
    service = _sharing_service(pool, _Budget(), max_allowed_users=2)
    assert len(service._resolve_users(["u0@x.com", "u1@x.com"], "owner", ())) == 2
    with pytest.raises(BadRequestError) as refused:
        service._resolve_users(["u0@x.com", "u1@x.com", "u2@x.com"], "owner", ())
    assert refused.value.details == {"max_allowed_users": 2}
    assert (
        refused.value.message
        == "A bot is shared with at most 2 users by name: share it with a group instead."
    )


class _Groups:
    def __init__(self, names) -> None:
        self.names = names
        self.required = []

    def require_group(self, group):
        self.required.append(group)
        if group not in self.names:
            raise GroupNotFoundError()


def test_groups_shared_with_must_exist_and_are_kept_once_each_in_order():
    pool = _Groups({"Team", "Lead"})
    service = _sharing_service(pool)
    assert service._check_groups(["Team", "Lead", "Team"]) == ("Team", "Lead")
    assert pool.required == ["Team", "Lead", "Team"]
    with pytest.raises(BadRequestError) as refused:
        service._check_groups(["Team", "Ghosts"])
    assert (refused.value.code, refused.value.message) == (
        "unknown_group",
        "No group 'Ghosts' to share the bot with.",
    )


class _Bots:
    """A bot repository holding one bot, recording saves."""

    def __init__(self, bot) -> None:
        self.bot = bot
        self.saved = []

    def get(self, bot_id):
        return self.bot if self.bot and bot_id == self.bot.bot_id else None

    def save(self, bot, documents, previous=None):
        self.saved.append((bot, documents, previous))
        self.bot = bot


def test_the_owner_owns_a_bot_others_who_see_it_are_refused_and_others_do_not_find_it():
    bots = _Bots(_bot("partial"))
    service = _sharing_service(repository=bots)
    assert service.owned(Member("owner"), "b").bot_id == "b"
    with pytest.raises(NotBotOwnerError):
        service.owned(Member("friend"), "b")  # shared with them: they see it, but do not own it
    with pytest.raises(NotBotOwnerError):
        service.owned(Member("root", ("Admin",)), "b")
    with pytest.raises(BotNotFoundError):
        service.owned(Member("stranger"), "b")
    with pytest.raises(BotNotFoundError):
        service.visible(Member("owner"), "missing")


def test_admins_hide_a_bot_or_mark_it_essential_and_what_they_leave_out_is_kept(gateway_clock):
    bots = _Bots(_bot("all"))
    service = _sharing_service(repository=bots)
    at = iso(gateway_clock.peek())
    hidden = service.govern("b", "hidden", None)
    assert (hidden.visibility, hidden.essential, hidden.updated_at) == ("hidden", False, at)
    assert bots.saved[0][2].visibility == "visible"  # saved against the previous version
    essential = service.govern("b", None, True)
    assert (essential.visibility, essential.essential) == ("hidden", True)
    assert service.govern("b", "visible", False).essential is False
    with pytest.raises(BotNotFoundError):
        service.govern("missing", "hidden", None)
