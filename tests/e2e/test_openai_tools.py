"""A standard tool loop with the official `openai` client through the local gateway (the local Bedrock calls
a listed tool the prompt names, with input from the prompt, and echoes the tool's result)."""

import json

import pytest

from tests.e2e.conftest import openai_client, signed_up

pytestmark = pytest.mark.e2e

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def client(stack):
    return openai_client(stack, signed_up(stack, "e2e-openai-tools@example.com"))


def test_a_two_step_tool_loop_with_the_openai_client(client):
    messages = [{"role": "user", "content": "Use get_weather for city=Paris"}]
    first = client.chat.completions.create(
        model=HAIKU, messages=messages, tools=[WEATHER], tool_choice="auto"
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny and 21 C in Paris"})
    second = client.chat.completions.create(model=HAIKU, messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert "sunny and 21 C in Paris" in second.choices[0].message.content
    assert not second.choices[0].message.tool_calls
    assert second.usage.prompt_tokens > 0


def test_tool_choice_none_answers_text(client):
    answer = client.chat.completions.create(
        model=HAIKU,
        messages=[{"role": "user", "content": "Use get_weather for city=Paris"}],
        tools=[WEATHER],
        tool_choice="none",
    )
    assert answer.choices[0].finish_reason == "stop"
    assert answer.choices[0].message.content == "Echo: Use get_weather for city=Paris"
