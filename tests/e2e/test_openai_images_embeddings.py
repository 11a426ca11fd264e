"""Images and embeddings through the local gateway with the official `openai` client (the local Bedrock counts
an image as 100 tokens and echoes it as `[image]`; its embeddings are deterministic hashed bags of words)."""

import base64
import math
import struct

import pytest
from openai import BadRequestError

from tests.e2e.conftest import openai_client, signed_up
from tests.e2e.test_models import day_total

pytestmark = pytest.mark.e2e

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 4, 4) + b"\x08\x06\x00\x00\x00"
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture(scope="module")
def person(stack):
    return signed_up(stack, "e2e-images-embeddings@example.com")


@pytest.fixture(scope="module")
def client(stack, person):
    return openai_client(stack, person, max_retries=0)


def image_question(url: str) -> list[dict]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


def test_an_image_question_to_a_model_that_accepts_images(client):
    completion = client.chat.completions.create(model=HAIKU, messages=image_question(DATA_URL))
    assert completion.choices[0].message.content == "Echo: What is this? [image]"
    assert completion.usage.prompt_tokens == 3 + 100


def test_an_https_image_url_is_refused(client):
    with pytest.raises(BadRequestError) as refused:
        client.chat.completions.create(model=HAIKU, messages=image_question("https://example.com/cat.png"))
    assert refused.value.code == "image_url_not_supported"


def test_an_image_to_a_text_only_model_is_refused(client):
    with pytest.raises(BadRequestError) as refused:
        client.chat.completions.create(model=LLAMA, messages=image_question(DATA_URL))
    assert refused.value.code == "model_input_not_supported"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_embeddings_for_a_list_of_inputs_are_shaped_sized_and_metered(stack, client, person):
    before = day_total(stack, person.registration["user_id"])
    texts = ["the cat sat on the mat", "a cat sat on a mat", "quarterly tax law"]
    # The openai client asks for base64 unless told otherwise, and decodes it: both encodings are used here.
    titan = client.embeddings.create(model=TITAN, input=texts, dimensions=256)
    cohere = client.embeddings.create(model=COHERE, input=texts, encoding_format="float")
    for answer, size in ((titan, 256), (cohere, 1024)):
        assert [item.index for item in answer.data] == [0, 1, 2]
        assert all(len(item.embedding) == size for item in answer.data)
        cat, kitten, tax = (item.embedding for item in answer.data)
        assert cosine(cat, kitten) > cosine(cat, tax)
        assert answer.usage.prompt_tokens == 6 + 6 + 3 == answer.usage.total_tokens
    again = client.embeddings.create(model=TITAN, input=texts[0], dimensions=256)
    assert again.data[0].embedding == titan.data[0].embedding
    after = day_total(stack, person.registration["user_id"])
    assert after["requests"] - before["requests"] == 3
    assert after["input_tokens"] - before["input_tokens"] == 15 + 15 + 6
    assert after["output_tokens"] == before["output_tokens"]
    # USD per million input tokens: Cohere 0.10 (15 tokens: 1.5 micro-dollars, rounded half up), Titan 0.02.
    assert after["cost_micros"] - before["cost_micros"] == 2


def test_the_embedding_models_are_listed(client):
    assert {TITAN, COHERE} <= {model.id for model in client.models.list()}
