"""Bots: create and share them (CreatingBotAllowed), list mine and shared with me, and the bot store."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from gateway import deps
from gateway.auth.dependencies import BotCreator, CurrentUser
from gateway.auth.principal import Principal
from gateway.repositories.bots import BotItem
from gateway.services.audit import Audit
from gateway.services.bots import BotDraft, BotService, bot_guardrail, manages
from gateway.services.knowledge import Document
from gateway.settings import KNOWLEDGE_BASE_ID_PATTERN, Guardrail

router = APIRouter(prefix="/bots", tags=["bots"])
Bots = Annotated[BotService, Depends(deps.bot_service)]

# Bounds on what is parsed at all; the knowledge limits (count, bytes) are the service's (own codes).
MAX_DOCUMENTS_PARSED = 1000
Title = Annotated[str, Field(min_length=1, max_length=100)]
Description = Annotated[str, Field(max_length=1000)]
Instruction = Annotated[str, Field(max_length=20_000)]
ModelId = Annotated[str, Field(min_length=1, max_length=256)]
UserRef = Annotated[str, Field(min_length=1, max_length=256)]
GroupName = Annotated[str, Field(min_length=1, max_length=128)]
StopSequence = Annotated[str, Field(min_length=1, max_length=100)]
BotId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class InferenceParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop_sequences: list[StopSequence] | None = Field(default=None, max_length=4)


class DocumentIn(BaseModel):
    name: str
    text: str


class KnowledgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_DOCUMENTS_PARSED)
    # On AWS: a Bedrock Knowledge Base to retrieve from instead of documents.
    knowledge_base_id: str | None = Field(default=None, pattern=KNOWLEDGE_BASE_ID_PATTERN)


class CreateBotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    instruction: Instruction = ""
    model_id: ModelId
    inference_parameters: InferenceParameters = InferenceParameters()
    knowledge: KnowledgeIn = KnowledgeIn()
    shared_scope: Literal["private", "partial", "all"] = "private"
    # Emails or user ids of colleagues, and group names (used when shared_scope is partial). Parsed up to 100
    # users; the service allows fewer (bot_max_allowed_users, 400 too_many_allowed_users).
    allowed_users: list[UserRef] = Field(default_factory=list, max_length=100)
    allowed_groups: list[GroupName] = Field(default_factory=list, max_length=20)
    # A Bedrock Guardrail every call of the bot is made with: one Terraform lists (else 400).
    guardrail: Guardrail | None = None


class UpdateBotRequest(BaseModel):
    """Only the fields sent change; `knowledge.documents` replaces all documents."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    instruction: Instruction | None = None
    model_id: ModelId | None = None
    inference_parameters: InferenceParameters | None = None
    knowledge: KnowledgeIn | None = None
    shared_scope: Literal["private", "partial", "all"] | None = None
    allowed_users: list[UserRef] | None = Field(default=None, max_length=100)
    allowed_groups: list[GroupName] | None = Field(default=None, max_length=20)
    guardrail: Guardrail | None = None


class DocumentOut(BaseModel):
    name: str
    size_bytes: int


class KnowledgeOut(BaseModel):
    documents: list[DocumentOut]
    knowledge_base_id: str | None


class SharedUserOut(BaseModel):
    user_id: str
    email: str | None


class BotResponse(BaseModel):
    """Everyone who may see the bot gets the summary; its owner and admins get the rest too."""

    bot_id: str
    title: str
    description: str
    model_id: str
    is_owner: bool
    shared_scope: str
    essential: bool
    use_count: int
    published: bool
    created_at: str
    updated_at: str
    owner_id: str | None = None
    instruction: str | None = None
    inference_parameters: dict[str, Any] | None = None
    knowledge: KnowledgeOut | None = None
    allowed_users: list[SharedUserOut] | None = None
    allowed_groups: list[str] | None = None
    visibility: str | None = None
    guardrail: Guardrail | None = None

    @classmethod
    def of(cls, bot: BotItem, viewer: Principal) -> "BotResponse":
        summary = cls(
            bot_id=bot.bot_id,
            title=bot.title,
            description=bot.description,
            model_id=bot.model_id,
            is_owner=bot.owner_id == viewer.user_id,
            shared_scope=bot.shared_scope,
            essential=bot.essential,
            use_count=bot.use_count,
            published=bot.published,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
        )
        if not manages(bot, viewer):
            return summary
        return summary.model_copy(
            update={
                "owner_id": bot.owner_id,
                "instruction": bot.instruction,
                "inference_parameters": bot.inference_parameters,
                "knowledge": KnowledgeOut(
                    documents=[DocumentOut(name=d.name, size_bytes=d.size_bytes) for d in bot.documents],
                    knowledge_base_id=bot.knowledge_base_id,
                ),
                "allowed_users": [SharedUserOut(user_id=u.user_id, email=u.email) for u in bot.allowed_users],
                "allowed_groups": list(bot.allowed_groups),
                "guardrail": bot_guardrail(bot),
                "visibility": bot.visibility,
            }
        )


class BotList(BaseModel):
    """One page: the caller's own bots come first, then those shared with them."""

    mine: list[BotResponse]
    shared_with_me: list[BotResponse]
    next_token: str | None


class StorePage(BaseModel):
    bots: list[BotResponse]
    next_token: str | None


def _documents(knowledge: KnowledgeIn) -> list[Document]:
    return [Document(name=d.name, text=d.text) for d in knowledge.documents]


@router.post("", status_code=status.HTTP_201_CREATED, name="bots.create")
def create_bot(body: CreateBotRequest, user: BotCreator, bots: Bots, audit: Audit) -> BotResponse:
    bot = bots.create(
        user,
        BotDraft(
            title=body.title,
            description=body.description,
            instruction=body.instruction,
            model_id=body.model_id,
            inference_parameters=body.inference_parameters.model_dump(exclude_none=True),
            documents=_documents(body.knowledge),
            knowledge_base_id=body.knowledge.knowledge_base_id,
            shared_scope=body.shared_scope,
            allowed_users=body.allowed_users,
            allowed_groups=body.allowed_groups,
            guardrail=body.guardrail,
        ),
    )
    audit.resource = f"bot/{bot.bot_id}"
    return BotResponse.of(bot, user)


@router.get("", name="bots.list")
def list_bots(
    user: CurrentUser,
    bots: Bots,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> BotList:
    page = bots.list_for(user, limit, next_token)
    return BotList(
        mine=[BotResponse.of(bot, user) for bot in page.mine],
        shared_with_me=[BotResponse.of(bot, user) for bot in page.shared],
        next_token=page.next_token,
    )


@router.get("/store", name="bots.store")
def bot_store(
    user: CurrentUser,
    bots: Bots,
    query: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> StorePage:
    page, token = bots.store(query.strip() if query else None, limit, next_token)
    return StorePage(bots=[BotResponse.of(bot, user) for bot in page], next_token=token)


@router.get("/{bot_id}", name="bots.get")
def get_bot(bot_id: BotId, user: CurrentUser, bots: Bots, audit: Audit) -> BotResponse:
    audit.resource = f"bot/{bot_id}"
    return BotResponse.of(bots.visible(user, bot_id), user)


@router.patch("/{bot_id}", name="bots.update")
def update_bot(
    bot_id: BotId, body: UpdateBotRequest, user: BotCreator, bots: Bots, audit: Audit
) -> BotResponse:
    audit.resource = f"bot/{bot_id}"
    fields = set(body.model_fields_set)
    knowledge = body.knowledge
    if knowledge is not None:
        fields.discard("knowledge")
        fields |= knowledge.model_fields_set  # documents, knowledge_base_id
    draft = BotDraft(
        title=body.title,
        description=body.description,
        instruction=body.instruction,
        model_id=body.model_id,
        inference_parameters=(
            body.inference_parameters.model_dump(exclude_none=True) if body.inference_parameters else None
        ),
        documents=_documents(knowledge) if knowledge is not None else None,
        knowledge_base_id=knowledge.knowledge_base_id if knowledge is not None else None,
        shared_scope=body.shared_scope,
        allowed_users=body.allowed_users,
        allowed_groups=body.allowed_groups,
        guardrail=body.guardrail,
    )
    return BotResponse.of(bots.update(user, bot_id, draft, fields), user)


@router.delete("/{bot_id}", status_code=status.HTTP_204_NO_CONTENT, name="bots.delete")
def delete_bot(bot_id: BotId, user: CurrentUser, bots: Bots, audit: Audit) -> None:
    audit.resource = f"bot/{bot_id}"
    bots.delete(user, bot_id)
