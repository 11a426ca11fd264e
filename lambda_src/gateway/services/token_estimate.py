"""The input tokens reserved before a model call, from the prompt's text alone.

The reservation must not fall below what the provider later counts, whatever the script or the spacing:
- a run of ASCII letters and digits costs one token per `chars_per_token` characters, rounded up, so a
  one-letter word costs a whole token (BPE tokenizers give every word at least one token);
- every other visible ASCII character (punctuation, symbols, control characters) costs one token, as code and
  JSON are full of them and BPE often leaves them unmerged;
- a run of two or more ASCII whitespace characters costs one token (indentation, blank lines); a single space
  or newline is free, as tokenizers fold it into the next word;
- every character outside ASCII costs one token: CJK, emoji and accented letters are 2-4 UTF-8 bytes, and
  tokenizers give them about one token each (never more than their bytes).
Every whitespace-separated word therefore costs at least one token, so the estimate is never below a word
count; for English prose it is about 1.5 times the real count, the same as characters / 3 was.
"""

import math
import re
from collections.abc import Iterable

_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_WHITESPACE_RUN = re.compile(r"[\t\n\x0b\x0c\r ]{2,}")
_FREE_OR_RUN_CHARS = re.compile(r"[A-Za-z0-9\t\n\x0b\x0c\r ]+")


def estimate_tokens(text: str, chars_per_token: int = 3) -> int:
    """The tokens reserved for `text` (see the module's docstring for the rule and why)."""
    alnum = sum(math.ceil(len(run) / chars_per_token) for run in _ALNUM_RUN.findall(text))
    whitespace_runs = len(_WHITESPACE_RUN.findall(text))
    one_each = len(_FREE_OR_RUN_CHARS.sub("", text))  # punctuation, controls and every non-ASCII character
    return alnum + whitespace_runs + one_each


def estimate_input_tokens(texts: Iterable[str], chars_per_token: int = 3) -> int:
    return sum(estimate_tokens(text, chars_per_token) for text in texts)
