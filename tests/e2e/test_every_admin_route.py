"""Every admin route through the local API Gateway: refused to a member, answered (no 5xx) to an admin."""

import pytest

from tests.e2e.conftest import signed_up

pytestmark = pytest.mark.e2e


def _admin_routes() -> list[tuple[str, str]]:
    from tests.unit.gateway.test_audit_every_route import ROUTES

    return [(sorted(route.methods)[0], route.path) for route in ROUTES if route.path.startswith("/admin")]


ADMIN_ROUTES = _admin_routes()  # the app's own route table


@pytest.fixture(scope="module")
def member(stack):
    return signed_up(stack, "e2e-member@example.com")


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p in ADMIN_ROUTES])
def test_admin_route_through_the_gateway(http, admin, member, method, path):
    concrete = (
        path.replace("{user_id}", member.registration["user_id"])
        .replace("{conversation_id}", "none")
        .replace("{bot_id}", "0" * 28)
    )
    body = {"username": member.registration["user_id"]} if method in ("POST", "PUT") else None
    if method == "PATCH":
        body = {"essential": True}
    refused = http.request(method, concrete, headers=member.headers, json=body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    if concrete.endswith(("/disableUser", "/signUserOut")):
        return  # would end the member's session for the other cases
    answered = http.request(method, concrete, headers=admin.headers, json=body)
    assert answered.status_code < 500, answered.text
    assert answered.status_code in (200, 400, 404, 409), answered.text
