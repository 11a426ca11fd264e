"""Conversations: chat with a model; prompts and replies are kept."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from gateway import deps
from gateway.auth.dependencies import CallerWithItems, CurrentUser, caller_reading
from gateway.repositories.conversations import ConversationItem, MessageItem
from gateway.services.audit import Audit
from gateway.services.conversations import ConversationService, Reply
from gateway.services.pricing import micros_to_usd

router = APIRouter(prefix="/conversations", tags=["conversations"])
Conversations = Annotated[ConversationService, Depends(deps.conversation_service)]
MAX_MESSAGE_CHARS = 32_000


def _conversation_item(request: Request, user_id: str) -> list[tuple[str, dict[str, str]]]:
    return [deps.conversation_service.get().item_key(user_id, request.path_params["conversation_id"])]


# The caller, with the conversation read in the same round trip as their key.
ConversationCaller = Annotated[CallerWithItems, Depends(caller_reading(_conversation_item))]


class CreateConversationRequest(BaseModel):
    # With a bot_id the bot decides the model; otherwise model_id is required.
    model_id: str | None = Field(default=None, min_length=1, max_length=256)
    title: str | None = Field(default=None, max_length=200)
    bot_id: str | None = Field(default=None, max_length=128)


class ConversationResponse(BaseModel):
    conversation_id: str
    title: str
    model_id: str
    bot_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, item: ConversationItem) -> "ConversationResponse":
        return cls(
            conversation_id=item.conversation_id,
            title=item.title,
            model_id=item.model_id,
            bot_id=item.bot_id,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


class MessageResponse(BaseModel):
    message_id: str
    role: str
    content: str
    created_at: str
    model_id: str | None = None
    # Knowledge documents given to the model with the prompt (bots with knowledge).
    sources: list[str] | None = None

    @classmethod
    def of(cls, item: MessageItem) -> "MessageResponse":
        return cls(
            message_id=item.message_id,
            role=item.role,
            content=item.content,
            created_at=item.created_at,
            model_id=item.model_id,
            sources=item.sources,
        )


class ConversationList(BaseModel):
    conversations: list[ConversationResponse]
    next_token: str | None


class ConversationDetail(ConversationResponse):
    messages: list[MessageResponse]


class SendMessageRequest(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int


class SendMessageResponse(BaseModel):
    conversation_id: str
    message: MessageResponse
    reply: MessageResponse
    usage: Usage
    cost_usd: float
    request_id: str

    @classmethod
    def of(cls, reply: Reply) -> "SendMessageResponse":
        return cls(
            conversation_id=reply.user_message.conversation_id,
            message=MessageResponse.of(reply.user_message),
            reply=MessageResponse.of(reply.assistant_message),
            usage=Usage(
                input_tokens=reply.outcome.usage.input_tokens, output_tokens=reply.outcome.usage.output_tokens
            ),
            cost_usd=micros_to_usd(reply.outcome.cost_micros),
            request_id=reply.outcome.request_id,
        )


@router.post("", status_code=status.HTTP_201_CREATED, name="conversations.create")
def create_conversation(
    body: CreateConversationRequest, user: CurrentUser, conversations: Conversations, audit: Audit
) -> ConversationResponse:
    conversation = conversations.create(user, body.model_id, body.title, body.bot_id)
    audit.resource = f"conversation/{conversation.conversation_id}"
    return ConversationResponse.of(conversation)


@router.get("", name="conversations.list")
def list_conversations(
    user: CurrentUser,
    conversations: Conversations,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")] = None,
) -> ConversationList:
    items, last = conversations.list_for_user(user.user_id, limit, next_token)
    return ConversationList(conversations=[ConversationResponse.of(item) for item in items], next_token=last)


@router.get("/{conversation_id}", name="conversations.get")
def get_conversation(
    conversation_id: str, user: CurrentUser, conversations: Conversations, audit: Audit
) -> ConversationDetail:
    audit.resource = f"conversation/{conversation_id}"
    conversation, messages = conversations.get(user.user_id, conversation_id)
    return ConversationDetail(
        **ConversationResponse.of(conversation).model_dump(),
        messages=[MessageResponse.of(m) for m in messages],
    )


@router.post("/{conversation_id}/messages", name="conversations.messages.send")
def send_message(
    conversation_id: str,
    body: SendMessageRequest,
    turn: ConversationCaller,
    conversations: Conversations,
    audit: Audit,
) -> SendMessageResponse:
    audit.resource = f"conversation/{conversation_id}"
    (stored,) = turn.items
    return SendMessageResponse.of(conversations.send(turn.caller, conversation_id, body.content, stored))


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, name="conversations.delete")
def delete_conversation(
    conversation_id: str, user: CurrentUser, conversations: Conversations, audit: Audit
) -> None:
    audit.resource = f"conversation/{conversation_id}"
    conversations.delete(user.user_id, conversation_id)
