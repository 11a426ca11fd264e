import json
import logging

from gateway.logs import JsonFormatter, redact, request_id_var


def test_redact_masks_tokens_keys_and_passwords():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"
    text = (
        f'{{"password": "hunter22", "api_key": "AbCdEf123", "token": "{jwt}"}} '
        f"Authorization: Bearer opaque-value x-api-key=KeyValue99"
    )
    masked = redact(text)
    for secret in ("hunter22", "AbCdEf123", jwt, "opaque-value", "KeyValue99"):
        assert secret not in masked


def test_redact_leaves_ordinary_text_alone():
    assert redact("GET /health 200 in 3 ms") == "GET /health 200 in 3 ms"


def test_formatter_writes_one_json_object_with_request_id_and_extras():
    token = request_id_var.set("req-9")
    try:
        record = logging.makeLogRecord(
            {
                "name": "gateway.test",
                "levelno": logging.INFO,
                "levelname": "INFO",
                "msg": "hello %s",
                "args": ("world",),
                "path": "/health",
            }
        )
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["message"] == "hello world"
    assert entry["request_id"] == "req-9"
    assert entry["path"] == "/health"
    assert entry["level"] == "INFO"
