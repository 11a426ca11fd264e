import pytest
from pydantic import ValidationError

from gateway.settings import Settings


def test_defaults_derive_issuer_and_jwks_from_region_and_pool(monkeypatch):
    monkeypatch.setenv("GATEWAY_REGION", "eu-west-1")
    monkeypatch.setenv("GATEWAY_USER_POOL_ID", "eu-west-1_Abc123")
    settings = Settings()
    assert settings.token_issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc123"
    assert settings.resolved_jwks_url == f"{settings.token_issuer}/.well-known/jwks.json"


def test_jwks_override_wins(monkeypatch):
    monkeypatch.setenv("GATEWAY_USER_POOL_ID", "us-east-1_x")
    monkeypatch.setenv("GATEWAY_JWKS_URL", "http://127.0.0.1:4566/us-east-1_x/.well-known/jwks.json/")
    assert Settings().resolved_jwks_url == "http://127.0.0.1:4566/us-east-1_x/.well-known/jwks.json"


def test_lists_come_from_json_and_domains_are_lowercased(monkeypatch):
    monkeypatch.setenv("GATEWAY_ALLOWED_EMAIL_DOMAINS", '["Example.COM", " corp.example.org "]')
    monkeypatch.setenv("GATEWAY_AUTO_JOIN_GROUPS", '["CreatingBotAllowed", "PublishAllowed"]')
    settings = Settings()
    assert settings.allowed_email_domains == ["example.com", "corp.example.org"]
    assert settings.auto_join_groups == ["CreatingBotAllowed", "PublishAllowed"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_AUTO_JOIN_GROUPS", '["Superusers"]'),
        ("GATEWAY_REGION", "mars"),
        ("GATEWAY_AWS_ENDPOINT_URL", "localhost:4566"),
        ("GATEWAY_ENVIRONMENT", "staging"),
        ("GATEWAY_CORS_ALLOWED_ORIGINS", '["localhost:3000"]'),
        ("GATEWAY_CORS_ALLOWED_ORIGINS", '["https://app.example.com/"]'),
        ("GATEWAY_CORS_ALLOWED_ORIGINS", '["https://*.example.com"]'),
        ("GATEWAY_CORS_ALLOWED_ORIGINS", '["*", "https://app.example.com"]'),
        ("GATEWAY_ALLOWED_EMAIL_DOMAINS", '["*", "example.com"]'),
        ("GATEWAY_KNOWLEDGE_BASE_IDS", '["KB1"]'),
        ("GATEWAY_KNOWLEDGE_BASE_IDS", '["ABCDEFGH12", "ABCDEFGH12X"]'),
    ],
)
def test_bad_values_are_refused_at_start(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_cors_origins_and_knowledge_bases_come_from_json_lists(monkeypatch):
    assert (Settings().cors_allowed_origins, Settings().knowledge_base_ids) == ([], [])
    monkeypatch.setenv(
        "GATEWAY_CORS_ALLOWED_ORIGINS",
        '["http://localhost:*", "http://127.0.0.1:*", "https://app.example.com"]',
    )
    monkeypatch.setenv("GATEWAY_KNOWLEDGE_BASE_IDS", '["LOCALKB001", "ABCDEFGH12"]')
    settings = Settings()
    assert settings.cors_allowed_origins == [
        "http://localhost:*",
        "http://127.0.0.1:*",
        "https://app.example.com",
    ]
    assert settings.knowledge_base_ids == ["LOCALKB001", "ABCDEFGH12"]
    monkeypatch.setenv("GATEWAY_CORS_ALLOWED_ORIGINS", '["*"]')
    assert Settings().cors_allowed_origins == ["*"]


def test_production_refuses_an_endpoint_override(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "prod")
    monkeypatch.setenv("GATEWAY_USER_POOL_ID", "us-east-1_x")
    monkeypatch.setenv("GATEWAY_USER_POOL_CLIENT_ID", "client")
    monkeypatch.setenv("GATEWAY_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    with pytest.raises(ValidationError, match="aws_endpoint_url"):
        Settings()


def test_production_requires_the_user_pool(monkeypatch):
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="user_pool_id"):
        Settings()


def test_variable_names_are_read_in_any_case_and_unknown_ones_ignored(monkeypatch):
    monkeypatch.setenv("gateway_region", "eu-central-1")
    monkeypatch.setenv("GATEWAY_NOT_A_SETTING", "anything")
    assert Settings().region == "eu-central-1"


def test_keyword_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_REGION", "eu-west-1")
    monkeypatch.setenv("GATEWAY_MAX_API_KEYS_PER_USER", "7")
    settings = Settings(region="ap-south-1")
    assert (settings.region, settings.max_api_keys_per_user) == ("ap-south-1", 7)


def test_structured_settings_come_from_json_and_plain_ones_as_text(monkeypatch):
    monkeypatch.setenv("GATEWAY_PUBLICATION_MAX", '{"burst_limit": 7}')
    monkeypatch.setenv("GATEWAY_GROUP_POLICIES", '{"Admin": {"allowed_models": ["amazon.*"]}}')
    monkeypatch.setenv("GATEWAY_USAGE_PLAN_NAME", '["not", "json", "here"]')
    settings = Settings()
    assert settings.publication_max.burst_limit == 7
    assert settings.group_policies["Admin"].allowed_models == ["amazon.*"]
    assert settings.usage_plan_name == '["not", "json", "here"]'


def test_malformed_json_is_refused_at_start_without_echoing_the_value(monkeypatch):
    monkeypatch.setenv("GATEWAY_KNOWLEDGE_BASE_IDS", '["ABCDEFGH12", secret-ish')
    with pytest.raises(ValueError, match="GATEWAY_KNOWLEDGE_BASE_IDS is not valid JSON") as refused:
        Settings()
    assert "secret-ish" not in str(refused.value)


def test_defaults_are_validated_like_values_from_the_environment():
    class BadDefault(Settings):
        auto_join_groups: list[str] = ["Superusers"]  # noqa: RUF012 (a pydantic field)

    with pytest.raises(ValidationError, match="Superusers"):
        BadDefault()
