"""bedrock-runtime's decisions: native bodies per family, Converse, counts, truncation, errors, hooks."""

import json

import pytest
from gateway_localstack.bedrock import runtime
from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.families import embedding
from gateway_localstack.bedrock.prompt import IMAGE_TOKENS, template_turns

NO_ENV: dict = {}
LONG = " ".join(f"w{i}" for i in range(1, 31))  # 30 words


def invoke(model_id, body, sleep=None):
    raw = json.dumps(body) if not isinstance(body, (bytes, str)) else body
    slept = []
    result = runtime.invoke_model(model_id, raw, NO_ENV, sleep=sleep or slept.append)
    return result


def claude3(messages, max_tokens=200, **extra):
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": messages,
        **extra,
    }


def test_anthropic_messages_shape_and_counts():
    result = invoke(
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        claude3(
            [
                {"role": "user", "content": "first question here"},
                {"role": "assistant", "content": [{"type": "text", "text": "an answer"}]},
                {"role": "user", "content": [{"type": "text", "text": "tell me a joke"}]},
            ],
            system="be brief",
        ),
    )
    body = result.body
    assert body["id"].startswith("msg_")
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    assert body["model"] == "claude-3-5-sonnet-20240620"
    assert body["content"] == [{"type": "text", "text": "Echo: tell me a joke"}]
    assert body["stop_reason"] == "end_turn"
    assert body["stop_sequence"] is None
    # 2 (system) + 3 + 2 + 4 words in; "Echo: tell me a joke" is 5 words out
    assert body["usage"] == {"input_tokens": 11, "output_tokens": 5}
    assert (result.input_tokens, result.output_tokens) == (11, 5)
    headers = result.headers()
    assert headers["X-Amzn-Bedrock-Input-Token-Count"] == "11"
    assert headers["X-Amzn-Bedrock-Output-Token-Count"] == "5"
    assert headers["Content-Type"] == "application/json"
    assert int(headers["X-Amzn-Bedrock-Invocation-Latency"]) >= 0


def test_anthropic_messages_truncated_by_max_tokens():
    body = invoke(
        "anthropic.claude-3-haiku-20240307-v1:0", claude3([{"role": "user", "content": LONG}], 3)
    ).body
    assert body["content"][0]["text"] == "Echo: w1 w2"
    assert body["stop_reason"] == "max_tokens"
    assert body["usage"] == {"input_tokens": 30, "output_tokens": 3}


def test_echo_takes_the_first_24_words():
    body = invoke("anthropic.claude-3-haiku-20240307-v1:0", claude3([{"role": "user", "content": LONG}])).body
    assert body["content"][0]["text"] == "Echo: " + " ".join(f"w{i}" for i in range(1, 25))
    assert body["usage"]["output_tokens"] == 25
    assert body["stop_reason"] == "end_turn"


def test_anthropic_legacy_shape():
    prompt = "\n\nHuman: what is the time\n\nAssistant:"
    result = invoke("anthropic.claude-v2:1", {"prompt": prompt, "max_tokens_to_sample": 50})
    assert result.body == {
        "completion": " Echo: what is the time",
        "stop_reason": "stop_sequence",
        "stop": "\n\nHuman:",
    }
    assert (result.input_tokens, result.output_tokens) == (6, 5)  # Human: what is the time Assistant:


def test_anthropic_legacy_truncated():
    prompt = "\n\nHuman: what is the time\n\nAssistant:"
    body = invoke("us.anthropic.claude-v2:1", {"prompt": prompt, "max_tokens_to_sample": 2}).body
    assert body == {"completion": " Echo: what", "stop_reason": "max_tokens", "stop": None}


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("hello", "must start with"), ("\n\nHuman: hello", "must end with")],
)
def test_anthropic_legacy_needs_the_human_assistant_turns(prompt, message):
    with pytest.raises(BedrockError, match=message) as raised:
        invoke("anthropic.claude-v2:1", {"prompt": prompt, "max_tokens_to_sample": 5})
    assert raised.value.code == "ValidationException"


def test_titan_text_shape():
    body = {
        "inputText": "User: summarise this text please\nBot:",
        "textGenerationConfig": {"maxTokenCount": 100},
    }
    result = invoke("amazon.titan-text-express-v1", body)
    assert result.body == {
        "inputTextTokenCount": 6,
        "results": [
            {"tokenCount": 5, "outputText": "Echo: summarise this text please", "completionReason": "FINISH"}
        ],
    }


def test_titan_text_truncated():
    body = {"inputText": LONG, "textGenerationConfig": {"maxTokenCount": 4}}
    result = invoke("amazon.titan-text-express-v1", body).body["results"][0]
    assert result == {"tokenCount": 4, "outputText": "Echo: w1 w2 w3", "completionReason": "LENGTH"}


def test_nova_shape():
    body = {
        "schemaVersion": "messages-v1",
        "system": [{"text": "you are terse"}],
        "messages": [{"role": "user", "content": [{"text": "name three colours"}]}],
        "inferenceConfig": {"maxTokens": 50},
    }
    result = invoke("amazon.nova-pro-v1:0", body)
    assert result.body == {
        "output": {"message": {"role": "assistant", "content": [{"text": "Echo: name three colours"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 6, "outputTokens": 4, "totalTokens": 10},
    }


def test_nova_truncated():
    body = {"messages": [{"role": "user", "content": [{"text": LONG}]}], "inferenceConfig": {"maxTokens": 1}}
    result = invoke("apac.amazon.nova-lite-v1:0", body).body
    assert result["stopReason"] == "max_tokens"
    assert result["output"]["message"]["content"] == [{"text": "Echo:"}]
    assert result["usage"] == {"inputTokens": 30, "outputTokens": 1, "totalTokens": 31}


def test_llama_shape_with_the_llama3_template():
    prompt = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhow are you<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    result = invoke("meta.llama3-8b-instruct-v1:0", {"prompt": prompt, "max_gen_len": 64})
    assert result.body == {
        "generation": "Echo: how are you",
        "prompt_token_count": len(prompt.split()),
        "generation_token_count": 4,
        "stop_reason": "stop",
    }


def test_llama_truncated():
    body = invoke("meta.llama3-70b-instruct-v1:0", {"prompt": LONG, "max_gen_len": 2}).body
    assert (body["generation"], body["generation_token_count"], body["stop_reason"]) == (
        "Echo: w1",
        2,
        "length",
    )


def test_mistral_shape():
    result = invoke("mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] tell me more [/INST]"})
    assert result.body == {"outputs": [{"text": "Echo: tell me more", "stop_reason": "stop"}]}
    assert (result.input_tokens, result.output_tokens) == (5, 4)


def test_mistral_truncated():
    body = invoke("mistral.mistral-large-2402-v1:0", {"prompt": LONG, "max_tokens": 3}).body
    assert body == {"outputs": [{"text": "Echo: w1 w2", "stop_reason": "length"}]}


def test_cohere_command_shape():
    result = invoke("cohere.command-text-v14", {"prompt": "write a haiku", "max_tokens": 2})
    body = result.body
    assert body["id"]
    assert body["prompt"] == "write a haiku"
    [generation] = body["generations"]
    assert generation["id"]
    assert (generation["text"], generation["finish_reason"]) == ("Echo: write", "MAX_TOKENS")
    assert (result.input_tokens, result.output_tokens) == (3, 2)
    complete = invoke("cohere.command-text-v14", {"prompt": "write a haiku"}).body["generations"][0]
    assert complete["finish_reason"] == "COMPLETE"


def test_cohere_command_r_shape():
    body = {
        "message": "and now?",
        "preamble": "be kind",
        "chat_history": [{"role": "USER", "message": "hi there"}, {"role": "CHATBOT", "message": "hello"}],
    }
    result = invoke("cohere.command-r-v1:0", body)
    answer = result.body
    assert answer["response_id"]
    assert answer["generation_id"]
    assert (answer["text"], answer["finish_reason"]) == ("Echo: and now?", "COMPLETE")
    assert answer["chat_history"] == [
        {"role": "USER", "message": "hi there"},
        {"role": "CHATBOT", "message": "hello"},
        {"role": "USER", "message": "and now?"},
        {"role": "CHATBOT", "message": "Echo: and now?"},
    ]
    assert (result.input_tokens, result.output_tokens) == (7, 3)


def test_ai21_j2_shape():
    result = invoke("ai21.j2-ultra-v1", {"prompt": "complete this sentence", "maxTokens": 100})
    body = result.body
    assert isinstance(body["id"], int)
    assert body["prompt"] == {"text": "complete this sentence", "tokens": []}
    assert body["completions"] == [
        {
            "data": {"text": "Echo: complete this sentence", "tokens": []},
            "finishReason": {"reason": "endoftext"},
        }
    ]
    truncated = invoke("ai21.j2-ultra-v1", {"prompt": LONG, "maxTokens": 2}).body["completions"][0]
    assert truncated["finishReason"] == {"reason": "length", "length": 2}
    assert truncated["data"]["text"] == "Echo: w1"


def test_ai21_jamba_shape():
    body = {
        "messages": [
            {"role": "system", "content": "short answers"},
            {"role": "user", "content": "what is jamba"},
        ],
        "max_tokens": 100,
    }
    result = invoke("ai21.jamba-1-5-mini-v1:0", body).body
    assert result["id"]
    assert result["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Echo: what is jamba"},
            "finish_reason": "stop",
        }
    ]
    assert result["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    body["max_tokens"] = 1
    assert invoke("ai21.jamba-1-5-mini-v1:0", body).body["choices"][0]["finish_reason"] == "length"


def test_titan_embeddings_are_deterministic_unit_vectors():
    result = invoke("amazon.titan-embed-text-v2:0", {"inputText": "embed these four words"})
    assert result.body["inputTextTokenCount"] == 4
    vector = result.body["embedding"]
    assert len(vector) == 1024
    assert all(isinstance(x, float) for x in vector)
    assert abs(sum(x * x for x in vector) - 1.0) < 1e-4
    assert vector == embedding("embed these four words")
    assert vector != embedding("other words")
    assert (result.input_tokens, result.output_tokens) == (4, 0)


@pytest.mark.parametrize("prefix", ["us.", "eu.", "apac.", "global."])
def test_inference_profile_prefixes_reach_the_model(prefix):
    body = invoke(
        prefix + "anthropic.claude-3-haiku-20240307-v1:0", claude3([{"role": "user", "content": "hi"}])
    )
    assert body.body["model"] == "claude-3-haiku-20240307"
    assert body.body["content"][0]["text"] == "Echo: hi"


def test_unknown_model_is_a_validation_error():
    with pytest.raises(BedrockError) as raised:
        invoke("anthropic.claude-7", claude3([{"role": "user", "content": "hi"}]))
    assert (raised.value.code, raised.value.status) == ("ValidationException", 400)
    assert raised.value.message == "The provided model identifier is invalid."


@pytest.mark.parametrize(
    ("model_id", "body", "detail"),
    [
        ("amazon.nova-lite-v1:0", b"{not json", "not valid JSON"),
        ("amazon.nova-lite-v1:0", b"[1, 2]", "JSONObject"),
        ("anthropic.claude-3-haiku-20240307-v1:0", {"max_tokens": 5, "messages": []}, "anthropic_version"),
        ("anthropic.claude-3-haiku-20240307-v1:0", {"anthropic_version": "x", "messages": []}, "max_tokens"),
        ("anthropic.claude-3-haiku-20240307-v1:0", claude3([{"role": "bot", "content": "x"}]), "role"),
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            claude3([{"role": "user", "content": "x"}], 0),
            "positive",
        ),
        ("amazon.titan-text-express-v1", {"text": "hi"}, "inputText"),
        ("meta.llama3-8b-instruct-v1:0", {"prompt": 42}, "String"),
        ("mistral.mistral-7b-instruct-v0:2", {"prompt": "hi", "max_tokens": "5"}, "positive"),
        ("cohere.command-r-v1:0", {"chat_history": []}, "message"),
        ("ai21.jamba-1-5-mini-v1:0", {"messages": [{"role": "user"}]}, "content"),
        ("amazon.nova-lite-v1:0", {"messages": [{"role": "user", "content": "not a list"}]}, "JSONArray"),
        ("amazon.titan-embed-text-v2:0", {"inputText": ""}, "minLength"),
    ],
)
def test_malformed_bodies_are_validation_errors(model_id, body, detail):
    with pytest.raises(BedrockError) as raised:
        invoke(model_id, body)
    assert (raised.value.code, raised.value.status) == ("ValidationException", 400)
    assert detail in raised.value.message


def test_first_message_must_be_from_the_user():
    with pytest.raises(BedrockError, match="user"):
        invoke("anthropic.claude-3-haiku-20240307-v1:0", claude3([{"role": "assistant", "content": "x"}]))


def test_throttle_hook():
    with pytest.raises(BedrockError) as raised:
        invoke("meta.llama3-8b-instruct-v1:0", {"prompt": "please [[bedrock:throttle]] now"})
    assert (raised.value.code, raised.value.status) == ("ThrottlingException", 429)


def test_access_denied_hook():
    with pytest.raises(BedrockError) as raised:
        invoke("meta.llama3-8b-instruct-v1:0", {"prompt": "[[bedrock:access-denied]] hi"})
    assert (raised.value.code, raised.value.status) == ("AccessDeniedException", 403)


def test_error_hook_in_a_system_prompt():
    body = claude3([{"role": "user", "content": "hi"}], system="[[bedrock:error]]")
    with pytest.raises(BedrockError) as raised:
        invoke("anthropic.claude-3-haiku-20240307-v1:0", body)
    assert (raised.value.code, raised.value.status) == ("ModelErrorException", 424)


def test_sleep_hook_sleeps_then_answers():
    slept = []
    result = invoke(
        "mistral.mistral-7b-instruct-v0:2", {"prompt": "wait [[bedrock:sleep=2.5]] ok"}, slept.append
    )
    assert slept == [2.5]
    assert result.body["outputs"][0]["text"] == "Echo: wait [[bedrock:sleep=2.5]] ok"


def test_sleep_hook_is_capped_and_precedes_an_error():
    slept = []
    with pytest.raises(BedrockError, match="simulated"):
        invoke(
            "mistral.mistral-7b-instruct-v0:2",
            {"prompt": "[[bedrock:sleep=9999]] [[bedrock:error]]"},
            slept.append,
        )
    assert slept == [300.0]


def test_no_hook_no_sleep():
    slept = []
    invoke("mistral.mistral-7b-instruct-v0:2", {"prompt": "[[bedrock:nap]] hi"}, slept.append)
    assert slept == []


def converse(request, sleep=None):
    return runtime.converse(request, NO_ENV, sleep=sleep or (lambda _: None))


def test_converse_shape_and_counts():
    answer = converse(
        {
            "modelId": "us.meta.llama3-70b-instruct-v1:0",
            "system": [{"text": "be helpful"}],
            "messages": [
                {"role": "user", "content": [{"text": "one two"}]},
                {"role": "assistant", "content": [{"text": "three"}]},
                {"role": "user", "content": [{"text": "four five six"}]},
            ],
        }
    )
    assert answer["output"] == {
        "message": {"role": "assistant", "content": [{"text": "Echo: four five six"}]}
    }
    assert answer["stopReason"] == "end_turn"
    assert answer["usage"] == {"inputTokens": 8, "outputTokens": 4, "totalTokens": 12}
    assert answer["metrics"]["latencyMs"] >= 0


@pytest.mark.parametrize(
    "model_id",
    ["anthropic.claude-v2:1", "amazon.titan-text-express-v1", "cohere.command-text-v14", "ai21.j2-ultra-v1"],
)
def test_converse_takes_any_text_model(model_id):
    answer = converse({"modelId": model_id, "messages": [{"role": "user", "content": [{"text": "hi"}]}]})
    assert answer["output"]["message"]["content"] == [{"text": "Echo: hi"}]


def test_converse_truncates_to_max_tokens():
    answer = converse(
        {
            "modelId": "amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": LONG}]}],
            "inferenceConfig": {"maxTokens": 3, "temperature": 0.5},
        }
    )
    assert answer["output"]["message"]["content"] == [{"text": "Echo: w1 w2"}]
    assert answer["stopReason"] == "max_tokens"
    assert answer["usage"] == {"inputTokens": 30, "outputTokens": 3, "totalTokens": 33}


def test_converse_rejects_embedding_models_and_unknown_ids():
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with pytest.raises(BedrockError, match="doesn't support the model") as raised:
        converse({"modelId": "amazon.titan-embed-text-v2:0", "messages": messages})
    assert raised.value.code == "ValidationException"
    with pytest.raises(BedrockError, match="model identifier is invalid"):
        converse({"modelId": "eu.nope", "messages": messages})


def test_converse_conversation_must_start_with_the_user():
    with pytest.raises(BedrockError, match="start with a user message"):
        converse(
            {
                "modelId": "amazon.nova-lite-v1:0",
                "messages": [{"role": "assistant", "content": [{"text": "x"}]}],
            }
        )
    with pytest.raises(BedrockError, match="start with a user message"):
        converse({"modelId": "amazon.nova-lite-v1:0", "messages": []})


def test_converse_hooks():
    messages = [{"role": "user", "content": [{"text": "[[bedrock:throttle]]"}]}]
    with pytest.raises(BedrockError) as raised:
        converse({"modelId": "amazon.nova-lite-v1:0", "messages": messages})
    assert raised.value.status == 429
    slept = []
    converse(
        {
            "modelId": "amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": "[[bedrock:sleep=1]]"}]}],
        },
        slept.append,
    )
    assert slept == [1.0]


@pytest.mark.parametrize(
    ("prompt", "turns"),
    [
        (
            "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant:",
            [("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "")],
        ),
        (
            "<s>[INST] one [/INST] two</s>[INST] three [/INST]",
            [("user", "one"), ("assistant", "two"), ("user", "three")],
        ),
        ("User: x y\nBot:", [("user", "x y"), ("assistant", "")]),
        ("just text", [("user", "just text")]),
    ],
)
def test_template_turns(prompt, turns):
    assert template_turns(prompt) == turns


# --- images in Converse, embeddings of the requested size (issue 15) ------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_converse_counts_an_image_and_echoes_its_marker():
    answer = converse(
        {
            "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "what is this"},
                        {"image": {"format": "png", "source": {"bytes": PNG}}},
                    ],
                }
            ],
        }
    )
    assert answer["output"]["message"]["content"] == [{"text": "Echo: what is this [image]"}]
    assert answer["usage"]["inputTokens"] == 3 + IMAGE_TOKENS


def test_converse_refuses_images_for_text_only_models_and_bad_image_blocks():
    def ask(model_id, image):
        return converse(
            {
                "modelId": model_id,
                "messages": [{"role": "user", "content": [{"text": "x"}, {"image": image}]}],
            }
        )

    with pytest.raises(BedrockError, match="doesn't support the image") as raised:
        ask("meta.llama3-8b-instruct-v1:0", {"format": "png", "source": {"bytes": PNG}})
    assert raised.value.code == "ValidationException"
    with pytest.raises(BedrockError, match="format"):
        ask("anthropic.claude-3-haiku-20240307-v1:0", {"format": "bmp", "source": {"bytes": PNG}})
    with pytest.raises(BedrockError, match="bytes"):
        ask("anthropic.claude-3-haiku-20240307-v1:0", {"format": "png", "source": {}})


@pytest.mark.parametrize("dimensions", [256, 512, 1024])
def test_titan_v2_embeds_in_the_requested_dimensions(dimensions):
    body = {"inputText": "the cat sat", "dimensions": dimensions, "normalize": True}
    vector = invoke("amazon.titan-embed-text-v2:0", body).body["embedding"]
    assert len(vector) == dimensions
    assert abs(cosine(vector, vector) - 1.0) < 1e-4
    assert vector == invoke("amazon.titan-embed-text-v2:0", body).body["embedding"]


def test_titan_v2_refuses_other_dimensions():
    with pytest.raises(BedrockError, match="dimensions"):
        invoke("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 300})


def test_similar_texts_are_closer_than_unrelated_ones():
    cat, kitten, tax = (
        embedding(text) for text in ("the cat sat on the mat", "a cat sat on a mat", "tax law")
    )
    assert cosine(cat, kitten) > cosine(cat, tax)


def test_cohere_embeds_a_batch_in_order_with_token_counts():
    texts = ["first text here", "second", "the third text"]
    result = invoke("cohere.embed-english-v3", {"texts": texts, "input_type": "search_document"})
    assert result.body["response_type"] == "embeddings_floats"
    assert result.body["texts"] == texts
    vectors = result.body["embeddings"]
    assert [len(v) for v in vectors] == [1024, 1024, 1024]
    assert vectors[1] == embedding("second", 1024)
    assert (result.input_tokens, result.output_tokens) == (7, 0)


def test_cohere_embedding_types_answer_by_type():
    body = {"texts": ["a b"], "input_type": "search_query", "embedding_types": ["float", "int8"]}
    answer = invoke("cohere.embed-multilingual-v3", body).body
    assert answer["response_type"] == "embeddings_by_type"
    assert answer["embeddings"]["float"] == [embedding("a b", 1024)]
    assert all(isinstance(value, int) for value in answer["embeddings"]["int8"][0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"texts": [], "input_type": "search_document"}, "texts"),
        ({"texts": ["x"] * 97, "input_type": "search_document"}, "texts"),
        ({"texts": ["x"]}, "input_type"),
        ({"texts": ["x"], "input_type": "poetry"}, "input_type"),
        ({"texts": ["x"], "input_type": "clustering", "embedding_types": ["binary"]}, "embedding_types"),
    ],
)
def test_cohere_refuses_malformed_bodies(body, message):
    with pytest.raises(BedrockError, match=message):
        invoke("cohere.embed-english-v3", body)
