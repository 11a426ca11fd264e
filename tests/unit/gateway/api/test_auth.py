import boto3
import pytest

from tests.support.aws import REGION
from tests.unit.gateway.api.helpers import PASSWORD, login, register, signed_up


def _idp():
    return boto3.client("cognito-idp", region_name=REGION)


def _sign_up(api, email="ada@example.com", password=PASSWORD, fullname="Ada Lovelace"):
    return api.post("/register", json={"email": email, "password": password, "fullname": fullname})


class _CognitoAnswering:
    """The app's Cognito client, except for the operations given (moto neither checks codes nor resends)."""

    def __init__(self, real, **operations):
        self._real = real
        self._operations = operations

    def __getattr__(self, name):
        return self._operations.get(name) or getattr(self._real, name)


def _cognito_refusing(monkeypatch, operation, code, message="refused"):
    from botocore.exceptions import ClientError

    from gateway.aws import client
    from gateway.providers.cognito import CognitoUserPool

    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    name = "confirm_sign_up" if operation == "ConfirmSignUp" else "resend_confirmation_code"
    monkeypatch.setattr(
        CognitoUserPool,
        "_idp",
        property(lambda _self: _CognitoAnswering(client("cognito-idp"), **{name: refuse})),
    )


def test_register_answers_202_and_leaves_the_user_unconfirmed_without_a_key(api, stack):
    response = _sign_up(api, email="Ada@Example.COM")
    assert response.status_code == 202
    assert response.json() == {"status": "confirmation_required"}
    users = _idp().list_users(UserPoolId=stack.user_pool_id)["Users"]
    assert [u["UserStatus"] for u in users] == ["UNCONFIRMED"]
    assert boto3.client("apigateway", region_name=REGION).get_api_keys()["items"] == []


def test_confirm_creates_the_user_their_groups_and_a_key(api, stack):
    body = register(api, email="Ada@Example.COM")
    assert body["email"] == "ada@example.com"
    assert body["groups"] == ["CreatingBotAllowed"]
    assert len(body["api_key"]) >= 20
    user = _idp().admin_get_user(UserPoolId=stack.user_pool_id, Username=body["user_id"])
    assert user["UserStatus"] == "CONFIRMED"
    groups = _idp().admin_list_groups_for_user(UserPoolId=stack.user_pool_id, Username=body["user_id"])[
        "Groups"
    ]
    assert [g["GroupName"] for g in groups] == ["CreatingBotAllowed"]
    # The key is in the usage plan, so the gateway's throttle and quota apply to it.
    apigw = boto3.client("apigateway", region_name=REGION)
    plan_keys = apigw.get_usage_plan_keys(usagePlanId=stack.usage_plan_id)["items"]
    assert body["key_id"] in {key["id"] for key in plan_keys}


def test_login_before_confirmation_is_403_only_with_the_right_password(api):
    _sign_up(api)
    right = api.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert right.status_code == 403
    assert right.json()["error"]["code"] == "user_not_confirmed"
    wrong = api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-1"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_register_of_a_confirmed_address_answers_the_same_and_changes_nothing(api, stack):
    first = register(api)
    again = _sign_up(api, email="ADA@example.com", password="Other-horse-99", fullname="Squatter")
    assert again.status_code == 202
    assert again.json() == {"status": "confirmation_required"}
    assert login(api)["id_token"]  # the owner's password still works
    assert (
        api.post("/login", json={"email": "ada@example.com", "password": "Other-horse-99"}).status_code == 401
    )
    user = _idp().admin_get_user(UserPoolId=stack.user_pool_id, Username=first["user_id"])
    assert user["UserStatus"] == "CONFIRMED"


def test_a_newer_sign_up_replaces_an_unconfirmed_one(api, stack):
    _sign_up(api, password="Squatters-pass-1", fullname="Squatter")
    register(api, fullname="Ada Lovelace")
    users = _idp().list_users(UserPoolId=stack.user_pool_id)["Users"]
    assert len(users) == 1
    assert login(api)["id_token"]
    assert (
        api.post("/login", json={"email": "ada@example.com", "password": "Squatters-pass-1"}).status_code
        == 401
    )


def test_a_weak_password_is_refused_alike_for_new_and_existing_addresses(api):
    register(api)
    for email in ("ada@example.com", "new@example.com"):
        response = _sign_up(api, email=email, password="alllowercase-1")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_password"


@pytest.mark.parametrize(
    ("cognito_error", "status", "code"),
    [
        ("CodeMismatchException", 400, "invalid_code"),
        ("UserNotFoundException", 400, "invalid_code"),
        ("NotAuthorizedException", 400, "invalid_code"),  # already confirmed
        ("ExpiredCodeException", 400, "code_expired"),
        ("LimitExceededException", 429, "too_many_attempts"),
        ("TooManyFailedAttemptsException", 429, "too_many_attempts"),
    ],
)
def test_confirm_refusals(api, monkeypatch, cognito_error, status, code):
    _sign_up(api)
    _cognito_refusing(monkeypatch, "ConfirmSignUp", cognito_error)
    response = api.post("/register/confirm", json={"email": "ada@example.com", "code": "000000"})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert boto3.client("apigateway", region_name=REGION).get_api_keys()["items"] == []


def test_resend_asks_cognito_for_a_new_code(api, monkeypatch):
    from gateway.aws import client
    from gateway.providers.cognito import CognitoUserPool

    asked = []
    resend = lambda **kwargs: asked.append(kwargs) or {}  # noqa: E731
    monkeypatch.setattr(
        CognitoUserPool,
        "_idp",
        property(lambda _self: _CognitoAnswering(client("cognito-idp"), resend_confirmation_code=resend)),
    )
    response = api.post("/register/resend", json={"email": "Ada@example.com"})
    assert response.status_code == 202
    assert response.json() == {"status": "confirmation_required"}
    assert [a["Username"] for a in asked] == ["ada@example.com"]


@pytest.mark.parametrize("cognito_error", ["UserNotFoundException", "InvalidParameterException"])
def test_resend_answers_the_same_for_unknown_and_confirmed_addresses(api, monkeypatch, cognito_error):
    _cognito_refusing(monkeypatch, "ResendConfirmationCode", cognito_error)
    response = api.post("/register/resend", json={"email": "ada@example.com"})
    assert response.status_code == 202
    assert response.json() == {"status": "confirmation_required"}


def test_resend_too_often_is_429(api, monkeypatch):
    _cognito_refusing(monkeypatch, "ResendConfirmationCode", "LimitExceededException")
    response = api.post("/register/resend", json={"email": "ada@example.com"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"


def test_the_key_value_is_stored_only_as_a_hash(api, stack):
    body = register(api)
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-api_keys")["Items"]
    assert items
    assert body["api_key"] not in str(items)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD, "fullname": "A"}, "email"),
        ({"email": "a@example.com", "fullname": "A"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD}, "fullname"),
        ({"email": "a@example.com", "password": "", "fullname": "A"}, "password"),
    ],
)
def test_register_missing_or_short_fields_are_422(api, payload, field):
    response = api.post("/register", json=payload)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert field in {p["field"] for p in response.json()["error"]["details"]["problems"]}


@pytest.mark.parametrize(
    "email", ["no-at-sign", "a@b", "a@@example.com", "a@example.com@evil.com", "a b@example.com"]
)
def test_register_invalid_email_is_400(api, email):
    response = api.post("/register", json={"email": email, "password": PASSWORD, "fullname": "A"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_email"


@pytest.mark.parametrize(
    "password", ["short", "Eleven-ch-1", "alllowercase-1", "ALLUPPERCASE-1", "No-number-here"]
)
def test_a_password_against_the_pool_policy_is_one_422_with_the_rules(api, password):
    response = api.post("/register", json={"email": "a@example.com", "password": password, "fullname": "A"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_password"
    assert "at least 12 characters" in error["message"]
    assert "upper-case" in error["message"]
    assert password not in response.text


def test_the_password_rule_is_the_one_terraform_gives_the_function(api, monkeypatch):
    from gateway.settings import get_settings

    monkeypatch.setenv(
        "GATEWAY_PASSWORD_POLICY",
        '{"minimum_length": 16, "require_lowercase": true, "require_uppercase": false,'
        ' "require_numbers": false, "require_symbols": true}',
    )
    get_settings.cache_clear()
    refused = _sign_up(api, password="Correct-horse-9")  # 15 characters
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_password")
    assert refused.json()["error"]["message"] == (
        "password: The password must have at least 16 characters, with a lower-case letter, a symbol."
    )
    assert _sign_up(api, password="Correct-horse-battery-9").status_code == 202


def test_a_refusal_by_cognitos_own_policy_is_the_same_422(api, monkeypatch):
    from botocore.exceptions import ClientError

    from gateway.aws import client
    from gateway.providers.cognito import CognitoUserPool

    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "InvalidPasswordException", "Message": "too weak"}}, "SignUp")

    monkeypatch.setattr(
        CognitoUserPool,
        "_idp",
        property(lambda _self: _CognitoAnswering(client("cognito-idp"), sign_up=refuse)),
    )
    response = _sign_up(api)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_password")


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("ada@example.com", True),
        ("ada@EXAMPLE.com", True),
        ("ada@corp.example.org", True),
        ("ada@evil.com", False),
        ("ada@evil.com.example.com", False),
        ("ada@example.com.evil.com", False),
        ("ada@notexample.com", False),
    ],
)
def test_register_enforces_the_allowed_domains(api, monkeypatch, email, allowed):
    _allow_domains(monkeypatch, '["example.com", "Corp.Example.org"]')
    response = api.post("/register", json={"email": email, "password": PASSWORD, "fullname": "A"})
    if allowed:
        assert response.status_code == 202, response.text
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "domain_not_allowed"


def _allow_domains(monkeypatch, domains_json):
    from gateway import deps
    from gateway.settings import get_settings

    monkeypatch.setenv("GATEWAY_ALLOWED_EMAIL_DOMAINS", domains_json)
    get_settings.cache_clear()
    deps.reset()


def test_an_empty_domain_list_closes_sign_up(api, monkeypatch, stack):
    _allow_domains(monkeypatch, "[]")
    for path, body in (
        ("/register", {"email": "ada@example.com", "password": PASSWORD, "fullname": "A"}),
        ("/register/resend", {"email": "ada@example.com"}),
    ):
        response = api.post(path, json=body)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "sign_up_closed"
    assert _idp().list_users(UserPoolId=stack.user_pool_id)["Users"] == []


def test_a_star_opens_sign_up_to_any_domain(api, monkeypatch):
    _allow_domains(monkeypatch, '["*"]')
    response = api.post(
        "/register", json={"email": "ada@anywhere.org", "password": PASSWORD, "fullname": "A"}
    )
    assert response.status_code == 202, response.text


def test_confirm_rolls_back_the_user_when_the_key_cannot_be_made(api, stack, monkeypatch):
    from gateway.providers.api_gateway import ApiGatewayKeys

    monkeypatch.setattr(ApiGatewayKeys, "__init__", lambda self, _name: _init_with_missing_plan(self))
    _sign_up(api)
    response = api.post("/register/confirm", json={"email": "ada@example.com", "code": "123456"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "usage_plan_missing"
    users = boto3.client("cognito-idp", region_name=REGION).list_users(UserPoolId=stack.user_pool_id)["Users"]
    assert users == []


def _init_with_missing_plan(keys):
    import threading

    keys._usage_plan_name = "no-such-plan"
    keys._usage_plan_id = None
    keys._lock = threading.Lock()


def test_a_key_record_that_cannot_be_written_at_confirmation_leaves_no_gateway_key_nor_user(
    api, stack, monkeypatch
):
    from gateway.repositories.api_keys import ApiKeyRepository

    def failing_add(self, record):
        raise RuntimeError("DynamoDB is down")

    _sign_up(api)
    monkeypatch.setattr(ApiKeyRepository, "add", failing_add)
    response = api.post("/register/confirm", json={"email": "ada@example.com", "code": "123456"})
    assert response.status_code == 500
    assert boto3.client("apigateway", region_name=REGION).get_api_keys()["items"] == []
    users = boto3.client("cognito-idp", region_name=REGION).list_users(UserPoolId=stack.user_pool_id)["Users"]
    assert users == []


def test_login_returns_bearer_tokens(api):
    register(api)
    tokens = login(api)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0
    assert {"id_token", "access_token", "refresh_token"} <= set(tokens)


def test_wrong_password_and_unknown_user_look_the_same(api):
    register(api)
    wrong = api.post("/login", json={"email": "ada@example.com", "password": "Wrong-password-1"})
    unknown = api.post("/login", json={"email": "nobody@example.com", "password": "Wrong-password-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_disabled_user_gets_403(api, stack):
    body = register(api)
    boto3.client("cognito-idp", region_name=REGION).admin_disable_user(
        UserPoolId=stack.user_pool_id, Username=body["user_id"]
    )
    response = api.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "user_disabled"


def test_refresh_gives_new_tokens(api):
    register(api)
    tokens = login(api)
    response = api.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert response.json()["id_token"]


def test_refresh_with_garbage_is_401(api):
    response = api.post("/refresh", json={"refresh_token": "garbage"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_logout_revokes_tokens_and_refresh(api):
    headers, _, tokens = signed_up(api)
    assert api.post("/logout", headers=headers).status_code == 204
    response = api.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert api.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_signing_in_right_after_logout_gives_a_working_session(api):
    headers, registration, _ = signed_up(api)
    assert api.post("/logout", headers=headers).status_code == 204
    fresh = login(api)  # possibly within the same second as the logout
    again = {"authorization": f"Bearer {fresh['id_token']}", "x-api-key": registration["api_key"]}
    assert api.get("/me", headers=again).status_code == 200
