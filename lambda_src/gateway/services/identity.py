"""Sign-up, login, refresh, logout and the caller's profile."""

import re
import time
from dataclasses import dataclass

from gateway.auth.groups import effective_groups, permissions_for, preferred_role
from gateway.auth.principal import Principal
from gateway.clock import iso, utcnow
from gateway.errors import BadRequestError, ForbiddenError
from gateway.providers.cognito import CognitoUserPool, Tokens, UserExistsError
from gateway.providers.cognito_identity import AwsCredentials, CognitoIdentityPool
from gateway.repositories.api_keys import ApiKeyRecord, ApiKeyRepository
from gateway.services.api_keys import ApiKeyService

# Deliberately strict: one @, a dotted domain of letters, digits and hyphens.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class DomainNotAllowedError(ForbiddenError):
    code = "domain_not_allowed"
    message = "Sign-up is limited to the organisation's email domains."


class SignUpClosedError(ForbiddenError):
    code = "sign_up_closed"
    message = "Sign-up is closed: an administrator adds users."


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased: one account per mailbox, whatever case people type it in."""
    candidate = email.strip()
    if len(candidate) > 254 or not _EMAIL.match(candidate):
        raise BadRequestError("The email address is not valid.", code="invalid_email")
    return candidate.lower()


def email_domain_allowed(email: str, allowed_domains: list[str]) -> bool:
    """`[]` closes sign-up, `["*"]` opens it to any domain; otherwise an exact, case-insensitive match of the
    whole domain (`a@evil.com.example.com` is not `example.com`)."""
    if "*" in allowed_domains:
        return True
    domain = email.rpartition("@")[2].lower()
    return domain in {allowed.lower() for allowed in allowed_domains}


@dataclass(frozen=True)
class Registration:
    user_id: str
    email: str
    groups: list[str]
    api_key: ApiKeyRecord
    api_key_value: str


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str | None
    fullname: str | None
    groups: list[str]
    effective_groups: list[str]
    preferred_role: str | None
    permissions: list[str]


class IdentityService:
    def __init__(
        self,
        user_pool: CognitoUserPool,
        identity_pool: CognitoIdentityPool,
        api_keys: ApiKeyService,
        sessions: ApiKeyRepository,
        *,
        allowed_email_domains: list[str],
        auto_join_groups: list[str],
    ) -> None:
        self._pool = user_pool
        self._identity_pool = identity_pool
        self._api_keys = api_keys
        self._sessions = sessions
        self._allowed_domains = allowed_email_domains
        self._auto_join_groups = auto_join_groups

    def _require_sign_up_allowed(self, email: str) -> None:
        if not self._allowed_domains:
            raise SignUpClosedError()
        if not email_domain_allowed(email, self._allowed_domains):
            raise DomainNotAllowedError()

    def register(self, email: str, password: str, fullname: str) -> None:
        """Starts a sign-up: Cognito emails a code to the address, and only its owner can confirm.

        The answer is the same whether or not the address has an account: for a confirmed one nothing happens;
        an unconfirmed one (which proves nothing) is replaced by this sign-up, so nobody can hold a
        colleague's address by signing up first."""
        email = normalise_email(email)
        self._require_sign_up_allowed(email)
        try:
            self._pool.sign_up(email, password, fullname)
        except UserExistsError:
            existing = self._pool.find_user(email)
            if existing is None or existing.status != "UNCONFIRMED":
                return
            self._pool.delete_user(existing.user_id)
            self._pool.sign_up(email, password, fullname)

    def resend_code(self, email: str) -> None:
        """A new code for a pending sign-up; silent for unknown and confirmed addresses."""
        email = normalise_email(email)
        self._require_sign_up_allowed(email)
        self._pool.resend_confirmation_code(email)

    def confirm(self, email: str, code: str) -> Registration:
        """The emailed code confirms the account; the user joins the auto-join groups and gets a first key."""
        email = normalise_email(email)
        self._pool.confirm_sign_up(email, code)
        user = self._pool.get_user(email)
        try:
            # The post-confirmation trigger joins them too on AWS (idempotent); locally no trigger runs.
            for group in self._auto_join_groups:
                self._pool.add_to_group(user.user_id, group)
            record, value = self._api_keys.create(user.user_id)
            self._sessions.record_profile(user.user_id, email, user.fullname or "")
        except Exception:
            # No half-made accounts: a confirmed account without its key could not be confirmed again,
            # while a deleted one can simply sign up anew.
            self._pool.delete_user(user.user_id)
            raise
        return Registration(
            user_id=user.user_id,
            email=email,
            groups=sorted(self._auto_join_groups),
            api_key=record,
            api_key_value=value,
        )

    def login(self, email: str, password: str) -> Tokens:
        email = email.strip().lower()
        tokens = self._pool.login(email, password)
        # Sign-out refuses sessions that began at or before its second (`auth_time` has whole seconds);
        # a sign-in in that same second waits for the next one, so the new session is not refused.
        signed_out_at = self._sessions.signed_out_at(tokens.user_id)
        if tokens.authenticated_at <= signed_out_at:
            time.sleep(max(0.0, signed_out_at + 1 - time.time()))
            tokens = self._pool.login(email, password)
        self._sessions.record_sign_in(tokens.user_id, iso(utcnow()))
        return tokens

    def refresh(self, refresh_token: str) -> Tokens:
        return self._pool.refresh(refresh_token)

    def logout(self, principal: Principal) -> None:
        """Revoke refresh tokens at Cognito and refuse every token of the sessions signed in so far
        (by `auth_time`, so tokens refreshed from an old session are refused too)."""
        # By the sign-in alias (the email): Cognito accepts it, and moto only matches refresh tokens by it.
        email = principal.email or self._pool.get_user(principal.user_id).email
        self._pool.sign_out_everywhere(email or principal.user_id)
        self._sessions.mark_signed_out(principal.user_id, int(time.time()))

    def profile(self, principal: Principal) -> Profile:
        user = self._pool.get_user(principal.user_id)
        groups = self._pool.groups_of(principal.user_id)
        names = sorted(group.name for group in groups)
        return Profile(
            user_id=principal.user_id,
            email=user.email,
            fullname=user.fullname,
            groups=names,
            effective_groups=effective_groups(names),
            preferred_role=preferred_role(groups),
            permissions=permissions_for(names),
        )

    def aws_credentials(self, principal: Principal, id_token: str) -> AwsCredentials:
        """Temporary credentials for the caller's preferred role (the identity pool's Token mapping)."""
        if principal.token_use != "id":  # noqa: S105 (a claim value, not a secret)
            raise BadRequestError(
                "AWS credentials need the ID token as bearer token.", code="id_token_required"
            )
        return self._identity_pool.credentials(
            id_token, preferred_role(self._pool.groups_of(principal.user_id))
        )
