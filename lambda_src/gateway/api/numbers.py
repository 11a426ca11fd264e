"""The numbers a request may carry: finite, and small enough for DynamoDB (38 digits) and the providers.

Starlette's JSON parser accepts `NaN` and `Infinity` literals; they and oversized integers are refused here,
in the request's schema, with a 422 that names the field, instead of failing later in a counter or a call.
"""

import math
from typing import Any

# The largest output any Bedrock model offers is far below this; bots use the same cap.
MAX_OUTPUT_TOKENS = 200_000
# A counter limit (requests, tokens) above this means "no limit", which is null.
MAX_COUNT_LIMIT = 10**15
MAX_BUDGET_USD = 1_000_000_000
# What the providers' JSON readers take as a whole number (a signed 64-bit integer).
MAX_JSON_INT = 2**63 - 1


def check_json_numbers(value: Any, where: str) -> None:
    """Raise ValueError (a 422) at the first non-finite float or oversized integer in a JSON value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: numbers must be finite, got {value}.")
    elif isinstance(value, int):
        if abs(value) > MAX_JSON_INT:
            raise ValueError(f"{where}: whole numbers must be within ±{MAX_JSON_INT}.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_numbers(item, f"{where}[{index}]")


def check_max_tokens(value: Any, where: str) -> None:
    """A provider's output maximum, where the request names one: a number from 1 to MAX_OUTPUT_TOKENS."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > MAX_OUTPUT_TOKENS:
        raise ValueError(f"{where}: at most {MAX_OUTPUT_TOKENS} output tokens, got {value}.")
