"""Sign-up and sessions: register (then confirm by the emailed code), login, refresh, logout."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field, field_validator

from gateway import deps
from gateway.api.names import DEPRECATED_KEY_ID
from gateway.auth.dependencies import CurrentUser
from gateway.errors import coded_problem
from gateway.providers.cognito import InvalidPasswordError
from gateway.services.audit import Audit
from gateway.services.identity import IdentityService
from gateway.settings import get_settings

router = APIRouter(tags=["auth"])
Identity = Annotated[IdentityService, Depends(deps.identity_service)]


class RegisterRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(
        min_length=1,
        max_length=256,
        description="Must meet the user pool's password policy (Terraform's `password_policy`; by default at "
        "least 12 characters with an upper-case letter, a lower-case letter and a number): else 422 "
        "`invalid_password`, saying the rule.",
    )
    fullname: str = Field(min_length=1, max_length=128)

    @field_validator("password")
    @classmethod
    def _meets_the_pool_policy(cls, password: str) -> str:
        policy = get_settings().password_policy
        if not policy.is_met_by(password):
            raise coded_problem(InvalidPasswordError.code, policy.in_words())
        return password


class ConfirmRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    code: str = Field(min_length=1, max_length=32, description="The code emailed on sign-up.")


class ResendRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)


class ConfirmationRequired(BaseModel):
    status: Literal["confirmation_required"] = "confirmation_required"


class RegisterResponse(BaseModel):
    user_id: str
    email: str
    groups: list[str]
    key_id: str = Field(description="The first API key's id, as /me/api-keys lists it.")
    api_key: str = Field(description="The first API key's value: shown once, never again.")
    api_key_id: str = Field(deprecated=DEPRECATED_KEY_ID, description="The same as key_id.")


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=8192)


class TokenResponse(BaseModel):
    id_token: str
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)


@router.post("/register", status_code=status.HTTP_202_ACCEPTED, name="auth.register")
def register(body: RegisterRequest, identity: Identity, audit: Audit) -> ConfirmationRequired:
    """Emails a confirmation code. The same answer whether or not the address has an account."""
    audit.subject = body.email.strip().lower()
    identity.register(body.email, body.password, body.fullname)
    return ConfirmationRequired()


@router.post("/register/resend", status_code=status.HTTP_202_ACCEPTED, name="auth.register_resend")
def register_resend(body: ResendRequest, identity: Identity, audit: Audit) -> ConfirmationRequired:
    """Emails a new code for a sign-up not yet confirmed (the same answer for any address)."""
    audit.subject = body.email.strip().lower()
    identity.resend_code(body.email)
    return ConfirmationRequired()


@router.post("/register/confirm", status_code=status.HTTP_201_CREATED, name="auth.register_confirm")
def register_confirm(body: ConfirmRequest, identity: Identity, audit: Audit) -> RegisterResponse:
    """Confirms the account with the emailed code and answers the first API key (shown once)."""
    audit.subject = body.email.strip().lower()
    registration = identity.confirm(body.email, body.code.strip())
    audit.user_id = registration.user_id
    audit.resource = f"user/{registration.user_id}"
    return RegisterResponse(
        user_id=registration.user_id,
        email=registration.email,
        groups=registration.groups,
        key_id=registration.api_key.key_id,
        api_key=registration.api_key_value,
        api_key_id=registration.api_key.key_id,
    )


@router.post("/login", name="auth.login")
def login(body: LoginRequest, identity: Identity, audit: Audit) -> TokenResponse:
    audit.subject = body.email.strip().lower()
    tokens = identity.login(body.email, body.password)
    audit.user_id = tokens.user_id
    return TokenResponse(
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post("/refresh", name="auth.refresh")
def refresh(body: RefreshRequest, identity: Identity) -> TokenResponse:
    tokens = identity.refresh(body.refresh_token)
    return TokenResponse(
        id_token=tokens.id_token, access_token=tokens.access_token, expires_in=tokens.expires_in
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, name="auth.logout")
def logout(user: CurrentUser, identity: Identity) -> None:
    identity.logout(user)
