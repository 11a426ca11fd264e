"""CORS: which browser origins may call the API and read its answers.

The app answers every request's CORS, preflights included: API Gateway sends OPTIONS to the function too
(terraform/modules/api/cors.tf), so one allow-list (`cors_allowed_origins`) decides everywhere. Starlette's
CORSMiddleware does the protocol; this module turns the setting into its options.
"""

import re
from collections.abc import Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

ALLOWED_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# What the gateway's clients send: tokens, API keys, SigV4 headers, a correlation id and idempotency keys.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Api-Key",
    "X-Request-Id",
)
# Readable by the page beyond the CORS-safelisted response headers.
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")
MAX_AGE_SECONDS = 600
ANY_ORIGIN = "*"
ANY_PORT = ":*"


def exact_origins(origins: Sequence[str]) -> list[str]:
    return [origin for origin in origins if not origin.endswith(ANY_PORT)]


def port_wildcard_regex(origins: Sequence[str]) -> str | None:
    """One regex for the "scheme://host:*" entries: that scheme and host on any port or the default one."""
    patterns = [
        f"(?:{re.escape(origin.removesuffix(ANY_PORT))}(?::[0-9]{{1,5}})?)"
        for origin in origins
        if origin.endswith(ANY_PORT)
    ]
    return "|".join(patterns) or None


def cors_middleware(app: ASGIApp, allowed_origins: Sequence[str]) -> CORSMiddleware:
    # No credentials: the API takes tokens and keys in headers, never cookies, and "*" forbids them anyway.
    return CORSMiddleware(
        app,
        allow_origins=exact_origins(allowed_origins),
        allow_origin_regex=port_wildcard_regex(allowed_origins),
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        expose_headers=EXPOSED_HEADERS,
        max_age=MAX_AGE_SECONDS,
    )
