"""The one settings object, read from `GATEWAY_*` environment variables once per process."""

import json
import os
import re
import types
from functools import lru_cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GROUP_ADMIN = "Admin"
GROUP_CREATING_BOT_ALLOWED = "CreatingBotAllowed"
GROUP_PUBLISH_ALLOWED = "PublishAllowed"
KNOWN_GROUPS = (GROUP_ADMIN, GROUP_CREATING_BOT_ALLOWED, GROUP_PUBLISH_ALLOWED)

_CORS_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:([0-9]{1,5}|\*))?")
# Bedrock Knowledge Base ids are 10 letters and digits (the allow-list, bots and Retrieve check them).
KNOWLEDGE_BASE_ID_PATTERN = r"^[0-9a-zA-Z]{10}$"
KNOWLEDGE_BASE_ID_RE = re.compile(KNOWLEDGE_BASE_ID_PATTERN)
# Bedrock Guardrail ids are lower-case letters and digits (the id, not the ARN: IAM's grant is built from it);
# versions are a number or "DRAFT".
GUARDRAIL_ID_PATTERN = r"^[a-z0-9]{1,64}$"
GUARDRAIL_VERSION_PATTERN = r"^(([1-9][0-9]{0,7})|DRAFT)$"


class Guardrail(BaseModel):
    """A Bedrock Guardrail every model call of a group's members (or of a bot) is made with."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=GUARDRAIL_ID_PATTERN)
    version: str = Field(pattern=GUARDRAIL_VERSION_PATTERN)


class Limits(BaseModel):
    """Exact limits of one user, per UTC calendar window; None is no limit."""

    model_config = ConfigDict(frozen=True)

    requests_per_minute: int | None = Field(default=None, ge=1)
    requests_per_day: int | None = Field(default=None, ge=1)
    tokens_per_day: int | None = Field(default=None, ge=1)
    tokens_per_month: int | None = Field(default=None, ge=1)
    budget_usd_per_month: float | None = Field(default=None, ge=0)
    # Share of the monthly budget past which the user is flagged for the admins (calls still pass).
    budget_soft_threshold: float = Field(default=0.8, gt=0, le=1)


class GroupPolicy(BaseModel):
    """What a group's members may do; the group that wins by precedence decides (see services/policies.py)."""

    precedence: int | None = Field(default=None, ge=0)
    # fnmatch patterns of base model ids ("anthropic.*"); ["*"] is every model.
    allowed_models: list[str] = ["*"]
    limits: Limits = Limits()
    guardrail: Guardrail | None = None


class PublicationMax(BaseModel):
    """The most a published bot may ask for: its API Gateway throttle and its quota per period."""

    model_config = ConfigDict(frozen=True)

    rate_limit: float = Field(default=100.0, gt=0, le=10_000)
    burst_limit: int = Field(default=200, ge=1, le=5_000)
    quota_per_day: int = Field(default=100_000, ge=1)
    quota_per_week: int = Field(default=700_000, ge=1)
    quota_per_month: int = Field(default=3_000_000, ge=1)


class PasswordPolicy(BaseModel):
    """The user pool's password policy, as Terraform sets it (`password_policy`, identity module; the same
    defaults): /register checks it before Cognito sees the password, so one rule gives one answer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Cognito's bounds are 6 to 99; the identity module allows 8 to 99.
    minimum_length: int = Field(default=12, ge=6, le=99)
    require_lowercase: bool = True
    require_uppercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = False

    def is_met_by(self, password: str) -> bool:
        # Cognito's symbols are ASCII punctuation; its letters and digits, ASCII ones.
        return all(
            (
                len(password) >= self.minimum_length,
                not self.require_lowercase or any("a" <= c <= "z" for c in password),
                not self.require_uppercase or any("A" <= c <= "Z" for c in password),
                not self.require_numbers or any("0" <= c <= "9" for c in password),
                not self.require_symbols or any(c in _COGNITO_SYMBOLS for c in password),
            )
        )

    def in_words(self) -> str:
        needs = [
            label
            for required, label in (
                (self.require_uppercase, "an upper-case letter"),
                (self.require_lowercase, "a lower-case letter"),
                (self.require_numbers, "a number"),
                (self.require_symbols, "a symbol"),
            )
            if required
        ]
        rules = f"at least {self.minimum_length} characters"
        if needs:
            rules += ", with " + ", ".join(needs)
        return f"The password must have {rules}."


_COGNITO_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")

ENV_PREFIX = "GATEWAY_"


def _is_json(annotation: Any) -> bool:
    """Lists, dicts and models (optional or not) come from the environment as JSON; the rest as plain text."""
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_json(arg) for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) in (list, dict, set, tuple, frozenset):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _from_environment(model: type[BaseModel]) -> dict[str, Any]:
    """The fields set in the environment as `GATEWAY_<FIELD>` (any case); JSON for structured ones."""
    environ = {name.upper(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        variable = ENV_PREFIX + name.upper()
        if variable not in environ:
            continue
        if not _is_json(field.annotation):
            values[name] = environ[variable]
            continue
        try:
            values[name] = json.loads(environ[variable])
        except json.JSONDecodeError as error:
            # The position, not the value: a setting's value stays out of logs.
            where = f"line {error.lineno} column {error.colno}"
            raise ValueError(f"{variable} is not valid JSON ({where})") from None
    return values


class Settings(BaseModel):
    """`Settings()` reads the environment; keyword arguments win over it (tests). pydantic-settings did the
    same but cost a cold start ~50 ms of imports (every source it supports: CLI, dotenv, cloud vaults)."""

    # Defaults are validated too: a default that breaks a rule fails at start, not at first use.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_from_environment(type(self)), **values})

    environment: Literal["local", "test", "dev", "prod"] = "local"
    # The API needs the user pool; Cognito triggers get the pool id from their event.
    component: Literal["api", "trigger"] = "api"
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # Only for the local AWS target: every boto3 client goes there instead of AWS.
    aws_endpoint_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Lambda SnapStart (Terraform's snap_start): init runs once, before the snapshot every instance resumes
    # from, so the routers are included then, not by each instance's first requests (gateway/lazy_routers.py).
    include_routers_at_start: bool = False

    user_pool_id: str = ""
    user_pool_client_id: str = ""
    identity_pool_id: str = ""
    # Defaults to Cognito's public JWKS URL of the pool; locally the emulator serves it.
    jwks_url: str | None = None

    table_api_keys: str = "gateway-api-keys"
    table_usage: str = "gateway-usage"
    table_audit: str = "gateway-audit"
    table_conversations: str = "gateway-conversations"
    table_bots: str = "gateway-bots"

    # Looked up by name at run time: the plan depends on the function through the API deployment.
    usage_plan_name: str = ""

    max_api_keys_per_user: int = Field(default=5, ge=1, le=100)
    # How long a process trusts its copy of a user's groups and enabled state: a change made in the Cognito
    # console or CLI takes effect within it (the admin API's changes at once; /admin/* always asks Cognito).
    user_standing_cache_seconds: float = Field(default=60.0, ge=0, le=60)
    audit_retention_days: int = Field(default=400, ge=1)

    # Group name -> policy, from Terraform (`group_policies`); a user in no listed group gets the default.
    group_policies: dict[str, GroupPolicy] = {}
    default_policy: GroupPolicy = GroupPolicy()

    # Model calls must end before API Gateway's 29 s integration timeout.
    model_timeout_seconds: float = Field(default=25.0, gt=0, le=28)
    # In Lambda the model call also ends this long before the invocation's deadline, to settle the metering.
    model_settle_margin_seconds: float = Field(default=3.0, ge=0.5, le=60)
    # Reservations before a call: output tokens when the request names no maximum, and letters or digits per
    # token in the prompt's input estimate (services/token_estimate.py: low on purpose, reserve too much).
    default_max_output_tokens: int = Field(default=4096, ge=1)
    reserve_chars_per_token: int = Field(default=3, ge=1)
    model_catalog_ttl_seconds: float = Field(default=300.0, ge=0)
    usage_retention_days: int = Field(default=400, ge=1)

    # Bots: knowledge documents (a document is one DynamoDB item: under its 400 KB), passages retrieved per
    # question, and keys per published bot.
    bot_max_documents: int = Field(default=20, ge=1, le=100)
    bot_max_document_bytes: int = Field(default=200_000, ge=1, le=300_000)
    bot_max_knowledge_bytes: int = Field(default=1_000_000, ge=1, le=4_000_000)
    bot_retrieved_passages: int = Field(default=4, ge=1, le=20)
    max_api_keys_per_published_bot: int = Field(default=5, ge=1, le=100)
    # Bounds a member cannot pass: bots owned, users named per bot, Cognito lookups a minute to resolve them
    # (so nobody maps the directory through allowed_users), and what a publication may ask for.
    max_bots_per_user: int = Field(default=100, ge=1, le=10_000)
    bot_max_allowed_users: int = Field(default=20, ge=1, le=100)
    directory_lookups_per_minute: int = Field(default=30, ge=1, le=10_000)
    publication_max: PublicationMax = PublicationMax()

    password_policy: PasswordPolicy = PasswordPolicy()

    # Who may sign up (/register and Cognito's pre-sign-up trigger): [] nobody (admins add users), ["*"] any
    # domain, otherwise these exact domains.
    allowed_email_domains: list[str] = []
    auto_join_groups: list[str] = [GROUP_CREATING_BOT_ALLOWED]

    # Browser origins allowed by CORS: exact origins ("https://app.example.com"), "http://localhost:*" (any
    # port of that scheme and host), or ["*"] (any origin). Empty: no cross-origin browser access.
    cors_allowed_origins: list[str] = []
    # Bedrock Knowledge Bases a bot may use (the function's role may Retrieve from these only).
    knowledge_base_ids: list[str] = []
    # Bedrock Guardrails a bot may name (Terraform: the groups' guardrails and `bot_guardrails`).
    bot_guardrails: list[Guardrail] = []

    @field_validator("aws_endpoint_url", "jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("allowed_email_domains")
    @classmethod
    def _lowercase_domains(cls, domains: list[str]) -> list[str]:
        domains = [domain.strip().lower() for domain in domains if domain.strip()]
        if "*" in domains and len(domains) > 1:
            raise ValueError('"*" (any domain) cannot be combined with other domains')
        return domains

    @field_validator("auto_join_groups")
    @classmethod
    def _known_groups(cls, groups: list[str]) -> list[str]:
        unknown = sorted(set(groups) - set(KNOWN_GROUPS))
        if unknown:
            raise ValueError(f"unknown groups {unknown}; known: {list(KNOWN_GROUPS)}")
        return groups

    @field_validator("cors_allowed_origins")
    @classmethod
    def _cors_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not _CORS_ORIGIN.fullmatch(origin):
                raise ValueError(f'{origin!r} is not "*" nor scheme://host[:port], where port may be *')
        if "*" in origins and len(origins) > 1:
            raise ValueError('"*" cannot be combined with other origins')
        return origins

    @field_validator("knowledge_base_ids")
    @classmethod
    def _knowledge_base_ids(cls, ids: list[str]) -> list[str]:
        malformed = [kb_id for kb_id in ids if not KNOWLEDGE_BASE_ID_RE.fullmatch(kb_id)]
        if malformed:
            raise ValueError(f"knowledge base ids are 10 letters and digits: {malformed}")
        return ids

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> "Settings":
        if self.environment in ("dev", "prod"):
            if self.aws_endpoint_url:
                raise ValueError("aws_endpoint_url must not be set outside local and test environments")
            if self.component == "api" and not (self.user_pool_id and self.user_pool_client_id):
                raise ValueError("user_pool_id and user_pool_client_id are required in dev and prod")
        return self

    @property
    def token_issuer(self) -> str:
        """What Cognito writes into `iss` (moto uses the same form)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.token_issuer}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
