"""Conversations: a chat with a model whose prompts and replies are kept, so admins can see what was asked.

A turn costs few round trips: the conversation is read with the caller's key (`item_key`), its history in one
query, and the prompt, the reply and the conversation's new time are written in the model call's settlement
(`TurnWrites`); only when that settlement did not carry them (the call was refused before the model, or the
settlement was deferred to the reconciler) are they written on their own. The prompt is kept either way.
"""

import logging
from dataclasses import dataclass, replace
from typing import Any

from gateway.clock import iso, sortable_id, utcnow
from gateway.errors import BadRequestError, NotFoundError
from gateway.repositories.bots import BotItem
from gateway.repositories.conversations import ConversationItem, ConversationRepository, MessageItem
from gateway.repositories.usage import UsageRepository
from gateway.services.bots import PUBLISHED_GROUPS, BotService, Member, bot_guardrail, metering_subject
from gateway.services.models import Answer, Caller, ConverseOutcome, ModelService

DEFAULT_TITLE = "New conversation"
logger = logging.getLogger(__name__)


class ConversationNotFoundError(NotFoundError):
    code = "conversation_not_found"
    message = "No such conversation."


@dataclass(frozen=True)
class Reply:
    user_message: MessageItem
    assistant_message: MessageItem
    outcome: ConverseOutcome
    sources: list[str]


class TurnWrites:
    """A turn's prompt, reply and the conversation's new time, written with the model call's settlement
    (services/models.py SettlementWrites), else on their own by `store`."""

    def __init__(self, repository: ConversationRepository, user_id: str, prompt: MessageItem) -> None:
        self._repository = repository
        self._user_id = user_id
        self.prompt = prompt
        self.model_id: str | None = None  # the model that answers, and the knowledge it was given
        self.sources: list[str] = []
        self.answer: MessageItem | None = None
        self.stored = False

    def items(self, answer: Answer | None) -> list[dict[str, Any]]:
        self.answer = None if answer is None else self._answer(answer)
        messages = [message for message in (self.prompt, self.answer) if message is not None]
        return [
            *(self._repository.transact_add_message(message) for message in messages),
            self._repository.transact_touch(
                self._user_id, self.prompt.conversation_id, messages[-1].created_at
            ),
        ]

    def written(self) -> None:
        self.stored = True

    def store(self) -> None:
        """What no settlement carried, on its own: the prompt, the reply if there is one, the time."""
        messages = [message for message in (self.prompt, self.answer) if message is not None]
        for message in messages:
            self._repository.add_message(message)
        self._repository.touch(self._user_id, self.prompt.conversation_id, messages[-1].created_at)
        self.stored = True

    def _answer(self, answer: Answer) -> MessageItem:
        return MessageItem(
            message_id=sortable_id(),
            conversation_id=self.prompt.conversation_id,
            role="assistant",
            content=answer.text,
            created_at=iso(utcnow()),
            model_id=self.model_id,
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            request_id=self.prompt.request_id,
            sources=self.sources or None,
        )


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
        self,
        repository: ConversationRepository,
        models: ModelService,
        usage: UsageRepository,
        bots: BotService,
    ) -> None:
        self._repository = repository
        self._models = models
        self._usage = usage
        self._bots = bots

    def create(
        self, member: Member, model_id: str | None, title: str | None, bot_id: str | None
    ) -> ConversationItem:
        """A conversation with a model, or with a bot the member may see (its model, then, is the bot's)."""
        if bot_id is not None:
            bot = self._bots.visible(member, bot_id)
            model_id, title = bot.model_id, title or bot.title
        if not model_id:
            raise BadRequestError("Name a model_id or a bot_id.", code="missing_parameter")
        self._models.check(model_id, member.groups)
        return self._start(member.user_id, model_id, title, bot_id)

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

    def item_key(self, user_id: str, conversation_id: str) -> tuple[str, dict[str, str]]:
        """Where the user's conversation is (table name, key): a route reads it with the caller's key."""
        return self._repository.item_key(user_id, conversation_id)

    def send(
        self, caller: Caller, conversation_id: str, content: str, stored: dict[str, Any] | None
    ) -> Reply:
        """A turn in the caller's conversation, `stored` as read at `item_key` (None: there was none)."""
        conversation = self._owned_of(self._repository.from_item(stored), caller.user_id, conversation_id)
        # Re-checked on every turn: a bot unshared or hidden since the conversation began is no longer usable.
        bot = self._bots.visible(caller, conversation.bot_id) if conversation.bot_id else None
        return self._reply(caller, conversation, content, bot)

    def send_published(
        self, bot: BotItem, key_id: str, request_id: str, content: str, conversation_id: str | None
    ) -> Reply:
        """A turn through a published bot's API: the bot's rights, metered to the bot."""
        caller = Caller(
            user_id=metering_subject(bot.bot_id),
            groups=PUBLISHED_GROUPS,
            key_id=key_id,
            request_id=request_id,
        )
        if conversation_id:
            conversation = self._owned(caller.user_id, conversation_id)
        else:
            conversation = self._start(caller.user_id, bot.model_id, bot.title, bot.bot_id)
        return self._reply(caller, conversation, content, bot)

    def _start(self, user_id: str, model_id: str, title: str | None, bot_id: str | None) -> ConversationItem:
        now = iso(utcnow())
        conversation = ConversationItem(
            conversation_id=sortable_id(),
            user_id=user_id,
            title=(title or "").strip() or DEFAULT_TITLE,
            model_id=model_id,
            bot_id=bot_id,
            created_at=now,
            updated_at=now,
        )
        self._repository.add(conversation)
        self._usage.count_conversation(user_id, now[:13], conversation.conversation_id)
        return conversation

    def _reply(
        self, caller: Caller, conversation: ConversationItem, content: str, bot: BotItem | None
    ) -> Reply:
        conversation_id = conversation.conversation_id
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
        writes = TurnWrites(self._repository, caller.user_id, prompt)
        try:
            if bot is None:
                model_id, turn, system, config, sources = conversation.model_id, prompt, None, None, []
            else:
                # The bot decides: its current model, instruction and parameters, and knowledge for this turn.
                bot_prompt = self._bots.prompt(bot, content)
                model_id, system, config = bot.model_id, bot_prompt.system, bot_prompt.inference_config
                turn, sources = replace(prompt, content=bot_prompt.user_text), bot_prompt.sources
                if guardrail := bot_guardrail(bot):  # the bot's guardrail instead of the caller's
                    caller = replace(caller, guardrail=guardrail)
            writes.model_id, writes.sources = model_id, sources
            outcome = self._models.converse(
                caller,
                model_id,
                converse_history([*history, turn]),
                system=system,
                inference_config=config,
                conversation_id=conversation_id,
                writes=writes,
            )
        except BaseException:
            if not writes.stored:
                self._store_failed_turn(writes)
            raise
        if not writes.stored:
            writes.store()
        answer = writes.answer
        assert answer is not None  # items() made it: the call succeeded
        if bot is not None:
            self._bots.record_use(bot.bot_id)
        return Reply(user_message=prompt, assistant_message=answer, outcome=outcome, sources=sources)

    @staticmethod
    def _store_failed_turn(writes: TurnWrites) -> None:
        """The prompt of a turn that failed, kept; a failure here must not hide the turn's own error."""
        try:
            writes.store()
        except Exception:
            logger.exception(
                "prompt of a failed turn not stored", extra={"call_request_id": writes.prompt.request_id}
            )

    def _owned(self, user_id: str, conversation_id: str) -> ConversationItem:
        return self._owned_of(self._repository.get(user_id, conversation_id), user_id, conversation_id)

    @staticmethod
    def _owned_of(
        conversation: ConversationItem | None, user_id: str, conversation_id: str
    ) -> ConversationItem:
        """The conversation if it is the user's and not deleted (an item read at another key is refused)."""
        if (
            conversation is None
            or conversation.deleted_at
            or (conversation.user_id, conversation.conversation_id) != (user_id, conversation_id)
        ):
            raise ConversationNotFoundError()
        return conversation
