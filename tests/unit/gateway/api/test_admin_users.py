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
    gateway_key = boto3.client("apigateway", region_name=REGION).get_api_key(apiKey=victim["api_key_id"])
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
