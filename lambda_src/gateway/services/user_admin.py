"""User management by admins: rules that keep the organisation governable."""

import time
from typing import Any

from gateway.errors import ConflictError
from gateway.providers.cognito import CognitoUserPool, UserProfile
from gateway.repositories.api_keys import ApiKeyRepository
from gateway.services.api_keys import ApiKeyService
from gateway.services.paging import PageTokens
from gateway.settings import GROUP_ADMIN


class LastAdminError(ConflictError):
    code = "last_admin"
    message = "The last enabled member of Admin cannot be disabled or removed."


class UserAdminService:
    def __init__(
        self,
        user_pool: CognitoUserPool,
        api_keys: ApiKeyService,
        sessions: ApiKeyRepository,
        pages: PageTokens,
    ) -> None:
        self._pool = user_pool
        self._api_keys = api_keys
        self._sessions = sessions
        self._pages = pages

    def disable(self, username: str) -> tuple[UserProfile, int]:
        """Disable the user, revoke every key and end every session; returns the user and keys revoked."""
        user = self._pool.get_user(username)
        self._refuse_last_admin(user)
        self._pool.disable(user.user_id)
        revoked = self._api_keys.revoke_all(user.user_id)
        if user.email:
            self._pool.sign_out_everywhere(user.email)
        self._sessions.mark_signed_out(user.user_id, int(time.time()))
        return user, revoked

    def enable(self, username: str) -> UserProfile:
        user = self._pool.get_user(username)
        self._pool.enable(user.user_id)
        return user

    def _refuse_last_admin(self, user: UserProfile) -> None:
        if GROUP_ADMIN not in {group.name for group in self._pool.groups_of(user.user_id)}:
            return
        other_admins = [
            m for m in self._pool.members_of(GROUP_ADMIN) if m.enabled and m.user_id != user.user_id
        ]
        if not other_admins:
            raise LastAdminError()

    def group_names(self, username: str) -> tuple[str, ...]:
        user = self._pool.get_user(username)  # UserNotFoundError (404) for an unknown user
        return tuple(sorted(group.name for group in self._pool.groups_of(user.user_id)))

    def add_to_group(self, username: str, group: str) -> None:
        self._pool.require_group(group)
        user = self._pool.get_user(username)
        self._pool.add_to_group(user.user_id, group)

    def remove_from_group(self, username: str, group: str) -> None:
        self._pool.require_group(group)
        user = self._pool.get_user(username)
        if group == GROUP_ADMIN:
            self._refuse_last_admin(user)
        self._pool.remove_from_group(user.user_id, group)

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
