"""The local Bedrock's catalog: ListFoundationModels / GetFoundationModel and model-identifier resolution."""

import pytest
from gateway_localstack.bedrock import catalog
from gateway_localstack.bedrock.errors import BedrockError

EXPECTED_IDS = {
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-v2:1",
    "amazon.titan-text-express-v1",
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "meta.llama3-8b-instruct-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2",
    "mistral.mistral-large-2402-v1:0",
    "cohere.command-text-v14",
    "cohere.command-r-v1:0",
    "ai21.j2-ultra-v1",
    "ai21.jamba-1-5-mini-v1:0",
    "amazon.titan-embed-text-v2:0",
    "cohere.embed-english-v3",
    "cohere.embed-multilingual-v3",
}
EMBEDDING_IDS = ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "cohere.embed-multilingual-v3"]
SUMMARY_FIELDS = {
    "modelArn",
    "modelId",
    "modelName",
    "providerName",
    "inputModalities",
    "outputModalities",
    "responseStreamingSupported",
    "customizationsSupported",
    "inferenceTypesSupported",
    "modelLifecycle",
}


def test_catalog_holds_exactly_the_models_with_the_summary_fields():
    listed = catalog.list_models("us-east-1")
    assert {m["modelId"] for m in listed} == EXPECTED_IDS
    for model in listed:
        assert set(model) == SUMMARY_FIELDS
        assert model["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{model['modelId']}"
        assert model["modelLifecycle"] == {"status": "ACTIVE"}
        assert "ON_DEMAND" in model["inferenceTypesSupported"]


def test_model_arn_follows_the_region():
    model = catalog.summary(catalog.get_model("amazon.nova-pro-v1:0"), "eu-west-1")
    assert model["modelArn"] == "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-pro-v1:0"


@pytest.mark.parametrize("provider", ["Meta", "meta", "META"])
def test_by_provider_matches_the_name_or_the_id_prefix_in_any_case(provider):
    ids = [m["modelId"] for m in catalog.list_models("us-east-1", by_provider=provider)]
    assert ids == ["meta.llama3-8b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0"]


def test_by_provider_with_a_multiword_name():
    ids = {m["modelId"] for m in catalog.list_models("us-east-1", by_provider="Mistral AI")}
    assert ids == {"mistral.mistral-7b-instruct-v0:2", "mistral.mistral-large-2402-v1:0"}
    assert catalog.list_models("us-east-1", by_provider="nobody") == []


def test_by_output_modality():
    embedding = catalog.list_models("us-east-1", by_output_modality="EMBEDDING")
    assert [m["modelId"] for m in embedding] == EMBEDDING_IDS
    text = catalog.list_models("us-east-1", by_output_modality="TEXT")
    assert len(text) == len(EXPECTED_IDS) - len(EMBEDDING_IDS)


def test_filters_combine():
    found = catalog.list_models("us-east-1", by_provider="amazon", by_output_modality="TEXT")
    assert {m["modelId"] for m in found} == {
        "amazon.titan-text-express-v1",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
    }


def test_get_model_by_id_and_arn():
    assert catalog.get_model("cohere.command-r-v1:0")["modelName"] == "Command R"
    arn = "arn:aws:bedrock:us-east-1::foundation-model/ai21.j2-ultra-v1"
    assert catalog.get_model(arn)["modelId"] == "ai21.j2-ultra-v1"


@pytest.mark.parametrize(
    "identifier", ["anthropic.claude-9", "us.amazon.nova-lite-v1:0", "", "arn:aws:bedrock:us-east-1:1:x/y"]
)
def test_get_model_rejects_unknown_ids_and_inference_profiles(identifier):
    with pytest.raises(BedrockError) as raised:
        catalog.get_model(identifier)
    assert (raised.value.code, raised.value.status) == ("ValidationException", 400)
    assert raised.value.message == "The provided model identifier is invalid."


@pytest.mark.parametrize("prefix", ["", "us.", "eu.", "apac.", "global."])
def test_resolve_accepts_inference_profile_prefixes(prefix):
    assert (
        catalog.resolve(prefix + "anthropic.claude-3-5-sonnet-20240620-v1:0")["family"]
        == "anthropic-messages"
    )


def test_resolve_accepts_arns():
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.meta.llama3-8b-instruct-v1:0"
    assert catalog.resolve(profile)["modelId"] == "meta.llama3-8b-instruct-v1:0"
    model = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
    assert catalog.resolve(model)["family"] == "titan-text"


@pytest.mark.parametrize(
    "identifier",
    ["xx.amazon.nova-lite-v1:0", "amazon.nova-lite-v1", "us.us.amazon.nova-lite-v1:0", "", "nova-lite"],
)
def test_resolve_rejects_other_identifiers(identifier):
    with pytest.raises(BedrockError, match=r"^The provided model identifier is invalid\.$"):
        catalog.resolve(identifier)
