import pytest

from gateway.providers.model_formats import MODEL_FORMATS, base_model_id, extract, format_for, provider_of
from tests.support.bedrock import SHAPES


@pytest.mark.parametrize(
    ("model_id", "base"),
    [
        ("us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
        ("apac.meta.llama3-8b-instruct-v1:0", "meta.llama3-8b-instruct-v1:0"),
        ("global.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0"),
        ("us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"),
        ("mistral.mistral-7b-instruct-v0:2", "mistral.mistral-7b-instruct-v0:2"),
    ],
)
def test_inference_profiles_map_to_their_model(model_id, base):
    assert base_model_id(model_id) == base
    assert provider_of(model_id) == base.split(".")[0]


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_every_family_shape_is_read_by_its_row(family):
    shape = SHAPES[family]
    row = format_for(shape.model_id)
    assert row is not None
    assert row.name.startswith(family.split("-")[0])
    assert extract(row.output_path, shape.response) == shape.output


def test_rows_pick_the_right_shape_within_a_provider():
    assert format_for("anthropic.claude-v2:1").name == "anthropic-completions"
    assert format_for("anthropic.claude-3-5-sonnet-20240620-v1:0").name == "anthropic-messages"
    assert format_for("us.anthropic.claude-sonnet-4-20250514-v1:0").name == "anthropic-messages"
    assert format_for("cohere.command-r-plus-v1:0").name == "cohere-command-r"
    assert format_for("cohere.command-light-text-v14").name == "cohere-command"
    assert format_for("ai21.jamba-instruct-v1:0").name == "ai21-jamba"


def test_unknown_providers_have_no_row():
    assert format_for("acme.mystery-v1") is None


def test_missing_paths_give_none_not_an_error():
    row = format_for("anthropic.claude-3-haiku-20240307-v1:0")
    assert extract(row.output_path, {"content": []}) is None
    assert extract(None, {"a": 1}) is None


def test_every_row_has_a_distinct_name():
    names = [row.name for row in MODEL_FORMATS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "family", sorted(f for f in SHAPES if (row := format_for(SHAPES[f].model_id)) and row.input_tokens_path)
)
def test_token_paths_read_the_body_counts_when_bedrock_sends_no_headers(family):
    """Each count from its own field: a row reading the output count as the input would bill wrongly."""
    shape = SHAPES[family]
    row = format_for(shape.model_id)
    assert shape.input_tokens != shape.output_tokens  # else a swapped path could not be told apart
    assert extract(row.input_tokens_path, shape.response) == shape.input_tokens
    assert extract(row.output_tokens_path, shape.response) == shape.output_tokens


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_every_row_reads_the_output_cap_of_its_request(family):
    """The worst-case reservation reads the request's cap (50 in every sample request) by the row's path."""
    shape = SHAPES[family]
    assert extract(format_for(shape.model_id).max_tokens_path, shape.request) == 50


def test_the_provider_is_the_part_before_the_first_dot():
    """Model ids may hold more dots after the provider's (a version such as 3.5)."""
    assert provider_of("anthropic.claude-3.5-sonnet-v1:0") == "anthropic"
    assert format_for("anthropic.claude-3.5-sonnet-v1:0").name == "anthropic-messages"
    assert format_for("us.meta.llama3.1-8b-instruct-v1:0").name == "meta-llama"
