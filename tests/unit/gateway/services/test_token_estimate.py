"""The input estimate is never below the provider's count, whatever the script: Latin, CJK, emoji or code."""

import json
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.services.token_estimate import estimate_input_tokens, estimate_tokens

# The local emulator's Bedrock counts a whitespace-separated word as one token: its own function decides.
PLUGIN_DIR = Path(__file__).resolve().parents[4] / "scripts" / "localstack_plugin"
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))
from gateway_localstack.bedrock.prompt import count_words  # noqa: E402

LATIN = st.characters(min_codepoint=0x20, max_codepoint=0x24F)
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
KANA = st.characters(min_codepoint=0x3040, max_codepoint=0x30FF)
EMOJI = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
CODE = st.sampled_from([*"{}()[];:=<>+-*/\\\"'`.,!?#$%&|^~_@", "def ", "x", "1", "\t", "    "])
WHITESPACE = st.sampled_from([" ", "\n", "\t", "\r\n", "\u3000", "\u00a0", "\x1c", "\x0b", "  "])
PIECE = st.one_of(LATIN, CJK, KANA, EMOJI, CODE, WHITESPACE, st.characters())
ANY_TEXT = st.lists(PIECE, max_size=300).map("".join)


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT)
def test_never_below_the_local_models_count(text):
    assert estimate_tokens(text) >= count_words(text)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_a_native_body_is_never_below_the_count_of_the_prompt_it_carries(text):
    # /bedrock reserves from the JSON body as sent; escapes must not swallow the words' separators.
    assert estimate_tokens(json.dumps({"prompt": text})) >= count_words(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_TEXT, max_size=5))
def test_blocks_add_up(texts):
    assert estimate_input_tokens(texts) == sum(estimate_tokens(text) for text in texts)
    assert estimate_input_tokens(texts) >= sum(count_words(text) for text in texts)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=200))
def test_every_character_outside_ascii_is_at_least_one_token(text):
    assert estimate_tokens(text) >= len(text)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_never_above_the_utf8_bytes(text):
    # A byte-level BPE never yields more tokens than bytes: an estimate above that would only waste budget.
    assert estimate_tokens(text) <= len(text.encode("utf-8", "surrogatepass"))


def test_the_scripts_that_characters_over_three_under_reserved():
    chinese = "我们今天在北京开会讨论新的项目计划"
    emoji = "😀🎉🚀🔥" * 5
    assert estimate_tokens(chinese) == len(chinese)  # was len / 3
    assert estimate_tokens(emoji) == 20
    assert estimate_tokens("a b c d e f") == 6  # one-letter words: a token each, not 11 / 3
    assert estimate_tokens("internationalization") == 7
    # print ( x ) <newline+indent> return y
    assert estimate_tokens("print(x)\n        return y") == 2 + 1 + 1 + 1 + 1 + 2 + 1


def test_english_prose_stays_near_characters_over_three():
    prose = "The quick brown fox jumps over the lazy dog while the farmer sleeps in the afternoon sun. " * 10
    assert len(prose) / 3 * 0.8 <= estimate_tokens(prose) <= len(prose) / 3 * 1.2
