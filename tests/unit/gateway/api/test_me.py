import boto3

from tests.support.aws import GROUPS, REGION
from tests.unit.gateway.api.helpers import login, register, signed_up


def test_me_shows_groups_effective_groups_role_and_permissions(api):
    headers, registration, _ = signed_up(api)
    response = api.get("/me", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == registration["user_id"]
    assert body["email"] == "ada@example.com"
    assert body["fullname"] == "Ada Lovelace"
    assert body["groups"] == ["CreatingBotAllowed"]
    assert body["effective_groups"] == ["CreatingBotAllowed"]
    assert body["preferred_role"] == GROUPS["CreatingBotAllowed"][1]
    assert "bots:create" in body["permissions"]
    assert "admin:read" not in body["permissions"]


def test_an_admin_gets_the_implied_groups_and_the_top_role(api, stack):
    headers, registration, _ = signed_up(api)
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    body = api.get("/me", headers=headers).json()
    assert body["groups"] == ["Admin", "CreatingBotAllowed"]
    assert body["effective_groups"] == ["Admin", "CreatingBotAllowed", "PublishAllowed"]
    assert body["preferred_role"] == GROUPS["Admin"][1]


def test_me_needs_a_token(api):
    headers, _, _ = signed_up(api)
    response = api.get("/me", headers={"x-api-key": headers["x-api-key"]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_me_takes_the_token_alone_and_a_key_sent_must_be_the_callers_own_active_key(api):
    headers, _, _ = signed_up(api)
    other_headers, _, _ = signed_up(api, email="grace@example.com")
    assert api.get("/me", headers={"authorization": headers["authorization"]}).status_code == 200
    crossed = {"authorization": headers["authorization"], "x-api-key": other_headers["x-api-key"]}
    response = api.get("/me", headers=crossed)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "api_key_not_yours"
    wrong = {"authorization": headers["authorization"], "x-api-key": "not-a-key-of-anyone-at-all"}
    assert api.get("/me", headers=wrong).status_code == 403


def test_access_tokens_work_too(api):
    headers, registration, tokens = signed_up(api)
    access = {"authorization": f"Bearer {tokens['access_token']}", "x-api-key": headers["x-api-key"]}
    assert api.get("/me", headers=access).json()["user_id"] == registration["user_id"]


def test_rotating_a_key_stops_the_old_one_at_once(api, stack):
    headers, registration, _ = signed_up(api)
    token_only = {"authorization": headers["authorization"]}
    created = api.post("/me/api-keys", headers=token_only)
    assert created.status_code == 201
    new_key = created.json()
    assert new_key["api_key"] != registration["api_key"]

    revoked = api.delete(f"/me/api-keys/{registration['key_id']}", headers=token_only)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"

    assert api.get("/me", headers=headers).status_code == 403
    rotated = {**token_only, "x-api-key": new_key["api_key"]}
    assert api.get("/me", headers=rotated).status_code == 200
    gateway_key = boto3.client("apigateway", region_name=REGION).get_api_key(apiKey=registration["key_id"])
    assert gateway_key["enabled"] is False

    listed = api.get("/me/api-keys", headers=token_only).json()["api_keys"]
    assert {(k["key_id"], k["state"]) for k in listed} == {
        (registration["key_id"], "revoked"),
        (new_key["key_id"], "active"),
    }
    assert "api_key" not in str([set(k) for k in listed])


def test_nobody_revokes_someone_elses_key(api):
    headers, _, _ = signed_up(api)
    _, other, _ = signed_up(api, email="grace@example.com")
    response = api.delete(
        f"/me/api-keys/{other['key_id']}", headers={"authorization": headers["authorization"]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "api_key_not_found"


def test_active_keys_are_limited(api, monkeypatch):
    monkeypatch.setenv("GATEWAY_MAX_API_KEYS_PER_USER", "2")
    from gateway import deps
    from gateway.settings import get_settings

    get_settings.cache_clear()
    deps.reset()
    register(api)
    token_only = {"authorization": f"Bearer {login(api)['id_token']}"}
    assert api.post("/me/api-keys", headers=token_only).status_code == 201
    response = api.post("/me/api-keys", headers=token_only)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "api_key_limit"


def test_credentials_are_for_the_preferred_role(api, stack):
    headers, registration, _ = signed_up(api)
    response = api.get("/me/credentials", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["role_arn"] == GROUPS["CreatingBotAllowed"][1]
    assert body["identity_id"].startswith(f"{REGION}:")
    assert all(body[field] for field in ("access_key_id", "secret_access_key", "session_token"))
    boto3.client("cognito-idp", region_name=REGION).admin_add_user_to_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="Admin"
    )
    assert api.get("/me/credentials", headers=headers).json()["role_arn"] == GROUPS["Admin"][1]


def test_credentials_need_the_id_token(api):
    headers, _, tokens = signed_up(api)
    access = {"authorization": f"Bearer {tokens['access_token']}", "x-api-key": headers["x-api-key"]}
    response = api.get("/me/credentials", headers=access)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "id_token_required"


def test_key_use_is_recorded_without_a_write_per_request(api, monkeypatch):
    from gateway.repositories.api_keys import ApiKeyRepository

    headers, registration, _ = signed_up(api)
    writes = []
    original = ApiKeyRepository.touch
    monkeypatch.setattr(
        ApiKeyRepository, "touch", lambda self, *args: writes.append(args) or original(self, *args)
    )
    for _ in range(3):
        assert api.get("/me", headers=headers).status_code == 200
    assert len(writes) == 1
    listed = api.get("/me/api-keys", headers={"authorization": headers["authorization"]}).json()["api_keys"]
    assert listed[0]["key_id"] == registration["key_id"]
    assert listed[0]["last_used_at"] is not None
