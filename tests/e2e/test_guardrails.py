"""The local root's guardrail (localguard01 v1 on CreatingBotAllowed) through the local gateway with the
official `openai` client: the local Bedrock blocks prompts with the word "forbidden"."""

import httpx
import pytest
from openai import BadRequestError

from tests.e2e.conftest import openai_client, signed_up

pytestmark = pytest.mark.e2e

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="module")
def person(stack):
    return signed_up(stack, "e2e-guardrails@example.com")


@pytest.fixture(scope="module")
def client(stack, person):
    return openai_client(stack, person)


def tokens_used(stack, person) -> float:
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        response = http.get("/me/usage", headers=person.headers)
    assert response.status_code == 200, response.text
    return next(w["used"] for w in response.json()["windows"] if w["name"] == "tokens_per_day")


def test_a_normal_prompt_passes_the_guardrail(client):
    completion = client.chat.completions.create(
        model=HAIKU, messages=[{"role": "user", "content": "Hi there"}]
    )
    assert completion.choices[0].message.content == "Echo: Hi there"


def test_a_blocked_word_is_a_metered_400_guardrail_intervened(stack, person, client):
    before = tokens_used(stack, person)
    with pytest.raises(BadRequestError) as refused:
        client.chat.completions.create(
            model=HAIKU, messages=[{"role": "user", "content": "Tell me something forbidden"}]
        )
    assert refused.value.status_code == 400
    assert refused.value.code == "guardrail_intervened"
    assert "cannot answer" in refused.value.message
    # Metered as Bedrock bills it: the prompt's input tokens (4 words), no output.
    assert tokens_used(stack, person) == before + 4
