"""Every route writes an audit event: walk the route table, call each route, find its event."""

import boto3
import pytest

from gateway.services.audit import UNAUDITED_ROUTES
from tests.support.aws import REGION
from tests.support.bedrock import SHAPES, invoke_response
from tests.support.routes import app_routes
from tests.unit.gateway.api.helpers import PASSWORD, member_of, signed_up

ROUTES = [route for route in app_routes() if route.name not in UNAUDITED_ROUTES]


def test_the_walk_finds_the_routes():
    names = {route.name for route in ROUTES}
    assert {"auth.register", "bedrock.invoke", "me.api_keys.revoke", "admin.users.disable"} <= names
    assert len(ROUTES) >= 20


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{sorted(route.methods)[0]} {route.path}")
def test_every_route_writes_an_audit_event(api, route):
    path = route.path.replace("{", "").replace("}", "")  # any value will do for path parameters
    method = sorted(route.methods)[0]
    api.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-audit")["Items"]
    actions = {item["action"]["S"] for item in items}
    assert route.name in actions, f"{method} {route.path} wrote no audit event"


class _Walk:
    """Calls routes one after the other, each as a caller allowed to; after each call, exactly one new audit
    event must name the route's action, as a success."""

    def __init__(self, api) -> None:
        self.api = api
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.seen = self._events()
        self.called: set[str] = set()
        self.problems: list[str] = []

    def _events(self) -> dict[tuple[str, str], dict]:
        items = self.dynamodb.scan(TableName="gateway-test-audit", ConsistentRead=True)["Items"]
        return {(item["pk"]["S"], item["sk"]["S"]): item for item in items}

    def call(self, name, method, path, expect=200, **request):
        response = self.api.request(method, path, **request)
        events = self._events()
        new = [events[key] for key in events.keys() - self.seen.keys()]
        self.seen = events
        self.called.add(name)
        if response.status_code != expect:
            self.problems.append(f"{name}: {response.status_code} {response.text[:200]}")
        elif [(e["action"]["S"], e["success"]["BOOL"]) for e in new] != [(name, True)]:
            found = [(e["action"]["S"], e["success"]["BOOL"]) for e in new]
            self.problems.append(f"{name}: audit events {found}")
        return response


def _cognito_resends(monkeypatch):
    """moto does not implement ResendConfirmationCode: answer as Cognito does."""
    from gateway.aws import client
    from gateway.providers.cognito import CognitoUserPool
    from tests.unit.gateway.api.test_auth import _CognitoAnswering

    def resend(**_):
        return {"CodeDeliveryDetails": {"DeliveryMedium": "EMAIL"}}

    monkeypatch.setattr(
        CognitoUserPool,
        "_idp",
        property(lambda _self: _CognitoAnswering(client("cognito-idp"), resend_confirmation_code=resend)),
    )


def test_every_route_called_with_success_writes_exactly_one_event_with_its_action(
    api, stack, bedrock, monkeypatch
):
    _cognito_resends(monkeypatch)
    walk = _Walk(api)
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    # The people of the walk (signing up is audited too, outside the walk's checks).
    user, user_registration, user_tokens = signed_up(api, email="user@example.com")
    admin, _ = member_of(api, stack, "root@example.com", "Admin", "PublishAllowed")
    walk.seen = walk._events()
    user_id = user_registration["user_id"]

    walk.call(
        "auth.register",
        "POST",
        "/register",
        202,
        json={"email": "new@example.com", "password": PASSWORD, "fullname": "New Comer"},
    )
    walk.call("auth.register_resend", "POST", "/register/resend", 202, json={"email": "new@example.com"})
    walk.call(
        "auth.register_confirm",
        "POST",
        "/register/confirm",
        201,
        json={"email": "new@example.com", "code": "123456"},
    )
    walk.call("auth.login", "POST", "/login", json={"email": "new@example.com", "password": PASSWORD})
    walk.call("auth.refresh", "POST", "/refresh", json={"refresh_token": user_tokens["refresh_token"]})

    walk.call("me.profile", "GET", "/me", headers=user)
    walk.call("me.credentials", "GET", "/me/credentials", headers=user)
    walk.call("me.usage", "GET", "/me/usage", headers=user)
    walk.call("me.api_keys.list", "GET", "/me/api-keys", headers=user)
    key = walk.call("me.api_keys.create", "POST", "/me/api-keys", 201, headers=user).json()
    walk.call("me.api_keys.revoke", "DELETE", f"/me/api-keys/{key.get('key_id')}", headers=user)

    bedrock.catalog()
    walk.call("bedrock.models.list", "GET", "/bedrock", headers=user)
    bedrock.catalog()
    walk.call("openai.models.list", "GET", "/v1/models", headers={"x-api-key": user["x-api-key"]})
    bedrock.catalog()
    bedrock.invoke(SHAPES["anthropic-messages"])
    walk.call(
        "bedrock.invoke",
        "POST",
        "/bedrock",
        headers=user,
        json={"modelId": haiku, "inferenceParameters": SHAPES["anthropic-messages"].request},
    )
    bedrock.catalog()
    bedrock.converse("Hi", 2, 1)
    walk.call(
        "openai.chat.completions",
        "POST",
        "/v1/chat/completions",
        headers={"x-api-key": user["x-api-key"]},
        json={"model": haiku, "messages": [{"role": "user", "content": "Hello"}]},
    )
    bedrock.catalog()
    bedrock.runtime.add_response(
        "invoke_model", invoke_response({"embedding": [0.6, 0.8], "inputTextTokenCount": 2}, 2, 0)
    )
    walk.call(
        "openai.embeddings",
        "POST",
        "/v1/embeddings",
        headers={"x-api-key": user["x-api-key"]},
        json={"model": "amazon.titan-embed-text-v2:0", "input": ["a text"]},
    )

    bedrock.catalog()
    conversation = walk.call(
        "conversations.create", "POST", "/conversations", 201, headers=user, json={"model_id": haiku}
    ).json()
    cid = conversation.get("conversation_id", "none")
    bedrock.catalog()
    bedrock.converse("Go north", 5, 2)
    walk.call(
        "conversations.messages.send",
        "POST",
        f"/conversations/{cid}/messages",
        headers=user,
        json={"content": "Where to go?"},
    )
    walk.call("conversations.list", "GET", "/conversations", headers=user)
    walk.call("conversations.get", "GET", f"/conversations/{cid}", headers=user)

    bedrock.catalog()
    bot = walk.call(
        "bots.create",
        "POST",
        "/bots",
        201,
        headers=admin,
        json={"title": "Guide", "model_id": haiku, "instruction": "Guide us."},
    )
    bot_id = bot.json().get("bot_id", "no-bot")
    walk.call("bots.list", "GET", "/bots", headers=admin)
    walk.call("bots.get", "GET", f"/bots/{bot_id}", headers=admin)
    walk.call("bots.store", "GET", "/bots/store", headers=user)
    bedrock.catalog()
    walk.call("bots.update", "PATCH", f"/bots/{bot_id}", headers=admin, json={"title": "The guide"})
    walk.call("admin.bots.update", "PATCH", f"/admin/bots/{bot_id}", headers=admin, json={"essential": True})
    bedrock.catalog()
    published = walk.call(
        "bots.publication.create",
        "POST",
        f"/bots/{bot_id}/publication",
        201,
        headers=admin,
        json={
            "throttle": {"rate_limit": 2, "burst_limit": 4},
            "quota": {"limit": 100, "period": "WEEK", "offset": 1},
        },
    ).json()
    walk.call("bots.publication.get", "GET", f"/bots/{bot_id}/publication", headers=admin)
    bedrock.catalog()
    bedrock.converse("Hello", 3, 1)
    walk.call(
        "published.bots.messages.send",
        "POST",
        f"/published/bots/{bot_id}/messages",
        headers={"x-api-key": published.get("api_key", {}).get("value", "none")},
        json={"content": "Hi"},
    )
    bot_key = walk.call(
        "bots.publication.api_keys.create", "POST", f"/bots/{bot_id}/publication/api-keys", 201, headers=admin
    ).json()
    walk.call(
        "bots.publication.api_keys.revoke",
        "DELETE",
        f"/bots/{bot_id}/publication/api-keys/{bot_key.get('key_id')}",
        headers=admin,
    )
    walk.call("bots.publication.delete", "DELETE", f"/bots/{bot_id}/publication", 204, headers=admin)
    walk.call("bots.delete", "DELETE", f"/bots/{bot_id}", 204, headers=admin)

    walk.call("admin.analytics", "GET", "/admin/analytics", headers=admin)
    walk.call("admin.users.by_cost", "GET", "/admin/users", headers=admin)
    walk.call("admin.costs.user", "GET", f"/admin/costs/users/{user_id}", headers=admin)
    walk.call("admin.audit_logs.user", "GET", f"/admin/audit-logs/user/{user_id}", headers=admin)
    walk.call("admin.users.conversations", "GET", f"/admin/users/{user_id}/conversations", headers=admin)
    walk.call(
        "admin.users.prompts", "GET", f"/admin/users/{user_id}/conversations/{cid}/prompts", headers=admin
    )
    walk.call("conversations.delete", "DELETE", f"/conversations/{cid}", 204, headers=user)
    walk.call("admin.users.limits.get", "GET", f"/admin/users/{user_id}/limits", headers=admin)
    walk.call(
        "admin.users.limits.put",
        "PUT",
        f"/admin/users/{user_id}/limits",
        headers=admin,
        json={"requests_per_day": 100},
    )
    walk.call("admin.users.list", "GET", "/admin/listUsers", headers=admin)
    walk.call("admin.users.get", "GET", "/admin/getUser", headers=admin, params={"username": user_id})
    walk.call("admin.groups.list", "GET", "/admin/listGroups", headers=admin)
    walk.call(
        "admin.groups.add_user",
        "POST",
        "/admin/addUserToGroup",
        headers=admin,
        json={"username": user_id, "groupname": "PublishAllowed"},
    )
    walk.call(
        "admin.users.list_groups",
        "GET",
        "/admin/listGroupsForUser",
        headers=admin,
        params={"username": user_id},
    )
    walk.call(
        "admin.groups.list_users",
        "GET",
        "/admin/listUsersInGroup",
        headers=admin,
        params={"groupname": "PublishAllowed"},
    )
    walk.call(
        "admin.groups.remove_user",
        "POST",
        "/admin/removeUserFromGroup",
        headers=admin,
        json={"username": user_id, "groupname": "PublishAllowed"},
    )
    api.post("/register", json={"email": "later@example.com", "password": PASSWORD, "fullname": "Later"})
    walk.seen = walk._events()
    walk.call(
        "admin.users.confirm",
        "POST",
        "/admin/confirmUserSignUp",
        headers=admin,
        json={"username": "later@example.com"},
    )
    walk.call("admin.users.sign_out", "POST", "/admin/signUserOut", headers=admin, json={"username": user_id})
    walk.call("admin.users.disable", "POST", "/admin/disableUser", headers=admin, json={"username": user_id})
    walk.call("admin.users.enable", "POST", "/admin/enableUser", headers=admin, json={"username": user_id})
    walk.call("auth.logout", "POST", "/logout", 204, headers=admin)

    assert walk.problems == [], "\n".join(walk.problems)
    assert walk.called == {route.name for route in ROUTES}
