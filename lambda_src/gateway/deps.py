"""Service wiring: one instance of each service per process, built from the settings on first use.

Its module is imported then too: a cold start imports only the services its first requests need.

Each `Provider` is both the way code gets a service (`deps.model_service.get()`) and a FastAPI
dependency (`Depends(deps.model_service)`) that tests can override. As a dependency it is a coroutine, so
FastAPI hands it out inline instead of on a worker thread: thread hops are left to code that does I/O.
"""

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.settings import get_settings

if TYPE_CHECKING:
    from gateway.auth.standing import UserStandings
    from gateway.auth.tokens import TokenVerifier
    from gateway.providers.api_gateway import ApiGatewayKeys
    from gateway.providers.bedrock import BedrockModels
    from gateway.providers.cognito import CognitoUserPool
    from gateway.providers.cognito_identity import CognitoIdentityPool
    from gateway.repositories.api_keys import ApiKeyRepository
    from gateway.repositories.bots import BotRepository
    from gateway.repositories.usage import UsageRepository
    from gateway.services.admin_reports import AdminReports
    from gateway.services.api_keys import ApiKeyService
    from gateway.services.audit import AuditService
    from gateway.services.bots import BotService
    from gateway.services.conversations import ConversationService
    from gateway.services.identity import IdentityService
    from gateway.services.limits import LimitService
    from gateway.services.models import ModelService
    from gateway.services.paging import PageTokens
    from gateway.services.publications import PublicationService
    from gateway.services.user_admin import UserAdminService

_providers: list["Provider"] = []


class Provider[T]:
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._instance: T | None = None
        self._lock = threading.Lock()
        self.__name__ = build.__name__
        _providers.append(self)

    def get(self) -> T:
        if self._instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self._build()
        return self._instance

    async def __call__(self) -> T:
        return self.get()

    def reset(self) -> None:
        self._instance = None


def _token_verifier() -> "TokenVerifier":
    from gateway.auth.tokens import JwksCache, TokenVerifier

    settings = get_settings()
    return TokenVerifier(
        JwksCache(settings.resolved_jwks_url), settings.token_issuer, settings.user_pool_client_id
    )


def _user_pool() -> "CognitoUserPool":
    from gateway.providers.cognito import CognitoUserPool

    settings = get_settings()
    return CognitoUserPool(settings.user_pool_id, settings.user_pool_client_id)


def _identity_pool() -> "CognitoIdentityPool":
    from gateway.providers.cognito_identity import CognitoIdentityPool

    settings = get_settings()
    return CognitoIdentityPool(settings.identity_pool_id, settings.region, settings.user_pool_id)


def _api_key_repository() -> "ApiKeyRepository":
    from gateway.repositories.api_keys import ApiKeyRepository

    return ApiKeyRepository(get_settings().table_api_keys)


def _api_gateway_keys() -> "ApiGatewayKeys":
    from gateway.providers.api_gateway import ApiGatewayKeys

    return ApiGatewayKeys(get_settings().usage_plan_name)


def _user_standings() -> "UserStandings":
    from gateway.auth.standing import UserStandings
    from gateway.repositories.access import AccessRepository

    settings = get_settings()
    return UserStandings(
        user_pool.get(), AccessRepository(settings.table_api_keys), settings.user_standing_cache_seconds
    )


def _api_key_service() -> "ApiKeyService":
    from gateway.services.api_keys import ApiKeyService

    settings = get_settings()
    return ApiKeyService(
        api_key_repository.get(),
        api_gateway_keys.get(),
        settings.max_api_keys_per_user,
        user_standings.get(),
        limits_table=settings.table_usage,
    )


def _audit_service() -> "AuditService":
    from gateway.repositories.audit import AuditRepository
    from gateway.services.audit import AuditService

    settings = get_settings()
    return AuditService(AuditRepository(settings.table_audit, settings.audit_retention_days))


def _identity_service() -> "IdentityService":
    from gateway.services.identity import IdentityService

    settings = get_settings()
    return IdentityService(
        user_pool.get(),
        identity_pool.get(),
        api_key_service.get(),
        api_key_repository.get(),
        allowed_email_domains=settings.allowed_email_domains,
        auto_join_groups=settings.auto_join_groups,
    )


def _page_tokens() -> "PageTokens":
    from gateway.repositories.app_secrets import AppSecretRepository
    from gateway.services.paging import PageTokens

    secrets_repository = AppSecretRepository(get_settings().table_api_keys)
    return PageTokens(lambda: secrets_repository.get_or_create("paging-token-key"))


def _user_admin_service() -> "UserAdminService":
    from gateway.repositories.access import AccessRepository
    from gateway.services.user_admin import UserAdminService

    return UserAdminService(
        user_pool.get(),
        api_key_service.get(),
        api_key_repository.get(),
        page_tokens.get(),
        user_standings.get(),
        AccessRepository(get_settings().table_api_keys),
    )


def _bedrock_models() -> "BedrockModels":
    from gateway.providers.bedrock import BedrockModels

    return BedrockModels(get_settings().model_catalog_ttl_seconds)


def _usage_repository() -> "UsageRepository":
    from gateway.repositories.usage import UsageRepository

    settings = get_settings()
    return UsageRepository(settings.table_usage, settings.usage_retention_days)


def _limit_service() -> "LimitService":
    from gateway.repositories.limits import LimitRepository
    from gateway.services.limits import LimitService

    settings = get_settings()
    return LimitService(
        LimitRepository(settings.table_usage), settings.group_policies, settings.default_policy
    )


def _model_service() -> "ModelService":
    from gateway.services.models import ModelService
    from gateway.services.pricing import price_table

    settings = get_settings()
    return ModelService(
        bedrock_models.get(),
        usage_repository.get(),
        price_table(),
        settings.region,
        settings.group_policies,
        settings.default_policy,
        limit_service.get(),
        default_max_output_tokens=settings.default_max_output_tokens,
        chars_per_token=settings.reserve_chars_per_token,
        model_timeout_seconds=settings.model_timeout_seconds,
        settle_margin_seconds=settings.model_settle_margin_seconds,
    )


def _bot_repository() -> "BotRepository":
    from gateway.repositories.bots import BotRepository

    return BotRepository(get_settings().table_bots)


def _bot_service() -> "BotService":
    from gateway.providers.knowledge_bases import BedrockKnowledgeBases
    from gateway.repositories.limits import LimitRepository
    from gateway.services.bots import BotService, DirectoryBudget
    from gateway.services.knowledge import KnowledgeCache, KnowledgeLimits

    settings = get_settings()
    return BotService(
        bot_repository.get(),
        model_service.get(),
        user_pool.get(),
        BedrockKnowledgeBases(),
        KnowledgeCache(),
        KnowledgeLimits(
            max_documents=settings.bot_max_documents,
            max_document_bytes=settings.bot_max_document_bytes,
            max_total_bytes=settings.bot_max_knowledge_bytes,
        ),
        page_tokens.get(),
        retrieved_passages=settings.bot_retrieved_passages,
        allowed_knowledge_bases=settings.knowledge_base_ids,
        directory_budget=DirectoryBudget(
            LimitRepository(settings.table_usage), settings.directory_lookups_per_minute
        ),
        max_bots_per_user=settings.max_bots_per_user,
        max_allowed_users=settings.bot_max_allowed_users,
        allowed_guardrails=settings.bot_guardrails,
    )


def _publication_service() -> "PublicationService":
    from gateway.services.publications import OwnerStanding, PublicationService

    settings = get_settings()
    return PublicationService(
        bot_service.get(),
        bot_repository.get(),
        api_gateway_keys.get(),
        model_service.get(),
        usage_repository.get(),
        settings.max_api_keys_per_published_bot,
        OwnerStanding(user_standings.get()),
        settings.publication_max,
    )


def _conversation_service() -> "ConversationService":
    from gateway.repositories.conversations import ConversationRepository
    from gateway.services.conversations import ConversationService

    return ConversationService(
        ConversationRepository(get_settings().table_conversations),
        model_service.get(),
        usage_repository.get(),
        bot_service.get(),
    )


token_verifier = Provider(_token_verifier)
user_pool = Provider(_user_pool)
identity_pool = Provider(_identity_pool)
api_key_repository = Provider(_api_key_repository)
user_standings = Provider(_user_standings)
api_gateway_keys = Provider(_api_gateway_keys)
api_key_service = Provider(_api_key_service)
audit_service = Provider(_audit_service)
identity_service = Provider(_identity_service)


def _admin_reports() -> "AdminReports":
    from gateway.repositories.audit import AuditRepository
    from gateway.repositories.conversations import ConversationRepository
    from gateway.services.admin_reports import AdminReports

    settings = get_settings()
    return AdminReports(
        ConversationRepository(settings.table_conversations),
        usage_repository.get(),
        AuditRepository(settings.table_audit, settings.audit_retention_days),
        page_tokens.get(),
        user_pool.get(),
        api_key_repository.get(),
        bot_repository.get(),
    )


page_tokens = Provider(_page_tokens)
admin_reports = Provider(_admin_reports)
user_admin_service = Provider(_user_admin_service)
bedrock_models = Provider(_bedrock_models)
usage_repository = Provider(_usage_repository)
limit_service = Provider(_limit_service)
model_service = Provider(_model_service)
conversation_service = Provider(_conversation_service)
bot_repository = Provider(_bot_repository)
bot_service = Provider(_bot_service)
publication_service = Provider(_publication_service)


def reset() -> None:
    """For tests: forget services built under other settings."""
    for provider in _providers:
        provider.reset()
