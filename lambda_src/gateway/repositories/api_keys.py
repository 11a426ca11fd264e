"""API keys and sign-out markers in DynamoDB. Only a SHA-256 of a key's value is ever stored.

Items (table `api_keys`):
  KEY#<key id> / KEY        the key: owner, hash, state, times; gsi1 = USER#<owner> for listing
  HASH#<sha256> / HASH      lookup by value: key id, owner, state (kept in step in one transaction)
  USER#<user id> / SESSION  signed_out_at: tokens issued before it are refused
"""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import (
    Table,
    batch_get_all,
    error_code,
    get_items_consistently,
    put_new_together,
    query_all,
    table,
    update_existing_together,
)
from gateway.errors import NotFoundError

ACTIVE = "active"
REVOKED = "revoked"


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    owner_id: str
    key_hash: str
    state: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.state == ACTIVE


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"],
        owner_id=item["owner_id"],
        key_hash=item["key_hash"],
        state=item["state"],
        created_at=item["created_at"],
        last_used_at=item.get("last_used_at"),
        revoked_at=item.get("revoked_at"),
    )


class ApiKeyRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def table_name(self) -> str:
        return self._table_name

    @property
    def _table(self) -> Table:
        return table(self._table_name)

    def add(self, record: ApiKeyRecord) -> None:
        key_item = {
            "pk": f"KEY#{record.key_id}",
            "sk": "KEY",
            "gsi1pk": f"USER#{record.owner_id}",
            "gsi1sk": f"KEY#{record.created_at}#{record.key_id}",
            "key_id": record.key_id,
            "owner_id": record.owner_id,
            "key_hash": record.key_hash,
            "state": record.state,
            "created_at": record.created_at,
        }
        hash_item = {
            "pk": f"HASH#{record.key_hash}",
            "sk": "HASH",
            "key_id": record.key_id,
            "owner_id": record.owner_id,
            "key_hash": record.key_hash,
            "state": record.state,
            "created_at": record.created_at,
        }
        put_new_together(self._table_name, [key_item, hash_item])

    def get(self, key_id: str) -> ApiKeyRecord | None:
        item = self._table.get_item(Key={"pk": f"KEY#{key_id}", "sk": "KEY"}, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def find_by_hash_with(
        self, key_hash: str | None, others: list[tuple[str, dict[str, str]]]
    ) -> tuple[ApiKeyRecord | None, list[dict[str, Any] | None]]:
        """The key with this hash (if given) and the items at `others` (table name, key), in one consistent
        batch read: one round trip for everything a call checks."""
        head = [(self._table_name, {"pk": f"HASH#{key_hash}", "sk": "HASH"})] if key_hash else []
        items = get_items_consistently([*head, *others])
        if not key_hash:
            return None, items
        return (_record(items[0]) if items[0] else None), items[1:]

    def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        item = self._table.get_item(Key={"pk": f"HASH#{key_hash}", "sk": "HASH"}, ConsistentRead=True).get(
            "Item"
        )
        return _record(item) if item else None

    def list_for_owner(self, owner_id: str) -> list[ApiKeyRecord]:
        items = query_all(
            self._table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            ExpressionAttributeValues={":pk": f"USER#{owner_id}", ":prefix": "KEY#"},
        )
        return [_record(item) for item in items]

    def revoke(self, record: ApiKeyRecord, revoked_at: str) -> None:
        try:
            update_existing_together(
                self._table_name,
                [(f"KEY#{record.key_id}", "KEY"), (f"HASH#{record.key_hash}", "HASH")],
                "SET #state = :revoked, revoked_at = :at",
                {"#state": "state"},
                {":revoked": REVOKED, ":at": revoked_at},
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise NotFoundError("No such API key.", code="api_key_not_found") from exc
            raise

    def touch(self, key_id: str, used_at: str, not_since: str) -> None:
        """Record use, at most once per interval (a write per request would cost more than it tells)."""
        try:
            self._table.update_item(
                Key={"pk": f"KEY#{key_id}", "sk": "KEY"},
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(last_used_at) OR last_used_at < :since)",
                ExpressionAttributeValues={":now": used_at, ":since": not_since},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def signed_out_at(self, user_id: str) -> int:
        item = self._table.get_item(Key={"pk": f"USER#{user_id}", "sk": "SESSION"}, ConsistentRead=True).get(
            "Item"
        )
        return int(item.get("signed_out_at", 0)) if item else 0

    def mark_signed_out(self, user_id: str, at_epoch_seconds: int) -> None:
        self._table.update_item(
            Key={"pk": f"USER#{user_id}", "sk": "SESSION"},
            UpdateExpression="SET signed_out_at = :at",
            ExpressionAttributeValues={":at": at_epoch_seconds},
        )

    def record_sign_in(self, user_id: str, at: str) -> None:
        self._table.update_item(
            Key={"pk": f"USER#{user_id}", "sk": "SESSION"},
            UpdateExpression="SET last_sign_in_at = :at",
            ExpressionAttributeValues={":at": at},
        )

    def record_profile(self, user_id: str, email: str, fullname: str) -> None:
        """Who the user is, kept beside their session state so admin pages read it in one batch."""
        self._table.update_item(
            Key={"pk": f"USER#{user_id}", "sk": "SESSION"},
            UpdateExpression="SET email = :email, fullname = :name",
            ExpressionAttributeValues={":email": email, ":name": fullname},
        )

    def profiles(self, user_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Session items (email, fullname, last_sign_in_at) of these users, by user id."""
        items = batch_get_all(
            self._table, [{"pk": f"USER#{user_id}", "sk": "SESSION"} for user_id in user_ids]
        )
        return {item["pk"].removeprefix("USER#"): item for item in items}
