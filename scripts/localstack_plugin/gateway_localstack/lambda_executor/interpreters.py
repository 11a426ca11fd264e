"""Which interpreter runs a function's declared runtime. No LocalStack imports.

LAMBDA_SUBPROCESS_PYTHON holds a JSON object from runtime to interpreter, e.g.
    {"python3.8": "/repo/.local/aws/lambda-runtime/bin/python",
     "python3.12": "/repo/.local/aws/lambda-runtime/bin/python"}
A runtime may be mapped to another Python version on purpose: Terraform's AWS provider 3.39 (used offline)
knows runtimes up to python3.8 only, so the local root declares python3.8 and the map runs it on CPython 3.12,
the version of the real Lambda runtime.
"""

from __future__ import annotations

import json

ENV_VAR = "LAMBDA_SUBPROCESS_PYTHON"


class InterpreterError(Exception):
    """The runtime has no usable interpreter: the message says what to configure."""


def parse_map(raw: str | None) -> dict[str, str]:
    """The runtime -> interpreter map from the env var's value (empty when unset)."""
    if not raw or not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InterpreterError(f"{ENV_VAR} is not valid JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in mapping.items()
    ):
        raise InterpreterError(f'{ENV_VAR} must be a JSON object like {{"python3.12": "/path/to/python"}}')
    return mapping


def interpreter_for(runtime: str | None, raw: str | None) -> str:
    """The interpreter configured for `runtime` (only Python runtimes can run in the worker)."""
    if not runtime or not runtime.startswith("python"):
        raise InterpreterError(f"the subprocess executor runs Python runtimes only, not {runtime!r}")
    mapping = parse_map(raw)
    try:
        return mapping[runtime]
    except KeyError:
        configured = ", ".join(sorted(mapping)) or "none"
        raise InterpreterError(
            f"no interpreter for runtime {runtime!r} in {ENV_VAR} (configured: {configured})"
        ) from None
