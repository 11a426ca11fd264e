"""Bots: a model with an instruction, inference parameters and knowledge, shared with colleagues.

Who sees a bot: its owner and admins always; others only while it is visible (admins may hide it) and shared
with everyone, or partially with them (by user or one of their groups). Only the owner changes or deletes it.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from gateway.auth.groups import effective_groups
from gateway.clock import iso, sortable_id, utcnow
from gateway.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError, TooManyRequestsError
from gateway.providers.cognito import CognitoUserPool, GroupNotFoundError, UserNotFoundError
from gateway.providers.knowledge_bases import BedrockKnowledgeBases
from gateway.repositories.bots import BotItem, BotRepository, DocumentSummary, SharedUser
from gateway.repositories.limits import WINDOW_TTL, Check, CounterMove, LimitRepository, Windows
from gateway.services.knowledge import Document, KnowledgeCache, KnowledgeLimits, augment, validate_documents
from gateway.services.models import ModelService
from gateway.services.paging import PageTokens
from gateway.settings import GROUP_ADMIN, Guardrail

SharedScope = Literal["private", "partial", "all"]
Visibility = Literal["visible", "hidden"]
_INFERENCE_CONFIG_NAMES = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop_sequences": "stopSequences",
}


# A published bot runs with the policy of a user in no group (never its owner's, who may be an admin), and
# its calls are metered to a subject of its own.
PUBLISHED_GROUPS: tuple[str, ...] = ()


_SUBJECT_PREFIX = "bot:"


def metering_subject(bot_id: str) -> str:
    return f"{_SUBJECT_PREFIX}{bot_id}"


def bot_of_subject(subject: str) -> str | None:
    """The bot a metering subject is, or None for a user's id."""
    return subject.removeprefix(_SUBJECT_PREFIX) if subject.startswith(_SUBJECT_PREFIX) else None


class BotNotFoundError(NotFoundError):
    code = "bot_not_found"
    message = "No such bot."


class NotBotOwnerError(ForbiddenError):
    code = "not_bot_owner"
    message = "Only the bot's owner may do this."


class KnowledgeBaseNotAllowedError(BadRequestError):
    code = "knowledge_base_not_allowed"
    message = "This knowledge base is not allowed."


class GuardrailNotAllowedError(BadRequestError):
    code = "guardrail_not_allowed"
    message = "This guardrail is not one the gateway lists."


def bot_guardrail(bot: BotItem) -> Guardrail | None:
    return Guardrail(**bot.guardrail) if bot.guardrail else None


class DirectoryLookupLimitError(TooManyRequestsError):
    code = "directory_lookup_limit"
    message = "Too many colleagues looked up this minute: try again in a minute."


class Member(Protocol):
    """Whoever asks: a signed-in principal or a metered caller (both carry these)."""

    @property
    def user_id(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class BotDraft:
    """A whole bot as its owner describes it (create), or the fields to change (update: None = keep)."""

    title: str | None = None
    description: str | None = None
    instruction: str | None = None
    model_id: str | None = None
    inference_parameters: dict[str, Any] | None = None
    documents: list[Document] | None = None
    knowledge_base_id: str | None = None
    shared_scope: SharedScope | None = None
    allowed_users: list[str] | None = None
    allowed_groups: list[str] | None = None
    guardrail: Guardrail | None = None


@dataclass(frozen=True)
class BotPrompt:
    """What a chat turn with a bot sends to the model."""

    system: list[dict[str, str]] | None
    user_text: str
    inference_config: dict[str, Any] | None
    sources: list[str]


def manages(bot: BotItem, member: Member) -> bool:
    """Its owner, or an admin: who sees all of a bot, hidden or not."""
    return bot.owner_id == member.user_id or GROUP_ADMIN in effective_groups(member.groups)


def can_view(bot: BotItem, member: Member) -> bool:
    if manages(bot, member):
        return True
    groups = effective_groups(member.groups)
    if bot.visibility != "visible":
        return False
    if bot.shared_scope == "all":
        return True
    if bot.shared_scope == "partial":
        return any(u.user_id == member.user_id for u in bot.allowed_users) or bool(
            set(bot.allowed_groups) & set(groups)
        )
    return False


@dataclass(frozen=True)
class BotListPage:
    mine: list[BotItem]
    shared: list[BotItem]
    next_token: str | None


class DirectoryBudget:
    """Cognito lookups a member may make per UTC minute to resolve allowed_users (emails or ids), so nobody
    can map the user directory through bot shares. Counted in the member's minute limit item."""

    ATTRIBUTE = "directory_lookups"

    def __init__(self, limits: LimitRepository, per_minute: int) -> None:
        self._limits = limits
        self._per_minute = per_minute

    def spend(self, user_id: str, lookups: int) -> None:
        if lookups <= 0:
            return
        now = utcnow()
        move = CounterMove(
            sort_key=Windows.at(now).minute,
            adds={self.ATTRIBUTE: lookups},
            checks=[Check("directory_lookups_per_minute", self.ATTRIBUTE, lookups, self._per_minute)],
            expires_at=math.ceil((now + WINDOW_TTL["MINUTE"]).timestamp()),
        )
        if not self._limits.consume(user_id, move):
            retry_after = 60 - now.second
            raise DirectoryLookupLimitError(
                details={
                    "directory_lookups_per_minute": self._per_minute,
                    "retry_after_seconds": retry_after,
                },
                headers={"Retry-After": str(retry_after)},
            )


class BotService:
    def __init__(
        self,
        repository: BotRepository,
        models: ModelService,
        user_pool: CognitoUserPool,
        knowledge_bases: BedrockKnowledgeBases,
        knowledge_cache: KnowledgeCache,
        knowledge_limits: KnowledgeLimits,
        page_tokens: PageTokens,
        retrieved_passages: int,
        allowed_knowledge_bases: Sequence[str],
        directory_budget: DirectoryBudget,
        max_bots_per_user: int,
        max_allowed_users: int,
        allowed_guardrails: Sequence[Guardrail] = (),
    ) -> None:
        self._repository = repository
        self._models = models
        self._user_pool = user_pool
        self._knowledge_bases = knowledge_bases
        self._cache = knowledge_cache
        self._knowledge_limits = knowledge_limits
        self._page_tokens = page_tokens
        self._retrieved_passages = retrieved_passages
        # The function's role may Retrieve from these only (Terraform's knowledge_base_ids).
        self._allowed_knowledge_bases = tuple(allowed_knowledge_bases)
        self._directory_budget = directory_budget
        self._max_bots_per_user = max_bots_per_user
        self._max_allowed_users = max_allowed_users
        # Terraform's guardrails (the groups' and bot_guardrails): the function may apply these only.
        self._allowed_guardrails = tuple(allowed_guardrails)

    # -- owner's operations ------------------------------------------------------------------------------

    def create(self, owner: Member, draft: BotDraft) -> BotItem:
        if draft.title is None or draft.model_id is None:
            raise BadRequestError("A bot needs a title and a model_id.", code="missing_parameter")
        self._models.check(draft.model_id, owner.groups)
        documents = draft.documents or []
        self._check_knowledge(documents, bool(documents), draft.knowledge_base_id)
        self._check_knowledge_base_allowed(draft.knowledge_base_id)
        self._check_guardrail_allowed(draft.guardrail)
        scope = draft.shared_scope or "private"
        now = iso(utcnow())
        bot = BotItem(
            bot_id=sortable_id(),
            owner_id=owner.user_id,
            title=draft.title,
            description=draft.description or "",
            instruction=draft.instruction or "",
            model_id=draft.model_id,
            inference_parameters=draft.inference_parameters or {},
            shared_scope=scope,
            allowed_users=self._resolve_users(draft.allowed_users or [], owner.user_id, ()),
            allowed_groups=self._check_groups(draft.allowed_groups or []),
            documents=_summaries(documents),
            knowledge_version=sortable_id(),
            knowledge_base_id=draft.knowledge_base_id,
            visibility="visible",
            essential=False,
            use_count=0,
            created_at=now,
            updated_at=now,
            guardrail=draft.guardrail.model_dump() if draft.guardrail else None,
        )
        self._repository.save(bot, [(d.name, d.text) for d in documents], max_owned=self._max_bots_per_user)
        return bot

    def update(self, owner: Member, bot_id: str, draft: BotDraft, fields: set[str]) -> BotItem:
        """Change the fields named in `fields` (a field named there with None clears it where it may)."""
        current = self.owned(owner, bot_id)
        changes: dict[str, Any] = {"updated_at": iso(utcnow())}
        for name in ("title", "description", "instruction", "inference_parameters", "shared_scope"):
            if name in fields:
                value = getattr(draft, name)
                if value is None and name in ("title", "shared_scope"):
                    raise BadRequestError(f"{name} cannot be removed.", code="invalid_parameter")
                changes[name] = value if value is not None else ({} if name == "inference_parameters" else "")
        if "model_id" in fields:
            if not draft.model_id:
                raise BadRequestError("model_id cannot be removed.", code="invalid_parameter")
            self._models.check(draft.model_id, owner.groups)
            changes["model_id"] = draft.model_id
        if "allowed_users" in fields:
            changes["allowed_users"] = self._resolve_users(
                draft.allowed_users or [], owner.user_id, current.allowed_users
            )
        if "allowed_groups" in fields:
            changes["allowed_groups"] = self._check_groups(draft.allowed_groups or [])
        if "guardrail" in fields:
            self._check_guardrail_allowed(draft.guardrail)
            changes["guardrail"] = draft.guardrail.model_dump() if draft.guardrail else None
        documents = draft.documents if "documents" in fields else None
        if documents is not None:
            changes["documents"] = _summaries(documents)
            changes["knowledge_version"] = sortable_id()
        if "knowledge_base_id" in fields:
            # Only a newly named knowledge base is checked: the owner can still edit a bot whose base was
            # delisted (its chats fail until the base is changed or removed).
            self._check_knowledge_base_allowed(draft.knowledge_base_id)
            changes["knowledge_base_id"] = draft.knowledge_base_id
        self._check_knowledge(
            documents,
            bool(documents) if documents is not None else bool(current.documents),
            changes.get("knowledge_base_id", current.knowledge_base_id),
        )
        updated = replace(current, **changes)
        self._repository.save(
            updated,
            [(d.name, d.text) for d in documents] if documents is not None else None,
            previous=current,
        )
        return updated

    def delete(self, owner: Member, bot_id: str) -> BotItem:
        bot = self.owned(owner, bot_id)
        if bot.published:
            raise ConflictError("The bot is published: delete its publication first.", code="bot_published")
        self._repository.delete(bot)
        return bot

    def owned(self, member: Member, bot_id: str) -> BotItem:
        """The bot, if the member owns it: 404 when they may not even see it, else 403."""
        bot = self.visible(member, bot_id)
        if bot.owner_id != member.user_id:
            raise NotBotOwnerError()
        return bot

    # -- everyone's ---------------------------------------------------------------------------------------

    def visible(self, member: Member, bot_id: str) -> BotItem:
        bot = self._repository.get(bot_id)
        if bot is None or not can_view(bot, member):
            raise BotNotFoundError()
        return bot

    def list_for(self, member: Member, limit: int, next_token: str | None) -> BotListPage:
        """The member's own bots, then those shared with them by user or by group (each newest first), `limit`
        at a time. Every read is bounded by `limit`; a bot shared in several ways is listed once, under the
        first share that admits it (the user's own, then the groups in order)."""
        scope = f"bots.list:{member.user_id}"
        position = self._page_tokens.decode(next_token, scope)
        state: dict[str, Any] = json.loads(position) if position else {"part": 0}  # no start: the first page
        partitions = _share_partitions(member)
        mine: list[BotItem] = []
        shared: list[BotItem] = []
        part, start = int(state["part"]), state.get("start")
        while len(mine) + len(shared) < limit and part <= len(partitions):
            room = limit - len(mine) - len(shared)
            if part == 0:
                page, start = self._repository.owned_page(member.user_id, room, start)
                mine.extend(page)
            else:
                ids, start = self._repository.shared_page(partitions[part - 1], room, start)
                shared.extend(
                    bot
                    for bot in self._repository.get_many(ids)
                    if bot.owner_id != member.user_id
                    and can_view(bot, member)
                    and _first_share(bot, member, partitions) == part
                )
            if start is None:
                part, start = part + 1, None
        shared.sort(key=lambda bot: bot.bot_id, reverse=True)
        more = part <= len(partitions)
        token = self._page_tokens.encode(json.dumps({"part": part, "start": start}) if more else None, scope)
        return BotListPage(mine=mine, shared=shared, next_token=token)

    def store(
        self, query: str | None, limit: int, next_token: str | None
    ) -> tuple[list[BotItem], str | None]:
        scope = f"bots.store:{(query or '').lower()}"
        position = self._page_tokens.decode(next_token, scope)
        start = json.loads(position) if position else None
        bots, last = self._repository.store_page(query, limit, start)
        return bots, self._page_tokens.encode(json.dumps(last) if last else None, scope)

    def govern(self, bot_id: str, visibility: Visibility | None, essential: bool | None) -> BotItem:
        """Admins: hide a bot from everyone but its owner, or mark it essential (first in the store)."""
        current = self._repository.get(bot_id)
        if current is None:
            raise BotNotFoundError()
        updated = replace(
            current,
            visibility=visibility or current.visibility,
            essential=current.essential if essential is None else essential,
            updated_at=iso(utcnow()),
        )
        self._repository.save(updated, None, previous=current)
        return updated

    # -- chatting ------------------------------------------------------------------------------------------

    def prompt(self, bot: BotItem, question: str) -> BotPrompt:
        """The bot's instruction and parameters, and the question with the most relevant knowledge."""
        if bot.knowledge_base_id:
            self._check_knowledge_base_allowed(bot.knowledge_base_id)
            passages = self._knowledge_bases.retrieve(
                bot.knowledge_base_id, question, self._retrieved_passages
            )
        elif bot.documents:
            index = self._cache.index_for(
                (bot.bot_id, bot.knowledge_version),
                lambda: [
                    Document(name=name, text=text)
                    for name, text in self._repository.documents(bot.bot_id, bot.knowledge_version)
                ],
            )
            passages = index.search(question, self._retrieved_passages)
        else:
            passages = []
        config = {
            _INFERENCE_CONFIG_NAMES[name]: value
            for name, value in bot.inference_parameters.items()
            if name in _INFERENCE_CONFIG_NAMES and value is not None
        }
        return BotPrompt(
            system=[{"text": bot.instruction}] if bot.instruction.strip() else None,
            user_text=augment(question, passages),
            inference_config=config or None,
            sources=list(dict.fromkeys(passage.source for passage in passages)),
        )

    def record_use(self, bot_id: str) -> None:
        self._repository.record_use(bot_id)

    # -- helpers -------------------------------------------------------------------------------------------

    def _check_knowledge(
        self, new_documents: list[Document] | None, has_documents: bool, knowledge_base_id: str | None
    ) -> None:
        """Documents or a knowledge base, not both; new documents within the limits."""
        if has_documents and knowledge_base_id:
            raise BadRequestError(
                "A bot uses its documents or a knowledge base, not both.", code="knowledge_conflict"
            )
        if new_documents is not None:
            validate_documents(new_documents, self._knowledge_limits)

    def _check_guardrail_allowed(self, guardrail: Guardrail | None) -> None:
        if guardrail is not None and guardrail not in self._allowed_guardrails:
            listed = [g.model_dump() for g in self._allowed_guardrails]
            raise GuardrailNotAllowedError(
                f"Guardrail {guardrail.id} version {guardrail.version} is not one this gateway may apply; "
                "its administrators list them in Terraform (group_policies' guardrails and bot_guardrails).",
                details={"guardrail": guardrail.model_dump(), "allowed_guardrails": listed},
            )

    def _check_knowledge_base_allowed(self, knowledge_base_id: str | None) -> None:
        allowed = self._allowed_knowledge_bases
        if knowledge_base_id and knowledge_base_id not in allowed:
            listed = f"allowed: {', '.join(allowed)}" if allowed else "none is allowed"
            raise KnowledgeBaseNotAllowedError(
                f"Knowledge base {knowledge_base_id} is not one this gateway may read ({listed}); its "
                "administrators list them in Terraform's knowledge_base_ids.",
                details={"knowledge_base_id": knowledge_base_id, "allowed_knowledge_base_ids": list(allowed)},
            )

    def _resolve_users(
        self, users: list[str], owner_id: str, known: tuple[SharedUser, ...]
    ) -> tuple[SharedUser, ...]:
        """Emails or user ids, as the owner knows their colleagues, kept as user ids (and emails to show).

        Names the bot already holds (`known`) need no lookup; the others count against the owner's directory
        budget before any is made."""
        if len(users) > self._max_allowed_users:
            raise BadRequestError(
                f"A bot is shared with at most {self._max_allowed_users} users by name: share it with a "
                "group instead.",
                code="too_many_allowed_users",
                details={"max_allowed_users": self._max_allowed_users},
            )
        # Emails are stored lower-cased at sign-up.
        wanted = list(dict.fromkeys(v.strip().lower() if "@" in v else v.strip() for v in users))
        already = {ref: user for user in known for ref in (user.user_id, user.email) if ref}
        self._directory_budget.spend(owner_id, sum(1 for value in wanted if value not in already))
        resolved: dict[str, SharedUser] = {}
        for value in wanted:
            if value in already:
                resolved[already[value].user_id] = already[value]
                continue
            try:
                profile = self._user_pool.get_user(value)
            except UserNotFoundError:
                raise BadRequestError(
                    f"No user {value!r} to share the bot with.", code="unknown_user"
                ) from None
            if profile.user_id != owner_id:
                resolved[profile.user_id] = SharedUser(user_id=profile.user_id, email=profile.email)
        return tuple(resolved.values())

    def _check_groups(self, groups: list[str]) -> tuple[str, ...]:
        for group in groups:
            try:
                self._user_pool.require_group(group)
            except GroupNotFoundError:
                raise BadRequestError(
                    f"No group {group!r} to share the bot with.", code="unknown_group"
                ) from None
        return tuple(dict.fromkeys(groups))


def _share_partitions(member: Member) -> list[str]:
    """Where the shares that may admit the member are kept: their own, then each group's."""
    return [f"SHARE#USER#{member.user_id}", *(f"SHARE#GROUP#{g}" for g in effective_groups(member.groups))]


def _first_share(bot: BotItem, member: Member, partitions: list[str]) -> int:
    """The 1-based position, in `partitions`, of the first share of `bot` that admits the member."""
    for position, partition in enumerate(partitions, start=1):
        if position == 1:
            if any(user.user_id == member.user_id for user in bot.allowed_users):
                return position
        elif partition.removeprefix("SHARE#GROUP#") in bot.allowed_groups:
            return position
    return 0


def _summaries(documents: list[Document]) -> tuple[DocumentSummary, ...]:
    return tuple(DocumentSummary(name=d.name, size_bytes=len(d.text.encode())) for d in documents)
