"""Every route writes an audit event: walk the route table, call each route, find its event."""

import boto3
import pytest
from fastapi.routing import APIRoute

from gateway.main import create_app
from gateway.services.audit import UNAUDITED_ROUTES
from tests.support.aws import REGION


def _routes():
    app = create_app()
    found = []
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        stack.extend(getattr(route, "routes", []) or [])
        original = getattr(route, "original_router", None) or getattr(route, "router", None)
        if original is not None and original is not route:
            stack.extend(getattr(original, "routes", []))
    unique = {(route.name, tuple(sorted(route.methods)), route.path): route for route in found}
    return sorted(unique.values(), key=lambda route: (route.path, sorted(route.methods)))


ROUTES = [route for route in _routes() if route.name not in UNAUDITED_ROUTES]


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
