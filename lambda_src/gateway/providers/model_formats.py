"""How to read each provider's native InvokeModel response: one table row per response shape.

A row names the provider, which of its model ids it covers, and JSONPaths (jsonpath-ng) to the generated text
and, where the body carries them, the token counts (Bedrock's token-count headers are preferred). A new
provider is one more row. Inference-profile ids (`us.`, `eu.`, `apac.`, `global.`, ...) map to their model.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonpath_ng import JSONPath

INFERENCE_PROFILE_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.")


@dataclass(frozen=True)
class ModelFormat:
    name: str
    provider: str
    model_pattern: str  # regular expression over the base model id, after the provider's "<provider>."
    output_path: str
    input_tokens_path: str | None = None
    output_tokens_path: str | None = None
    # Where the request body caps the output, for the worst-case reservation before the call.
    max_tokens_path: str | None = None


MODEL_FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat(
        "anthropic-messages",
        "anthropic",
        r"claude-(3|sonnet|haiku|opus|[4-9])",
        "$.content[0].text",
        input_tokens_path="$.usage.input_tokens",
        output_tokens_path="$.usage.output_tokens",
        max_tokens_path="$.max_tokens",
    ),
    ModelFormat(
        "anthropic-completions",
        "anthropic",
        r"claude-(v2|instant)",
        "$.completion",
        max_tokens_path="$.max_tokens_to_sample",
    ),
    ModelFormat(
        "amazon-nova",
        "amazon",
        r"nova-",
        "$.output.message.content[0].text",
        input_tokens_path="$.usage.inputTokens",
        output_tokens_path="$.usage.outputTokens",
        max_tokens_path="$.inferenceConfig.maxTokens",
    ),
    ModelFormat(
        "amazon-titan-text",
        "amazon",
        r"titan-text",
        "$.results[0].outputText",
        input_tokens_path="$.inputTextTokenCount",
        output_tokens_path="$.results[0].tokenCount",
        max_tokens_path="$.textGenerationConfig.maxTokenCount",
    ),
    ModelFormat(
        "meta-llama",
        "meta",
        r"llama",
        "$.generation",
        input_tokens_path="$.prompt_token_count",
        output_tokens_path="$.generation_token_count",
        max_tokens_path="$.max_gen_len",
    ),
    ModelFormat("mistral-completions", "mistral", r".*", "$.outputs[0].text", max_tokens_path="$.max_tokens"),
    ModelFormat("cohere-command-r", "cohere", r"command-r", "$.text", max_tokens_path="$.max_tokens"),
    ModelFormat(
        "cohere-command", "cohere", r"command", "$.generations[0].text", max_tokens_path="$.max_tokens"
    ),
    ModelFormat(
        "ai21-jamba",
        "ai21",
        r"jamba",
        "$.choices[0].message.content",
        input_tokens_path="$.usage.prompt_tokens",
        output_tokens_path="$.usage.completion_tokens",
        max_tokens_path="$.max_tokens",
    ),
    ModelFormat("ai21-jurassic", "ai21", r"j2-", "$.completions[0].data.text", max_tokens_path="$.maxTokens"),
)


def base_model_id(model_id: str) -> str:
    """The foundation model behind an inference-profile id (`us.anthropic...` -> `anthropic...`)."""
    for prefix in INFERENCE_PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :]
    return model_id


def provider_of(model_id: str) -> str:
    return base_model_id(model_id).split(".", 1)[0]


def format_for(model_id: str) -> ModelFormat | None:
    base = base_model_id(model_id)
    provider, _, rest = base.partition(".")
    for row in MODEL_FORMATS:
        if row.provider == provider and re.match(row.model_pattern, rest):
            return row
    return None


@cache
def _compiled(path: str) -> "JSONPath":
    # jsonpath-ng (and its parser generator) costs ~40 ms to import: only InvokeModel calls load it.
    from jsonpath_ng import parse as parse_jsonpath

    return parse_jsonpath(path)


def extract(path: str | None, document: Any) -> Any:
    if path is None:
        return None
    matches = _compiled(path).find(document)
    return matches[0].value if matches else None
