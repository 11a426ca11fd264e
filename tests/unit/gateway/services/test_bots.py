from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from gateway.errors import BadRequestError
from gateway.providers.cognito import UserNotFoundError
from gateway.repositories.bots import BotItem, BotRepository, SharedUser
from gateway.repositories.limits import LimitRepository
from gateway.services.bots import BotService, DirectoryBudget, DirectoryLookupLimitError, can_view
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
    settings = get_settings()
    return BotService(
        BotRepository(settings.table_bots),
        None,
        pool,
        None,
        None,
        None,
        PageTokens(lambda: b"test-key"),
        retrieved_passages=4,
        allowed_knowledge_bases=(),
        directory_budget=DirectoryBudget(LimitRepository(settings.table_usage), per_minute),
        max_bots_per_user=100,
        max_allowed_users=max_allowed_users,
    )


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
    assert sorted(listed_shared) == sorted([by_user.bot_id, by_both.bot_id, by_group.bot_id])
    assert pages >= 3
    with pytest.raises(InvalidPageTokenError):  # a token is the member's own
        service.list_for(Member("someone"), 2, service.list_for(member, 2, None).next_token)
