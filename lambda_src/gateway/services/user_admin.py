"""User management by admins: rules that keep the organisation governable."""

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gateway.auth.standing import UserStandings
from gateway.errors import ConflictError
from gateway.providers.cognito import CognitoUserPool, UserProfile
from gateway.repositories.access import AccessRepository
from gateway.repositories.api_keys import ApiKeyRepository
from gateway.services.api_keys import ApiKeyService
from gateway.services.paging import PageTokens
from gateway.settings import GROUP_ADMIN


class LastAdminError(ConflictError):
    code = "last_admin"
    message = "The last enabled member of Admin cannot be disabled or removed."


class AdminChangeBusyError(ConflictError):
    code = "admin_change_in_progress"
    message = "Another change to the Admin group is in progress; try again."


# A change that may take someone out of Admin holds this lease while it checks and acts in Cognito; the lease
# outlives any request (API Gateway ends them at 29 s), so a crashed holder blocks the others for that long.
ADMIN_LOCK_LEASE_SECONDS = 30.0
ADMIN_LOCK_WAIT_SECONDS = 10.0
ADMIN_LOCK_POLL_SECONDS = 0.1


class UserAdminService:
    def __init__(
        self,
        user_pool: CognitoUserPool,
        api_keys: ApiKeyService,
        sessions: ApiKeyRepository,
        pages: PageTokens,
        standings: UserStandings,
        access: AccessRepository,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._pool = user_pool
        self._api_keys = api_keys
        self._sessions = sessions
        self._pages = pages
        self._standings = standings
        self._access = access
        self._clock = clock
        self._sleep = sleep

    def disable(self, username: str) -> tuple[UserProfile, int]:
        """Disable the user, end every session, then revoke every key; returns the user and keys revoked.

        In this order no key survives: key creation refuses a disabled or signed-out user once the key is
        stored, and a key stored before that is seen by the revocation.
        """
        user = self._pool.get_user(username)
        with self._keeping_an_admin(user):
            self._pool.disable(user.user_id)
        try:
            if user.email:
                self._pool.sign_out_everywhere(user.email)
            self._sessions.mark_signed_out(user.user_id, int(time.time()))
        finally:
            self._standings.changed(user.user_id)
        revoked = self._api_keys.revoke_all(user.user_id)
        return user, revoked

    def enable(self, username: str) -> UserProfile:
        user = self._pool.get_user(username)
        self._pool.enable(user.user_id)
        self._standings.changed(user.user_id)
        return user

    @contextmanager
    def _keeping_an_admin(self, user: UserProfile) -> Iterator[None]:
        """Run a change that takes `user` out of the enabled admins only if another one remains.

        The check and the change run under one lease in DynamoDB, so two admins disabling each other at once
        are serialised: the second sees the first's change and is refused.
        """
        if GROUP_ADMIN not in {group.name for group in self._pool.groups_of(user.user_id)}:
            yield
            return
        holder = secrets.token_hex(16)
        deadline = self._clock() + ADMIN_LOCK_WAIT_SECONDS
        while not self._access.acquire_admin_lock(holder, self._clock(), ADMIN_LOCK_LEASE_SECONDS):
            if self._clock() >= deadline:
                raise AdminChangeBusyError()
            self._sleep(ADMIN_LOCK_POLL_SECONDS)
        try:
            other_admins = [
                m for m in self._pool.members_of(GROUP_ADMIN) if m.enabled and m.user_id != user.user_id
            ]
            if not other_admins:
                raise LastAdminError()
            yield
        finally:
            self._access.release_admin_lock(holder)

    def group_names(self, username: str) -> tuple[str, ...]:
        user = self._pool.get_user(username)  # UserNotFoundError (404) for an unknown user
        return tuple(sorted(group.name for group in self._pool.groups_of(user.user_id)))

    def add_to_group(self, username: str, group: str) -> None:
        self._pool.require_group(group)
        user = self._pool.get_user(username)
        self._pool.add_to_group(user.user_id, group)
        self._standings.changed(user.user_id)

    def remove_from_group(self, username: str, group: str) -> None:
        self._pool.require_group(group)
        user = self._pool.get_user(username)
        if group == GROUP_ADMIN:
            with self._keeping_an_admin(user):
                self._pool.remove_from_group(user.user_id, group)
        else:
            self._pool.remove_from_group(user.user_id, group)
        self._standings.changed(user.user_id)

    def confirm_sign_up(self, username: str) -> None:
        self._pool.admin_confirm(self._pool.get_user(username).user_id)

    def sign_out(self, username: str) -> None:
        user = self._pool.get_user(username)
        if user.email:
            self._pool.sign_out_everywhere(user.email)
        self._sessions.mark_signed_out(user.user_id, int(time.time()))

    def get_user(self, username: str) -> dict[str, Any]:
        return self._pool.raw("admin_get_user", Username=self._pool.get_user(username).user_id)

    def list_page(self, listing: str, limit: int, token: str | None, **filters: str) -> dict[str, Any]:
        """One page of a Cognito listing, with Cognito's shape and a signed NextToken."""
        operation, items_key, token_name, page_size = LISTINGS[listing]
        request: dict[str, Any] = {page_size: limit, **filters}
        if listing == "listGroupsForUser":
            request["Username"] = self._pool.get_user(filters["Username"]).user_id
        if listing == "listUsersInGroup":
            self._pool.require_group(filters["GroupName"])
        scope = f"{listing}:{':'.join(f'{k}={v}' for k, v in sorted(filters.items()))}"
        if position := self._pages.decode(token, scope):
            request[token_name] = position
        response = self._pool.raw(operation, **request)
        return {
            items_key: response.get(items_key, []),
            "NextToken": self._pages.encode(response.get(token_name), scope),
        }


# listing -> (Cognito operation, items key, Cognito's paging key, page size parameter)
LISTINGS = {
    "listUsers": ("list_users", "Users", "PaginationToken", "Limit"),
    "listGroups": ("list_groups", "Groups", "NextToken", "Limit"),
    "listUsersInGroup": ("list_users_in_group", "Users", "NextToken", "Limit"),
    "listGroupsForUser": ("admin_list_groups_for_user", "Groups", "NextToken", "Limit"),
}
