"""Conversations and their messages in DynamoDB.

Items (table `conversations`):
  USER#<user id> / CONV#<conversation id>   the conversation (ids are time-ordered: a query lists by age)
  CONV#<conversation id> / MSG#<time>#<id>  one message, user's or assistant's
Deleting hides a conversation from its owner (`deleted_at`); admins still see what was asked.
"""

from dataclasses import dataclass
from typing import Any

from gateway.aws import Table, attribute_value, query_all, query_pages, table


@dataclass(frozen=True)
class ConversationItem:
    conversation_id: str
    user_id: str
    title: str
    model_id: str
    bot_id: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None = None


@dataclass(frozen=True)
class MessageItem:
    message_id: str
    conversation_id: str
    role: str
    content: str
    created_at: str
    model_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    request_id: str | None = None
    # Names of the knowledge documents given to the model with the prompt this message answers.
    sources: list[str] | None = None


def _conversation_key(user_id: str, conversation_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": f"CONV#{conversation_id}"}


def _conversation(item: dict[str, Any]) -> ConversationItem:
    return ConversationItem(**{name: item.get(name) for name in ConversationItem.__dataclass_fields__})


def _message(item: dict[str, Any]) -> MessageItem:
    values = {name: item.get(name) for name in MessageItem.__dataclass_fields__}
    for counter in ("input_tokens", "output_tokens"):
        if values[counter] is not None:
            values[counter] = int(values[counter])
    return MessageItem(**values)


def _message_item(message: MessageItem) -> dict[str, Any]:
    item = {k: v for k, v in vars(message).items() if v is not None}
    item.update(pk=f"CONV#{message.conversation_id}", sk=f"MSG#{message.created_at}#{message.message_id}")
    return item


class ConversationRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Table:
        return table(self._table_name)

    def add(self, conversation: ConversationItem) -> None:
        item = {k: v for k, v in vars(conversation).items() if v is not None}
        item.update(pk=f"USER#{conversation.user_id}", sk=f"CONV#{conversation.conversation_id}")
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, user_id: str, conversation_id: str) -> ConversationItem | None:
        item = self._table.get_item(Key=_conversation_key(user_id, conversation_id), ConsistentRead=True).get(
            "Item"
        )
        return self.from_item(item)

    def item_key(self, user_id: str, conversation_id: str) -> tuple[str, dict[str, str]]:
        """Where the conversation is (table name, key), for a batch read with other items."""
        return self._table_name, _conversation_key(user_id, conversation_id)

    @staticmethod
    def from_item(item: dict[str, Any] | None) -> ConversationItem | None:
        """The conversation of an item read at `item_key` (None: there was none)."""
        return _conversation(item) if item else None

    def list_for_user(
        self, user_id: str, limit: int, start_after: str | None = None, include_deleted: bool = False
    ) -> tuple[list[ConversationItem], str | None]:
        """Newest first, a page at a time; returns the page and the last id when there may be more."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": f"USER#{user_id}", ":prefix": "CONV#"},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if not include_deleted:
            query["FilterExpression"] = "attribute_not_exists(deleted_at)"
        if start_after:
            query["ExclusiveStartKey"] = {"pk": f"USER#{user_id}", "sk": f"CONV#{start_after}"}
        found: list[ConversationItem] = []
        while True:
            page = self._table.query(**query)
            found.extend(_conversation(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if len(found) >= limit or not last:
                break
            query["ExclusiveStartKey"] = last
        page_items = found[:limit]
        more = len(found) > limit or bool(last)
        return page_items, (page_items[-1].conversation_id if more and page_items else None)

    def mark_deleted(self, user_id: str, conversation_id: str, at: str) -> None:
        self._table.update_item(
            Key={"pk": f"USER#{user_id}", "sk": f"CONV#{conversation_id}"},
            UpdateExpression="SET deleted_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":at": at},
        )

    def touch(self, user_id: str, conversation_id: str, at: str) -> None:
        self._table.update_item(**self._touch(user_id, conversation_id, at))

    def add_message(self, message: MessageItem) -> None:
        self._table.put_item(Item=_message_item(message))

    def transact_touch(self, user_id: str, conversation_id: str, at: str) -> dict[str, Any]:
        """`touch` as a TransactWriteItems entry, for another transaction (a model call's settlement)."""
        update = self._touch(user_id, conversation_id, at)
        return {
            "Update": {
                "TableName": self._table_name,
                "Key": {k: {"S": v} for k, v in update["Key"].items()},
                "UpdateExpression": update["UpdateExpression"],
                "ExpressionAttributeValues": {
                    k: attribute_value(v) for k, v in update["ExpressionAttributeValues"].items()
                },
            }
        }

    def transact_add_message(self, message: MessageItem) -> dict[str, Any]:
        """`add_message` as a TransactWriteItems entry, for another transaction."""
        item = _message_item(message)
        return {
            "Put": {
                "TableName": self._table_name,
                "Item": {k: attribute_value(v) for k, v in item.items()},
            }
        }

    @staticmethod
    def _touch(user_id: str, conversation_id: str, at: str) -> dict[str, Any]:
        return {
            "Key": _conversation_key(user_id, conversation_id),
            "UpdateExpression": "SET updated_at = :at",
            "ExpressionAttributeValues": {":at": at},
        }

    def messages(self, conversation_id: str) -> list[MessageItem]:
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": f"CONV#{conversation_id}", ":prefix": "MSG#"},
        )
        return [_message(item) for item in items]

    def count_created_between(self, user_id: str, first_id: str, last_id: str) -> int:
        """Conversations whose (time-ordered) id is in [first_id, last_id]: a count, no items read back."""
        pages = query_pages(
            self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": f"USER#{user_id}",
                ":first": f"CONV#{first_id}",
                ":last": f"CONV#{last_id}",
            },
            Select="COUNT",
        )
        return sum(page.get("Count", 0) for page in pages)
