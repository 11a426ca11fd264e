"""The gateway meters exactly the app's model calls: the api module's `metered_routes` (token + API key at API
Gateway, so the usage plan's throttle and quota count them) are the routes whose dependency needs the key with
the token (`MeteredUser`, `caller_reading`); every other route a token opens takes the token alone there."""

import re
from pathlib import Path

from gateway.auth.dependencies import caller_reading, get_current_user, get_metered_user, get_token_user
from tests.support.routes import app_routes, depends_on

API_VARIABLES = Path(__file__).resolve().parents[3] / "terraform" / "modules" / "api" / "variables.tf"


def metered_routes_default() -> set[str]:
    block = re.search(r'variable "metered_routes" \{(.*?)\n\}', API_VARIABLES.read_text(), re.S)
    assert block, "variable metered_routes is missing from terraform/modules/api/variables.tf"
    default = re.search(r"\n  default\s*=\s*\[(.*?)\]", block.group(1), re.S)
    assert default, "metered_routes has no default"
    return set(re.findall(r'"([^"]+)"', default.group(1)))


def routes_needing(dependency) -> set[str]:
    return {
        f"{method} {route.path}"
        for route in app_routes()
        if depends_on(route, dependency)
        for method in route.methods
    }


def test_the_gateway_meters_exactly_the_routes_that_need_the_key_with_the_token():
    metered = routes_needing(get_metered_user) | routes_needing(caller_reading)

    assert {"POST /bedrock", "POST /conversations/{conversation_id}/messages"} <= metered
    assert metered_routes_default() == metered


def test_reading_and_managing_take_the_token_alone():
    token_only = routes_needing(get_current_user) | routes_needing(get_token_user)

    assert {
        "GET /me",
        "GET /me/usage",
        "GET /conversations",
        "GET /bots",
        "GET /admin/listUsers",
    } <= token_only
    assert {"POST /me/api-keys", "GET /bedrock", "POST /logout"} <= token_only
    assert not token_only & metered_routes_default()
