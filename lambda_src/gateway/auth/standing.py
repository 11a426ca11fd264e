"""A user's standing in Cognito (enabled, groups), which rights follow instead of the token's claims.

Each process caches a user's standing for a short time (`user_standing_cache_seconds`, at most 60 s): a
change made in the console or the CLI takes effect within that time. A change made through the admin API
bumps the user's `rights_version` (read with the session item every request already reads), so every process
drops its stale entry at the next request. `/admin/*` reads Cognito on every request (`fresh`).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from gateway.providers.cognito import CognitoUserPool, UserNotFoundError
from gateway.repositories.access import AccessRepository, SessionState

# Bounds the cache of a long-lived process; the oldest entries go first.
MAX_CACHED_USERS = 10_000


@dataclass(frozen=True)
class Standing:
    enabled: bool
    groups: tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    standing: Standing
    fetched_at: float
    rights_version: int


class UserStandings:
    def __init__(
        self,
        user_pool: CognitoUserPool,
        repository: AccessRepository,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = user_pool
        self._repository = repository
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def session(self, user_id: str) -> SessionState:
        return self._repository.session_state(user_id)

    def current(self, user_id: str, rights_version: int) -> Standing:
        """The cached standing, read again from Cognito when older than the TTL or than the rights version."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(user_id)
        if entry and entry.rights_version == rights_version and now - entry.fetched_at < self._ttl:
            return entry.standing
        standing = self.fresh(user_id)
        with self._lock:
            self._entries[user_id] = _Entry(standing, now, rights_version)
            self._entries.move_to_end(user_id)
            while len(self._entries) > MAX_CACHED_USERS:
                self._entries.popitem(last=False)
        return standing

    def fresh(self, user_id: str) -> Standing:
        """The standing as Cognito has it now (two calls); a deleted user stands as disabled."""
        try:
            enabled = self._pool.get_user(user_id).enabled
            groups = tuple(sorted(group.name for group in self._pool.groups_of(user_id)))
        except UserNotFoundError:
            return Standing(enabled=False, groups=())
        return Standing(enabled=enabled, groups=groups)

    def changed(self, user_id: str) -> None:
        """After the admin API changed the user: this process forgets them, the others see a new version."""
        self._repository.bump_rights_version(user_id)
        with self._lock:
            self._entries.pop(user_id, None)
