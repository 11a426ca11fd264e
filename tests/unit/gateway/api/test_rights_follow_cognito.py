"""Rights follow Cognito, not the token's claims: groups and the enabled state are read from Cognito."""

from dataclasses import dataclass

import boto3
import pytest

from gateway import deps
from gateway.auth.standing import UserStandings
from gateway.repositories.access import AccessRepository
from gateway.settings import get_settings
from tests.support.aws import REGION

PASSWORD = "Correct-horse-9"


@dataclass
class Person:
    user_id: str
    token: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "x-api-key": self.key}


def person(api, stack, email: str, *groups: str) -> Person:
    """A confirmed user made by an operator in Cognito, in `groups`, signed in, with an API key."""
    idp = boto3.client("cognito-idp", region_name=REGION)
    made = idp.admin_create_user(
        UserPoolId=stack.user_pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=stack.user_pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    user_id = next(a["Value"] for a in made["User"]["Attributes"] if a["Name"] == "sub")
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=stack.user_pool_id, Username=user_id, GroupName=group)
    tokens = api.post("/login", json={"email": email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    token = tokens.json()["id_token"]
    key = api.post("/me/api-keys", headers={"authorization": f"Bearer {token}"})
    assert key.status_code == 201, key.text
    return Person(user_id=user_id, token=token, key=key.json()["api_key"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(api):
    """The standing cache of the app under test, on a clock the test moves."""
    fake = FakeClock()
    standings = UserStandings(
        deps.user_pool.get(),
        AccessRepository(get_settings().table_api_keys),
        get_settings().user_standing_cache_seconds,
        clock=fake,
    )
    api.app.dependency_overrides[deps.user_standings] = lambda: standings
    # The key service checks the owner at creation with the same standings.
    deps.user_standings._instance = standings
    return fake


def test_a_demoted_admin_is_refused_on_admin_routes_with_the_same_token(api, stack, clock):
    root = person(api, stack, "root@example.com", "Admin")
    demoted = person(api, stack, "demoted@example.com", "Admin")
    assert api.get("/admin/listUsers", headers=demoted.headers).status_code == 200

    boto3.client("cognito-idp", region_name=REGION).admin_remove_user_from_group(
        UserPoolId=stack.user_pool_id, Username=demoted.user_id, GroupName="Admin"
    )
    # The token still says Admin, and the cache's minute has not passed: /admin/* asks Cognito anyway.
    refused = api.get("/admin/listUsers", headers=demoted.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    back = api.post(
        "/admin/addUserToGroup",
        headers=demoted.headers,
        json={"username": demoted.user_id, "groupname": "Admin"},
    )
    assert back.status_code == 403
    assert api.get("/admin/listUsers", headers=root.headers).status_code == 200


def test_a_user_disabled_in_the_console_is_refused_on_key_routes_within_the_cache_time(
    api, stack, clock, bedrock
):
    user = person(api, stack, "ada@example.com")
    bedrock.catalog()
    assert api.get("/v1/models", headers={"x-api-key": user.key}).status_code == 200

    boto3.client("cognito-idp", region_name=REGION).admin_disable_user(
        UserPoolId=stack.user_pool_id, Username=user.user_id
    )
    clock.now += get_settings().user_standing_cache_seconds + 1
    refused = api.get("/v1/models", headers={"x-api-key": user.key})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "user_disabled"
    me = api.get("/me", headers=user.headers)
    assert me.status_code == 403
    assert me.json()["error"]["code"] == "user_disabled"


def test_the_cache_keeps_a_console_change_for_at_most_its_time(api, stack, clock):
    user = person(api, stack, "ada@example.com")
    assert api.get("/me", headers=user.headers).status_code == 200
    boto3.client("cognito-idp", region_name=REGION).admin_disable_user(
        UserPoolId=stack.user_pool_id, Username=user.user_id
    )
    clock.now += get_settings().user_standing_cache_seconds - 1
    assert api.get("/me", headers=user.headers).status_code == 200  # still cached
    clock.now += 1
    assert api.get("/me", headers=user.headers).status_code == 403


def test_a_group_change_through_the_admin_api_applies_at_the_next_request(api, stack, clock):
    root = person(api, stack, "root@example.com", "Admin")
    member = person(api, stack, "member@example.com", "PublishAllowed")
    assert "PublishAllowed" in api.get("/me", headers=member.headers).json()["effective_groups"]
    assert api.get("/admin/listUsers", headers=member.headers).status_code == 403

    removed = api.post(
        "/admin/removeUserFromGroup",
        headers=root.headers,
        json={"username": member.user_id, "groupname": "PublishAllowed"},
    )
    assert removed.status_code == 200, removed.text
    # The same second, no clock moved: the rights version told the cache.
    profile = api.get("/me", headers=member.headers).json()
    assert "PublishAllowed" not in profile["effective_groups"]


def test_disabling_through_the_admin_api_refuses_key_and_token_at_once(api, stack, clock, bedrock):
    root = person(api, stack, "root@example.com", "Admin")
    user = person(api, stack, "ada@example.com")
    bedrock.catalog()
    assert api.get("/v1/models", headers={"x-api-key": user.key}).status_code == 200

    disabled = api.post("/admin/disableUser", headers=root.headers, json={"username": user.user_id})
    assert disabled.status_code == 200, disabled.text
    assert api.get("/v1/models", headers={"x-api-key": user.key}).status_code == 403
    assert api.get("/me/api-keys", headers={"authorization": f"Bearer {user.token}"}).status_code == 401


def test_a_user_disabled_in_the_console_is_refused_on_token_only_routes_within_the_cache_time(
    api, stack, clock
):
    user = person(api, stack, "ada@example.com")
    token_only = {"authorization": f"Bearer {user.token}"}
    assert api.get("/conversations", headers=token_only).status_code == 200

    boto3.client("cognito-idp", region_name=REGION).admin_disable_user(
        UserPoolId=stack.user_pool_id, Username=user.user_id
    )
    clock.now += get_settings().user_standing_cache_seconds + 1

    refused = api.get("/conversations", headers=token_only)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "user_disabled")


def test_an_admin_disabled_in_the_console_is_refused_on_admin_routes_at_once_with_the_token_alone(
    api, stack, clock
):
    admin = person(api, stack, "root@example.com", "Admin")
    token_only = {"authorization": f"Bearer {admin.token}"}
    assert api.get("/admin/listUsers", headers=token_only).status_code == 200

    boto3.client("cognito-idp", region_name=REGION).admin_disable_user(
        UserPoolId=stack.user_pool_id, Username=admin.user_id
    )

    refused = api.get("/admin/listUsers", headers=token_only)  # no clock moved: Admin is asked of Cognito
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "user_disabled")


def test_the_refusal_for_a_missing_group_says_when_a_change_applies_and_is_true(api, stack, clock, bedrock):
    root = person(api, stack, "root@example.com", "Admin")
    member = person(api, stack, "member@example.com")
    bedrock.catalog()
    bot = {"title": "T", "model_id": "anthropic.claude-3-haiku-20240307-v1:0", "instruction": "Be brief."}

    refused = api.post("/bots", headers=member.headers, json=bot)
    admin_refused = api.get("/admin/listUsers", headers=member.headers)

    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["details"] == {"required_group": "CreatingBotAllowed"}
    assert "not from your token" in error["message"]
    assert "admin API applies at once" in error["message"]
    assert f"within {round(get_settings().user_standing_cache_seconds)} seconds" in error["message"]
    assert "applies at once, with the token you have" in admin_refused.json()["error"]["message"]
    # What the messages promise, with the same tokens and no clock moved:
    added = api.post(
        "/admin/addUserToGroup",
        headers=root.headers,
        json={"username": member.user_id, "groupname": "CreatingBotAllowed"},
    )
    assert added.status_code == 200, added.text
    assert api.post("/bots", headers=member.headers, json=bot).status_code == 201
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=member.user_id, GroupName="Admin"
    )
    assert api.get("/admin/listUsers", headers=member.headers).status_code == 200
