"""The local guardrail: blocked words in a guarded prompt answer Bedrock's intervention shapes."""

import json

import pytest
from gateway_localstack.bedrock import guardrails, runtime
from gateway_localstack.bedrock.errors import BedrockError

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
GUARD = {"guardrailIdentifier": "localguard01", "guardrailVersion": "1", "trace": "disabled"}


def converse(text, env=None, **extra):
    request = {"modelId": HAIKU, "messages": [{"role": "user", "content": [{"text": text}]}], **extra}
    return runtime.converse(request, env or {}, sleep=lambda _: None)


def invoke(text, guardrail=None, env=None):
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": text}],
        }
    )
    return runtime.invoke_model(HAIKU, body, env or {}, sleep=lambda _: None, guardrail=guardrail)


def test_converse_with_a_blocked_word_intervenes_with_bedrocks_shape():
    answer = converse("tell me something Forbidden please", guardrailConfig=GUARD)
    assert answer["stopReason"] == "guardrail_intervened"
    assert answer["output"]["message"]["content"] == [{"text": guardrails.BLOCKED_MESSAGE}]
    assert answer["usage"]["inputTokens"] > 0
    assert answer["usage"]["outputTokens"] == 0


def test_converse_without_a_blocked_word_or_without_a_guardrail_answers():
    assert converse("hello there", guardrailConfig=GUARD)["stopReason"] == "end_turn"
    assert converse("something forbidden")["stopReason"] == "end_turn"  # no guardrail named


def test_the_blocked_words_come_from_the_environment():
    env = {guardrails.BLOCKED_WORDS_VARIABLE: "secret, classified"}
    assert converse("a Classified plan", env, guardrailConfig=GUARD)["stopReason"] == "guardrail_intervened"
    assert converse("something forbidden", env, guardrailConfig=GUARD)["stopReason"] == "end_turn"


@pytest.mark.parametrize(
    "config",
    [
        {"guardrailIdentifier": "Not-Valid", "guardrailVersion": "1"},
        {"guardrailIdentifier": "localguard01", "guardrailVersion": "v1"},
        {"guardrailIdentifier": "localguard01"},
        {"guardrailIdentifier": "localguard01", "guardrailVersion": "1", "trace": "loud"},
    ],
)
def test_a_malformed_guardrail_config_is_a_validation_exception(config):
    with pytest.raises(BedrockError) as raised:
        converse("hello", guardrailConfig=config)
    assert raised.value.code == "ValidationException"


def test_invoke_model_marks_the_guardrails_action_in_the_native_body():
    guard = guardrails.Guardrail("localguard01", "1")
    blocked = invoke("is this forbidden?", guard)
    assert blocked.body["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert blocked.body["content"][0]["text"] == guardrails.BLOCKED_MESSAGE
    assert (blocked.input_tokens > 0, blocked.output_tokens) == (True, 0)
    passed = invoke("hello", guard)
    assert passed.body["amazon-bedrock-guardrailAction"] == "NONE"
    assert "amazon-bedrock-guardrailAction" not in invoke("forbidden").body


def test_named_reads_the_invoke_model_headers():
    assert guardrails.named(None, None, "") is None
    assert guardrails.named("localguard01", "DRAFT", "") == guardrails.Guardrail("localguard01", "DRAFT")
    with pytest.raises(BedrockError):
        guardrails.named("localguard01", None, "")
