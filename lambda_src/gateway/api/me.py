"""The caller: profile and API keys."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from gateway import deps
from gateway.auth.dependencies import CurrentUser, TokenUser, bearer_token
from gateway.repositories.api_keys import ApiKeyRecord
from gateway.services.api_keys import ApiKeyService
from gateway.services.audit import Audit
from gateway.services.identity import IdentityService
from gateway.services.models import ModelService
from gateway.settings import Limits

router = APIRouter(prefix="/me", tags=["me"])
Identity = Annotated[IdentityService, Depends(deps.identity_service)]
ApiKeys = Annotated[ApiKeyService, Depends(deps.api_key_service)]
Models = Annotated[ModelService, Depends(deps.model_service)]


class ProfileResponse(BaseModel):
    user_id: str
    email: str | None
    fullname: str | None
    groups: list[str]
    effective_groups: list[str]
    preferred_role: str | None
    permissions: list[str]


class ApiKeyResponse(BaseModel):
    key_id: str
    state: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    @classmethod
    def of(cls, record: ApiKeyRecord) -> "ApiKeyResponse":
        return cls(
            key_id=record.key_id,
            state=record.state,
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )


class ApiKeyListResponse(BaseModel):
    api_keys: list[ApiKeyResponse]


class NewApiKeyResponse(ApiKeyResponse):
    api_key: str = Field(description="Shown once, never again.")


class CredentialsResponse(BaseModel):
    identity_id: str
    role_arn: str | None
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


@router.get("", name="me.profile")
def profile(user: CurrentUser, identity: Identity) -> ProfileResponse:
    return ProfileResponse(**vars(identity.profile(user)))


@router.get("/credentials", name="me.credentials")
def aws_credentials(request: Request, user: CurrentUser, identity: Identity) -> CredentialsResponse:
    return CredentialsResponse(**vars(identity.aws_credentials(user, bearer_token(request))))


class LimitWindow(BaseModel):
    name: str
    window: str
    # Counts (requests, tokens) are whole numbers; only the budget's window is in (fractional) USD.
    limit: int | float | None
    used: int | float
    remaining: int | float | None
    resets_in_seconds: int


class UsageResponse(BaseModel):
    limits: Limits
    windows: list[LimitWindow]
    budget_flagged: bool


@router.get("/usage", name="me.usage")
def usage(user: CurrentUser, models: Models) -> UsageResponse:
    return UsageResponse(**models.limits_report(user.user_id, user.groups))


# Key management needs a token but no key: a user whose keys are all revoked can make a new one.
@router.get("/api-keys", name="me.api_keys.list")
def list_api_keys(user: TokenUser, api_keys: ApiKeys) -> ApiKeyListResponse:
    return ApiKeyListResponse(
        api_keys=[ApiKeyResponse.of(record) for record in api_keys.list_for_owner(user.user_id)]
    )


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, name="me.api_keys.create")
def create_api_key(user: TokenUser, api_keys: ApiKeys, audit: Audit) -> NewApiKeyResponse:
    record, value = api_keys.create(user.user_id, session_started_at=user.authenticated_at)
    audit.resource = f"api-key/{record.key_id}"
    return NewApiKeyResponse(**ApiKeyResponse.of(record).model_dump(), api_key=value)


@router.delete("/api-keys/{key_id}", name="me.api_keys.revoke")
def revoke_api_key(key_id: str, user: TokenUser, api_keys: ApiKeys, audit: Audit) -> ApiKeyResponse:
    audit.resource = f"api-key/{key_id}"
    return ApiKeyResponse.of(api_keys.revoke(user.user_id, key_id))
