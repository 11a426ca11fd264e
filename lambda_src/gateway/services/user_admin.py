"""User management by admins: rules that keep the organisation governable."""

import time

from gateway.errors import ConflictError
from gateway.providers.cognito import CognitoUserPool, UserProfile
from gateway.repositories.api_keys import ApiKeyRepository
from gateway.services.api_keys import ApiKeyService
from gateway.settings import GROUP_ADMIN


class LastAdminError(ConflictError):
    code = "last_admin"
    message = "The last enabled member of Admin cannot be disabled or removed."


class UserAdminService:
    def __init__(
        self, user_pool: CognitoUserPool, api_keys: ApiKeyService, sessions: ApiKeyRepository
    ) -> None:
        self._pool = user_pool
        self._api_keys = api_keys
        self._sessions = sessions

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
