"""Embedding models' InvokeModel bodies and responses (Titan Text Embeddings v2, Cohere Embed v3)."""

import pytest

from gateway.providers.embeddings import (
    DimensionsNotSupportedError,
    EmbeddingModelNotSupportedError,
    embedding_format_for,
)

TITAN = "amazon.titan-embed-text-v2:0"


def test_titan_v2_one_body_per_text_with_dimensions_and_normalize():
    row = embedding_format_for(TITAN)
    assert row.batches(["a", "b"], None) == [
        {"inputText": "a", "dimensions": 1024, "normalize": True},
        {"inputText": "b", "dimensions": 1024, "normalize": True},
    ]
    assert row.batches(["a"], 256) == [{"inputText": "a", "dimensions": 256, "normalize": True}]
    assert row.vectors({"embedding": [0.1, 0.2], "inputTextTokenCount": 3}) == [[0.1, 0.2]]
    assert row.body_input_tokens({"embedding": [0.1], "inputTextTokenCount": 3}) == 3


@pytest.mark.parametrize("model_id", ["cohere.embed-english-v3", "us.cohere.embed-multilingual-v3"])
def test_cohere_up_to_96_texts_per_body(model_id):
    row = embedding_format_for(model_id)
    texts = [f"text {i}" for i in range(100)]
    bodies = row.batches(texts, None)
    assert [len(body["texts"]) for body in bodies] == [96, 4]
    assert bodies[1] == {"texts": texts[96:], "input_type": "search_document", "embedding_types": ["float"]}
    assert row.vectors({"embeddings": {"float": [[1.0], [2.0]]}}) == [[1.0], [2.0]]
    assert row.vectors({"embeddings": [[1.0]], "response_type": "embeddings_floats"}) == [[1.0]]
    assert row.vectors({"unexpected": True}) == []


@pytest.mark.parametrize(
    ("model_id", "dimensions"), [(TITAN, 300), (TITAN, 1536), ("cohere.embed-english-v3", 512)]
)
def test_sizes_the_model_cannot_make_are_refused(model_id, dimensions):
    with pytest.raises(DimensionsNotSupportedError) as raised:
        embedding_format_for(model_id).batches(["x"], dimensions)
    assert (raised.value.status_code, raised.value.code) == (400, "dimensions_not_supported")


@pytest.mark.parametrize(
    "model_id", ["anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-embed-image-v1"]
)
def test_other_models_make_no_embeddings(model_id):
    with pytest.raises(EmbeddingModelNotSupportedError):
        embedding_format_for(model_id)
