import boto3
import pytest

from tests.support.aws import REGION
from tests.unit.gateway.api.helpers import PASSWORD, login, signed_up


@pytest.fixture
def admin(api, stack):
    headers, registration, _ = signed_up(api, email="root@example.com")
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    # Groups come from the verified token: sign in again to carry the new membership.
    tokens = login(api, email="root@example.com")
    return {**headers, "authorization": f"Bearer {tokens['id_token']}"}, registration


def test_only_admins_may_disable(api):
    headers, _, _ = signed_up(api)
    _, other, _ = signed_up(api, email="grace@example.com")
    response = api.post("/admin/disableUser", headers=headers, json={"username": other["user_id"]})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_disabling_revokes_keys_and_sessions(api, admin):
    admin_headers, _ = admin
    victim_headers, victim, _ = signed_up(api, email="grace@example.com")
    assert api.get("/me", headers=victim_headers).status_code == 200

    response = api.post("/admin/disableUser", headers=admin_headers, json={"username": victim["user_id"]})
    assert response.status_code == 200, response.text
    assert response.json()["api_keys_revoked"] == 1

    assert api.get("/me", headers=victim_headers).status_code in (401, 403)
    assert (
        api.get("/me/api-keys", headers={"authorization": victim_headers["authorization"]}).status_code == 401
    )
    login = api.post("/login", json={"email": "grace@example.com", "password": PASSWORD})
    assert login.json()["error"]["code"] == "user_disabled"
    gateway_key = boto3.client("apigateway", region_name=REGION).get_api_key(apiKey=victim["key_id"])
    assert gateway_key["enabled"] is False

    enabled = api.post("/admin/enableUser", headers=admin_headers, json={"username": victim["user_id"]})
    assert enabled.status_code == 200
    assert api.post("/login", json={"email": "grace@example.com", "password": PASSWORD}).status_code == 200


def test_the_last_admin_cannot_be_disabled(api, admin):
    admin_headers, registration = admin
    response = api.post(
        "/admin/disableUser", headers=admin_headers, json={"username": registration["user_id"]}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_admin"


def test_missing_username_is_400_naming_it(api, admin):
    admin_headers, _ = admin
    response = api.post("/admin/disableUser", headers=admin_headers, json={})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "missing_parameter",
        "message": "The parameter username is required.",
    }


def test_unknown_user_is_404(api, admin):
    admin_headers, _ = admin
    response = api.post("/admin/enableUser", headers=admin_headers, json={"username": "nobody"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"


def test_group_membership_add_and_remove(api, admin, stack):
    admin_headers, _ = admin
    _, user, _ = signed_up(api, email="grace@example.com")
    added = api.post(
        "/admin/addUserToGroup",
        headers=admin_headers,
        json={"username": user["user_id"], "groupname": "PublishAllowed"},
    )
    assert added.status_code == 200, added.text
    groups = api.get(f"/admin/listGroupsForUser?username={user['user_id']}", headers=admin_headers).json()
    assert sorted(g["GroupName"] for g in groups["Groups"]) == ["CreatingBotAllowed", "PublishAllowed"]
    removed = api.post(
        "/admin/removeUserFromGroup",
        headers=admin_headers,
        json={"username": user["user_id"], "groupname": "PublishAllowed"},
    )
    assert removed.status_code == 200
    members = api.get("/admin/listUsersInGroup?groupname=PublishAllowed", headers=admin_headers).json()
    assert members["Users"] == []


def test_unknown_groups_and_users_are_404(api, admin):
    admin_headers, registration = admin
    unknown_group = api.post(
        "/admin/addUserToGroup",
        headers=admin_headers,
        json={"username": registration["user_id"], "groupname": "Nope"},
    )
    assert unknown_group.status_code == 404
    assert unknown_group.json()["error"]["code"] == "group_not_found"
    assert api.get("/admin/listUsersInGroup?groupname=Nope", headers=admin_headers).status_code == 404
    assert api.get("/admin/getUser?username=nobody", headers=admin_headers).status_code == 404


def test_the_last_admin_cannot_leave_admin(api, admin):
    admin_headers, registration = admin
    response = api.post(
        "/admin/removeUserFromGroup",
        headers=admin_headers,
        json={"username": registration["user_id"], "groupname": "Admin"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_admin"


@pytest.mark.parametrize(
    ("method", "path", "body", "parameter"),
    [
        ("post", "/admin/addUserToGroup", {"username": "x"}, "groupname"),
        ("post", "/admin/removeUserFromGroup", {"groupname": "Admin"}, "username"),
        ("post", "/admin/confirmUserSignUp", {}, "username"),
        ("post", "/admin/signUserOut", {}, "username"),
        ("get", "/admin/getUser", None, "username"),
        ("get", "/admin/listUsersInGroup", None, "groupname"),
        ("get", "/admin/listGroupsForUser", None, "username"),
    ],
)
def test_missing_parameters_are_named(api, admin, method, path, body, parameter):
    admin_headers, _ = admin
    response = api.request(method.upper(), path, headers=admin_headers, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"The parameter {parameter} is required."


def test_listing_pages_with_signed_tokens(api, admin):
    admin_headers, _ = admin
    signed_up(api, email="grace@example.com")
    first = api.get("/admin/listUsers?limit=1", headers=admin_headers)
    assert first.status_code == 200, first.text
    token = first.json()["NextToken"]
    assert token
    second = api.get(f"/admin/listUsers?limit=1&token={token}", headers=admin_headers).json()
    names = {u["Username"] for page in (first.json(), second) for u in page["Users"]}
    assert len(names) == 2

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bad = api.get(f"/admin/listUsers?limit=1&token={tampered}", headers=admin_headers)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_next_token"
    foreign = api.get(f"/admin/listGroups?limit=1&token={token}", headers=admin_headers)
    assert foreign.status_code == 400
    assert api.get("/admin/listUsers?limit=0", headers=admin_headers).status_code == 400
    assert api.get("/admin/listUsers?limit=x", headers=admin_headers).status_code == 400


def test_sign_user_out_ends_their_sessions(api, admin):
    admin_headers, _ = admin
    headers, user, _ = signed_up(api, email="grace@example.com")
    assert (
        api.post("/admin/signUserOut", headers=admin_headers, json={"username": user["user_id"]}).status_code
        == 200
    )
    assert api.get("/me", headers=headers).status_code == 401


def test_confirm_user_sign_up(api, admin, stack):
    admin_headers, _ = admin
    idp = boto3.client("cognito-idp", region_name=REGION)
    sub = idp.sign_up(ClientId=stack.client_id, Username="new@example.com", Password="Correct-horse-9")[
        "UserSub"
    ]
    response = api.post("/admin/confirmUserSignUp", headers=admin_headers, json={"username": sub})
    assert response.status_code == 200, response.text
    assert idp.admin_get_user(UserPoolId=stack.user_pool_id, Username=sub)["UserStatus"] == "CONFIRMED"
    got = api.get(f"/admin/getUser?username={sub}", headers=admin_headers).json()
    assert got["UserStatus"] == "CONFIRMED"


def _admin_routes():
    from tests.unit.gateway.test_audit_every_route import ROUTES

    return [route for route in ROUTES if route.path.startswith("/admin")]


@pytest.mark.parametrize("route", _admin_routes(), ids=lambda r: f"{sorted(r.methods)[0]} {r.path}")
def test_every_admin_route_is_403_for_a_non_admin(api, route):
    headers, _, _ = signed_up(api)
    method = sorted(route.methods)[0]
    path = route.path.replace("{", "").replace("}", "")
    response = api.request(method, path, headers=headers, json={} if method in ("POST", "PUT") else None)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
