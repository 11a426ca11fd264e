"""FastAPI refuses pydantic.v1 models: each route parameter, body and response model it builds, and each
object its encoder cannot place, is checked after `from pydantic import v1`. That import costs a cold start
about 70 ms (the whole v1 package) in an app that never uses v1. A v1 class or instance cannot exist before
pydantic.v1 is imported, so until then the checks' answer is known (no) without importing it; after, they run
as they are.
"""

import sys
from collections.abc import Callable
from typing import Any

import fastapi._compat.shared
import fastapi.encoders

_PYDANTIC_V1 = "pydantic.v1"


def _once_v1_is_imported(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    if getattr(check, "gateway_guarded", False):
        return check

    def guarded(value: Any) -> bool:
        return _PYDANTIC_V1 in sys.modules and check(value)

    guarded.gateway_guarded = True  # type: ignore[attr-defined]
    return guarded


def skip_unused_pydantic_v1_import() -> None:
    """Guard FastAPI's two checks (idempotent). A FastAPI release that renames them fails here, loudly."""
    shared = fastapi._compat.shared
    # annotation_is_pydantic_v1 (routes) looks the class check up in its own module at each call.
    shared.is_pydantic_v1_model_class = _once_v1_is_imported(shared.is_pydantic_v1_model_class)
    # The encoder imported the instance check by name.
    fastapi.encoders.is_pydantic_v1_model_instance = _once_v1_is_imported(
        fastapi.encoders.is_pydantic_v1_model_instance
    )
