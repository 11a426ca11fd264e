"""Domain errors, raised anywhere below the routes, and their one mapping to HTTP.

Every error leaves the app as `{"error": {"code": ..., "message": ...}}`. Messages are written for
clients; exception text from libraries never reaches them.
"""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

# The stable code of the error a request ended with, for the audit trail (request.scope["state"]).
ERROR_CODE_STATE_KEY = "error_code"


class AppError(Exception):
    status_code = 500
    code = "internal_error"
    message = "Internal error."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequestError(AppError):
    status_code = 400
    code = "bad_request"
    message = "The request is not valid."


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"
    message = "Authentication is required."


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class ConflictError(AppError):
    status_code = 409
    code = "conflict"
    message = "The resource already exists."


class TooManyRequestsError(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests."


class UpstreamError(AppError):
    status_code = 502
    code = "upstream_error"
    message = "An upstream service failed."


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "A service is not available right now."


class UpstreamTimeoutError(AppError):
    status_code = 504
    code = "upstream_timeout"
    message = "An upstream service did not answer in time."


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


# On the OpenAI-compatible routes (/v1) errors also carry OpenAI's `type`, which its clients read.
OPENAI_PATH_PREFIX = "/v1"
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def openai_error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return _OPENAI_TYPES.get(status, "invalid_request_error")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


JSON_CONTENT_TYPE = "application/json"
SEND_JSON = f"send a JSON object with the header content-type: {JSON_CONTENT_TYPE}"
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}$")


# pydantic's errors for a body that is absent or not an object (a dict or model field given another type).
_BODY_SHAPE_ERRORS = frozenset({"missing", "model_attributes_type", "model_type", "dict_type"})


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == JSON_CONTENT_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _body_refusal(request: Request, exc: RequestValidationError) -> tuple[int, str, str] | None:
    """When the body as a whole is not a JSON object: (status, code, message) saying what to send.

    FastAPI reads a body as JSON only under a JSON content-type: curl's `-d` without `-H 'content-type: ...'`
    sends `application/x-www-form-urlencoded`, which pydantic then reports as "Input should be a valid
    dictionary", naming nothing the client can fix."""
    for error in exc.errors():
        location = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            position = location[1] if len(location) > 1 else "?"
            return 422, "invalid_json", f"The body is not valid JSON (at character {position}): {SEND_JSON}."
        if location != ("body",) or error.get("type") not in _BODY_SHAPE_ERRORS:
            continue  # a rule about the body's fields (a model validator) has its own message
        content_type = request.headers.get("content-type", "").strip()
        if error.get("type") == "missing":
            return 422, "missing_body", f"The request needs a body: {SEND_JSON}."
        if not content_type:
            return 415, "unsupported_media_type", f"The body was sent without a content-type: {SEND_JSON}."
        if not _is_json_media_type(content_type):
            media_type = content_type.partition(";")[0].strip()
            named = media_type if _MEDIA_TYPE.match(media_type) else "another type"
            return 415, "unsupported_media_type", f"The body was sent as {named}: {SEND_JSON}."
        return 422, "body_not_object", f"The body is JSON but not an object: {SEND_JSON}."
    return None


# Validation problems that answer with a code of their own instead of `validation_error` (see coded_problem).
_CODED_PROBLEMS: set[str] = set()


def coded_problem(code: str, message: str) -> PydanticCustomError:
    """A schema's validation problem whose 422 carries `code` (when it is the request's only kind of problem),
    so that a rule checked in a schema answers as the same rule checked below it would."""
    _CODED_PROBLEMS.add(code)
    return PydanticCustomError(code, message)


def _validation_code(exc: RequestValidationError) -> str:
    kinds = {str(error.get("type")) for error in exc.errors()}
    return kinds.pop() if len(kinds) == 1 and kinds <= _CODED_PROBLEMS else "validation_error"


def _describe_validation_errors(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    # Field locations and pydantic's messages only: the rejected input may be a password.
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        problems.append({"field": location, "problem": str(error.get("msg", "invalid"))})
    message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems) or "The request is not valid."
    return message, problems


def _respond(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    request.scope.setdefault("state", {})[ERROR_CODE_STATE_KEY] = body["error"]["code"]
    path = request.url.path
    if path == OPENAI_PATH_PREFIX or path.startswith(f"{OPENAI_PATH_PREFIX}/"):
        body["error"]["type"] = openai_error_type(status)
    return JSONResponse(body, status_code=status, headers=headers)


_ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable: clients may branch on it."},
                "message": {"type": "string", "description": "For people: says what to do."},
                "details": {"type": "object", "description": "validation_error: the fields at fault."},
                "type": {"type": "string", "description": "On /v1 only: OpenAI's error type."},
            },
        }
    },
}
_BODY_ERRORS = {
    "422": "validation_error (the fields at fault), invalid_json, body_not_object or missing_body; a route's "
    "own rules may name a code of their own (e.g. invalid_password, conflicting_fields)",
    "415": "unsupported_media_type: the body was not sent with content-type: application/json",
}


def describe_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI with its one error shape where FastAPI describes its own: a route with a JSON body
    answers 422 and 415 as `_body_refusal` and the validation handler do."""
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {"description": _BODY_ERRORS["422"], "content": error}
            if "requestBody" in operation:
                responses["415"] = {"description": _BODY_ERRORS["415"], "content": error}
    for unused in ("HTTPValidationError", "ValidationError"):
        spec["components"]["schemas"].pop(unused, None)
    return spec


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return _respond(request, exc.status_code, error_body(exc.code, exc.message, exc.details), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        refusal = _body_refusal(request, exc)
        if refusal is not None:
            status, code, message = refusal
            return _respond(request, status, error_body(code, message))
        message, problems = _describe_validation_errors(exc)
        return _respond(request, 422, error_body(_validation_code(exc), message, {"problems": problems}))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error" if exc.status_code < 500 else "internal_error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        return _respond(request, exc.status_code, error_body(code, message), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return _respond(request, 500, error_body("internal_error", "Internal error."))
