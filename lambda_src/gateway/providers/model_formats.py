"""How to read each provider's native InvokeModel response: one table row per response shape.

A row names the provider, which of its model ids it covers, and JSONPaths (jsonpath-ng) to the generated text
and, where the body carries them, the token counts (Bedrock's token-count headers are preferred). A new
provider is one more row. Inference-profile ids (`us.`, `eu.`, `apac.`, `global.`, ...) map to their model.
"""

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng import parse as parse_jsonpath

INFERENCE_PROFILE_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.")


@dataclass(frozen=True)
class ModelFormat:
    name: str
    provider: str
    model_pattern: str  # regular expression over the base model id, after the provider's "<provider>."
    output_path: str
    input_tokens_path: str | None = None
    output_tokens_path: str | None = None


MODEL_FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat(
        "anthropic-messages",
        "anthropic",
        r"claude-(3|sonnet|haiku|opus|[4-9])",
        "$.content[0].text",
        "$.usage.input_tokens",
        "$.usage.output_tokens",
    ),
    ModelFormat("anthropic-completions", "anthropic", r"claude-(v2|instant)", "$.completion"),
    ModelFormat(
        "amazon-nova",
        "amazon",
        r"nova-",
        "$.output.message.content[0].text",
        "$.usage.inputTokens",
        "$.usage.outputTokens",
    ),
    ModelFormat(
        "amazon-titan-text",
        "amazon",
        r"titan-text",
        "$.results[0].outputText",
        "$.inputTextTokenCount",
        "$.results[0].tokenCount",
    ),
    ModelFormat(
        "meta-llama", "meta", r"llama", "$.generation", "$.prompt_token_count", "$.generation_token_count"
    ),
    ModelFormat("mistral-completions", "mistral", r".*", "$.outputs[0].text"),
    ModelFormat("cohere-command-r", "cohere", r"command-r", "$.text"),
    ModelFormat("cohere-command", "cohere", r"command", "$.generations[0].text"),
    ModelFormat(
        "ai21-jamba",
        "ai21",
        r"jamba",
        "$.choices[0].message.content",
        "$.usage.prompt_tokens",
        "$.usage.completion_tokens",
    ),
    ModelFormat("ai21-jurassic", "ai21", r"j2-", "$.completions[0].data.text"),
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
def _compiled(path: str) -> JSONPath:
    return parse_jsonpath(path)


def extract(path: str | None, document: Any) -> Any:
    if path is None:
        return None
    matches = _compiled(path).find(document)
    return matches[0].value if matches else None
