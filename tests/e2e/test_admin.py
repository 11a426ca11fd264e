"""The admin API through the local API Gateway."""

from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.e2e

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def test_an_admin_sees_what_a_user_asked_and_what_it_cost(http, admin):
    person = sign_up(http, "e2e-watched@example.com")
    user_id = person.registration["user_id"]
    cid = http.post("/conversations", headers=person.headers, json={"model_id": HAIKU}).json()[
        "conversation_id"
    ]
    asked = http.post(
        f"/conversations/{cid}/messages", headers=person.headers, json={"content": "secret plans"}
    )
    assert asked.status_code == 200, asked.text

    prompts = http.get(f"/admin/users/{user_id}/conversations/{cid}/prompts", headers=admin.headers)
    assert prompts.status_code == 200, prompts.text
    assert [p["content"] for p in prompts.json()["prompts"]] == ["secret plans"]

    month = f"{datetime.now(UTC):%Y-%m}"
    costs = http.get(f"/admin/costs/users/{user_id}?start_period={month}", headers=admin.headers).json()
    assert costs["input_tokens"] == asked.json()["usage"]["input_tokens"]
    assert costs["by_model"][0]["model_id"] == HAIKU
    assert costs["conversation_count"] == 1

    trail = http.get(f"/admin/audit-logs/user/{user_id}", headers=admin.headers).json()["events"]
    actions = [event["action"] for event in trail]
    assert actions[:2] == ["conversations.messages.send", "conversations.create"]
    assert all(event["ip_address"] for event in trail)


def test_amplify_style_user_management(http, admin):
    person = sign_up(http, "e2e-managed@example.com")
    user_id = person.registration["user_id"]
    added = http.post(
        "/admin/addUserToGroup",
        headers=admin.headers,
        json={"username": user_id, "groupname": "PublishAllowed"},
    )
    assert added.status_code == 200, added.text
    groups = http.get(f"/admin/listGroupsForUser?username={user_id}", headers=admin.headers).json()["Groups"]
    assert "PublishAllowed" in [g["GroupName"] for g in groups]
    missing = http.post("/admin/addUserToGroup", headers=admin.headers, json={"username": user_id})
    assert missing.status_code == 400
    assert "groupname" in missing.json()["error"]["message"]
    disabled = http.post("/admin/disableUser", headers=admin.headers, json={"username": user_id})
    assert disabled.status_code == 200
    model_call = {"modelId": HAIKU, "inferenceParameters": {"prompt": "Hi"}}
    refused = http.post("/bedrock", headers=person.headers, json=model_call)
    assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"})  # its key, at the gateway
    assert http.get("/me", headers=person.headers).status_code == 401  # its sessions are signed out
