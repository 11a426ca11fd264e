"""The local guardrail: any guardrail a call names blocks prompts that contain a blocked word.

Terraform names the guardrail (the local root: `localguard01` version 1 on CreatingBotAllowed); the emulator
has no guardrail resources, so every identifier stands for the same rule. The blocked words are
`LOCAL_BEDROCK_GUARDRAIL_BLOCKED_WORDS` in the emulator's environment (comma-separated, case-insensitive,
whole words), by default `forbidden`. An intervention answers as Bedrock does: Converse's stopReason
`guardrail_intervened` with the guardrail's blocked message as the output text, InvokeModel's native body
with that text and `amazon-bedrock-guardrailAction: INTERVENED`; the prompt's input tokens are billed, no
output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.prompt import Prompt, Reply

BLOCKED_WORDS_VARIABLE = "LOCAL_BEDROCK_GUARDRAIL_BLOCKED_WORDS"
DEFAULT_BLOCKED_WORDS = ("forbidden",)
BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."
STOP_REASON = "guardrail_intervened"
ACTION_FIELD = "amazon-bedrock-guardrailAction"
# Bedrock's own patterns (bedrock-runtime's GuardrailIdentifier and GuardrailVersion shapes).
_IDENTIFIER = re.compile(
    r"([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)"
)
_VERSION = re.compile(r"(([1-9][0-9]{0,7})|(DRAFT))")


@dataclass(frozen=True)
class Guardrail:
    identifier: str
    version: str


def named(identifier: Any, version: Any, where: str) -> Guardrail | None:
    """The guardrail a request names, checked as Bedrock checks it; None when it names none."""
    if identifier in (None, "") and version in (None, ""):
        return None
    if not isinstance(identifier, str) or not _IDENTIFIER.fullmatch(identifier):
        raise BedrockError.validation(
            f"{where}guardrailIdentifier: {identifier!r} is not a guardrail identifier"
        )
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise BedrockError.validation(
            f"{where}guardrailVersion: {version!r} is not a version number or DRAFT"
        )
    return Guardrail(identifier, version)


def from_converse(request: Mapping[str, Any]) -> Guardrail | None:
    config = request.get("guardrailConfig")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise BedrockError.validation("guardrailConfig: expected an object")
    if config.get("trace") not in (None, "enabled", "disabled", "enabled_full"):
        raise BedrockError.validation("guardrailConfig.trace: not one of enabled, disabled, enabled_full")
    guardrail = named(config.get("guardrailIdentifier"), config.get("guardrailVersion"), "guardrailConfig.")
    if guardrail is None:
        raise BedrockError.validation(
            "guardrailConfig: guardrailIdentifier and guardrailVersion are required"
        )
    return guardrail


def blocked_words(env: Mapping[str, str]) -> tuple[str, ...]:
    configured = env.get(BLOCKED_WORDS_VARIABLE)
    if configured is None:
        return DEFAULT_BLOCKED_WORDS
    return tuple(word.strip().lower() for word in configured.split(",") if word.strip())


def intervenes(guardrail: Guardrail | None, prompt: Prompt, env: Mapping[str, str]) -> bool:
    if guardrail is None:
        return False
    words = set(re.findall(r"\w+", " ".join(prompt.counted).lower()))
    return any(word in words for word in blocked_words(env))


def blocked_reply(prompt: Prompt) -> Reply:
    return Reply(BLOCKED_MESSAGE, prompt.input_tokens, 0, truncated=False)
