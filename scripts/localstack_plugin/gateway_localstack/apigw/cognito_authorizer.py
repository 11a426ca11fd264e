"""The decisions of a REST API (v1) COGNITO_USER_POOLS authorizer. No LocalStack imports.

A request passes when its token
- is a JWS signed with RS256 by a key of the pool's JWKS, found by `kid` (any other `alg` fails, `none` too);
- was issued by one of the authorizer's pools (`iss` = https://cognito-idp.<region>.amazonaws.com/<pool id>);
- has not expired (`exp`);
- is an ID token when the method has no authorization scopes, or an access token carrying one of the
  method's scopes when it has some (as API Gateway does).
Everything else is `Unauthorized` (API Gateway answers 401 {"message":"Unauthorized"}); the reason is for
logs only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class Unauthorized(Exception):  # noqa: N818 - named after the API Gateway response it becomes
    """The request carries no acceptable token."""


def _b64url(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized("token is not base64url") from exc


def _b64url_int(segment: str) -> int:
    return int.from_bytes(_b64url(segment), "big")


class KeySet:
    """The RSA signing keys of a JWKS document, by `kid`."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid") and jwk.get("use", "sig") == "sig":
                numbers = rsa.RSAPublicNumbers(e=_b64url_int(jwk["e"]), n=_b64url_int(jwk["n"]))
                self._keys[jwk["kid"]] = numbers.public_key()

    def get(self, kid: object) -> rsa.RSAPublicKey | None:
        return self._keys.get(kid) if isinstance(kid, str) else None


def verify_signature(token: str, keys: KeySet) -> dict[str, Any]:
    """The claims of an RS256 JWS whose signature a key of `keys` verifies."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("token is not a JWS")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(_b64url(header_b64))
        claims = json.loads(_b64url(payload_b64))
    except ValueError as exc:  # JSON or UTF-8 errors
        raise Unauthorized("token header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unauthorized("token header or payload is not an object")
    if header.get("alg") != "RS256":
        raise Unauthorized(f"alg {header.get('alg')!r} is not accepted")
    key = keys.get(header.get("kid"))
    if key is None:
        raise Unauthorized(f"no key with kid {header.get('kid')!r}")
    try:
        key.verify(
            _b64url(signature_b64),
            f"{header_b64}.{payload_b64}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, UnicodeEncodeError) as exc:
        raise Unauthorized("signature does not verify") from exc
    return claims


def check_claims(
    claims: Mapping[str, Any], issuers: Iterable[str], scopes: Iterable[str] | None, now: float
) -> None:
    """Raise Unauthorized unless the verified claims suit the authorizer and the method."""
    if claims.get("iss") not in set(issuers):
        raise Unauthorized(f"issuer {claims.get('iss')!r} is not a pool of this authorizer")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or now >= exp:
        raise Unauthorized("token has expired or has no exp")
    wanted = set(scopes or ())
    if wanted:
        if claims.get("token_use") != "access":
            raise Unauthorized("methods with authorization scopes take an access token")
        granted = set(str(claims.get("scope") or "").split())
        if not granted & wanted:
            raise Unauthorized("the access token carries none of the method's scopes")
    elif claims.get("token_use") != "id":
        raise Unauthorized("methods without authorization scopes take an ID token")


def issuers_for(provider_arns: Iterable[str]) -> set[str]:
    """`arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>` -> the `iss` its tokens carry."""
    issuers = set()
    for arn in provider_arns:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "cognito-idp" and parts[5].startswith("userpool/"):
            issuers.add(f"https://cognito-idp.{parts[3]}.amazonaws.com/{parts[5].removeprefix('userpool/')}")
    return issuers


def token_from_header(value: str | None) -> str | None:
    """The token of an Authorization header value; a `Bearer ` prefix is accepted and removed."""
    value = (value or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def header_name(identity_source: str | None) -> str:
    """`method.request.header.Authorization` -> `Authorization` (API Gateway's default source)."""
    source = identity_source or "method.request.header.Authorization"
    return source.removeprefix("method.request.header.").strip()


def authorize(
    header_value: str | None,
    keys: KeySet,
    provider_arns: Iterable[str],
    scopes: Iterable[str] | None,
    now: float,
) -> dict[str, Any]:
    """The verified claims of the request's token, or Unauthorized."""
    token = token_from_header(header_value)
    if token is None:
        raise Unauthorized("no token")
    claims = verify_signature(token, keys)
    check_claims(claims, issuers_for(provider_arns), scopes, now)
    return claims


def claims_for_context(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as a REST API hands them to the integration (`requestContext.authorizer.claims`): strings only;
    `exp`/`iat` as dates like "Thu Jun 18 16:11:04 UTC 2020", lists comma-joined, booleans lower-case."""

    def text(name: str, value: Any) -> str:
        if name in ("exp", "iat") and isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return ",".join(str(v) for v in value)
        if isinstance(value, dict):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    return {name: text(name, value) for name, value in claims.items()}
