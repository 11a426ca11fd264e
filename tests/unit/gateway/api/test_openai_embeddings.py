"""POST /v1/embeddings: Titan v2 (one call per text) and Cohere Embed v3 (one call per 96 texts), metered."""

import base64
import json
import struct

from tests.support.bedrock import invoke_response
from tests.unit.gateway.api.helpers import signed_up

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


def embed(api, headers, **body):
    return api.post("/v1/embeddings", headers={"authorization": f"Bearer {headers['x-api-key']}"}, json=body)


def test_titan_one_call_per_input_in_openai_shape_and_metered(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_response(
        "invoke_model", invoke_response({"embedding": [0.6, 0.8], "inputTextTokenCount": 2}, 2, 0)
    )
    bedrock.runtime.add_response(
        "invoke_model", invoke_response({"embedding": [1.0, 0.0], "inputTextTokenCount": 3}, 3, 0)
    )
    response = embed(api, headers, model=TITAN, input=["first text", "the second one"], dimensions=256)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.6, 0.8]},
            {"object": "embedding", "index": 1, "embedding": [1.0, 0.0]},
        ],
        "model": TITAN,
        "usage": {"prompt_tokens": 5, "total_tokens": 5},
    }
    bodies = [json.loads(params["body"]) for name, params in bedrock.calls]
    assert bodies == [
        {"inputText": "first text", "dimensions": 256, "normalize": True},
        {"inputText": "the second one", "dimensions": 256, "normalize": True},
    ]
    windows = {w["name"]: w for w in api.get("/me/usage", headers=headers).json()["windows"]}
    assert windows["tokens_per_day"]["used"] == 5
    assert windows["requests_per_minute"]["used"] == 1


def test_cohere_one_call_for_the_batch_and_base64_encoding(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    answer = {
        "id": "x",
        "embeddings": {"float": [[0.5, -0.25], [1.0, 2.0]]},
        "response_type": "embeddings_by_type",
    }
    bedrock.runtime.add_response("invoke_model", invoke_response(answer, 4, 0))
    response = embed(api, headers, model=COHERE, input=["a b", "c d"], encoding_format="base64")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [struct.unpack("<2f", base64.b64decode(item["embedding"])) for item in data] == [
        (0.5, -0.25),
        (1.0, 2.0),
    ]
    assert response.json()["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert len(bedrock.calls) == 1


def test_a_single_string_input(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.runtime.add_response(
        "invoke_model", invoke_response({"embedding": [1.0], "inputTextTokenCount": 1}, 1, 0)
    )
    response = embed(api, headers, model=TITAN, input="hello")
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


def test_refusals_before_any_call(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    cases = [
        ({"model": "anthropic.claude-3-haiku-20240307-v1:0", "input": "x"}, "model_not_embedding"),
        ({"model": COHERE, "input": "x", "dimensions": 256}, "dimensions_not_supported"),
        ({"model": TITAN, "input": "x", "dimensions": 300}, "dimensions_not_supported"),
        ({"model": TITAN, "input": ["x"] * 97}, "invalid_input"),
        ({"model": TITAN, "input": []}, "invalid_input"),
        ({"model": "amazon.no-such-model", "input": "x"}, "model_not_found"),
    ]
    for body, code in cases:
        response = embed(api, headers, **body)
        assert response.json()["error"]["code"] == code, (body, response.text)
        assert 400 <= response.status_code < 500
    assert embed(api, headers, model=TITAN, input=[1, 2, 3]).status_code in (400, 422)
    assert bedrock.calls == []


def test_models_lists_the_embedding_models(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    ids = {
        model["id"]
        for model in api.get("/v1/models", headers={"x-api-key": headers["x-api-key"]}).json()["data"]
    }
    assert {TITAN, COHERE} <= ids
