"""Service wiring: one instance of each service per process, built from the settings.

Routes get services through these functions with `Depends`, so tests can override any of them.
"""

from functools import lru_cache

from gateway.auth.tokens import JwksCache, TokenVerifier
from gateway.providers.api_gateway import ApiGatewayKeys
from gateway.providers.bedrock import BedrockModels
from gateway.providers.cognito import CognitoUserPool
from gateway.providers.cognito_identity import CognitoIdentityPool
from gateway.repositories.api_keys import ApiKeyRepository
from gateway.repositories.audit import AuditRepository
from gateway.repositories.conversations import ConversationRepository
from gateway.repositories.usage import UsageRepository
from gateway.services.api_keys import ApiKeyService
from gateway.services.audit import AuditService
from gateway.services.conversations import ConversationService
from gateway.services.identity import IdentityService
from gateway.services.models import ModelService
from gateway.services.pricing import price_table
from gateway.services.user_admin import UserAdminService
from gateway.settings import get_settings


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(
        JwksCache(settings.resolved_jwks_url), settings.token_issuer, settings.user_pool_client_id
    )


@lru_cache(maxsize=1)
def user_pool() -> CognitoUserPool:
    settings = get_settings()
    return CognitoUserPool(settings.user_pool_id, settings.user_pool_client_id)


@lru_cache(maxsize=1)
def identity_pool() -> CognitoIdentityPool:
    settings = get_settings()
    return CognitoIdentityPool(settings.identity_pool_id, settings.region, settings.user_pool_id)


@lru_cache(maxsize=1)
def api_key_repository() -> ApiKeyRepository:
    return ApiKeyRepository(get_settings().table_api_keys)


@lru_cache(maxsize=1)
def api_key_service() -> ApiKeyService:
    settings = get_settings()
    return ApiKeyService(
        api_key_repository(), ApiGatewayKeys(settings.usage_plan_name), settings.max_api_keys_per_user
    )


@lru_cache(maxsize=1)
def audit_service() -> AuditService:
    settings = get_settings()
    return AuditService(AuditRepository(settings.table_audit, settings.audit_retention_days))


@lru_cache(maxsize=1)
def identity_service() -> IdentityService:
    settings = get_settings()
    return IdentityService(
        user_pool(),
        identity_pool(),
        api_key_service(),
        api_key_repository(),
        allowed_email_domains=settings.allowed_email_domains,
        auto_join_groups=settings.auto_join_groups,
    )


@lru_cache(maxsize=1)
def user_admin_service() -> UserAdminService:
    return UserAdminService(user_pool(), api_key_service(), api_key_repository())


@lru_cache(maxsize=1)
def bedrock_models() -> BedrockModels:
    return BedrockModels(get_settings().model_catalog_ttl_seconds)


@lru_cache(maxsize=1)
def usage_repository() -> UsageRepository:
    settings = get_settings()
    return UsageRepository(settings.table_usage, settings.usage_retention_days)


@lru_cache(maxsize=1)
def model_service() -> ModelService:
    settings = get_settings()
    return ModelService(
        bedrock_models(),
        usage_repository(),
        price_table(),
        settings.region,
        settings.group_policies,
        settings.default_policy,
    )


@lru_cache(maxsize=1)
def conversation_service() -> ConversationService:
    return ConversationService(ConversationRepository(get_settings().table_conversations), model_service())


def reset() -> None:
    """For tests: forget services built under other settings."""
    for factory in (
        token_verifier,
        user_pool,
        identity_pool,
        api_key_repository,
        api_key_service,
        audit_service,
        identity_service,
        user_admin_service,
        bedrock_models,
        usage_repository,
        model_service,
        conversation_service,
    ):
        factory.cache_clear()
