"""Audit events in DynamoDB, newest first per user, and per day for the admin reports.

Items (table `audit`): USER#<user id> / <iso time>#<event id>; gsi1 = DAY#<yyyy-mm-dd>.
Events expire after the retention period through the table's TTL attribute `expires_at`.
"""

from dataclasses import asdict, dataclass
from typing import Any

from gateway.aws import attribute_value, table

ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class AuditEvent:
    event_id: str
    timestamp: str  # ISO 8601, UTC, millisecond precision: sorts as text
    user_id: str | None
    action: str
    resource: str | None
    ip_address: str | None
    user_agent: str | None
    success: bool
    error: str | None
    request_id: str | None = None
    subject: str | None = None  # who the action was about, when not the caller (e.g. a login email)


class AuditRepository:
    def __init__(self, table_name: str, retention_days: int) -> None:
        self._table_name = table_name
        self._retention_seconds = retention_days * 86400

    def add(self, event: AuditEvent, now_epoch: int) -> None:
        table(self._table_name).put_item(Item=self._item(event, now_epoch))

    def transact_put(self, event: AuditEvent, now_epoch: int) -> dict[str, Any]:
        """The event as a TransactWriteItems entry, for another transaction (a model call's settlement)."""
        item = self._item(event, now_epoch)
        return {
            "Put": {
                "TableName": self._table_name,
                "Item": {k: attribute_value(v) for k, v in item.items()},
            }
        }

    def _item(self, event: AuditEvent, now_epoch: int) -> dict[str, Any]:
        item: dict[str, Any] = {k: v for k, v in asdict(event).items() if v is not None}
        item.update(
            pk=f"USER#{event.user_id or ANONYMOUS}",
            sk=f"{event.timestamp}#{event.event_id}",
            gsi1pk=f"DAY#{event.timestamp[:10]}",
            gsi1sk=f"{event.timestamp}#{event.event_id}",
            expires_at=now_epoch + self._retention_seconds,
        )
        return item

    def list_for_user(
        self, user_id: str, start: str, end: str, limit: int, start_after: str | None = None
    ) -> tuple[list[AuditEvent], str | None]:
        """Events with start <= time <= end (ISO strings), newest first, and where the next page starts."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {":pk": f"USER#{user_id}", ":start": start, ":end": end},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_after:
            query["ExclusiveStartKey"] = {"pk": f"USER#{user_id}", "sk": start_after}
        page = table(self._table_name).query(**query)
        fields = AuditEvent.__dataclass_fields__
        events = [AuditEvent(**{k: item.get(k) for k in fields}) for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return events, (last["sk"] if last else None)
