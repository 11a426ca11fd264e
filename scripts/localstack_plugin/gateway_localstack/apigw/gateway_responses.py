"""The header mappings of a gateway response (`responseParameters`), which LocalStack's community REST API
does not apply: the API's own refusals (authorizer 401, API key 403, usage plan 429) must carry the CORS
headers Terraform configures (terraform/modules/api/cors.tf). Pure: handlers.py feeds it the request.

Sources, as AWS documents them for gateway responses: a static value in single quotes, or
method.request.{header,querystring,path}.<name>. A source the request lacks sets no header.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

LOG = logging.getLogger(__name__)

HEADER_TARGET = "gatewayresponse.header."
_REQUEST_SOURCE = "method.request."


def response_headers(
    parameters: Mapping[str, str] | None,
    header: Callable[[str], str | None],
    querystring: Mapping[str, str],
    path: Mapping[str, str],
) -> dict[str, str]:
    """Header name -> value for the mappings of one gateway response; `header` looks a request header up
    case-insensitively."""
    headers: dict[str, str] = {}
    for target, source in (parameters or {}).items():
        if not target.startswith(HEADER_TARGET):
            continue
        value = _resolve(source, header, querystring, path)
        if value is not None:
            headers[target.removeprefix(HEADER_TARGET)] = value
    return headers


def _resolve(
    source: str,
    header: Callable[[str], str | None],
    querystring: Mapping[str, str],
    path: Mapping[str, str],
) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    kind, _, name = source.removeprefix(_REQUEST_SOURCE).partition(".")
    if source.startswith(_REQUEST_SOURCE) and name:
        if kind == "header":
            return header(name) or None
        if kind == "querystring":
            return querystring.get(name) or None
        if kind == "path":
            return path.get(name) or None
    LOG.debug("gateway response parameter source %r is not supported here; skipped", source)
    return None
