import boto3
import pytest
from botocore.stub import Stubber

from gateway import deps
from tests.support.aws import REGION
from tests.unit.gateway.api.helpers import member_of, signed_up

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HANDBOOK = (
    "Office hours are nine to five.\n\n"
    "The capital of Zorbania is Quuxville, famous for its glass bridges.\n\n"
    "Parking is free for bicycles."
)


def _bot(api, bedrock, headers, **fields):
    bedrock.catalog()
    body = {"title": "Helper", "model_id": HAIKU, **fields}
    response = api.post("/bots", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _chat(api, bedrock, headers, bot_id, content, reply="Noted"):
    bedrock.catalog()
    conversation = api.post("/conversations", headers=headers, json={"bot_id": bot_id})
    assert conversation.status_code == 201, conversation.text
    bedrock.converse(reply, 20, 2)
    response = api.post(
        f"/conversations/{conversation.json()['conversation_id']}/messages",
        headers=headers,
        json={"content": content},
    )
    return conversation.json(), response


def test_a_bot_answers_with_its_instruction_parameters_and_the_relevant_document(api, bedrock):
    headers, _, _ = signed_up(api)
    bot = _bot(
        api,
        bedrock,
        headers,
        instruction="You answer questions about Zorbania.",
        inference_parameters={"max_tokens": 300, "temperature": 0.2},
        knowledge={
            "documents": [
                {"name": "zorbania.md", "text": HANDBOOK},
                {"name": "menu.txt", "text": "Lunch is soup on Mondays and fish on Fridays."},
            ]
        },
    )
    assert bot["knowledge"]["documents"] == [
        {"name": "zorbania.md", "size_bytes": len(HANDBOOK.encode())},
        {"name": "menu.txt", "size_bytes": 45},
    ]
    conversation, response = _chat(api, bedrock, headers, bot["bot_id"], "What is the capital of Zorbania?")
    assert response.status_code == 200, response.text
    assert conversation["model_id"] == HAIKU
    assert conversation["bot_id"] == bot["bot_id"]
    assert response.json()["reply"]["sources"] == ["zorbania.md"]

    operation, params = bedrock.calls[-1]
    assert operation == "Converse"
    assert params["system"] == [{"text": "You answer questions about Zorbania."}]
    assert params["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.2}
    sent = params["messages"][-1]["content"][0]["text"]
    assert "Quuxville" in sent
    assert 'source="zorbania.md"' in sent
    assert "soup" not in sent  # the unrelated document stays out of the prompt
    assert sent.rstrip().endswith("</question>")
    assert "What is the capital of Zorbania?" in sent
    # What the user asked is kept as they asked it.
    assert response.json()["message"]["content"] == "What is the capital of Zorbania?"
    assert api.get(f"/bots/{bot['bot_id']}", headers=headers).json()["use_count"] == 1


def test_partial_sharing_decides_who_sees_the_bot(api, bedrock, stack):
    owner, _, _ = signed_up(api)
    friend, friend_registration, _ = signed_up(api, email="grace@example.com")
    stranger, _, _ = signed_up(api, email="eve@example.com")
    publisher, _ = member_of(api, stack, "pat@example.com", "PublishAllowed")
    bot = _bot(
        api,
        bedrock,
        owner,
        instruction="secret sauce",
        shared_scope="partial",
        allowed_users=["Grace@Example.com"],
        allowed_groups=["PublishAllowed"],
    )
    bot_id = bot["bot_id"]
    assert bot["allowed_users"] == [{"user_id": friend_registration["user_id"], "email": "grace@example.com"}]

    for viewer in (friend, publisher):
        listed = api.get("/bots", headers=viewer).json()
        assert [b["bot_id"] for b in listed["shared_with_me"]] == [bot_id]
        seen = api.get(f"/bots/{bot_id}", headers=viewer).json()
        assert seen["is_owner"] is False
        assert seen["instruction"] is None
        assert _chat(api, bedrock, viewer, bot_id, "hello")[1].status_code == 200
        refused = api.patch(f"/bots/{bot_id}", headers=viewer, json={"title": "Mine now"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_bot_owner")
        assert api.delete(f"/bots/{bot_id}", headers=viewer).status_code == 403

    assert api.get("/bots", headers=stranger).json()["shared_with_me"] == []
    hidden = api.get(f"/bots/{bot_id}", headers=stranger)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "bot_not_found")
    assert api.patch(f"/bots/{bot_id}", headers=stranger, json={"title": "x"}).status_code == 404
    assert api.post("/conversations", headers=stranger, json={"bot_id": bot_id}).status_code == 404

    # Unsharing takes effect at once, even in a conversation already begun.
    conversation, _ = _chat(api, bedrock, friend, bot_id, "first")
    bedrock.catalog()
    assert api.patch(f"/bots/{bot_id}", headers=owner, json={"allowed_users": []}).status_code == 200
    assert api.get("/bots", headers=friend).json()["shared_with_me"] == []
    again = api.post(
        f"/conversations/{conversation['conversation_id']}/messages", headers=friend, json={"content": "more"}
    )
    assert again.status_code == 404
    mine = api.get("/bots", headers=owner).json()
    assert [b["bot_id"] for b in mine["mine"]] == [bot_id]
    assert mine["mine"][0]["instruction"] == "secret sauce"


def test_the_store_lists_bots_shared_with_everyone_essential_first_then_by_use(api, bedrock, stack):
    owner, _, _ = signed_up(api)
    reader, _, _ = signed_up(api, email="grace@example.com")
    admin, _ = member_of(api, stack, "root@example.com", "Admin")
    popular = _bot(api, bedrock, owner, title="Popular translator", shared_scope="all")["bot_id"]
    quiet = _bot(api, bedrock, owner, title="Quiet poet", shared_scope="all")["bot_id"]
    chosen = _bot(
        api, bedrock, owner, title="Chosen helper", description="Translator too", shared_scope="all"
    )["bot_id"]
    _bot(api, bedrock, owner, title="Private diary")
    for _ in range(2):
        assert _chat(api, bedrock, reader, popular, "hi")[1].status_code == 200
    assert _chat(api, bedrock, reader, quiet, "hi")[1].status_code == 200

    def store(query=None, **params):
        response = api.get(
            "/bots/store", headers=reader, params={"query": query, **params} if query else params
        )
        assert response.status_code == 200, response.text
        return response.json()

    assert [b["bot_id"] for b in store()["bots"]] == [popular, quiet, chosen]

    governed = api.patch(f"/admin/bots/{chosen}", headers=admin, json={"essential": True})
    assert governed.status_code == 200
    assert governed.json()["essential"] is True
    assert [b["bot_id"] for b in store()["bots"]] == [chosen, popular, quiet]
    assert [b["bot_id"] for b in store("TRANSLATOR")["bots"]] == [chosen, popular]

    first = store(limit=2)
    assert [b["bot_id"] for b in first["bots"]] == [chosen, popular]
    assert first["next_token"]
    second = store(limit=2, next_token=first["next_token"])
    assert [b["bot_id"] for b in second["bots"]] == [quiet]
    assert second["next_token"] is None
    forged = api.get("/bots/store", headers=reader, params={"next_token": first["next_token"] + "x"})
    assert (forged.status_code, forged.json()["error"]["code"]) == (400, "invalid_next_token")

    # Hidden by an admin: out of the store and out of reach, except for its owner.
    assert (
        api.patch(f"/admin/bots/{popular}", headers=admin, json={"visibility": "hidden"}).status_code == 200
    )
    assert [b["bot_id"] for b in store()["bots"]] == [chosen, quiet]
    assert api.get(f"/bots/{popular}", headers=reader).status_code == 404
    assert api.get(f"/bots/{popular}", headers=owner).json()["visibility"] == "hidden"

    member_try = api.patch(f"/admin/bots/{quiet}", headers=reader, json={"essential": True})
    assert member_try.status_code == 403
    audit = boto3.client("dynamodb", region_name=REGION).scan(TableName="gateway-test-audit")["Items"]
    governing = [i for i in audit if i["action"]["S"] == "admin.bots.update"]
    assert {(i.get("resource", {}).get("S"), i["success"]["BOOL"]) for i in governing} == {
        (f"bot/{chosen}", True),
        (f"bot/{popular}", True),
        (None, False),  # the member's attempt: refused before the route ran
    }


@pytest.mark.parametrize(
    ("knowledge", "code"),
    [
        ({"documents": [{"name": f"d{i}", "text": "x"} for i in range(21)]}, "too_many_documents"),
        ({"documents": [{"name": "big", "text": "x" * 200_001}]}, "document_too_large"),
        ({"documents": [{"name": "a", "text": "x"}, {"name": "a", "text": "y"}]}, "duplicate_document_name"),
        ({"documents": [{"name": "blank", "text": "   "}]}, "empty_document"),
        (
            {"documents": [{"name": "a", "text": "x"}], "knowledge_base_id": "ABCDEFGH12"},
            "knowledge_conflict",
        ),
    ],
)
def test_knowledge_limits_are_clear_errors(api, bedrock, knowledge, code):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.post(
        "/bots", headers=headers, json={"title": "t", "model_id": HAIKU, "knowledge": knowledge}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)
    assert api.get("/bots", headers=headers).json()["mine"] == []


def test_bad_bots_are_refused(api, bedrock, stack):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    for body, status, code in [
        ({"title": "t", "model_id": HAIKU, "allowed_users": ["nobody@example.com"]}, 400, "unknown_user"),
        ({"title": "t", "model_id": HAIKU, "allowed_groups": ["Wizards"]}, 400, "unknown_group"),
        ({"title": "t", "model_id": "anthropic.nope"}, 404, "model_not_found"),
        ({"title": "", "model_id": HAIKU}, 422, "validation_error"),
        (
            {"title": "t", "model_id": HAIKU, "inference_parameters": {"temperature": 3}},
            422,
            "validation_error",
        ),
        (
            {"title": "t", "model_id": HAIKU, "knowledge": {"knowledge_base_id": "not an id"}},
            422,
            "validation_error",
        ),
    ]:
        bedrock.catalog()
        response = api.post("/bots", headers=headers, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
    assert api.get("/bots/not-hex", headers=headers).status_code == 422

    # Creating needs CreatingBotAllowed (members join it on sign-up; an admin may take it away). Rights follow
    # Cognito, not the token: the same token is refused once the change is known (as the admin API makes it).
    boto3.client("cognito-idp", region_name=REGION).admin_remove_user_from_group(
        UserPoolId=stack.user_pool_id, Username=registration["user_id"], GroupName="CreatingBotAllowed"
    )
    deps.user_standings.get().changed(registration["user_id"])
    refused = api.post("/bots", headers=headers, json={"title": "t"})
    assert refused.status_code == 403


def test_owner_updates_documents_and_deletes(api, bedrock):
    headers, _, _ = signed_up(api)
    bot = _bot(
        api, bedrock, headers, knowledge={"documents": [{"name": "old.txt", "text": "Bananas are blue."}]}
    )
    bot_id = bot["bot_id"]
    updated = api.patch(
        f"/bots/{bot_id}",
        headers=headers,
        json={
            "title": "Renamed",
            "knowledge": {"documents": [{"name": "new.txt", "text": "Bananas are yellow."}]},
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "Renamed"
    assert updated.json()["knowledge"]["documents"] == [{"name": "new.txt", "size_bytes": 19}]
    _, response = _chat(api, bedrock, headers, bot_id, "What colour are bananas?")
    sent = bedrock.calls[-1][1]["messages"][-1]["content"][0]["text"]
    assert "yellow" in sent
    assert "blue" not in sent
    assert response.json()["reply"]["sources"] == ["new.txt"]
    # The old version's documents are gone from the table, not only unreferenced.
    items = boto3.client("dynamodb", region_name=REGION).query(
        TableName="gateway-test-bots",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :doc)",
        ExpressionAttributeValues={":pk": {"S": f"BOT#{bot_id}"}, ":doc": {"S": "DOC#"}},
    )["Items"]
    assert [i["name"]["S"] for i in items] == ["new.txt"]

    assert api.delete(f"/bots/{bot_id}", headers=headers).status_code == 204
    assert api.get(f"/bots/{bot_id}", headers=headers).status_code == 404
    left = boto3.client("dynamodb", region_name=REGION).query(
        TableName="gateway-test-bots",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"BOT#{bot_id}"}},
    )["Items"]
    assert left == []


def test_a_knowledge_base_bot_retrieves_from_bedrock(api, bedrock, monkeypatch):
    import gateway.providers.knowledge_bases as knowledge_bases
    from gateway.aws import client

    agent_runtime = client("bedrock-agent-runtime")
    monkeypatch.setattr(knowledge_bases, "client", lambda service: agent_runtime)
    headers, _, _ = signed_up(api)
    bot = _bot(api, bedrock, headers, knowledge={"knowledge_base_id": "ABCDEFGH12"})
    with Stubber(agent_runtime) as stub:
        stub.add_response(
            "retrieve",
            {
                "retrievalResults": [
                    {
                        "content": {"text": "Staff get 25 vacation days."},
                        "location": {"type": "S3", "s3Location": {"uri": "s3://docs/handbook.pdf"}},
                    }
                ]
            },
            {
                "knowledgeBaseId": "ABCDEFGH12",
                "retrievalQuery": {"text": "How many vacation days?"},
                "retrievalConfiguration": {"vectorSearchConfiguration": {"numberOfResults": 4}},
            },
        )
        _, response = _chat(api, bedrock, headers, bot["bot_id"], "How many vacation days?")
        stub.assert_no_pending_responses()
    assert response.status_code == 200, response.text
    assert response.json()["reply"]["sources"] == ["s3://docs/handbook.pdf"]
    assert "25 vacation days" in bedrock.calls[-1][1]["messages"][-1]["content"][0]["text"]


def test_only_the_allowed_knowledge_bases_can_be_named(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    refused = api.post(
        "/bots",
        headers=headers,
        json={"title": "t", "model_id": HAIKU, "knowledge": {"knowledge_base_id": "OTHERKB123"}},
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "knowledge_base_not_allowed"
    assert "OTHERKB123" in error["message"]
    assert "allowed: ABCDEFGH12" in error["message"]
    assert api.get("/bots", headers=headers).json()["mine"] == []

    bot = _bot(api, bedrock, headers, knowledge={"knowledge_base_id": "ABCDEFGH12"})
    moved = api.patch(
        f"/bots/{bot['bot_id']}", headers=headers, json={"knowledge": {"knowledge_base_id": "OTHERKB123"}}
    )
    assert (moved.status_code, moved.json()["error"]["code"]) == (400, "knowledge_base_not_allowed")
    assert api.get(f"/bots/{bot['bot_id']}", headers=headers).json()["knowledge"]["knowledge_base_id"] == (
        "ABCDEFGH12"
    )


def test_a_bot_whose_knowledge_base_was_delisted_fails_clearly_at_chat_time(api, bedrock, monkeypatch):
    import gateway.providers.knowledge_bases as knowledge_bases
    from gateway import deps
    from gateway.aws import client
    from gateway.settings import get_settings

    agent_runtime = client("bedrock-agent-runtime")
    monkeypatch.setattr(knowledge_bases, "client", lambda service: agent_runtime)
    headers, _, _ = signed_up(api)
    bot = _bot(api, bedrock, headers, knowledge={"knowledge_base_id": "ABCDEFGH12"})

    # The administrators take it off Terraform's knowledge_base_ids; the function restarts with the new list.
    monkeypatch.setenv("GATEWAY_KNOWLEDGE_BASE_IDS", "[]")
    get_settings.cache_clear()
    deps.reset()
    with Stubber(agent_runtime) as stub:  # no answer queued: a Retrieve would fail the test
        _, response = _chat(api, bedrock, headers, bot["bot_id"], "How many vacation days?")
        stub.assert_no_pending_responses()
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "knowledge_base_not_allowed"
    assert "none is allowed" in error["message"]

    # Its owner can still edit it, and drop the knowledge base.
    renamed = api.patch(f"/bots/{bot['bot_id']}", headers=headers, json={"title": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    cleared = api.patch(
        f"/bots/{bot['bot_id']}", headers=headers, json={"knowledge": {"knowledge_base_id": None}}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["knowledge"]["knowledge_base_id"] is None
