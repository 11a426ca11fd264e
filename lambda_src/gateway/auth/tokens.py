"""Verification of Cognito tokens: RS256 against the pool's JWKS, with every claim checked.

The app verifies each bearer token itself, also behind API Gateway's authorizer. The JWKS is cached
per process and refetched only when a token names an unknown `kid`, at most once per 10 seconds, so
a flood of forged tokens cannot turn into a flood of JWKS fetches.
"""

import binascii
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from gateway.errors import UnauthorizedError

JWKS_REFRESH_INTERVAL_SECONDS = 10.0
_LEEWAY_SECONDS = 5
_BASE64URL_TO_BASE64 = str.maketrans("-_", "+/")


class InvalidTokenError(UnauthorizedError):
    code = "invalid_token"
    message = "The token is missing, malformed, expired or not issued for this application."


def _unverified_header(token: str) -> dict[str, Any]:
    """The token's header, read only to choose the key: jwt.decode then checks the whole token (header
    included) as it would without it. PyJWT's own reader parses and checks every segment, byte by byte in
    Python: reading the header with it too parsed each token twice (about 0.02 ms a token here)."""
    encoded = token.split(".", 1)[0]
    if "=" in encoded:  # JWS segments carry no padding (RFC 7515); Cognito's never do
        raise InvalidTokenError()
    padded = encoded.translate(_BASE64URL_TO_BASE64) + "=" * (-len(encoded) % 4)
    try:
        # strict: a character outside the alphabet is refused here, before any JWKS fetch
        header = json.loads(binascii.a2b_base64(padded, strict_mode=True))
    except (ValueError, RecursionError) as exc:  # not base64 (binascii.Error), ASCII, UTF-8 or (shallow) JSON
        raise InvalidTokenError() from exc
    if not isinstance(header, dict):
        raise InvalidTokenError()
    return header


def fetch_json(url: str, timeout: float = 3.0) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError("JWKS URL must be http(s)")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
        return json.loads(response.read())


class JwksCache:
    def __init__(
        self,
        url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._last_fetch: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        with self._lock:
            now = self._clock()
            recently = self._last_fetch is not None and now - self._last_fetch < JWKS_REFRESH_INTERVAL_SECONDS
            if kid not in self._keys and not recently:
                self._last_fetch = now
                try:
                    document = self._fetch(self._url)
                except Exception as exc:  # the pool's JWKS is unreachable: no token can be verified
                    raise InvalidTokenError() from exc
                from jwt.algorithms import RSAAlgorithm  # cold start: see verify

                self._keys = {
                    entry["kid"]: RSAAlgorithm.from_jwk(entry)
                    for entry in document.get("keys", [])
                    if entry.get("kty") == "RSA" and "kid" in entry
                }
        if kid not in self._keys:
            raise InvalidTokenError()
        return self._keys[kid]


class TokenVerifier:
    def __init__(self, jwks: JwksCache, issuer: str, client_id: str) -> None:
        self._jwks = jwks
        self._issuer = issuer
        self._client_id = client_id

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or InvalidTokenError; never echoes the token."""
        # PyJWT loads `cryptography` (~100 ms): the first token pays it, not every cold start.
        import jwt

        header = _unverified_header(token)
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise InvalidTokenError()
        key = self._jwks.key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError() from exc
        # id tokens name the app client in `aud`, access tokens in `client_id`
        audience_claim = {"id": "aud", "access": "client_id"}.get(claims.get("token_use"))
        if audience_claim is None or claims.get(audience_claim) != self._client_id:
            raise InvalidTokenError()
        # Cognito always sets both; the sign-out rule needs one of them.
        if not isinstance(claims.get("auth_time", claims.get("iat")), int):
            raise InvalidTokenError()
        return claims
