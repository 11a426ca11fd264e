"""Optional forwarding of the reply to an OpenAI-compatible `/chat/completions` (e.g. a local Ollama).

Imports nothing from LocalStack. Selected by `LOCAL_BEDROCK_OPENAI_URL` (e.g. http://127.0.0.1:11434/v1) in
the emulator's environment, model `LOCAL_BEDROCK_OPENAI_MODEL` (default `llama3.2`). The conversation is sent
as chat messages (system prompt, then the turns); `max_tokens` is passed on; the token counts are the server's
`usage` (the word counts of the echo model's rule when it sends none); `finish_reason: length` is a
truncated reply.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping

from gateway_localstack.bedrock.errors import BedrockError
from gateway_localstack.bedrock.prompt import Prompt, Reply, count_words

URL_VARIABLE = "LOCAL_BEDROCK_OPENAI_URL"
MODEL_VARIABLE = "LOCAL_BEDROCK_OPENAI_MODEL"
DEFAULT_MODEL = "llama3.2"
TIMEOUT_SECONDS = 120.0


def configured_url(env: Mapping[str, str]) -> str | None:
    return (env.get(URL_VARIABLE) or "").strip() or None


def request_body(prompt: Prompt, model: str) -> dict:
    messages = [{"role": "system", "content": "\n".join(prompt.system)}] if prompt.system else []
    messages += [{"role": role, "content": text} for role, text in prompt.turns]
    body: dict = {"model": model, "messages": messages, "stream": False}
    if prompt.max_tokens is not None:
        body["max_tokens"] = prompt.max_tokens
    return body


def reply_from(answer: dict, prompt: Prompt) -> Reply:
    try:
        choice = answer["choices"][0]
        text = choice["message"]["content"] or ""
    except (KeyError, IndexError, TypeError) as error:
        raise BedrockError(
            "ModelErrorException",
            f"The model returned the following errors: unexpected answer {answer!r:.200}",
            424,
        ) from error
    usage = answer.get("usage") or {}
    input_tokens = usage.get("prompt_tokens")
    output_tokens = usage.get("completion_tokens")
    return Reply(
        text=text,
        input_tokens=input_tokens if isinstance(input_tokens, int) else prompt.input_tokens,
        output_tokens=output_tokens if isinstance(output_tokens, int) else count_words(text),
        truncated=choice.get("finish_reason") == "length",
    )


def forward(prompt: Prompt, env: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> Reply:
    url = configured_url(env)
    assert url, f"{URL_VARIABLE} is not set"
    body = request_body(prompt, (env.get(MODEL_VARIABLE) or "").strip() or DEFAULT_MODEL)
    request = urllib.request.Request(  # noqa: S310 - a URL the operator configured
        url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:500]
        raise BedrockError(
            "ModelErrorException", f"The model returned the following errors: {error.code} {detail}", 424
        ) from error
    except TimeoutError as error:
        raise BedrockError(
            "ModelTimeoutException", "Model has timed out in processing the request.", 408
        ) from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise BedrockError(
            "ServiceUnavailableException", f"The model endpoint {url} is unavailable: {error}", 503
        ) from error
    return reply_from(answer, prompt)
