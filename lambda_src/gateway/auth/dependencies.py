"""Authentication as FastAPI dependencies; routes declare what they need.

- `TokenUser`: a verified Cognito token (id or access) that has not been signed out, of an enabled user; an
  `x-api-key` sent along is ignored (key management: a user whose keys are all revoked can make a new one).
- `CurrentUser`: that, and an `x-api-key` sent along must be an active key of the same user. What a person
  reads or manages (the console): API Gateway asks for the token alone there, so the usage plan, which meters
  requests with a key, is not spent on it.
- `MeteredUser`: the token plus an active key of the same user, always: model calls (`RequestCaller`), which
  API Gateway meters by that key (usage plan throttle and quota).
- `KeyUser`: an active API key alone, resolved to its owner (OpenAI-compatible `/v1` routes).
- `require_group(...)`: chained on `CurrentUser`, e.g. `AdminUser` (which asks Cognito on every request).

Groups and the enabled state come from Cognito (gateway/auth/standing.py), never from the token's
`cognito:groups`: a member removed from a group loses its rights before their token expires.
- `RequestCaller` / `KeyCaller`: the principal plus the request id a model call is metered under.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway import blocking, deps
from gateway.auth.principal import Principal
from gateway.auth.standing import UserStandings
from gateway.auth.tokens import InvalidTokenError, TokenVerifier
from gateway.errors import BadRequestError, ForbiddenError
from gateway.logs import request_id_var
from gateway.providers.cognito import UserDisabledError
from gateway.repositories.access import SessionState
from gateway.services.api_keys import ApiKeyService, KeyCheck
from gateway.services.audit import audit_context
from gateway.services.models import Caller
from gateway.settings import (
    GROUP_ADMIN,
    GROUP_CREATING_BOT_ALLOWED,
    GROUP_PUBLISH_ALLOWED,
    get_settings,
)

API_KEY_HEADER = "x-api-key"
LIMIT_OVERRIDE_STATE_KEY = "limit_override"


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError()
    return token.strip()


Standings = Annotated[UserStandings, Depends(deps.user_standings)]


def _with_standing(principal: Principal, standings: UserStandings, rights_version: int) -> Principal:
    standing = standings.current(principal.user_id, rights_version)
    if not standing.enabled:
        raise UserDisabledError()
    return replace(principal, groups=standing.groups)


def _verified(request: Request, verifier: TokenVerifier) -> Principal:
    principal = Principal.from_claims(verifier.verify(bearer_token(request)))
    audit_context(request).user_id = principal.user_id
    return principal


def _refuse_signed_out(principal: Principal, session: SessionState) -> None:
    if principal.authenticated_at <= session.signed_out_at:
        raise InvalidTokenError("This session has been signed out.")


@blocking.as_async
def get_token_user(
    request: Request,
    verifier: Annotated[TokenVerifier, Depends(deps.token_verifier)],
    standings: Standings,
) -> Principal:
    return _token_user(request, verifier, standings)


def _token_user(request: Request, verifier: TokenVerifier, standings: UserStandings) -> Principal:
    principal = _verified(request, verifier)
    # One read gives both the sign-out mark and the rights version the cached standing must match.
    session = standings.session(principal.user_id)
    _refuse_signed_out(principal, session)
    return _with_standing(principal, standings, session.rights_version)


TokenUser = Annotated[Principal, Depends(get_token_user)]


Verifier = Annotated[TokenVerifier, Depends(deps.token_verifier)]
ApiKeys = Annotated[ApiKeyService, Depends(deps.api_key_service)]
# (request, user id) -> the items (table name, key) a route reads with the key, in the same round trip.
AlsoRead = Callable[[Request, str], list[tuple[str, dict[str, str]]]]


@blocking.as_async
def get_metered_user(
    request: Request, verifier: Verifier, standings: Standings, api_keys: ApiKeys
) -> Principal:
    """As `TokenUser`, plus the key; the key, the session item and the limit override in one read."""
    return _current_user(request, verifier, standings, api_keys, None)[0]


def _current_user(
    request: Request,
    verifier: TokenVerifier,
    standings: UserStandings,
    api_keys: ApiKeyService,
    also: AlsoRead | None,
) -> tuple[Principal, tuple[dict[str, Any] | None, ...]]:
    principal = _verified(request, verifier)
    extra = also(request, principal.user_id) if also else None
    check = api_keys.check(request.headers.get(API_KEY_HEADER), principal.user_id, extra)
    _refuse_signed_out(principal, check.session)
    principal = _with_standing(principal, standings, check.session.rights_version)
    record = api_keys.accept(check.record, check.refusal)
    _keep_limit_override(request, check)
    return replace(principal, api_key_id=record.key_id), check.also


def _keep_limit_override(request: Request, check: KeyCheck) -> None:
    """For a model call in this request: the override read with the key, so the limits need no read."""
    request.scope.setdefault("state", {})[LIMIT_OVERRIDE_STATE_KEY] = check.limit_override


MeteredUser = Annotated[Principal, Depends(get_metered_user)]


@blocking.as_async
def get_current_user(
    request: Request, verifier: Verifier, standings: Standings, api_keys: ApiKeys
) -> Principal:
    """The token; a key sent along is checked as a model call's (an empty `x-api-key` is no key)."""
    if request.headers.get(API_KEY_HEADER):
        return _current_user(request, verifier, standings, api_keys, None)[0]
    return _token_user(request, verifier, standings)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def api_key_value(request: Request) -> str | None:
    """The API key of a key-only route: `x-api-key`, or a bearer token (OpenAI clients send it so)."""
    value = request.headers.get(API_KEY_HEADER)
    if not value:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        value = token.strip() if scheme.lower() == "bearer" else None
    return value or None


@blocking.as_async
def get_key_user(
    request: Request,
    api_keys: Annotated[ApiKeyService, Depends(deps.api_key_service)],
    standings: Standings,
) -> Principal:
    check = api_keys.check(api_key_value(request))
    audit_context(request).user_id = check.owner_id
    record = api_keys.accept(check.record, check.refusal)
    owner = Principal(
        user_id=record.owner_id,
        email=None,
        groups=(),
        token_use="api_key",  # noqa: S106 (a credential kind, not a secret)
        authenticated_at=0,
        api_key_id=record.key_id,
    )
    _keep_limit_override(request, check)
    return _with_standing(owner, standings, check.session.rights_version)


KeyUser = Annotated[Principal, Depends(get_key_user)]

IDEMPOTENCY_HEADER = "idempotency-key"
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


def request_id_for(request: Request) -> str:
    """The id a call is metered under: the client's Idempotency-Key if sent, else the gateway's request id."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return request_id_var.get()
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadRequestError(
            "Idempotency-Key must be 8 to 128 letters, digits or _ . : -", code="invalid_idempotency_key"
        )
    return f"idem-{key}"


def client_chose_request_id(request: Request) -> bool:
    """Whether the call's request id is the client's (an Idempotency-Key), which a retry may send again."""
    return IDEMPOTENCY_HEADER in request.headers


def _caller(principal: Principal, request: Request) -> Caller:
    return Caller(
        user_id=principal.user_id,
        groups=principal.groups,
        key_id=principal.api_key_id,
        request_id=request_id_for(request),
        limit_override=request.scope.get("state", {}).get(LIMIT_OVERRIDE_STATE_KEY),
        audit=deps.audit_service.get().settlement_audit(request.scope),
        reusable_request_id=client_chose_request_id(request),
    )


async def get_request_caller(request: Request, principal: MeteredUser) -> Caller:
    return _caller(principal, request)


async def get_key_caller(request: Request, principal: KeyUser) -> Caller:
    return _caller(principal, request)


RequestCaller = Annotated[Caller, Depends(get_request_caller)]
KeyCaller = Annotated[Caller, Depends(get_key_caller)]


@dataclass(frozen=True)
class CallerWithItems:
    caller: Caller
    items: tuple[dict[str, Any] | None, ...]  # what `also` named, in order; None where there is no item


def caller_reading(also: AlsoRead) -> Callable[..., CallerWithItems]:
    """A `RequestCaller` dependency that also reads the items a route needs (e.g. the conversation a message
    goes to) in the key's batch read: one round trip for both."""

    @blocking.as_async
    def dependency(
        request: Request, verifier: Verifier, standings: Standings, api_keys: ApiKeys
    ) -> CallerWithItems:
        principal, items = _current_user(request, verifier, standings, api_keys, also)
        return CallerWithItems(_caller(principal, request), items)

    return dependency


def require_group(group: str) -> Callable[..., Principal]:
    """A dependency admitting members of `group` (directly or through Admin). Admin is checked against
    Cognito on every request: a removed admin cannot use the minute of cache to put themselves back."""

    def check(principal: CurrentUser, standings: Standings) -> Principal:
        if group == GROUP_ADMIN:
            standing = standings.fresh(principal.user_id)
            if not standing.enabled:
                raise UserDisabledError()
            principal = replace(principal, groups=standing.groups)
        if not principal.in_group(group):
            raise ForbiddenError(missing_group_message(group), details={"required_group": group})
        return principal

    return check


def missing_group_message(group: str) -> str:
    """What to do about a missing group, and when a change takes effect (see gateway/auth/standing.py)."""
    needs = f"This needs membership of the {group} group"
    if group == GROUP_ADMIN:
        return (
            f"{needs}, which is read from the user pool on every admin request: once an admin adds you "
            "(make admin, the admin API or Cognito), it applies at once, with the token you have."
        )
    seconds = round(get_settings().user_standing_cache_seconds)
    return (
        f"{needs} (or Admin, which includes it). Groups are read from the user pool, not from your token, so "
        "no new login is needed: a change an admin makes through the admin API applies at once, one made in "
        f"the Cognito console or CLI within {seconds} seconds."
    )


AdminUser = Annotated[Principal, Depends(require_group(GROUP_ADMIN))]
BotCreator = Annotated[Principal, Depends(require_group(GROUP_CREATING_BOT_ALLOWED))]
Publisher = Annotated[Principal, Depends(require_group(GROUP_PUBLISH_ALLOWED))]
