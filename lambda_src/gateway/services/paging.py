"""Opaque, tamper-evident paging tokens: the position is signed (HMAC-SHA256) with the page's scope, so a
token edited by hand or taken from another listing is refused with a 400 instead of being trusted."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable

from gateway.errors import BadRequestError


class InvalidPageTokenError(BadRequestError):
    code = "invalid_next_token"
    message = "The paging token is not valid for this listing."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key_source = key
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _signing_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._key_source()
            return self._key

    def encode(self, position: str | None, scope: str) -> str | None:
        if position is None:
            return None
        payload = json.dumps({"p": position, "s": scope}, separators=(",", ":")).encode()
        signature = hmac.new(self._signing_key(), payload, hashlib.sha256).digest()[:16]
        return f"{_b64(payload)}.{_b64(signature)}"

    def decode(self, token: str | None, scope: str) -> str | None:
        if not token:
            return None
        try:
            payload_part, signature_part = token.split(".", 1)
            payload, signature = _unb64(payload_part), _unb64(signature_part)
            expected = hmac.new(self._signing_key(), payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(signature, expected):
                raise InvalidPageTokenError()
            decoded = json.loads(payload)
        except (ValueError, TypeError) as exc:
            raise InvalidPageTokenError() from exc
        if (
            not isinstance(decoded, dict)
            or decoded.get("s") != scope
            or not isinstance(decoded.get("p"), str)
        ):
            raise InvalidPageTokenError()
        return decoded["p"]
