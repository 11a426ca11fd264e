"""Rights follow Cognito, not the token (issue 12, items 3 and 4), through the local API Gateway.

Users here are made the way an operator makes them (Cognito admin calls, then /login and a key from
/me/api-keys), so these tests do not depend on the sign-up flow.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

# The function's default user_standing_cache_seconds: how long a console change may take.
STANDING_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Member:
    user_id: str
    token: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "x-api-key": self.key}


def member(stack, http: httpx.Client, name: str, *groups: str) -> Member:
    email = f"e2e-{name}-{uuid.uuid4().hex[:8]}@example.com"
    idp, pool = stack.aws("cognito-idp"), stack.outputs["user_pool_id"]
    made = idp.admin_create_user(
        UserPoolId=pool,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    user_id = next(a["Value"] for a in made["User"]["Attributes"] if a["Name"] == "sub")
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user_id, GroupName=group)
    signed_in = http.post("/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["id_token"]
    key = http.post("/me/api-keys", headers={"authorization": f"Bearer {token}"})
    assert key.status_code == 201, key.text
    return Member(user_id=user_id, token=token, key=key.json()["api_key"])


def test_an_admin_removed_in_cognito_is_refused_at_the_next_request(stack, http):
    member(stack, http, "root", "Admin")  # so that removing the other is allowed in any case
    demoted = member(stack, http, "demoted", "Admin")
    assert http.get("/admin/listUsers", headers=demoted.headers).status_code == 200

    stack.aws("cognito-idp").admin_remove_user_from_group(
        UserPoolId=stack.outputs["user_pool_id"], Username=demoted.user_id, GroupName="Admin"
    )

    refused = http.get("/admin/listUsers", headers=demoted.headers)  # same token, still saying Admin
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    back = http.post(
        "/admin/addUserToGroup",
        headers=demoted.headers,
        json={"username": demoted.user_id, "groupname": "Admin"},
    )
    assert back.status_code == 403


def test_a_user_disabled_in_cognito_is_refused_on_v1_models_within_the_cache_time(stack, http):
    person = member(stack, http, "console-disabled")
    assert http.get("/v1/models", headers={"x-api-key": person.key}).status_code == 200

    stack.aws("cognito-idp").admin_disable_user(
        UserPoolId=stack.outputs["user_pool_id"], Username=person.user_id
    )
    time.sleep(STANDING_CACHE_SECONDS + 1)

    for _ in range(3):  # whichever process answers
        refused = http.get("/v1/models", headers={"x-api-key": person.key})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "user_disabled"
    me = http.get("/me", headers=person.headers)
    assert me.status_code == 403
    assert me.json()["error"]["code"] == "user_disabled"


def test_a_user_disabled_through_the_admin_api_is_refused_at_once(stack, http):
    admin = member(stack, http, "disabler", "Admin")
    person = member(stack, http, "api-disabled")
    assert http.get("/v1/models", headers={"x-api-key": person.key}).status_code == 200

    disabled = http.post("/admin/disableUser", headers=admin.headers, json={"username": person.user_id})
    assert disabled.status_code == 200, disabled.text

    assert http.get("/v1/models", headers={"x-api-key": person.key}).status_code == 403
    assert http.post("/me/api-keys", headers={"authorization": f"Bearer {person.token}"}).status_code == 401


def test_two_admins_disabling_each_other_at_once_leave_exactly_one(stack, http):
    idp, pool = stack.aws("cognito-idp"), stack.outputs["user_pool_id"]
    first, second = member(stack, http, "admin-a", "Admin"), member(stack, http, "admin-b", "Admin")
    # Only these two are admins during the test: the others step out and come back afterwards.
    others = [
        user["Username"]
        for user in idp.list_users_in_group(UserPoolId=pool, GroupName="Admin")["Users"]
        if {a["Value"] for a in user["Attributes"] if a["Name"] == "sub"}.isdisjoint(
            {first.user_id, second.user_id}
        )
    ]
    for username in others:
        idp.admin_remove_user_from_group(UserPoolId=pool, Username=username, GroupName="Admin")
    try:

        def disable(actor: Member, target: Member) -> httpx.Response:
            with httpx.Client(base_url=stack.api_url, timeout=30) as client:
                return client.post(
                    "/admin/disableUser", headers=actor.headers, json={"username": target.user_id}
                )

        with ThreadPoolExecutor(max_workers=2) as pool_of_two:
            answers = list(pool_of_two.map(disable, (first, second), (second, first)))

        statuses = sorted(answer.status_code for answer in answers)
        assert statuses.count(200) == 1, [a.text for a in answers]
        refused = next(answer for answer in answers if answer.status_code != 200)
        # Refused by the guard, or (if the other finished first) because the caller is now disabled.
        assert (refused.status_code, refused.json()["error"]["code"]) in {
            (409, "last_admin"),
            (401, "invalid_token"),
            (403, "user_disabled"),
        }, refused.text
        still_enabled = [
            idp.admin_get_user(UserPoolId=pool, Username=m.user_id)["Enabled"] for m in (first, second)
        ]
        assert sorted(still_enabled) == [False, True]
    finally:
        for username in others:
            idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="Admin")
