"""Per-user API keys: the value is shown once, only its hash is kept, revocation is immediate."""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from gateway.auth.standing import UserStandings
from gateway.auth.tokens import InvalidTokenError
from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError, ForbiddenError, NotFoundError
from gateway.providers.api_gateway import ApiGatewayKeys
from gateway.providers.cognito import UserDisabledError
from gateway.repositories.access import SessionState, session_from_item, session_key
from gateway.repositories.api_keys import ACTIVE, ApiKeyRecord, ApiKeyRepository
from gateway.repositories.limits import override_from_item, override_key

KEY_VALUE_BYTES = 30  # 40 URL-safe characters; API Gateway wants at least 20
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Bounds the per-process map of key hash -> owner (a key's owner never changes; its state is read each time).
MAX_KNOWN_OWNERS = 10_000


class InvalidApiKeyError(ForbiddenError):
    """A key the app refuses; each kind says which, never the key's value. Saying "revoked" tells only what
    the holder of the value could learn by using it."""

    code = "invalid_api_key"
    message = "The API key is missing, revoked or not yours."


class ApiKeyMissingError(InvalidApiKeyError):
    code = "api_key_missing"
    message = "Send an API key in the x-api-key header (POST /me/api-keys makes one)."


class ApiKeyUnknownError(InvalidApiKeyError):
    code = "api_key_unknown"
    message = (
        "No such API key: check that the whole value was copied (GET /me/api-keys lists your keys' ids; "
        "POST /me/api-keys makes a new one)."
    )


class ApiKeyRevokedError(InvalidApiKeyError):
    code = "api_key_revoked"
    message = "This API key has been revoked: use an active key (POST /me/api-keys makes a new one)."


class ApiKeyNotYoursError(InvalidApiKeyError):
    code = "api_key_not_yours"
    message = "This API key belongs to another user: send one of your own keys with your token."


class KeyState(Protocol):
    @property
    def active(self) -> bool: ...


def refusal_of(key: KeyState | None) -> type[InvalidApiKeyError] | None:
    """Why a key looked up by its value is refused (none found, or revoked), or None when it may be used."""
    if key is None:
        return ApiKeyUnknownError
    return None if key.active else ApiKeyRevokedError


def hash_key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_key[R](
    gateway: ApiGatewayKeys,
    label: str,
    description: str,
    store: Callable[[str, str, str], R],
    usage_plan_id: str | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[R, str]:
    """A new API Gateway key named `<label>-<time>` and its record, made and kept by `store(key_id, key_hash,
    created_at)`; returns the record and the key's value (shown once: only its hash is stored)."""
    value = secrets.token_urlsafe(KEY_VALUE_BYTES)
    created_at = iso(utcnow())
    key_id = gateway.create(
        name=f"{label}-{created_at.replace(':', '').replace('.', '')}",
        value=value,
        description=description,
        usage_plan_id=usage_plan_id,
        tags=tags,
    )
    try:
        return store(key_id, hash_key(value), created_at), value
    except Exception:
        gateway.delete(key_id)  # no gateway key without its record
        raise


@dataclass(frozen=True)
class KeyCheck:
    """What a request with an API key reads before anything else, in one round trip when the owner is known:
    the key, the owner's session item (sign-out, rights version) and their limit override."""

    owner_id: str
    record: ApiKeyRecord | None  # None: no such key, or not the owner's (`refusal` says which)
    session: SessionState
    limit_override: dict[str, Any] | None  # None: not read (no limits table given)
    # The items the request asked to read with the key (`also` of check), in order; None where none is.
    also: tuple[dict[str, Any] | None, ...] = ()
    refusal: type[InvalidApiKeyError] | None = None  # why `accept` will refuse the key, when it will


class ApiKeyService:
    def __init__(
        self,
        repository: ApiKeyRepository,
        gateway: ApiGatewayKeys,
        max_active_keys: int,
        standings: UserStandings,
        limits_table: str | None = None,
    ) -> None:
        self._repository = repository
        self._gateway = gateway
        self._max_active_keys = max_active_keys
        self._standings = standings
        # When this process last recorded each key's use: most requests then need no write at all.
        self._touched: dict[str, datetime] = {}
        self._limits_table = limits_table
        self._owners: dict[str, str] = {}

    def create(self, owner_id: str, session_started_at: int | None = None) -> tuple[ApiKeyRecord, str]:
        """A new key in the usage plan and its record; returns the record and the value (shown once).

        Once the key is stored, the owner must still be enabled in Cognito and (given the session's start) not
        signed out, else the key is revoked again. /admin/disableUser disables, then signs out, then revokes
        keys: a key made while it runs is either seen by that revocation or refused here.
        """
        active = [record for record in self._repository.list_for_owner(owner_id) if record.active]
        if len(active) >= self._max_active_keys:
            raise BadRequestError(
                f"At most {self._max_active_keys} active API keys per user: revoke one first.",
                code="api_key_limit",
            )

        def store(key_id: str, key_hash: str, created_at: str) -> ApiKeyRecord:
            record = ApiKeyRecord(
                key_id=key_id, owner_id=owner_id, key_hash=key_hash, state=ACTIVE, created_at=created_at
            )
            self._repository.add(record)
            return record

        record, value = issue_key(self._gateway, f"user-{owner_id}", f"API key of user {owner_id}", store)
        try:
            self._refuse_ended_account(owner_id, session_started_at)
        except (UserDisabledError, InvalidTokenError):
            self.revoke(owner_id, record.key_id)
            raise
        return record, value

    def _refuse_ended_account(self, owner_id: str, session_started_at: int | None) -> None:
        if session_started_at is not None and (
            session_started_at <= self._standings.session(owner_id).signed_out_at
        ):
            raise InvalidTokenError("This session has been signed out.")
        if not self._standings.fresh(owner_id).enabled:
            raise UserDisabledError()

    def list_for_owner(self, owner_id: str) -> list[ApiKeyRecord]:
        return sorted(self._repository.list_for_owner(owner_id), key=lambda r: r.created_at, reverse=True)

    def revoke(self, owner_id: str, key_id: str) -> ApiKeyRecord:
        record = self._repository.get(key_id)
        if record is None or record.owner_id != owner_id:
            raise NotFoundError("No such API key.", code="api_key_not_found")
        if record.active:
            # The record first: the app refuses the key at once, whatever the gateway's cache does.
            self._repository.revoke(record, iso(utcnow()))
            self._gateway.disable(key_id)
        return self._repository.get(key_id) or record

    def revoke_all(self, owner_id: str) -> int:
        revoked = 0
        for record in self._repository.list_for_owner(owner_id):
            if record.active:
                self.revoke(owner_id, record.key_id)
                revoked += 1
        return revoked

    def resolve(self, value: str | None) -> ApiKeyRecord:
        """The active key with this value, or InvalidApiKeyError."""
        if not value:
            raise ApiKeyMissingError()
        record = self._repository.find_by_hash(hash_key(value))
        return self.accept(record)

    def check(
        self,
        value: str | None,
        owner_id: str | None = None,
        also: list[tuple[str, dict[str, str]]] | None = None,
    ) -> KeyCheck:
        """The key with this value, read in the same batch as its owner's session item and limit override,
        and the items `also` names (table name, key) for the request; `record` is None unless the key is
        `owner_id`'s (when given). The owner is the token's user, else the one this process saw for the key's
        hash before (a key's owner never changes): only a key never seen needs a read of its own.
        `accept(check.record, check.refusal)` then admits it, or refuses it saying why."""
        also = also or []
        if not value:
            raise ApiKeyMissingError()
        key_hash = hash_key(value)
        owner = owner_id or self._owners.get(key_hash)
        record: ApiKeyRecord | None
        if owner is None:
            record = self._repository.find_by_hash(key_hash)
            refusal = refusal_of(record)
            if record is None or refusal is not None:
                raise (refusal or ApiKeyUnknownError)()
            owner = record.owner_id
            _, items = self._repository.find_by_hash_with(None, [*self._owner_items(owner), *also])
        else:
            record, items = self._repository.find_by_hash_with(key_hash, [*self._owner_items(owner), *also])
        refusal = refusal_of(record)
        if record is not None and record.owner_id != owner:
            record, refusal = None, ApiKeyNotYoursError
        if record is not None:
            if len(self._owners) >= MAX_KNOWN_OWNERS:
                self._owners.clear()
            self._owners[key_hash] = owner
        return KeyCheck(
            owner_id=owner,
            record=record,
            session=session_from_item(items[0]),
            limit_override=override_from_item(items[1]) if self._limits_table else None,
            also=tuple(items[len(items) - len(also) :]),
            refusal=refusal,
        )

    def _owner_items(self, owner_id: str) -> list[tuple[str, dict[str, str]]]:
        items = [(self._repository.table_name, session_key(owner_id))]
        if self._limits_table:
            items.append((self._limits_table, override_key(owner_id)))
        return items

    def accept(
        self, record: ApiKeyRecord | None, refusal: type[InvalidApiKeyError] | None = None
    ) -> ApiKeyRecord:
        """The record if active (recording its use at most once a minute per process); else the refusal that
        says why (a check's `refusal`), else unknown or revoked."""
        refusal = refusal or refusal_of(record)
        if refusal is not None or record is None:
            raise (refusal or ApiKeyUnknownError)()
        now = utcnow()
        last = self._touched.get(record.key_id)
        if last is None or now - last >= LAST_USED_RESOLUTION:
            self._repository.touch(record.key_id, iso(now), iso(now - LAST_USED_RESOLUTION))
            self._touched[record.key_id] = now
        return record
