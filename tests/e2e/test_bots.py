"""Bots through the local API Gateway: knowledge in the prompt, partial sharing, a published bot's own API
with its key, quota (429 from the gateway) and revocation (403)."""

import json

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, User, sign_up

pytestmark = pytest.mark.e2e

LLAMA = "meta.llama3-8b-instruct-v1:0"
FACTS = "The capital of Zorbania is Quuxville, famous for its glass bridges."
QUOTA = 3


def _bot(http: httpx.Client, owner: User, **fields) -> dict:
    body = {
        "title": "Zorbania guide",
        "model_id": LLAMA,
        "instruction": "Answer questions about Zorbania.",
        "knowledge": {
            "documents": [
                {"name": "zorbania.md", "text": FACTS},
                {"name": "canteen.txt", "text": "Lunch is lentil soup on Mondays and fish on Fridays."},
            ]
        },
        **fields,
    }
    response = http.post("/bots", headers=owner.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _in_group(stack, http: httpx.Client, email: str, group: str) -> User:
    person = sign_up(http, email)
    stack.aws("cognito-idp").admin_add_user_to_group(
        UserPoolId=stack.outputs["user_pool_id"], Username=person.registration["user_id"], GroupName=group
    )
    tokens = http.post("/login", json={"email": email, "password": PASSWORD}).json()
    return User(email=email, registration=person.registration, tokens=tokens)


def test_chatting_with_a_bot_puts_the_relevant_document_in_the_prompt(http):
    owner = sign_up(http, "e2e-bot-owner@example.com")
    bot = _bot(http, owner)
    conversation = http.post("/conversations", headers=owner.headers, json={"bot_id": bot["bot_id"]})
    assert conversation.status_code == 201, conversation.text
    assert conversation.json()["model_id"] == LLAMA
    sent = http.post(
        f"/conversations/{conversation.json()['conversation_id']}/messages",
        headers=owner.headers,
        json={"content": "What is the capital of Zorbania?"},
    )
    assert sent.status_code == 200, sent.text
    reply = sent.json()["reply"]
    # The local model echoes the start of the user turn it received: the retrieved document comes first.
    assert "Quuxville" in reply["content"]
    assert 'source="zorbania.md">' in reply["content"]
    assert "lentil" not in reply["content"]
    assert reply["sources"] == ["zorbania.md"]
    # Its words were sent and metered: instruction, document and question, not just the question's 6 words.
    assert sent.json()["usage"]["input_tokens"] > 20


def test_a_partially_shared_bot_is_seen_by_whom_it_names_only(http):
    owner = sign_up(http, "e2e-share-owner@example.com")
    friend = sign_up(http, "e2e-share-friend@example.com")
    stranger = sign_up(http, "e2e-share-stranger@example.com")
    bot_id = _bot(http, owner, shared_scope="partial", allowed_users=[friend.email])["bot_id"]

    listed = http.get("/bots", headers=friend.headers).json()
    assert [bot["bot_id"] for bot in listed["shared_with_me"]] == [bot_id]
    assert http.get(f"/bots/{bot_id}", headers=friend.headers).status_code == 200
    assert http.post("/conversations", headers=friend.headers, json={"bot_id": bot_id}).status_code == 201
    assert http.patch(f"/bots/{bot_id}", headers=friend.headers, json={"title": "x"}).status_code == 403

    assert http.get("/bots", headers=stranger.headers).json()["shared_with_me"] == []
    assert http.get(f"/bots/{bot_id}", headers=stranger.headers).status_code == 404
    assert http.post("/conversations", headers=stranger.headers, json={"bot_id": bot_id}).status_code == 404


def test_a_published_bot_has_its_own_key_quota_and_revocation(stack, http):
    publisher = _in_group(stack, http, "e2e-publisher@example.com", "PublishAllowed")
    bot_id = _bot(http, publisher)["bot_id"]
    published = http.post(
        f"/bots/{bot_id}/publication",
        headers=publisher.headers,
        json={"throttle": {"rate_limit": 50, "burst_limit": 50}, "quota": {"limit": QUOTA, "period": "DAY"}},
    )
    assert published.status_code == 201, published.text
    endpoint = published.json()["endpoint"]
    first_key = published.json()["key"]

    def ask(key: str) -> httpx.Response:
        # The endpoint as the API reported it, with the bot's key alone: no token.
        return httpx.post(
            endpoint,
            headers={"x-api-key": key},
            json={"content": "What is the capital of Zorbania?"},
            timeout=30,
        )

    answers = [ask(first_key["api_key"]) for _ in range(QUOTA)]
    assert [a.status_code for a in answers] == [200] * QUOTA, [a.text for a in answers]
    assert "Quuxville" in answers[0].json()["reply"]["content"]
    over = ask(first_key["api_key"])
    assert over.status_code == 429, over.text  # the bot's usage plan, at the gateway

    # A user's key does not open the bot's API (the gateway lets it through; the app refuses it).
    refused = ask(publisher.registration["api_key"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "api_key_unknown")

    second = http.post(f"/bots/{bot_id}/publication/api-keys", headers=publisher.headers)
    assert second.status_code == 201, second.text
    second_key = second.json()
    assert ask(second_key["api_key"]).status_code == 200

    detail = http.get(f"/bots/{bot_id}/publication", headers=publisher.headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["usage"]["today"]["requests"] == QUOTA + 1
    assert detail.json()["usage"]["today"]["cost_usd"] > 0
    assert {key["key_id"] for key in detail.json()["keys"]} == {first_key["key_id"], second_key["key_id"]}
    plan = stack.aws("apigateway").get_usage_plan(usagePlanId=detail.json()["usage_plan_id"])
    assert plan["quota"]["limit"] == QUOTA
    assert plan["apiStages"] == [
        {"apiId": stack.outputs["rest_api_id"], "stage": stack.outputs["stage_name"]}
    ]

    revoked = http.delete(
        f"/bots/{bot_id}/publication/api-keys/{second_key['key_id']}", headers=publisher.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert ask(second_key["api_key"]).status_code == 403

    assert http.delete(f"/bots/{bot_id}/publication", headers=publisher.headers).status_code == 204
    plans = stack.aws("apigateway").get_usage_plans()["items"]
    assert detail.json()["usage_plan_id"] not in {p["id"] for p in plans}
    assert ask(first_key["api_key"]).status_code == 403


def test_the_function_may_manage_only_this_apis_keys_and_plans(stack):
    iam = stack.aws("iam")
    function = stack.aws("lambda").get_function(FunctionName=stack.outputs["function_name"])
    role_name = function["Configuration"]["Role"].rsplit("/", 1)[-1]
    policy_name = f"{stack.outputs['function_name']}-api-keys"
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    statements = {statement["Sid"]: statement for statement in document["Statement"]}
    api_id = stack.outputs["rest_api_id"]
    for sid in ("CreateKeysAndPlansOfThisApi", "ChangeAndDeleteKeysOfThisApi", "ManagePlansOfThisApi"):
        conditions = json.dumps(statements[sid]["Condition"])
        assert api_id in conditions, sid
    unconditioned = [s for s in statements.values() if "Condition" not in s]
    for statement in unconditioned:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        # Without a tag condition, only the default plan (and listing plans to find it) is reachable, and the
        # request counts of plans can be read (/usageplans/{id}/usage inherits no tag to condition on).
        reads_usage = statement["Action"] == "apigateway:GET" and all(r.endswith("/usage") for r in resources)
        assert reads_usage or all(
            stack.outputs["usage_plan_id"] in r or r.endswith("/usageplans") for r in resources
        ), statement


def test_only_the_knowledge_bases_terraform_lists_can_be_named(http):
    # terraform/envs/local allows LOCALKB001 only (knowledge_base_ids).
    owner = sign_up(http, "e2e-kb-owner@example.com")
    body = {"title": "Handbook", "model_id": LLAMA}
    accepted = http.post(
        "/bots", headers=owner.headers, json={**body, "knowledge": {"knowledge_base_id": "LOCALKB001"}}
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["knowledge"]["knowledge_base_id"] == "LOCALKB001"

    refused = http.post(
        "/bots", headers=owner.headers, json={**body, "knowledge": {"knowledge_base_id": "OTHERKB002"}}
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "knowledge_base_not_allowed"
    assert "LOCALKB001" in error["message"]
    moved = http.patch(
        f"/bots/{accepted.json()['bot_id']}",
        headers=owner.headers,
        json={"knowledge": {"knowledge_base_id": "OTHERKB002"}},
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (400, "knowledge_base_not_allowed")
