"""The local model's Converse tool use: calling a listed tool the prompt names, answering its result."""

import pytest
from gateway_localstack.bedrock import runtime
from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.tools import tool_input

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather of a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            }
        },
    }
}
SEARCH = {"toolSpec": {"name": "search", "inputSchema": {"json": {"type": "object"}}}}


def converse(messages, tool_config=None):
    request = {"modelId": HAIKU, "messages": messages}
    if tool_config is not None:
        request["toolConfig"] = tool_config
    return runtime.converse(request, {}, sleep=lambda _: None)


def user(text):
    return {"role": "user", "content": [{"text": text}]}


def test_a_prompt_naming_a_listed_tool_calls_it_with_input_from_the_prompt():
    answer = converse([user("Use get_weather with city=Paris please")], {"tools": [SEARCH, WEATHER]})
    assert answer["stopReason"] == "tool_use"
    [block] = answer["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == "get_weather"
    assert use["input"] == {"city": "Paris"}  # only the required property
    assert use["toolUseId"].startswith("tooluse_")
    # Deterministic: the same prompt, the same id.
    again = converse([user("Use get_weather with city=Paris please")], {"tools": [SEARCH, WEATHER]})
    assert again["output"]["message"]["content"][0]["toolUse"]["toolUseId"] == use["toolUseId"]
    assert answer["usage"]["outputTokens"] == 3  # `get_weather {"city": "Paris"}`
    assert answer["usage"]["inputTokens"] > 6  # the tool specs count as prompt


def test_a_schema_without_properties_gets_the_prompt_as_query():
    answer = converse([user("search for red apples")], {"tools": [SEARCH]})
    assert answer["output"]["message"]["content"][0]["toolUse"]["input"] == {"query": "search for red apples"}


@pytest.mark.parametrize(
    ("schema", "text", "expected"),
    [
        (
            {"type": "object", "properties": {"city": {"type": "string"}}},
            "weather here",
            {"city": "weather here"},
        ),
        (
            {"type": "object", "properties": {"n": {"type": "integer"}, "f": {"type": "boolean"}}},
            "n=12 f=true",
            {"n": 12, "f": True},
        ),
        ({"properties": {"unit": {"type": "string", "enum": ["C", "F"]}}}, "x", {"unit": "C"}),
        ({"properties": {"n": {"type": "number"}}, "required": ["n"]}, "none given", {"n": 0}),
    ],
)
def test_tool_input_fills_the_schema_from_the_prompt(schema, text, expected):
    assert tool_input(schema, text) == expected


def test_no_tool_named_is_an_ordinary_echo():
    answer = converse([user("hello there")], {"tools": [WEATHER]})
    assert answer["stopReason"] == "end_turn"
    assert answer["output"]["message"]["content"] == [{"text": "Echo: hello there"}]


def test_tool_choice_tool_and_any():
    named = converse(
        [user("hello")], {"tools": [SEARCH, WEATHER], "toolChoice": {"tool": {"name": "get_weather"}}}
    )
    assert named["output"]["message"]["content"][0]["toolUse"]["name"] == "get_weather"
    any_tool = converse([user("hello")], {"tools": [SEARCH, WEATHER], "toolChoice": {"any": {}}})
    assert any_tool["output"]["message"]["content"][0]["toolUse"]["name"] == "search"


def test_a_tool_result_is_answered_with_its_text():
    use = {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny and 21 C"}]}}
    answer = converse(
        [
            user("Use get_weather for Paris"),
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
        {"tools": [WEATHER]},
    )
    assert answer["stopReason"] == "end_turn"
    assert answer["output"]["message"]["content"] == [{"text": "Echo: sunny and 21 C"}]


@pytest.mark.parametrize(
    ("messages", "tool_config", "message"),
    [
        (
            [
                user("x"),
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "a", "input": {}}}]},
            ],
            None,
            "toolConfig field must be defined",
        ),
        ([user("x")], {"tools": []}, "at least one tool"),
        ([user("x")], {"tools": [{"toolSpec": {"name": "bad name", "inputSchema": {"json": {}}}}]}, "name"),
        ([user("x")], {"tools": [{"toolSpec": {"name": "a"}}]}, "inputSchema"),
        ([user("x")], {"tools": [WEATHER], "toolChoice": {"tool": {"name": "other"}}}, "not a listed tool"),
    ],
)
def test_bad_tool_requests_are_validation_errors(messages, tool_config, message):
    with pytest.raises(BedrockError) as raised:
        converse(messages, tool_config)
    assert raised.value.code == "ValidationException"
    assert message in raised.value.message
