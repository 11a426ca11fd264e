"""Bots against a hostile user, through the local API Gateway: a publication's kill switches (hidden bot,
an admin's unpublish, an owner who lost PublishAllowed) and bounded reads (GET /bots pages, allowed_users)."""

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, User, sign_up

pytestmark = pytest.mark.e2e

LLAMA = "meta.llama3-8b-instruct-v1:0"
PUBLICATION = {"throttle": {"rate_limit": 10, "burst_limit": 10}, "quota": {"limit": 100, "period": "DAY"}}


def _publisher(stack, http: httpx.Client, email: str) -> User:
    person = sign_up(http, email)
    stack.aws("cognito-idp").admin_add_user_to_group(
        UserPoolId=stack.outputs["user_pool_id"],
        Username=person.registration["user_id"],
        GroupName="PublishAllowed",
    )
    tokens = http.post("/login", json={"email": email, "password": PASSWORD}).json()
    return User(email=email, registration=person.registration, tokens=tokens)


def _bot(http: httpx.Client, owner: User, **fields) -> dict:
    response = http.post(
        "/bots", headers=owner.headers, json={"title": "Hostile", "model_id": LLAMA, **fields}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _published(http: httpx.Client, owner: User) -> tuple[str, str, str]:
    bot_id = _bot(http, owner, shared_scope="all")["bot_id"]
    published = http.post(f"/bots/{bot_id}/publication", headers=owner.headers, json=PUBLICATION)
    assert published.status_code == 201, published.text
    return bot_id, published.json()["endpoint"], published.json()["key"]["api_key"]


def _ask(endpoint: str, key: str) -> httpx.Response:
    return httpx.post(endpoint, headers={"x-api-key": key}, json={"content": "Hello?"}, timeout=30)


def test_a_hidden_bots_endpoint_is_unavailable(stack, http, admin):
    owner = _publisher(stack, http, "e2e-hostile-hidden@example.com")
    bot_id, endpoint, key = _published(http, owner)
    assert _ask(endpoint, key).status_code == 200
    hidden = http.patch(f"/admin/bots/{bot_id}", headers=admin.headers, json={"visibility": "hidden"})
    assert hidden.status_code == 200, hidden.text
    refused = _ask(endpoint, key)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "bot_unavailable"


def test_an_admin_unpublishes_someone_elses_bot_and_its_key_stops(stack, http, admin):
    owner = _publisher(stack, http, "e2e-hostile-unpublish@example.com")
    bot_id, endpoint, key = _published(http, owner)
    assert _ask(endpoint, key).status_code == 200
    other = _publisher(stack, http, "e2e-hostile-other@example.com")
    assert http.delete(f"/bots/{bot_id}/publication", headers=other.headers).status_code in (403, 404)
    removed = http.delete(f"/bots/{bot_id}/publication", headers=admin.headers)
    assert removed.status_code == 204, removed.text
    assert _ask(endpoint, key).status_code in (401, 403)
    assert http.get(f"/bots/{bot_id}", headers=owner.headers).json()["published"] is False


def test_an_owner_removed_from_publish_allowed_no_longer_serves(stack, http, admin):
    owner = _publisher(stack, http, "e2e-hostile-demoted@example.com")
    _, endpoint, key = _published(http, owner)
    removed = http.post(
        "/admin/removeUserFromGroup",
        headers=admin.headers,
        json={"username": owner.registration["user_id"], "groupname": "PublishAllowed"},
    )
    assert removed.status_code == 200, removed.text
    refused = _ask(endpoint, key)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "bot_unavailable"


def test_publishing_beyond_the_configured_maximum_is_400(stack, http):
    owner = _publisher(stack, http, "e2e-hostile-greedy@example.com")
    bot_id = _bot(http, owner)["bot_id"]
    greedy = {**PUBLICATION, "throttle": {"rate_limit": 10_000, "burst_limit": 10}}
    refused = http.post(f"/bots/{bot_id}/publication", headers=owner.headers, json=greedy)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "publication_limit_exceeded"


def test_the_bot_list_pages_with_a_next_token(http):
    owner = sign_up(http, "e2e-hostile-pager@example.com")
    made = [_bot(http, owner, title=f"Pager {n}")["bot_id"] for n in range(5)]
    seen, token = [], None
    for _ in range(10):
        params = {"limit": 2, **({"next_token": token} if token else {})}
        page = http.get("/bots", headers=owner.headers, params=params)
        assert page.status_code == 200, page.text
        assert len(page.json()["mine"]) + len(page.json()["shared_with_me"]) <= 2
        seen += [bot["bot_id"] for bot in page.json()["mine"]]
        token = page.json()["next_token"]
        if token is None:
            break
    assert seen == list(reversed(made))
    too_many = http.get("/bots", headers=owner.headers, params={"limit": 101})
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (422, "validation_error")
    forged = http.get("/bots", headers=owner.headers, params={"next_token": "forged.token"})
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "invalid_next_token"


def test_too_many_allowed_users_is_400(http):
    owner = sign_up(http, "e2e-hostile-sharer@example.com")
    refused = http.post(
        "/bots",
        headers=owner.headers,
        json={
            "title": "Too shared",
            "model_id": LLAMA,
            "shared_scope": "partial",
            "allowed_users": [f"colleague{n}@example.com" for n in range(21)],
        },
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "too_many_allowed_users"
