"""Conversations: a chat with a model whose prompts and replies are kept, so admins can see what was asked."""

from dataclasses import dataclass
from typing import Any

from gateway.clock import iso, sortable_id, utcnow
from gateway.errors import AppError, NotFoundError
from gateway.repositories.conversations import ConversationItem, ConversationRepository, MessageItem
from gateway.repositories.usage import UsageRepository
from gateway.services.models import Caller, ConverseOutcome, ModelService

DEFAULT_TITLE = "New conversation"


class ConversationNotFoundError(NotFoundError):
    code = "conversation_not_found"
    message = "No such conversation."


class BotNotFoundError(NotFoundError):
    code = "bot_not_found"
    message = "No such bot."


@dataclass(frozen=True)
class Reply:
    user_message: MessageItem
    assistant_message: MessageItem
    outcome: ConverseOutcome


def converse_history(messages: list[MessageItem]) -> list[dict[str, Any]]:
    """Converse wants turns alternating from a user turn: merge repeated roles, drop a leading reply."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role not in ("user", "assistant"):
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"][0]["text"] += "\n\n" + message.content
        elif turns or message.role == "user":
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    return turns


class ConversationService:
    def __init__(
        self, repository: ConversationRepository, models: ModelService, usage: UsageRepository
    ) -> None:
        self._repository = repository
        self._models = models
        self._usage = usage

    def create(
        self, user_id: str, groups: tuple[str, ...], model_id: str, title: str | None, bot_id: str | None
    ) -> ConversationItem:
        if bot_id is not None:
            raise BotNotFoundError()  # bots arrive with the bot store; none exists yet
        self._models.check(model_id, groups)
        now = iso(utcnow())
        conversation = ConversationItem(
            conversation_id=sortable_id(),
            user_id=user_id,
            title=(title or "").strip() or DEFAULT_TITLE,
            model_id=model_id,
            bot_id=None,
            created_at=now,
            updated_at=now,
        )
        self._repository.add(conversation)
        self._usage.count_conversation(user_id, now[:13], conversation.conversation_id)
        return conversation

    def list_for_user(
        self, user_id: str, limit: int, start_after: str | None
    ) -> tuple[list[ConversationItem], str | None]:
        return self._repository.list_for_user(user_id, limit, start_after)

    def get(self, user_id: str, conversation_id: str) -> tuple[ConversationItem, list[MessageItem]]:
        conversation = self._owned(user_id, conversation_id)
        return conversation, self._repository.messages(conversation_id)

    def delete(self, user_id: str, conversation_id: str) -> None:
        self._owned(user_id, conversation_id)
        self._repository.mark_deleted(user_id, conversation_id, iso(utcnow()))

    def send(self, caller: Caller, conversation_id: str, content: str) -> Reply:
        conversation = self._owned(caller.user_id, conversation_id)
        history = self._repository.messages(conversation_id)
        # The prompt is kept even when the model then fails: it is what the user asked.
        prompt = MessageItem(
            message_id=sortable_id(),
            conversation_id=conversation_id,
            role="user",
            content=content,
            created_at=iso(utcnow()),
            request_id=caller.request_id,
        )
        self._repository.add_message(prompt)
        try:
            outcome = self._models.converse(
                caller,
                conversation.model_id,
                converse_history([*history, prompt]),
                conversation_id=conversation_id,
            )
        except AppError:
            self._repository.touch(caller.user_id, conversation_id, prompt.created_at)
            raise
        answer = MessageItem(
            message_id=sortable_id(),
            conversation_id=conversation_id,
            role="assistant",
            content=outcome.text,
            created_at=iso(utcnow()),
            model_id=outcome.model_id,
            input_tokens=outcome.usage.input_tokens,
            output_tokens=outcome.usage.output_tokens,
            request_id=caller.request_id,
        )
        self._repository.add_message(answer)
        self._repository.touch(caller.user_id, conversation_id, answer.created_at)
        return Reply(user_message=prompt, assistant_message=answer, outcome=outcome)

    def _owned(self, user_id: str, conversation_id: str) -> ConversationItem:
        conversation = self._repository.get(user_id, conversation_id)
        if conversation is None or conversation.deleted_at:
            raise ConversationNotFoundError()
        return conversation
