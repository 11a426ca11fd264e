"""JSON log lines on stdout (CloudWatch Logs picks them up), one logger setup per process.

Secrets never reach a log: code logs no headers or bodies, and as a second line of defence the
formatter masks anything shaped like a JWT, a bearer token or a key-value secret.
"""

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_SECRET_PAIR = re.compile(
    r"(?i)(\"?(?:password|secret|token|api[_-]?key|authorization|x-api-key)\"?\s*[:=]\s*\"?)[^\s\",}]+"
)
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    text = _JWT.sub("[REDACTED]", text)
    text = _BEARER.sub(r"\1[REDACTED]", text)
    return _SECRET_PAIR.sub(r"\1[REDACTED]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever `sys.stdout` is at emit time (runtimes and tests may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str) -> None:
    """Idempotent: the root logger gets exactly one JSON handler."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if getattr(handler, "_gateway_json", False):
            return
    handler = _StdoutHandler()
    handler.setFormatter(JsonFormatter())
    handler._gateway_json = True  # type: ignore[attr-defined]
    # Lambda's runtime installs its own plain-text handler; ours replaces it.
    root.handlers = [handler]
    for noisy in ("botocore", "boto3", "urllib3", "httpx", "mangum"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
