"""What a request asks for, whatever its shape, and the local model's deterministic answer to it.

Imports nothing from LocalStack.

Token rule (the echo model): a token is a whitespace-separated word.
- input tokens: words of all prompt text sent (system prompt(s) + every message, or the single
  `prompt` / `inputText` / `message` field, as written, template markers included; Command R adds its
  `preamble` and `chat_history`).
- the reply is `"Echo: "` + the first 24 words of the last user message text (for single-prompt families the
  last user turn of a recognised chat template, else the whole prompt); output tokens = words of the reply.
- an image (a Converse image block) counts IMAGE_TOKENS tokens and is written `[image]` where it stands in
  its message's text, so the echo mentions it.
- a max-tokens limit N truncates the reply to its first N words (the stop reason says so).

Test hooks, anywhere in the prompt text: `[[bedrock:sleep=N]]` waits N seconds (at most 300) first, then
`[[bedrock:throttle]]` raises ThrottlingException (429), `[[bedrock:error]]` ModelErrorException (424),
`[[bedrock:access-denied]]` AccessDeniedException (403, as for a model whose access is not enabled).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway_localstack.bedrock.errors import BedrockError

ECHO_PREFIX = "Echo: "
ECHO_WORDS = 24
IMAGE_MARKER = "[image]"
IMAGE_TOKENS = 100
MAX_SLEEP_SECONDS = 300.0

_HOOK = re.compile(r"\[\[bedrock:(throttle|error|access-denied|sleep=(\d+(?:\.\d+)?))\]\]")


@dataclass
class Prompt:
    """A request reduced to what the model needs: the conversation, the text counted as input, the limit."""

    system: list[str] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)  # (user | assistant, text), in order
    counted: list[str] = field(default_factory=list)  # every piece of prompt text sent
    max_tokens: int | None = None
    images: int = 0  # image blocks sent, IMAGE_TOKENS each

    @property
    def user_text(self) -> str:
        return next((text for role, text in reversed(self.turns) if role == "user"), "")

    @property
    def input_tokens(self) -> int:
        words = sum(count_words(text) for text in self.counted)
        # An image's `[image]` marker is one of the words counted: the image costs IMAGE_TOKENS in all.
        return words + self.images * (IMAGE_TOKENS - count_words(IMAGE_MARKER))


@dataclass
class Reply:
    text: str
    input_tokens: int
    output_tokens: int
    truncated: bool  # stopped by the max-tokens limit

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def count_words(text: str) -> int:
    return len(text.split())


def echo(prompt: Prompt) -> Reply:
    """The deterministic local model."""
    text = ECHO_PREFIX + " ".join(prompt.user_text.split()[:ECHO_WORDS])
    words = text.split()
    truncated = prompt.max_tokens is not None and len(words) > prompt.max_tokens
    if truncated:
        text = " ".join(words[: prompt.max_tokens])
    return Reply(text, prompt.input_tokens, count_words(text), truncated)


def apply_test_hooks(prompt: Prompt, sleep: Callable[[float], None] = time.sleep) -> None:
    """Sleep, throttle or fail as the prompt's `[[bedrock:...]]` markers ask."""
    text = "\n".join(prompt.counted)
    hooks = _HOOK.findall(text)
    seconds = sum(float(value) for _, value in hooks if value)
    if seconds:
        sleep(min(seconds, MAX_SLEEP_SECONDS))
    names = {name for name, value in hooks if not value}
    if "access-denied" in names:
        raise BedrockError(
            "AccessDeniedException", "You don't have access to the model with the specified model ID.", 403
        )
    if "throttle" in names:
        raise BedrockError("ThrottlingException", "Too many requests, please wait before trying again.", 429)
    if "error" in names:
        raise BedrockError(
            "ModelErrorException",
            "The model returned the following errors: simulated model error ([[bedrock:error]])",
            424,
        )


# Chat templates a single-prompt request may use; the last user turn is what the echo model answers.
_ANTHROPIC_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant):(.*?)(?=\n\n(?:Human|Assistant):|$)", re.DOTALL)
_LLAMA3_TURN = re.compile(
    r"<\|start_header_id\|>(system|user|assistant)<\|end_header_id\|>(.*?)(?=<\|eot_id\|>|<\|start_header_id\|>|$)",
    re.DOTALL,
)
_INST_TURN = re.compile(r"\[INST\](.*?)\[/INST\]([^\[]*)", re.DOTALL)
_USER_BOT_TURN = re.compile(r"(?:^|\n)(User|Bot):(.*?)(?=\n(?:User|Bot):|$)", re.DOTALL)


def template_turns(prompt: str) -> list[tuple[str, str]]:
    """The turns of a prompt written in a known chat template (Claude's Human/Assistant, Llama 3 headers,
    Llama 2 / Mistral [INST], Titan's User/Bot), else the whole prompt as one user turn."""
    if matches := _ANTHROPIC_TURN.findall(prompt):
        return [("user" if who == "Human" else "assistant", text.strip()) for who, text in matches]
    if matches := _LLAMA3_TURN.findall(prompt):
        return [(who, text.strip()) for who, text in matches if who != "system"]
    if matches := _INST_TURN.findall(prompt):
        turns: list[tuple[str, str]] = []
        for user, answer in matches:
            turns.append(("user", user.replace("<<SYS>>", " ").replace("<</SYS>>", " ").strip()))
            if answer.replace("</s>", "").replace("<s>", "").strip():
                turns.append(("assistant", answer.replace("</s>", "").replace("<s>", "").strip()))
        return turns
    if matches := _USER_BOT_TURN.findall(prompt):
        return [("user" if who == "User" else "assistant", text.strip()) for who, text in matches]
    return [("user", prompt.strip())]


def as_text_blocks(content: Any, where: str) -> list[str]:
    """Texts of a content list of `{"text": ...}` blocks (other block kinds, e.g. images, are skipped)."""
    if not isinstance(content, list):
        raise BedrockError.malformed(f"{where}: expected type: JSONArray")
    texts = []
    for index, block in enumerate(content):
        if not isinstance(block, dict):
            raise BedrockError.malformed(f"{where}/{index}: expected type: JSONObject")
        if "text" in block:
            if not isinstance(block["text"], str):
                raise BedrockError.malformed(f"{where}/{index}/text: expected type: String")
            texts.append(block["text"])
    return texts


def positive_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BedrockError.malformed(f"{where}: {value!r} is not a positive integer")
    return value
