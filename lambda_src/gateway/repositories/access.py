"""What authorization reads and writes besides keys, in the `api_keys` table.

Items:
  USER#<user id> / SESSION          signed_out_at (see api_keys.py) and rights_version: bumped by every change
                                    the admin API makes to the user's groups or enabled state, so each process
                                    knows its cached view of the user is stale
  APP#admin-membership / LOCK       a lease serialising changes that may take a member out of Admin
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import Table, error_code, table

_ADMIN_LOCK_KEY = {"pk": "APP#admin-membership", "sk": "LOCK"}


@dataclass(frozen=True)
class SessionState:
    signed_out_at: int
    rights_version: int


def session_key(user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": "SESSION"}


def session_from_item(item: dict[str, Any] | None) -> SessionState:
    item = item or {}
    return SessionState(
        signed_out_at=int(item.get("signed_out_at", 0)), rights_version=int(item.get("rights_version", 0))
    )


class AccessRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def table_name(self) -> str:
        return self._table_name

    @property
    def _table(self) -> Table:
        return table(self._table_name)

    def session_state(self, user_id: str) -> SessionState:
        """One consistent read: when the user was last signed out and which rights version is current."""
        return session_from_item(
            self._table.get_item(Key=session_key(user_id), ConsistentRead=True).get("Item")
        )

    def bump_rights_version(self, user_id: str) -> None:
        self._table.update_item(
            Key=session_key(user_id),
            UpdateExpression="ADD rights_version :one",
            ExpressionAttributeValues={":one": 1},
        )

    def acquire_admin_lock(self, holder: str, now: float, lease_seconds: float) -> bool:
        """Take the lease unless someone else holds an unexpired one (a crashed holder's lease runs out)."""
        try:
            self._table.put_item(
                Item={
                    **_ADMIN_LOCK_KEY,
                    "holder": holder,
                    "expires_at": Decimal(str(round(now + lease_seconds, 3))),
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": Decimal(str(round(now, 3)))},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_admin_lock(self, holder: str) -> None:
        try:
            self._table.delete_item(
                Key=_ADMIN_LOCK_KEY,
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": holder},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # the lease ran out and was taken over
                raise
