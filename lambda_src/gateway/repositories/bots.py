"""Bots, their knowledge, shares, publication and publication keys in DynamoDB.

Items (table `bots`):
  BOT#<bot id> / BOT                    the bot; gsi1 = OWNER#<owner> (listing mine); gsi2 = STORE ranked by
                                        `store_rank` while it is shared with everyone and visible (sparse)
  BOT#<bot id> / DOC#<version>#<nnn>    one knowledge document; the bot names its current version, so a reader
                                        never sees half of an update; older versions are deleted after it
  SHARE#USER#<user id> / BOT#<bot id>   partial shares, to list "shared with me" without reading every bot
  SHARE#GROUP#<group> / BOT#<bot id>    (the bot's own lists stay the authority: shares are re-checked)
  BOT#<bot id> / PUBLICATION            its usage plan, throttle and quota
  BOT#<bot id> / KEY#<key id>           a publication key (hash only); BOTKEY#<sha256> / HASH: by value
  OWNER#<user id> / BOT_COUNT           bots the user owns, moved in the same transaction as the bot (a
                                        creation checks the cap there: concurrent ones cannot pass it)
"""

import json
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import (
    Table,
    attribute_value,
    batch_get_all,
    client,
    error_code,
    put_new_together,
    query_all,
    table,
    update_existing_together,
)
from gateway.errors import ConflictError, NotFoundError

STORE_PARTITION = "STORE"
# Items a store search may read for one page: a query matching nothing ends its page there, with a token.
STORE_ITEMS_READ_PER_PAGE = 200
# Essential bots rank above any use count.
ESSENTIAL_RANK = 10**15


class BotChangedError(ConflictError):
    code = "bot_changed"
    message = "The bot changed while this request ran: read it again and retry."


class BotLimitReachedError(ConflictError):
    code = "bot_limit_reached"
    message = "You own as many bots as allowed: delete one first."


@dataclass(frozen=True)
class SharedUser:
    user_id: str
    email: str | None


@dataclass(frozen=True)
class DocumentSummary:
    name: str
    size_bytes: int


@dataclass(frozen=True)
class BotItem:
    bot_id: str
    owner_id: str
    title: str
    description: str
    instruction: str
    model_id: str
    inference_parameters: dict[str, Any]
    shared_scope: str
    allowed_users: tuple[SharedUser, ...]
    allowed_groups: tuple[str, ...]
    documents: tuple[DocumentSummary, ...]
    knowledge_version: str
    knowledge_base_id: str | None
    visibility: str
    essential: bool
    use_count: int
    created_at: str
    updated_at: str
    published: bool = False
    # A Bedrock Guardrail every call of the bot is made with ({"id", "version"}), one Terraform lists.
    guardrail: dict[str, str] | None = None

    @property
    def in_store(self) -> bool:
        return self.shared_scope == "all" and self.visibility == "visible"

    @property
    def store_rank(self) -> int:
        return (ESSENTIAL_RANK if self.essential else 0) + self.use_count


@dataclass(frozen=True)
class PublicationItem:
    bot_id: str
    usage_plan_id: str
    api_id: str
    stage: str
    throttle: dict[str, Any]
    quota: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class BotKeyItem:
    bot_id: str
    key_id: str
    key_hash: str
    state: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.state == "active"


def _bot_key(bot_id: str) -> dict[str, str]:
    return {"pk": f"BOT#{bot_id}", "sk": "BOT"}


def _to_item(bot: BotItem) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_bot_key(bot.bot_id),
        "gsi1pk": f"OWNER#{bot.owner_id}",
        "gsi1sk": f"BOT#{bot.bot_id}",
        "bot_id": bot.bot_id,
        "owner_id": bot.owner_id,
        "title": bot.title,
        "description": bot.description,
        "search_text": f"{bot.title}\n{bot.description}".lower(),
        "instruction": bot.instruction,
        "model_id": bot.model_id,
        # JSON text: DynamoDB numbers would need Decimals for floats such as temperature.
        "inference_parameters": json.dumps(bot.inference_parameters, sort_keys=True),
        "shared_scope": bot.shared_scope,
        "allowed_users": [{"user_id": u.user_id, "email": u.email} for u in bot.allowed_users],
        "allowed_groups": list(bot.allowed_groups),
        "documents": [{"name": d.name, "size_bytes": d.size_bytes} for d in bot.documents],
        "knowledge_version": bot.knowledge_version,
        "visibility": bot.visibility,
        "essential": bot.essential,
        "use_count": bot.use_count,
        "store_rank": bot.store_rank,
        "created_at": bot.created_at,
        "updated_at": bot.updated_at,
        "published": bot.published,
    }
    if bot.knowledge_base_id:
        item["knowledge_base_id"] = bot.knowledge_base_id
    if bot.guardrail:
        item["guardrail"] = dict(bot.guardrail)
    if bot.in_store:
        item["gsi2pk"] = STORE_PARTITION
    return item


def _bot(item: dict[str, Any]) -> BotItem:
    return BotItem(
        bot_id=item["bot_id"],
        owner_id=item["owner_id"],
        title=item["title"],
        description=item.get("description", ""),
        instruction=item.get("instruction", ""),
        model_id=item["model_id"],
        inference_parameters=json.loads(item.get("inference_parameters") or "{}"),
        shared_scope=item["shared_scope"],
        allowed_users=tuple(
            SharedUser(user_id=u["user_id"], email=u.get("email")) for u in item.get("allowed_users", [])
        ),
        allowed_groups=tuple(item.get("allowed_groups", [])),
        documents=tuple(
            DocumentSummary(name=d["name"], size_bytes=int(d["size_bytes"]))
            for d in item.get("documents", [])
        ),
        knowledge_version=item.get("knowledge_version", ""),
        knowledge_base_id=item.get("knowledge_base_id"),
        visibility=item.get("visibility", "visible"),
        essential=bool(item.get("essential", False)),
        use_count=int(item.get("use_count", 0)),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        published=bool(item.get("published", False)),
        guardrail=dict(item["guardrail"]) if item.get("guardrail") else None,
    )


def _count_key(owner_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"OWNER#{owner_id}"}, "sk": {"S": "BOT_COUNT"}}


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def _share_keys(bot: BotItem) -> set[tuple[str, str]]:
    if bot.shared_scope != "partial":
        return set()
    keys = {(f"SHARE#USER#{user.user_id}", f"BOT#{bot.bot_id}") for user in bot.allowed_users}
    keys |= {(f"SHARE#GROUP#{group}", f"BOT#{bot.bot_id}") for group in bot.allowed_groups}
    return keys


class BotRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Table:
        return table(self._table_name)

    # -- bots ---------------------------------------------------------------------------------------------

    def save(
        self,
        bot: BotItem,
        documents: list[tuple[str, str]] | None,
        previous: BotItem | None = None,
        max_owned: int | None = None,
    ) -> None:
        """Create (no `previous`) or replace a bot. New documents (name, text) are written under the bot's new
        knowledge version before the bot points at it; the previous version's documents and stale shares go
        after. A creation counts against the owner's `max_owned` bots (BotLimitReachedError past it)."""
        if documents is not None:
            self._table.write_batch(
                puts=[
                    {
                        "pk": f"BOT#{bot.bot_id}",
                        "sk": f"DOC#{bot.knowledge_version}#{number:03d}",
                        "name": name,
                        "text": text,
                    }
                    for number, (name, text) in enumerate(documents)
                ]
            )
        try:
            if previous is None:
                self._create(bot, max_owned)
            else:
                # Optimistic: refuse to overwrite a change made since `previous` was read.
                self._table.put_item(
                    Item=_to_item(bot),
                    ConditionExpression="updated_at = :previous",
                    ExpressionAttributeValues={":previous": previous.updated_at},
                )
        except (ClientError, BotLimitReachedError) as exc:
            if documents is not None:  # nothing points at them: do not leave them behind
                self._delete_documents(bot.bot_id, bot.knowledge_version)
            if isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException":
                raise BotChangedError() from exc
            raise
        old_shares = _share_keys(previous) if previous else set()
        new_shares = _share_keys(bot)
        self._table.write_batch(
            puts=[{"pk": pk, "sk": sk, "bot_id": bot.bot_id} for pk, sk in new_shares - old_shares],
            deletes=[{"pk": pk, "sk": sk} for pk, sk in old_shares - new_shares],
        )
        if (
            previous is not None
            and documents is not None
            and previous.knowledge_version != bot.knowledge_version
        ):
            self._delete_documents(bot.bot_id, previous.knowledge_version)

    def _create(self, bot: BotItem, max_owned: int | None) -> None:
        count: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": _count_key(bot.owner_id),
            "UpdateExpression": "ADD bot_count :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if max_owned is not None:
            count["ConditionExpression"] = "attribute_not_exists(bot_count) OR bot_count < :max"
            count["ExpressionAttributeValues"][":max"] = {"N": str(max_owned)}
        try:
            client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table_name,
                            "Item": {k: attribute_value(v) for k, v in _to_item(bot).items()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Update": count},
                ]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            codes = _cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise BotLimitReachedError(details={"max_bots_per_user": max_owned}) from exc
            raise BotChangedError() from exc

    def owned_count(self, owner_id: str) -> int:
        item = self._table.get_item(
            Key={"pk": f"OWNER#{owner_id}", "sk": "BOT_COUNT"}, ConsistentRead=True
        ).get("Item")
        return int((item or {}).get("bot_count", 0))

    def get(self, bot_id: str) -> BotItem | None:
        item = self._table.get_item(Key=_bot_key(bot_id), ConsistentRead=True).get("Item")
        return _bot(item) if item else None

    def get_many(self, bot_ids: list[str]) -> list[BotItem]:
        return [_bot(item) for item in batch_get_all(self._table, [_bot_key(b) for b in bot_ids])]

    def delete(self, bot: BotItem) -> None:
        """The bot and its count go together; a bot deleted meanwhile is not counted twice."""
        try:
            client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table_name,
                            "Key": {k: {"S": v} for k, v in _bot_key(bot.bot_id).items()},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table_name,
                            "Key": _count_key(bot.owner_id),
                            "UpdateExpression": "ADD bot_count :minus_one",
                            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
        self._table.write_batch(deletes=[{"pk": pk, "sk": sk} for pk, sk in _share_keys(bot)])
        self._delete_documents(bot.bot_id, bot.knowledge_version)

    def documents(self, bot_id: str, knowledge_version: str) -> list[tuple[str, str]]:
        return [(item["name"], item["text"]) for item in self._document_items(bot_id, knowledge_version)]

    def _delete_documents(self, bot_id: str, knowledge_version: str) -> None:
        items = self._document_items(bot_id, knowledge_version, ProjectionExpression="pk, sk")
        self._table.write_batch(deletes=[{"pk": item["pk"], "sk": item["sk"]} for item in items])

    def _document_items(self, bot_id: str, knowledge_version: str, **query: Any) -> list[dict[str, Any]]:
        return query_all(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": f"BOT#{bot_id}", ":prefix": f"DOC#{knowledge_version}#"},
            **query,
        )

    def owned_page(
        self, owner_id: str, limit: int, start_after: dict[str, Any] | None
    ) -> tuple[list[BotItem], dict[str, Any] | None]:
        """At most `limit` of the owner's bots, newest first, and where to go on (None: no more)."""
        request: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            "ExpressionAttributeValues": {":pk": f"OWNER#{owner_id}", ":prefix": "BOT#"},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_after:
            request["ExclusiveStartKey"] = start_after
        page = self._table.query(**request)
        return [_bot(item) for item in page.get("Items", [])], _plain_key(page.get("LastEvaluatedKey"))

    def shared_page(
        self, partition: str, limit: int, start_after: dict[str, Any] | None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """At most `limit` ids of bots shared through one SHARE# partition, newest first, and what next."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": partition},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_after:
            request["ExclusiveStartKey"] = start_after
        page = self._table.query(**request)
        return [item["bot_id"] for item in page.get("Items", [])], _plain_key(page.get("LastEvaluatedKey"))

    def store_page(
        self,
        query: str | None,
        limit: int,
        start_after: dict[str, Any] | None,
        max_items_read: int = STORE_ITEMS_READ_PER_PAGE,
    ) -> tuple[list[BotItem], dict[str, Any] | None]:
        """Bots in the store, highest rank first; `query` matches title or description (case-insensitive).

        A page reads at most `max_items_read` items (and `limit` without a query): a search that finds little
        returns what it found, maybe nothing, and where to go on."""
        budget = max(limit, max_items_read) if query else limit
        request: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pk",
            "ExpressionAttributeValues": {":pk": STORE_PARTITION},
            "ScanIndexForward": False,
        }
        if query:
            request["FilterExpression"] = "contains(search_text, :search)"
            request["ExpressionAttributeValues"][":search"] = query.lower()
        if start_after:
            request["ExclusiveStartKey"] = start_after
        found: list[BotItem] = []
        read = 0
        while True:
            request["Limit"] = budget - read
            page = self._table.query(**request)
            read += int(page.get("ScannedCount", request["Limit"]))
            found.extend(_bot(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if len(found) >= limit or not last or read >= budget:
                break
            request["ExclusiveStartKey"] = last
        if found and (len(found) > limit or (len(found) == limit and last)):
            # Resume after the last bot returned (the query may have read past it).
            found = found[:limit]
            return found, self._store_position(found[-1])
        return found, _plain_key(last)

    @staticmethod
    def _store_position(bot: BotItem) -> dict[str, Any]:
        return {**_bot_key(bot.bot_id), "gsi2pk": STORE_PARTITION, "store_rank": bot.store_rank}

    def record_use(self, bot_id: str) -> None:
        """One more use: ranks the bot in the store (both counters move together)."""
        try:
            self._table.update_item(
                Key=_bot_key(bot_id),
                UpdateExpression="ADD use_count :one, store_rank :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": 1},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def set_published(self, bot_id: str, published: bool, at: str) -> None:
        # updated_at moves too: an edit that read the bot before cannot then write the old flag back.
        self._table.update_item(
            Key=_bot_key(bot_id),
            UpdateExpression="SET published = :published, updated_at = :at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":published": published, ":at": at},
        )

    # -- publication ---------------------------------------------------------------------------------------

    def add_publication(self, publication: PublicationItem) -> None:
        self._table.put_item(
            Item={
                "pk": f"BOT#{publication.bot_id}",
                "sk": "PUBLICATION",
                "bot_id": publication.bot_id,
                "usage_plan_id": publication.usage_plan_id,
                "api_id": publication.api_id,
                "stage": publication.stage,
                "throttle": json.dumps(publication.throttle, sort_keys=True),
                "quota": json.dumps(publication.quota, sort_keys=True),
                "created_at": publication.created_at,
            },
            ConditionExpression="attribute_not_exists(pk)",
        )

    def publication(self, bot_id: str) -> PublicationItem | None:
        item = self._table.get_item(
            Key={"pk": f"BOT#{bot_id}", "sk": "PUBLICATION"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return PublicationItem(
            bot_id=item["bot_id"],
            usage_plan_id=item["usage_plan_id"],
            api_id=item["api_id"],
            stage=item["stage"],
            throttle=json.loads(item["throttle"]),
            quota=json.loads(item["quota"]),
            created_at=item["created_at"],
        )

    def delete_publication(self, bot_id: str) -> None:
        self._table.delete_item(Key={"pk": f"BOT#{bot_id}", "sk": "PUBLICATION"})

    # -- publication keys ------------------------------------------------------------------------------------

    def add_key(self, key: BotKeyItem) -> None:
        common = {
            "bot_id": key.bot_id,
            "key_id": key.key_id,
            "key_hash": key.key_hash,
            "state": key.state,
            "created_at": key.created_at,
        }
        put_new_together(
            self._table_name,
            [
                {"pk": f"BOT#{key.bot_id}", "sk": f"KEY#{key.key_id}", **common},
                {"pk": f"BOTKEY#{key.key_hash}", "sk": "HASH", **common},
            ],
        )

    def keys(self, bot_id: str) -> list[BotKeyItem]:
        items = query_all(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": f"BOT#{bot_id}", ":prefix": "KEY#"},
        )
        return sorted((_key(item) for item in items), key=lambda k: k.created_at)

    def key(self, bot_id: str, key_id: str) -> BotKeyItem | None:
        item = self._table.get_item(
            Key={"pk": f"BOT#{bot_id}", "sk": f"KEY#{key_id}"}, ConsistentRead=True
        ).get("Item")
        return _key(item) if item else None

    def find_key(self, key_hash: str) -> BotKeyItem | None:
        item = self._table.get_item(Key={"pk": f"BOTKEY#{key_hash}", "sk": "HASH"}, ConsistentRead=True).get(
            "Item"
        )
        return _key(item) if item else None

    def revoke_key(self, key: BotKeyItem, revoked_at: str) -> BotKeyItem:
        try:
            update_existing_together(
                self._table_name,
                [(f"BOT#{key.bot_id}", f"KEY#{key.key_id}"), (f"BOTKEY#{key.key_hash}", "HASH")],
                "SET #state = :revoked, revoked_at = :at",
                {"#state": "state"},
                {":revoked": "revoked", ":at": revoked_at},
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":  # deleted meanwhile
                raise NotFoundError("No such API key.", code="api_key_not_found") from exc
            raise
        return replace(key, state="revoked", revoked_at=revoked_at)

    def delete_keys(self, bot_id: str) -> None:
        self._table.write_batch(
            deletes=[
                {"pk": pk, "sk": sk}
                for key in self.keys(bot_id)
                for pk, sk in ((f"BOT#{bot_id}", f"KEY#{key.key_id}"), (f"BOTKEY#{key.key_hash}", "HASH"))
            ]
        )


def _plain_key(key: dict[str, Any] | None) -> dict[str, Any] | None:
    """A LastEvaluatedKey as JSON can carry it (its numbers are Decimals)."""
    if not key:
        return None
    return {name: int(value) if not isinstance(value, str) else value for name, value in key.items()}


def _key(item: dict[str, Any]) -> BotKeyItem:
    return BotKeyItem(
        bot_id=item["bot_id"],
        key_id=item["key_id"],
        key_hash=item["key_hash"],
        state=item["state"],
        created_at=item["created_at"],
        revoked_at=item.get("revoked_at"),
    )
