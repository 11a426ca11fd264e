"""Which credentials each kind of route takes in the app: what a person reads or manages (the console) takes
the token alone, a key sent along must still be the caller's active key; a model call needs both."""

import pytest

from tests.unit.gateway.api.helpers import member_of, signed_up

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
READS = ["/me", "/me/usage", "/me/api-keys", "/bedrock", "/conversations", "/bots", "/bots/store"]


def token_only(headers: dict[str, str]) -> dict[str, str]:
    return {"authorization": headers["authorization"]}


@pytest.mark.parametrize("path", READS)
def test_reading_takes_the_token_alone(api, bedrock, path):
    headers, _, _ = signed_up(api)
    bedrock.catalog()

    response = api.get(path, headers=token_only(headers))

    assert response.status_code == 200, response.text


def test_managing_takes_the_token_alone(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()

    created = api.post("/conversations", headers=token_only(headers), json={"model_id": HAIKU})
    assert created.status_code == 201, created.text
    conversation = f"/conversations/{created.json()['conversation_id']}"
    assert api.get(conversation, headers=token_only(headers)).status_code == 200
    assert api.delete(conversation, headers=token_only(headers)).status_code == 204


def test_admin_routes_take_the_admins_token_alone(api, stack):
    admin, _ = member_of(api, stack, "root@example.com", "Admin")
    member, _, _ = signed_up(api, email="member@example.com")

    assert api.get("/admin/listUsers", headers=token_only(admin)).status_code == 200
    refused = api.get("/admin/listUsers", headers=token_only(member))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")


def test_a_model_call_needs_the_key_as_well(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    created = api.post("/conversations", headers=token_only(headers), json={"model_id": HAIKU})
    messages = f"/conversations/{created.json()['conversation_id']}/messages"

    invoke = api.post("/bedrock", headers=token_only(headers), json={"modelId": HAIKU, "prompt": "Hi"})
    send = api.post(messages, headers=token_only(headers), json={"content": "Hi"})

    assert (invoke.status_code, invoke.json()["error"]["code"]) == (403, "api_key_missing")
    assert (send.status_code, send.json()["error"]["code"]) == (403, "api_key_missing")
    assert "x-api-key" in invoke.json()["error"]["message"]


def test_a_revoked_key_sent_on_a_token_only_route_is_refused(api):
    headers, registration, _ = signed_up(api)
    revoked = api.delete(f"/me/api-keys/{registration['key_id']}", headers=token_only(headers))
    assert revoked.status_code == 200

    response = api.get("/me", headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (403, "api_key_revoked")
    assert headers["x-api-key"] not in response.text
    assert api.get("/me", headers=token_only(headers)).status_code == 200


def test_a_key_sent_on_a_token_only_route_must_be_the_callers(api):
    headers, _, _ = signed_up(api)
    other, _, _ = signed_up(api, email="grace@example.com")

    crossed = api.get("/me", headers={**token_only(headers), "x-api-key": other["x-api-key"]})
    garbage = api.get("/me", headers={**token_only(headers), "x-api-key": "not-a-key-of-anyone-at-all"})
    empty = api.get("/me", headers={**token_only(headers), "x-api-key": ""})

    assert (crossed.status_code, crossed.json()["error"]["code"]) == (403, "api_key_not_yours")
    assert (garbage.status_code, garbage.json()["error"]["code"]) == (403, "api_key_unknown")
    assert empty.status_code == 200  # an empty header is no key


def test_a_signed_out_token_is_refused_without_a_key(api):
    headers, _, _ = signed_up(api)
    assert api.post("/logout", headers=token_only(headers)).status_code == 204

    response = api.get("/me", headers=token_only(headers))

    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")


def test_a_user_disabled_through_the_admin_api_is_refused_at_once_without_a_key(api, stack):
    admin, _ = member_of(api, stack, "root@example.com", "Admin")
    headers, registration, _ = signed_up(api)
    assert api.get("/me", headers=token_only(headers)).status_code == 200

    disabled = api.post(
        "/admin/disableUser", headers=token_only(admin), json={"username": registration["user_id"]}
    )
    assert disabled.status_code == 200, disabled.text

    for path in ("/me", "/conversations", "/me/api-keys"):
        response = api.get(path, headers=token_only(headers))
        assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token"), path


def test_a_key_only_route_says_whether_the_key_is_revoked_or_unknown(api, bedrock):
    headers, registration, _ = signed_up(api)
    api.delete(f"/me/api-keys/{registration['key_id']}", headers=token_only(headers))

    revoked = api.get("/v1/models", headers={"x-api-key": headers["x-api-key"]})
    unknown = api.get("/v1/models", headers={"x-api-key": "not-a-key-of-anyone-at-all"})
    missing = api.get("/v1/models")

    assert (revoked.status_code, revoked.json()["error"]["code"]) == (403, "api_key_revoked")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (403, "api_key_unknown")
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "api_key_missing")
    assert headers["x-api-key"] not in revoked.text
    assert "not-a-key-of-anyone-at-all" not in unknown.text
