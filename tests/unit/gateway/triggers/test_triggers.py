import boto3
import pytest

from gateway.settings import get_settings
from gateway.triggers import post_confirmation, pre_sign_up
from tests.support.aws import REGION


def _sign_up_event(email, source="PreSignUp_SignUp"):
    return {
        "triggerSource": source,
        "userPoolId": "us-east-1_pool",
        "userName": "user-1",
        "request": {"userAttributes": {"email": email}},
        "response": {},
    }


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("a@example.com", True),
        ("a@EXAMPLE.COM", True),
        ("a@evil.com.example.com", False),
        ("a@evil.com", False),
    ],
)
def test_pre_sign_up_enforces_the_domains(monkeypatch, email, allowed):
    monkeypatch.setenv("GATEWAY_ALLOWED_EMAIL_DOMAINS", '["example.com"]')
    monkeypatch.setenv("GATEWAY_COMPONENT", "trigger")
    get_settings.cache_clear()
    event = _sign_up_event(email)
    if allowed:
        assert pre_sign_up.handler(event, None) is event
    else:
        with pytest.raises(pre_sign_up.DomainNotAllowed, match="domain_not_allowed"):
            pre_sign_up.handler(event, None)


def _allow(monkeypatch, domains_json):
    monkeypatch.setenv("GATEWAY_ALLOWED_EMAIL_DOMAINS", domains_json)
    monkeypatch.setenv("GATEWAY_COMPONENT", "trigger")
    get_settings.cache_clear()


def test_pre_sign_up_refuses_every_sign_up_without_a_domain_list(monkeypatch):
    _allow(monkeypatch, "[]")
    with pytest.raises(pre_sign_up.DomainNotAllowed, match="sign_up_closed"):
        pre_sign_up.handler(_sign_up_event("a@example.com"), None)


def test_pre_sign_up_lets_any_domain_in_with_a_star(monkeypatch):
    _allow(monkeypatch, '["*"]')
    assert pre_sign_up.handler(_sign_up_event("a@anywhere.org"), None)["userName"] == "user-1"


@pytest.mark.parametrize("source", ["PreSignUp_AdminCreateUser", "PreSignUp_ExternalProvider"])
def test_pre_sign_up_leaves_users_added_by_admins_or_federation_to_them(monkeypatch, source):
    _allow(monkeypatch, "[]")
    event = _sign_up_event("a@anywhere.org", source=source)
    assert pre_sign_up.handler(event, None) is event


def test_post_confirmation_joins_the_auto_join_groups(stack, monkeypatch):
    monkeypatch.setenv("GATEWAY_AUTO_JOIN_GROUPS", '["CreatingBotAllowed", "PublishAllowed"]')
    get_settings.cache_clear()
    idp = boto3.client("cognito-idp", region_name=REGION)
    user = idp.admin_create_user(UserPoolId=stack.user_pool_id, Username="cli@example.com")["User"]
    event = {
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "userPoolId": stack.user_pool_id,
        "userName": user["Username"],
        "request": {"userAttributes": {"email": "cli@example.com"}},
        "response": {},
    }
    assert post_confirmation.handler(event, None) is event
    post_confirmation.handler(event, None)  # a retried trigger changes nothing
    groups = idp.admin_list_groups_for_user(UserPoolId=stack.user_pool_id, Username=user["Username"])[
        "Groups"
    ]
    assert sorted(g["GroupName"] for g in groups) == ["CreatingBotAllowed", "PublishAllowed"]


def test_post_confirmation_ignores_password_resets(stack):
    event = {
        "triggerSource": "PostConfirmation_ConfirmForgotPassword",
        "userPoolId": stack.user_pool_id,
        "userName": "nobody",
    }
    assert post_confirmation.handler(event, None) is event
