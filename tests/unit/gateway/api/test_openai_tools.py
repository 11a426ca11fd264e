"""/v1/chat/completions tool calling, reasoning and cache usage, mapped to Converse and back."""

import json

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from tests.support.aws import REGION
from tests.unit.gateway.api.helpers import signed_up

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time"}}


def converse_answer(content, stop="end_turn", **usage):
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, **usage},
        "metrics": {"latencyMs": 5},
    }


def chat(api, key, **body):
    return api.post("/v1/chat/completions", headers={"x-api-key": key}, json={"model": HAIKU, **body})


@pytest.fixture
def key(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    return headers["x-api-key"]


def test_tools_and_auto_choice_map_to_tool_config_and_tool_use_maps_to_tool_calls(api, bedrock, key):
    bedrock.runtime.add_response(
        "converse",
        converse_answer(
            [
                {"text": "Let me look."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
            ],
            stop="tool_use",
        ),
    )
    response = chat(
        api,
        key,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER, CLOCK],
        tool_choice="auto",
    )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [
            {
                "id": "tooluse_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
            }
        ],
    }
    _, params = bedrock.calls[-1]
    assert params["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather of a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            },
            # No parameters declared: an empty object schema, which Bedrock requires.
            {"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}},
        ],
        "toolChoice": {"auto": {}},
    }


def test_only_tool_calls_answer_null_content(api, bedrock, key):
    bedrock.runtime.add_response(
        "converse",
        converse_answer([{"toolUse": {"toolUseId": "t2", "name": "get_time", "input": {}}}], stop="tool_use"),
    )
    response = chat(api, key, messages=[{"role": "user", "content": "time?"}], tools=[CLOCK])
    message = response.json()["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"][0]["function"] == {"name": "get_time", "arguments": "{}"}
    _, params = bedrock.calls[-1]
    assert "toolChoice" not in params["toolConfig"]  # no tool_choice: Bedrock's default (auto)


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("required", {"any": {}}),
        ({"type": "function", "function": {"name": "get_time"}}, {"tool": {"name": "get_time"}}),
    ],
)
def test_tool_choice_required_and_named(api, bedrock, key, tool_choice, expected):
    bedrock.converse("ok", 3, 1)
    response = chat(
        api,
        key,
        messages=[{"role": "user", "content": "hi"}],
        tools=[WEATHER, CLOCK],
        tool_choice=tool_choice,
    )
    assert response.status_code == 200, response.text
    _, params = bedrock.calls[-1]
    assert params["toolConfig"]["toolChoice"] == expected


def test_tool_choice_none_sends_no_tools(api, bedrock, key):
    bedrock.converse("plain", 3, 1)
    response = chat(
        api, key, messages=[{"role": "user", "content": "hi"}], tools=[WEATHER], tool_choice="none"
    )
    assert response.status_code == 200, response.text
    _, params = bedrock.calls[-1]
    assert "toolConfig" not in params


def test_tool_loop_history_maps_to_tool_use_and_merged_tool_results(api, bedrock, key):
    bedrock.converse("Paris: sunny, 21 C at noon", 30, 8)
    response = chat(
        api,
        key,
        tools=[WEATHER, CLOCK],
        messages=[
            {"role": "user", "content": "Weather in Paris and the time?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Paris: sunny, 21 C at noon",
    }
    assert response.json()["choices"][0]["finish_reason"] == "stop"
    _, params = bedrock.calls[-1]
    assert params["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and the time?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "call_2", "name": "get_time", "input": {}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny, 21 C"}]}},
                {"toolResult": {"toolUseId": "call_2", "content": [{"text": "noon"}]}},
            ],
        },
    ]


def test_assistant_text_and_tool_calls_share_one_turn(api, bedrock, key):
    bedrock.converse("done", 3, 1)
    call = {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    chat(
        api,
        key,
        tools=[CLOCK],
        messages=[
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "noon"},
        ],
    )
    _, params = bedrock.calls[-1]
    assert params["messages"][1] == {
        "role": "assistant",
        "content": [{"text": "Checking."}, {"toolUse": {"toolUseId": "c1", "name": "get_time", "input": {}}}],
    }


def _history(arguments="{}", tool_call_id="c1"):
    return [
        {"role": "user", "content": "time?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": tool_call_id, "content": "noon"},
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"tools": [CLOCK], "messages": _history(arguments="{not json")}, 400, "invalid_tool_arguments"),
        ({"tools": [CLOCK], "messages": _history(arguments="[1, 2]")}, 400, "invalid_tool_arguments"),
        ({"messages": _history()}, 400, "tools_required"),
        ({"tools": [CLOCK], "tool_choice": "none", "messages": _history()}, 400, "tools_required"),
        (
            {
                "tools": [CLOCK],
                "tool_choice": {"type": "function", "function": {"name": "other"}},
                "messages": [],
            },
            422,
            "validation_error",
        ),
        (
            {
                "tools": [CLOCK],
                "tool_choice": {"type": "function", "function": {"name": "other"}},
                "messages": [{"role": "user", "content": "hi"}],
            },
            400,
            "unknown_tool_choice",
        ),
        (
            {"tool_choice": "required", "messages": [{"role": "user", "content": "hi"}]},
            400,
            "tool_choice_without_tools",
        ),
        (
            {"tools": [CLOCK, CLOCK], "messages": [{"role": "user", "content": "hi"}]},
            400,
            "duplicate_tool_name",
        ),
        (
            {
                "tools": [{"type": "function", "function": {"name": "bad name!"}}],
                "messages": [{"role": "user", "content": "hi"}],
            },
            422,
            "validation_error",
        ),
        (
            {
                "tools": [CLOCK],
                "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}],
            },
            400,
            "invalid_messages",
        ),
        ({"messages": [{"role": "user", "content": None}]}, 400, "invalid_messages"),
        (
            {
                "tools": [CLOCK],
                "messages": [
                    {
                        "role": "user",
                        "content": "hi",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "get_time", "arguments": "{}"},
                            }
                        ],
                    }
                ],
            },
            400,
            "invalid_messages",
        ),
        ({"tools": [CLOCK], "messages": _history(tool_call_id="has space")}, 422, "validation_error"),
    ],
)
def test_bad_tool_shapes_are_refused_before_bedrock(api, bedrock, key, body, status, code):
    response = chat(api, key, **body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert not [name for name, _ in bedrock.calls if name == "Converse"]


def test_stream_carries_tool_calls_with_their_index(api, bedrock, key):
    bedrock.runtime.add_response(
        "converse",
        converse_answer([{"toolUse": {"toolUseId": "t9", "name": "get_time", "input": {}}}], stop="tool_use"),
    )
    response = chat(api, key, messages=[{"role": "user", "content": "time?"}], tools=[CLOCK], stream=True)
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["tool_calls"] == [
        {"id": "t9", "type": "function", "function": {"name": "get_time", "arguments": "{}"}, "index": 0}
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_content_and_cached_tokens_in_the_openai_shape_and_cost(api, bedrock):
    headers, registration, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_response(
        "converse",
        converse_answer(
            [{"reasoningContent": {"reasoningText": {"text": "2 and 2 make 4"}}}, {"text": "4"}],
            inputTokens=1000,
            outputTokens=100,
            totalTokens=1000 + 100 + 2000 + 400,
            cacheReadInputTokens=2000,
            cacheWriteInputTokens=400,
        ),
    )
    response = chat(api, headers["x-api-key"], messages=[{"role": "user", "content": "2+2?"}])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "4",
        "reasoning_content": "2 and 2 make 4",
    }
    assert body["usage"] == {
        "prompt_tokens": 3400,
        "completion_tokens": 100,
        "total_tokens": 3500,
        "prompt_tokens_details": {"cached_tokens": 2000},
    }
    # Haiku: 0.25 in, 1.25 out, 0.03 cache read, 0.30 cache write per million tokens (micro-dollars a token).
    items = (
        boto3.resource("dynamodb", region_name=REGION)
        .Table("gateway-test-usage")
        .query(KeyConditionExpression=Key("pk").eq(f"USER#{registration['user_id']}"))["Items"]
    )
    day = next(item for item in items if item["sk"].startswith("DAY") and item["sk"].endswith("#TOTAL"))
    assert int(day["cost_micros"]) == round(1000 * 0.25 + 100 * 1.25 + 2000 * 0.03 + 400 * 0.3)


def test_no_cache_tokens_no_details(api, bedrock, key):
    bedrock.converse("Hi", 2, 1)
    body = chat(api, key, messages=[{"role": "user", "content": "Hello"}]).json()
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    assert "reasoning_content" not in body["choices"][0]["message"]
