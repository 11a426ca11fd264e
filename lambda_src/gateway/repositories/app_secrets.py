"""Secrets the application makes for itself, kept in the `api_keys` table (item APP#<name> / SECRET).

The first process that needs one creates it with a conditional put; every other process reads that one.
"""

import secrets
from typing import Any

from botocore.exceptions import ClientError

from gateway.aws import error_code, table


class AppSecretRepository:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def get_or_create(self, name: str, size: int = 32) -> bytes:
        key: dict[str, Any] = {"pk": f"APP#{name}", "sk": "SECRET"}
        found = table(self._table_name).get_item(Key=key, ConsistentRead=True).get("Item")
        if found:
            return bytes(found["value"])
        value = secrets.token_bytes(size)
        try:
            table(self._table_name).put_item(
                Item={**key, "value": value}, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return bytes(table(self._table_name).get_item(Key=key, ConsistentRead=True)["Item"]["value"])
        return value
