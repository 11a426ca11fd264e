"""Authentication as FastAPI dependencies; routes declare what they need.

- `TokenUser`: a verified Cognito token (id or access) that has not been signed out.
- `CurrentUser`: that, plus an active API key (`x-api-key`) owned by the same user.
- `require_group(...)`: chained on top, e.g. `AdminUser`.
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from gateway import deps
from gateway.auth.principal import Principal
from gateway.auth.tokens import InvalidTokenError, TokenVerifier
from gateway.errors import ForbiddenError
from gateway.services.api_keys import ApiKeyService, InvalidApiKeyError
from gateway.services.audit import audit_context
from gateway.services.identity import IdentityService
from gateway.settings import GROUP_ADMIN, GROUP_CREATING_BOT_ALLOWED, GROUP_PUBLISH_ALLOWED

API_KEY_HEADER = "x-api-key"


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidTokenError()
    return token.strip()


def get_token_user(
    request: Request,
    verifier: Annotated[TokenVerifier, Depends(deps.token_verifier)],
    identity: Annotated[IdentityService, Depends(deps.identity_service)],
) -> Principal:
    principal = Principal.from_claims(verifier.verify(bearer_token(request)))
    audit_context(request).user_id = principal.user_id
    if identity.is_signed_out(principal):
        raise InvalidTokenError("This session has been signed out.")
    return principal


TokenUser = Annotated[Principal, Depends(get_token_user)]


def get_current_user(
    request: Request,
    principal: TokenUser,
    api_keys: Annotated[ApiKeyService, Depends(deps.api_key_service)],
) -> Principal:
    record = api_keys.resolve(request.headers.get(API_KEY_HEADER))
    if record.owner_id != principal.user_id:
        raise InvalidApiKeyError()
    return replace(principal, api_key_id=record.key_id)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_group(group: str) -> Callable[[Principal], Principal]:
    """A dependency admitting members of `group` (directly or through Admin)."""

    def check(principal: CurrentUser) -> Principal:
        if not principal.in_group(group):
            raise ForbiddenError(f"This needs membership of the {group} group.")
        return principal

    return check


AdminUser = Annotated[Principal, Depends(require_group(GROUP_ADMIN))]
BotCreator = Annotated[Principal, Depends(require_group(GROUP_CREATING_BOT_ALLOWED))]
Publisher = Annotated[Principal, Depends(require_group(GROUP_PUBLISH_ALLOWED))]
