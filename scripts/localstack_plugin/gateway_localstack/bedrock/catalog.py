"""The local Bedrock's foundation models (catalog.json) and how model identifiers resolve to them.

Imports nothing from LocalStack. An identifier is a catalog model id, the same behind an inference-profile
prefix (`us.`, `eu.`, `apac.`, `global.`), or the ARN of either (`...:foundation-model/<id>`,
`...:inference-profile/<prefix>.<id>`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from gateway_localstack.bedrock.errors import BedrockError

CATALOG_FILE = Path(__file__).with_name("catalog.json")
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")
INVALID_MODEL = "The provided model identifier is invalid."

# fields of FoundationModelSummary / FoundationModelDetails, in the order Bedrock sends them
_PUBLIC_FIELDS = (
    "modelId",
    "modelName",
    "providerName",
    "inputModalities",
    "outputModalities",
    "responseStreamingSupported",
    "customizationsSupported",
    "inferenceTypesSupported",
    "modelLifecycle",
)


@cache
def models() -> tuple[dict[str, Any], ...]:
    """The catalog's entries, each with its internal `family` (the InvokeModel body shape)."""
    return tuple(json.loads(CATALOG_FILE.read_text())["models"])


def model_arn(model_id: str, region: str) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def summary(model: dict[str, Any], region: str) -> dict[str, Any]:
    """The model as ListFoundationModels / GetFoundationModel return it (without the internal family)."""
    out: dict[str, Any] = {"modelArn": model_arn(model["modelId"], region)}
    out.update({field: model[field] for field in _PUBLIC_FIELDS if field in model})
    return out


def _matches_provider(model: dict[str, Any], provider: str) -> bool:
    wanted = provider.strip().lower()
    return wanted in (model["providerName"].lower(), model["modelId"].split(".", 1)[0])


def list_models(
    region: str,
    by_provider: str | None = None,
    by_output_modality: str | None = None,
    by_inference_type: str | None = None,
    by_customization_type: str | None = None,
) -> list[dict[str, Any]]:
    """ListFoundationModels: every filter given must match (provider by name or id prefix, any case)."""
    found = []
    for model in models():
        if by_provider and not _matches_provider(model, by_provider):
            continue
        if by_output_modality and by_output_modality not in model["outputModalities"]:
            continue
        if by_inference_type and by_inference_type not in model["inferenceTypesSupported"]:
            continue
        if by_customization_type and by_customization_type not in model["customizationsSupported"]:
            continue
        found.append(summary(model, region))
    return found


def _by_id(model_id: str) -> dict[str, Any] | None:
    return next((m for m in models() if m["modelId"] == model_id), None)


def get_model(identifier: str) -> dict[str, Any]:
    """GetFoundationModel: a model id or a foundation-model ARN (no inference profiles, as on Bedrock)."""
    model_id = identifier
    if identifier.startswith("arn:"):
        resource = identifier.split(":", 5)[-1]
        kind, _, model_id = resource.partition("/")
        if kind != "foundation-model":
            raise BedrockError.validation(INVALID_MODEL)
    model = _by_id(model_id)
    if model is None:
        raise BedrockError.validation(INVALID_MODEL)
    return model


def resolve(identifier: str) -> dict[str, Any]:
    """The catalog entry an InvokeModel / Converse `modelId` names, else ValidationException."""
    model_id = identifier or ""
    if model_id.startswith("arn:"):
        resource = model_id.split(":", 5)[-1]
        kind, _, model_id = resource.partition("/")
        if kind not in ("foundation-model", "inference-profile"):
            raise BedrockError.validation(INVALID_MODEL)
    for prefix in INFERENCE_PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            model_id = model_id[len(prefix) :]
            break
    model = _by_id(model_id)
    if model is None:
        raise BedrockError.validation(INVALID_MODEL)
    return model
