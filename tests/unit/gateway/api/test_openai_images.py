"""Images on /v1/chat/completions: data URLs become Converse image blocks; URLs, text-only models: 400."""

import base64

from tests.unit.gateway.api.helpers import signed_up
from tests.unit.gateway.services.test_images import png

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
IMAGE = png(20, 10)
DATA_URL = "data:image/png;base64," + base64.b64encode(IMAGE).decode()


def ask(api, headers, model, url):
    return api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={
            "model": model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
                    ],
                }
            ],
        },
    )


def test_an_image_part_is_sent_as_a_converse_image_block(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("A red square", 1612, 3)
    response = ask(api, headers, HAIKU, DATA_URL)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "A red square"
    _, params = bedrock.calls[-1]
    assert params["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "What is in this picture?"},
                {"image": {"format": "png", "source": {"bytes": IMAGE}}},
            ],
        }
    ]


def test_an_https_image_url_is_refused_without_calling_anything(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = ask(api, headers, HAIKU, "https://example.com/cat.png")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "image_url_not_supported")
    assert bedrock.calls == []


def test_a_model_without_image_input_is_400_model_input_not_supported(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = ask(api, headers, LLAMA, DATA_URL)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "model_input_not_supported")
    assert bedrock.calls == []


def test_bad_base64_is_400(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = ask(api, headers, HAIKU, "data:image/png;base64,@@@")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_image")


def test_images_only_in_user_messages(api, bedrock):
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    response = api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={
            "model": HAIKU,
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": DATA_URL}}]},
                {"role": "user", "content": "and?"},
            ],
        },
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_messages")


def test_the_reservation_counts_each_image(api, bedrock, monkeypatch):
    from gateway.services import models as models_module
    from gateway.services.images import IMAGE_TOKEN_ALLOWANCE

    estimates = []
    original = models_module.ModelService._begin

    def spy(self, caller, model_id, conversation_id, input_estimate, *rest, **options):
        estimates.append(input_estimate)
        return original(self, caller, model_id, conversation_id, input_estimate, *rest, **options)

    monkeypatch.setattr(models_module.ModelService, "_begin", spy)
    headers, _, _ = signed_up(api)
    bedrock.catalog()
    bedrock.converse("ok", 10, 1)
    bedrock.converse("ok", 10, 1)
    assert ask(api, headers, HAIKU, DATA_URL).status_code == 200
    api.post(
        "/v1/chat/completions",
        headers={"x-api-key": headers["x-api-key"]},
        json={"model": HAIKU, "messages": [{"role": "user", "content": "What is in this picture?"}]},
    )
    assert estimates[0] - estimates[1] == IMAGE_TOKEN_ALLOWANCE
