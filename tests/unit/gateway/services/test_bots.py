from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from gateway.clock import iso
from gateway.errors import BadRequestError, ConflictError
from gateway.providers.cognito import GroupNotFoundError, UserNotFoundError
from gateway.repositories.bots import (
    BotItem,
    BotLimitReachedError,
    BotRepository,
    DocumentSummary,
    SharedUser,
)
from gateway.repositories.limits import Check, LimitRepository
from gateway.services.bots import (
    BotDraft,
    BotNotFoundError,
    BotPrompt,
    BotService,
    DirectoryBudget,
    DirectoryLookupLimitError,
    GuardrailNotAllowedError,
    KnowledgeBaseNotAllowedError,
    NotBotOwnerError,
    _first_share,
    _share_partitions,
    bot_guardrail,
    bot_of_subject,
    can_view,
    manages,
    metering_subject,
)
from gateway.services.knowledge import Document, KnowledgeIndex, KnowledgeLimits, Passage, augment
from gateway.services.models import ModelNotAllowedError
from gateway.services.paging import InvalidPageTokenError, PageTokens
from gateway.settings import Guardrail, get_settings


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


# --- A bot's editing, chat prompt, store and deletion, through the service over the test stack (moto) ---

KB_ALLOWED, KB_OTHER = "KBALLOWED1", "KBOTHER002"
GUARD, OTHER_GUARD = Guardrail(id="botguard1", version="2"), Guardrail(id="unlisted9", version="DRAFT")


class _Models:
    """The model service as bots use it: each check recorded, the models it is told to refuse refused."""

    def __init__(self, refused=()) -> None:
        self.refused = set(refused)
        self.checked = []

    def check(self, model_id, groups):
        self.checked.append((model_id, groups))
        if model_id in self.refused:
            raise ModelNotAllowedError()


class _Directory(_Pool):
    """Cognito's users and groups as the service reads them."""

    def __init__(self, users=None, groups=()) -> None:
        super().__init__(users or {"ann@x.com": "id-ann", "bob@x.com": "id-bob", "own@x.com": "owner"})
        self.groups = set(groups or ("Team", "Lead"))

    def require_group(self, group):
        if group not in self.groups:
            raise GroupNotFoundError()


class _KnowledgeBases:
    """Bedrock's knowledge bases: each retrieval recorded, the passages given returned."""

    def __init__(self, passages=()) -> None:
        self.passages = list(passages)
        self.retrieved = []

    def retrieve(self, knowledge_base_id, query, limit):
        self.retrieved.append((knowledge_base_id, query, limit))
        return self.passages


class _Cache:
    """The knowledge cache: the key of each index asked for recorded, the index built from what is loaded."""

    def __init__(self) -> None:
        self.keys = []

    def index_for(self, key, load):
        self.keys.append(key)
        return KnowledgeIndex(load())


@dataclass
class _Editing:
    service: BotService
    repository: BotRepository
    models: _Models
    directory: _Directory
    knowledge_bases: _KnowledgeBases
    cache: _Cache
    budget: _Budget


def _editing(
    models=None,
    knowledge_bases=None,
    retrieved_passages=2,
    allowed_knowledge_bases=(KB_ALLOWED,),
    max_bots_per_user=10,
    max_allowed_users=3,
    limits=None,
) -> _Editing:
    """The whole service over the stack's bots table, with models, directory and knowledge recorded."""
    parts = _Editing(
        None,
        BotRepository(get_settings().table_bots),
        models or _Models(),
        _Directory(),
        knowledge_bases or _KnowledgeBases(),
        _Cache(),
        _Budget(),
    )
    parts.service = BotService(
        parts.repository,
        parts.models,
        parts.directory,
        parts.knowledge_bases,
        parts.cache,
        limits or KnowledgeLimits(max_documents=2),
        PageTokens(lambda: b"test-key"),
        retrieved_passages=retrieved_passages,
        allowed_knowledge_bases=list(allowed_knowledge_bases),
        directory_budget=parts.budget,
        max_bots_per_user=max_bots_per_user,
        max_allowed_users=max_allowed_users,
        allowed_guardrails=[GUARD],
    )
    return parts


OWNER = Member("owner", ("CreatingBotAllowed",))
DOCUMENTS = [Document(name="café.txt", text="Le café ouvre à huit heures."), Document("b.txt", "Bees buzz.")]


def _draft(**fields) -> BotDraft:
    return BotDraft(**{"title": "Helper", "model_id": "anthropic.claude", **fields})


def test_a_new_bot_stores_what_its_owner_described_and_starts_visible_unused_and_unpublished(
    stack, gateway_clock
):
    parts = _editing()
    at = iso(gateway_clock.peek())
    bot = parts.service.create(
        OWNER,
        _draft(
            description="Answers.",
            instruction="Be brief.",
            inference_parameters={"temperature": 0.2},
            documents=DOCUMENTS,
            shared_scope="partial",
            allowed_users=["Ann@X.com", "own@x.com"],
            allowed_groups=["Team", "Team"],
            guardrail=GUARD,
        ),
    )
    assert parts.repository.get(bot.bot_id) == bot
    assert bot == BotItem(
        bot_id=bot.bot_id,
        owner_id="owner",
        title="Helper",
        description="Answers.",
        instruction="Be brief.",
        model_id="anthropic.claude",
        inference_parameters={"temperature": 0.2},
        shared_scope="partial",
        allowed_users=(SharedUser("id-ann", "ann@x.com"),),  # the owner is not shared with
        allowed_groups=("Team",),
        documents=(DocumentSummary("café.txt", 30), DocumentSummary("b.txt", 10)),  # bytes, not characters
        knowledge_version=bot.knowledge_version,
        knowledge_base_id=None,
        visibility="visible",
        essential=False,
        use_count=0,
        created_at=at,
        updated_at=at,
        published=False,
        guardrail={"id": "botguard1", "version": "2"},
    )
    assert len(bot.bot_id) == len(bot.knowledge_version) == 28
    assert bot.bot_id != bot.knowledge_version
    assert parts.repository.documents(bot.bot_id, bot.knowledge_version) == [
        ("café.txt", "Le café ouvre à huit heures."),
        ("b.txt", "Bees buzz."),
    ]
    assert parts.models.checked == [("anthropic.claude", ("CreatingBotAllowed",))]
    assert parts.budget.spent == [("owner", 2)]
    assert parts.repository.owned_count("owner") == 1


def test_a_bot_described_by_title_and_model_only_is_private_and_empty(stack):
    parts = _editing()
    bot = parts.service.create(OWNER, _draft())
    assert (bot.description, bot.instruction, bot.inference_parameters) == ("", "", {})
    assert (bot.shared_scope, bot.allowed_users, bot.allowed_groups) == ("private", (), ())
    assert (bot.documents, bot.knowledge_base_id, bot.guardrail) == ((), None, None)
    assert parts.repository.get(bot.bot_id) == bot
    assert parts.repository.documents(bot.bot_id, bot.knowledge_version) == []


@pytest.mark.parametrize("missing", ["title", "model_id"])
def test_a_bot_without_a_title_or_a_model_is_refused_before_anything_is_checked(stack, missing):
    parts = _editing()
    assert _refused_creation(parts, _draft(**{missing: None}), BadRequestError) == (
        "missing_parameter",
        "A bot needs a title and a model_id.",
        {},
    )
    assert parts.models.checked == []


def test_a_bot_on_a_model_the_owner_may_not_use_is_refused_and_not_stored(stack):
    parts = _editing(models=_Models(refused={"anthropic.claude"}))
    assert _refused_creation(parts, _draft(), ModelNotAllowedError)[0] == "model_not_allowed"


def test_an_owner_creates_as_many_bots_as_allowed_and_no_more(stack):
    parts = _editing(max_bots_per_user=2)
    parts.service.create(OWNER, _draft())
    parts.service.create(OWNER, _draft())
    with pytest.raises(BotLimitReachedError) as refused:
        parts.service.create(OWNER, _draft())
    assert refused.value.details == {"max_bots_per_user": 2}
    assert parts.repository.owned_count("owner") == 2


def test_a_bot_uses_documents_or_a_knowledge_base_not_both(stack):
    parts = _editing()
    assert _refused_creation(
        parts, _draft(documents=DOCUMENTS, knowledge_base_id=KB_ALLOWED), BadRequestError
    ) == (
        "knowledge_conflict",
        "A bot uses its documents or a knowledge base, not both.",
        {},
    )
    on_base = parts.service.create(OWNER, _draft(knowledge_base_id=KB_ALLOWED, documents=[]))
    assert (on_base.knowledge_base_id, on_base.documents) == (KB_ALLOWED, ())
    assert parts.repository.get(on_base.bot_id).knowledge_base_id == KB_ALLOWED
    assert parts.repository.owned_count("owner") == 1


def test_new_documents_are_held_to_the_knowledge_limits(stack):
    parts = _editing(limits=KnowledgeLimits(max_documents=1))
    code, _, details = _refused_creation(parts, _draft(documents=DOCUMENTS), BadRequestError)
    assert (code, details) == ("too_many_documents", {"limit": 1, "count": 2})
    bot = parts.service.create(OWNER, _draft())
    with pytest.raises(BadRequestError) as refused:
        parts.service.update(OWNER, bot.bot_id, BotDraft(documents=DOCUMENTS), {"documents"})
    assert refused.value.code == "too_many_documents"
    with pytest.raises(BadRequestError) as refused:  # the new documents themselves, not only their count
        parts.service.update(OWNER, bot.bot_id, BotDraft(documents=[Document("x", " ")]), {"documents"})
    assert refused.value.code == "empty_document"
    assert parts.repository.get(bot.bot_id) == bot


def _refused_creation(parts, draft, error) -> tuple:
    """The code, message and details of the refusal of a bot described by `draft`; nothing stored."""
    with pytest.raises(error) as refused:
        parts.service.create(OWNER, draft)
    assert parts.repository.owned_count(OWNER.user_id) == 0
    return refused.value.code, refused.value.message, refused.value.details


def test_a_knowledge_base_the_gateway_may_not_read_is_refused_naming_those_it_may(stack):
    some_allowed = _editing(allowed_knowledge_bases=(KB_ALLOWED, "KBALLOWED2"))
    assert _refused_creation(
        some_allowed, _draft(knowledge_base_id=KB_OTHER), KnowledgeBaseNotAllowedError
    ) == (
        "knowledge_base_not_allowed",
        "Knowledge base KBOTHER002 is not one this gateway may read (allowed: KBALLOWED1, KBALLOWED2); its "
        "administrators list them in Terraform's knowledge_base_ids.",
        {"knowledge_base_id": KB_OTHER, "allowed_knowledge_base_ids": [KB_ALLOWED, "KBALLOWED2"]},
    )
    none_allowed = _editing(allowed_knowledge_bases=())
    assert _refused_creation(
        none_allowed, _draft(knowledge_base_id=KB_OTHER), KnowledgeBaseNotAllowedError
    ) == (
        "knowledge_base_not_allowed",
        "Knowledge base KBOTHER002 is not one this gateway may read (none is allowed); its "
        "administrators list them in Terraform's knowledge_base_ids.",
        {"knowledge_base_id": KB_OTHER, "allowed_knowledge_base_ids": []},
    )


def test_a_guardrail_terraform_does_not_list_is_refused_naming_those_it_does(stack):
    assert _refused_creation(_editing(), _draft(guardrail=OTHER_GUARD), GuardrailNotAllowedError) == (
        "guardrail_not_allowed",
        "Guardrail unlisted9 version DRAFT is not one this gateway may apply; its administrators list them "
        "in Terraform (group_policies' guardrails and bot_guardrails).",
        {
            "guardrail": {"id": "unlisted9", "version": "DRAFT"},
            "allowed_guardrails": [{"id": "botguard1", "version": "2"}],
        },
    )


def _created(parts, **fields) -> BotItem:
    return parts.service.create(
        OWNER,
        _draft(
            description="Answers.",
            instruction="Be brief.",
            inference_parameters={"temperature": 0.2},
            shared_scope="partial",
            allowed_users=["ann@x.com"],
            allowed_groups=["Team"],
            guardrail=GUARD,
            **fields,
        ),
    )


def test_an_edit_changes_only_the_fields_named_and_is_stored_with_its_time(stack, gateway_clock):
    parts = _editing()
    bot = _created(parts, documents=DOCUMENTS)
    gateway_clock.advance(minutes=5)
    at = iso(gateway_clock.peek())
    draft = BotDraft(
        title="Helper 2",
        description="More answers.",
        instruction="Be kind.",
        inference_parameters={"max_tokens": 50},
        shared_scope="all",
        model_id="meta.llama",
        allowed_users=["bob@x.com"],
        allowed_groups=["Lead"],
        documents=[Document("c.txt", "Cats.")],
    )
    retitled = parts.service.update(OWNER, bot.bot_id, draft, {"title"})
    assert retitled == replace(bot, title="Helper 2", updated_at=at)
    assert parts.repository.get(bot.bot_id) == retitled
    for name, value in [
        ("description", "More answers."),
        ("instruction", "Be kind."),
        ("inference_parameters", {"max_tokens": 50}),
        ("shared_scope", "all"),
        ("model_id", "meta.llama"),
        ("allowed_groups", ("Lead",)),
    ]:
        before = parts.repository.get(bot.bot_id)
        after = parts.service.update(OWNER, bot.bot_id, draft, {name})
        assert after == replace(before, updated_at=after.updated_at, **{name: value}), name
        assert parts.repository.get(bot.bot_id) == after
    assert parts.models.checked[-1] == ("meta.llama", ("CreatingBotAllowed",))
    assert parts.repository.documents(bot.bot_id, bot.knowledge_version) == [
        ("café.txt", "Le café ouvre à huit heures."),
        ("b.txt", "Bees buzz."),
    ]


def test_an_edit_naming_nothing_changes_only_its_time(stack, gateway_clock):
    parts = _editing()
    bot = _created(parts, documents=DOCUMENTS)
    at = iso(gateway_clock.peek())
    unchanged = parts.service.update(OWNER, bot.bot_id, _draft(documents=[], guardrail=None), set())
    assert unchanged == replace(bot, updated_at=at)
    assert parts.repository.get(bot.bot_id) == unchanged
    assert parts.models.checked == [("anthropic.claude", ("CreatingBotAllowed",))]  # the creation's only
    assert parts.budget.spent == [("owner", 1)]


@pytest.mark.parametrize("name", ["title", "shared_scope", "model_id"])
def test_a_title_scope_or_model_cannot_be_removed(stack, name):
    parts = _editing()
    bot = _created(parts)
    for removed in (BotDraft(), BotDraft(model_id="")) if name == "model_id" else (BotDraft(),):
        with pytest.raises(BadRequestError) as refused:
            parts.service.update(OWNER, bot.bot_id, removed, {name})
        assert (refused.value.code, refused.value.message) == (
            "invalid_parameter",
            f"{name} cannot be removed.",
        )
    assert parts.repository.get(bot.bot_id) == bot


def test_removed_description_instruction_and_parameters_are_emptied(stack):
    parts = _editing()
    bot = _created(parts)
    emptied = parts.service.update(
        OWNER, bot.bot_id, BotDraft(), {"description", "instruction", "inference_parameters"}
    )
    assert (emptied.description, emptied.instruction, emptied.inference_parameters) == ("", "", {})
    assert parts.repository.get(bot.bot_id) == emptied


def test_an_edit_to_a_model_the_owner_may_not_use_is_refused_and_not_stored(stack):
    parts = _editing(models=_Models(refused={"meta.llama"}))
    bot = _created(parts)
    with pytest.raises(ModelNotAllowedError):
        parts.service.update(OWNER, bot.bot_id, BotDraft(model_id="meta.llama"), {"model_id"})
    assert parts.repository.get(bot.bot_id) == bot


def test_an_edit_of_the_names_shared_with_looks_up_only_new_names(stack):
    parts = _editing()
    bot = _created(parts)
    users = parts.service.update(
        OWNER, bot.bot_id, BotDraft(allowed_users=["ANN@x.com", "bob@x.com"]), {"allowed_users"}
    ).allowed_users
    assert users == (SharedUser("id-ann", "ann@x.com"), SharedUser("id-bob", "bob@x.com"))
    assert parts.budget.spent == [("owner", 1), ("owner", 1)]  # ann at the creation, then bob
    assert parts.repository.get(bot.bot_id).allowed_users == users
    cleared = parts.service.update(OWNER, bot.bot_id, BotDraft(), {"allowed_users", "allowed_groups"})
    assert (cleared.allowed_users, cleared.allowed_groups) == ((), ())
    assert parts.repository.get(bot.bot_id) == cleared
    with pytest.raises(BadRequestError) as refused:
        parts.service.update(OWNER, bot.bot_id, BotDraft(allowed_groups=["Ghosts"]), {"allowed_groups"})
    assert refused.value.code == "unknown_group"


def test_an_edit_sets_or_removes_the_guardrail_among_those_listed(stack):
    parts = _editing()
    bot = _created(parts)
    with pytest.raises(GuardrailNotAllowedError):
        parts.service.update(OWNER, bot.bot_id, BotDraft(guardrail=OTHER_GUARD), {"guardrail"})
    assert parts.repository.get(bot.bot_id) == bot
    kept = parts.service.update(OWNER, bot.bot_id, BotDraft(guardrail=None), set())
    assert kept.guardrail == {"id": "botguard1", "version": "2"}  # not named: kept
    removed = parts.service.update(OWNER, bot.bot_id, BotDraft(), {"guardrail"})
    assert removed.guardrail is None
    assert parts.repository.get(bot.bot_id).guardrail is None
    again = parts.service.update(OWNER, bot.bot_id, BotDraft(guardrail=GUARD), {"guardrail"})
    assert (
        parts.repository.get(bot.bot_id).guardrail == again.guardrail == {"id": "botguard1", "version": "2"}
    )


def test_new_documents_replace_the_old_under_a_new_knowledge_version(stack):
    parts = _editing()
    bot = _created(parts, documents=DOCUMENTS)
    kept = parts.service.update(OWNER, bot.bot_id, BotDraft(documents=None), {"documents"})
    assert (kept.documents, kept.knowledge_version) == (bot.documents, bot.knowledge_version)
    replaced = parts.service.update(
        OWNER, bot.bot_id, BotDraft(documents=[Document("c.txt", "Cats.")]), {"documents"}
    )
    assert replaced.documents == (DocumentSummary("c.txt", 5),)
    assert replaced.knowledge_version not in ("", bot.knowledge_version)
    assert parts.repository.get(bot.bot_id) == replaced
    assert parts.repository.documents(bot.bot_id, replaced.knowledge_version) == [("c.txt", "Cats.")]
    assert parts.repository.documents(bot.bot_id, bot.knowledge_version) == []  # the old version's are gone
    emptied = parts.service.update(OWNER, bot.bot_id, BotDraft(documents=[]), {"documents"})
    assert emptied.documents == ()
    assert emptied.knowledge_version != replaced.knowledge_version
    assert parts.repository.documents(bot.bot_id, replaced.knowledge_version) == []


def test_an_edit_keeps_documents_and_a_knowledge_base_apart(stack):
    parts = _editing()
    with_documents = _created(parts, documents=DOCUMENTS)
    on_base = _created(parts, knowledge_base_id=KB_ALLOWED)
    refused_edits = [
        (with_documents, BotDraft(knowledge_base_id=KB_ALLOWED), {"knowledge_base_id"}),
        (on_base, BotDraft(documents=DOCUMENTS), {"documents"}),
        (
            on_base,
            BotDraft(documents=DOCUMENTS, knowledge_base_id=KB_ALLOWED),
            {"documents", "knowledge_base_id"},
        ),
    ]
    for bot, draft, fields in refused_edits:
        with pytest.raises(BadRequestError) as refused:
            parts.service.update(OWNER, bot.bot_id, draft, fields)
        assert refused.value.code == "knowledge_conflict", fields
        assert parts.repository.get(bot.bot_id) == bot
    # Both moved at once: from documents to a base, and back.
    to_base = parts.service.update(
        OWNER,
        with_documents.bot_id,
        BotDraft(documents=[], knowledge_base_id=KB_ALLOWED),
        {"documents", "knowledge_base_id"},
    )
    assert (to_base.documents, to_base.knowledge_base_id) == ((), KB_ALLOWED)
    assert parts.repository.get(with_documents.bot_id) == to_base
    to_documents = parts.service.update(
        OWNER, on_base.bot_id, BotDraft(documents=DOCUMENTS), {"documents", "knowledge_base_id"}
    )
    assert (len(to_documents.documents), to_documents.knowledge_base_id) == (2, None)
    assert parts.repository.get(on_base.bot_id) == to_documents


def test_only_a_newly_named_knowledge_base_must_be_allowed(stack):
    parts = _editing()
    bot = _created(parts, knowledge_base_id=KB_ALLOWED)
    delisted = _editing(allowed_knowledge_bases=("KBALLOWED2",))
    retitled = delisted.service.update(OWNER, bot.bot_id, BotDraft(title="Still editable"), {"title"})
    assert (retitled.title, retitled.knowledge_base_id) == ("Still editable", KB_ALLOWED)
    with pytest.raises(KnowledgeBaseNotAllowedError):
        delisted.service.update(
            OWNER, bot.bot_id, BotDraft(knowledge_base_id=KB_OTHER), {"knowledge_base_id"}
        )
    moved = delisted.service.update(
        OWNER, bot.bot_id, BotDraft(knowledge_base_id="KBALLOWED2"), {"knowledge_base_id"}
    )
    assert delisted.repository.get(bot.bot_id).knowledge_base_id == moved.knowledge_base_id == "KBALLOWED2"


def test_only_the_owner_edits_or_deletes_a_bot(stack):
    parts = _editing()
    bot = _created(parts)
    for member, error in [(Member("id-ann"), NotBotOwnerError), (Member("stranger"), BotNotFoundError)]:
        with pytest.raises(error):
            parts.service.update(member, bot.bot_id, BotDraft(title="Mine"), {"title"})
        with pytest.raises(error):
            parts.service.delete(member, bot.bot_id)
    assert parts.repository.get(bot.bot_id) == bot


def test_a_deleted_bot_goes_with_its_documents_shares_and_count(stack):
    parts = _editing()
    bot = _created(parts, documents=DOCUMENTS)
    shared_with_ann = parts.service.list_for(Member("id-ann"), 10, None).shared
    assert [b.bot_id for b in shared_with_ann] == [bot.bot_id]
    assert parts.service.delete(OWNER, bot.bot_id) == bot
    assert parts.repository.get(bot.bot_id) is None
    assert parts.repository.documents(bot.bot_id, bot.knowledge_version) == []
    assert parts.repository.shared_page("SHARE#USER#id-ann", 10, None) == ([], None)
    assert parts.repository.owned_count("owner") == 0
    with pytest.raises(BotNotFoundError):
        parts.service.delete(OWNER, bot.bot_id)


def test_a_published_bot_is_not_deleted(stack):
    parts = _editing()
    bot = _created(parts)
    parts.repository.set_published(bot.bot_id, True, bot.updated_at)
    with pytest.raises(ConflictError) as refused:
        parts.service.delete(OWNER, bot.bot_id)
    assert (refused.value.code, refused.value.message) == (
        "bot_published",
        "The bot is published: delete its publication first.",
    )
    assert parts.repository.get(bot.bot_id).published is True
    assert parts.repository.owned_count("owner") == 1


def _store_bots(parts, gateway_clock):
    """Three bots in the store (used 0, 1 and 2 times) and a private one."""
    bots = []
    for uses, title in enumerate(["Alpha one", "Alpha two", "Beta"]):
        bot = parts.service.create(OWNER, _draft(title=title, shared_scope="all"))
        for _ in range(uses):
            parts.service.record_use(bot.bot_id)
        bots.append(bot)
    parts.service.create(OWNER, _draft(title="Alpha private"))
    return bots


def test_the_store_pages_bots_shared_with_everyone_most_used_first(stack, gateway_clock):
    parts = _editing()
    unused, once, twice = _store_bots(parts, gateway_clock)
    assert parts.repository.get(twice.bot_id).use_count == 2
    seen, token = [], None
    for _ in range(3):
        page, token = parts.service.store(None, 1, token)
        seen += [bot.bot_id for bot in page]
    assert seen == [twice.bot_id, once.bot_id, unused.bot_id]
    assert token is None  # the last page says there is no more
    whole, end = parts.service.store(None, 10, None)
    assert ([bot.bot_id for bot in whole], end) == ([twice.bot_id, once.bot_id, unused.bot_id], None)


def test_a_store_search_pages_on_with_its_own_token_in_any_case(stack, gateway_clock):
    parts = _editing()
    unused, once, _ = _store_bots(parts, gateway_clock)
    first, token = parts.service.store("ALPHA", 1, None)
    assert [bot.bot_id for bot in first] == [once.bot_id]
    second, _ = parts.service.store("alpha", 1, token)  # the same search, in another case
    assert [bot.bot_id for bot in second] == [unused.bot_id]
    for other in (None, "beta"):
        with pytest.raises(InvalidPageTokenError):
            parts.service.store(other, 1, token)


def test_a_store_token_pages_no_other_search(stack, gateway_clock):
    parts = _editing()
    _store_bots(parts, gateway_clock)
    for title in ("Straße one", "Straße two"):
        parts.service.create(OWNER, _draft(title=title, shared_scope="all"))
    _, whole_store = parts.service.store(None, 1, None)
    for search in ("beta", "xxxx", "XXXX"):  # whatever it looks for
        with pytest.raises(InvalidPageTokenError):
            parts.service.store(search, 1, whole_store)
    first, street = parts.service.store("Straße", 1, None)
    # Searches that differ in lower case are different searches ("straße" is not "strasse"), even where
    # upper case would make them one ("STRASSE").
    with pytest.raises(InvalidPageTokenError):
        parts.service.store("STRASSE", 1, street)
    second, _ = parts.service.store("STRAßE", 1, street)
    assert sorted(bot.title for bot in first + second) == ["Straße one", "Straße two"]


def test_a_use_ranks_the_bot_and_a_gone_bot_is_not_counted(stack):
    parts = _editing()
    bot = _created(parts)
    parts.service.record_use(bot.bot_id)
    assert (parts.repository.get(bot.bot_id).use_count, parts.repository.get(bot.bot_id).store_rank) == (1, 1)
    parts.service.record_use("missing")
    assert parts.repository.get("missing") is None


def test_a_chat_prompt_carries_the_instruction_and_the_parameters_the_model_takes(stack):
    parts = _editing()
    bot = _created(parts)
    tuned = replace(
        bot,
        instruction="  Be brief. ",
        inference_parameters={
            "max_tokens": 100,
            "temperature": 0.5,
            "top_p": None,  # left to the model
            "stop_sequences": ["END"],
            "top_k": 5,  # not an inference configuration field
        },
    )
    prompt = parts.service.prompt(tuned, "What time is it?")
    assert prompt == BotPrompt(
        system=[{"text": "  Be brief. "}],
        user_text="What time is it?",
        inference_config={"maxTokens": 100, "temperature": 0.5, "stopSequences": ["END"]},
        sources=[],
    )
    assert parts.knowledge_bases.retrieved == parts.cache.keys == []
    plain = parts.service.prompt(replace(bot, instruction=" \n", inference_parameters={"top_p": 0.9}), "Hi")
    assert plain == BotPrompt(system=None, user_text="Hi", inference_config={"topP": 0.9}, sources=[])
    bare = parts.service.prompt(replace(bot, instruction="", inference_parameters={}), "Hi")
    assert (bare.system, bare.inference_config) == (None, None)


def test_a_chat_prompt_puts_the_best_passages_of_the_bots_documents_first(stack):
    parts = _editing(retrieved_passages=2, limits=KnowledgeLimits())
    documents = [
        Document("coffee.txt", "The coffee machine opens at eight."),
        Document("bees.txt", "Bees buzz around the coffee garden."),
        Document("cats.txt", "Cats sleep all day."),
        Document("coffee-too.txt", "Coffee coffee coffee machine."),
    ]
    bot = _created(parts)
    bot = parts.service.update(OWNER, bot.bot_id, BotDraft(documents=documents), {"documents"})
    prompt = parts.service.prompt(bot, "When does the coffee machine open?")
    assert parts.cache.keys == [(bot.bot_id, bot.knowledge_version)]
    expected = KnowledgeIndex(documents).search("When does the coffee machine open?", 2)
    assert len(expected) == 2
    assert prompt.sources == [passage.source for passage in expected]
    assert prompt.user_text == augment("When does the coffee machine open?", expected)
    assert "Cats" not in prompt.user_text


def test_a_chat_prompt_reads_the_bots_knowledge_base_if_it_is_still_allowed(stack):
    passages = [Passage("a.pdf", "First."), Passage("b.pdf", "Second."), Passage("a.pdf", "Third.")]
    parts = _editing(knowledge_bases=_KnowledgeBases(passages), retrieved_passages=3)
    bot = _created(parts, knowledge_base_id=KB_ALLOWED)
    prompt = parts.service.prompt(bot, "Question?")
    assert parts.knowledge_bases.retrieved == [(KB_ALLOWED, "Question?", 3)]
    assert prompt.sources == ["a.pdf", "b.pdf"]  # each source once, in the order found
    assert prompt.user_text == augment("Question?", passages)
    assert parts.cache.keys == []
    delisted = _editing(allowed_knowledge_bases=())
    with pytest.raises(KnowledgeBaseNotAllowedError):
        delisted.service.prompt(bot, "Question?")
    assert delisted.knowledge_bases.retrieved == []


def test_a_metering_subject_names_its_bot_and_a_users_id_names_none():
    assert metering_subject("b1") == "bot:b1"
    assert bot_of_subject("bot:b1") == "b1"
    assert bot_of_subject("user-bot:b1") is None
    assert bot_of_subject("user-1") is None


def test_a_bots_guardrail_is_the_one_stored_or_none():
    assert bot_guardrail(replace(_bot("all"), guardrail={"id": "botguard1", "version": "2"})) == GUARD
    assert bot_guardrail(_bot("all")) is None
