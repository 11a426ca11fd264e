import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.cognitoidp.responses import CognitoIdpJsonWebKeyResponse
from moto.utilities.utils import load_resource

from gateway.auth.tokens import (
    JWKS_REFRESH_INTERVAL_SECONDS,
    InvalidTokenError,
    JwksCache,
    TokenVerifier,
    fetch_json,
)

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT_ID = "client-123"
PUBLIC_JWKS = json.loads(CognitoIdpJsonWebKeyResponse.json_web_key)


def _moto_private_key():
    """moto signs every pool's tokens with this key; tests sign their own tokens with it."""
    return jwt.algorithms.RSAAlgorithm.from_jwk(load_resource("cognitoidp/resources/jwks-private.json"))


PRIVATE_KEY = _moto_private_key()


def claims(**overrides):
    now = int(time.time())
    base = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "iat": now,
        "exp": now + 3600,
        "email": "ada@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, key=PRIVATE_KEY, kid="dummy", alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


class CountingFetch:
    def __init__(self, document=PUBLIC_JWKS):
        self.calls = 0
        self.document = document

    def __call__(self, url):
        self.calls += 1
        self.url = url
        return self.document


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def verifier(fetch=None, clock=None):
    return TokenVerifier(
        JwksCache("https://jwks", fetch or CountingFetch(), clock or Clock()), ISSUER, CLIENT_ID
    )


def test_valid_id_token_gives_its_claims():
    assert verifier().verify(sign(claims()))["sub"] == "user-1"


def test_valid_access_token_is_checked_against_client_id():
    token = sign(claims(aud=None, token_use="access", client_id=CLIENT_ID))
    assert verifier().verify(token)["token_use"] == "access"


def _none_token():
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": "dummy"}).encode()).decode()
    body = jwt.utils.base64url_encode(json.dumps(claims()).encode()).decode()
    return f"{header}.{body}."


def _tampered():
    header, _body, signature = sign(claims()).split(".")
    forged = jwt.utils.base64url_encode(json.dumps(claims(sub="admin-user")).encode()).decode()
    return f"{header}.{forged}.{signature}"


def _hs256_with_the_public_key_as_secret():
    """The algorithm-confusion attack: HMAC-signed with the pool's public key (PEM), which anyone can fetch.
    Made by hand: PyJWT refuses to HMAC-sign with an asymmetric key."""
    public_key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(PUBLIC_JWKS["keys"][0]))
    secret = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": "dummy", "typ": "JWT"}).encode())
    body = jwt.utils.base64url_encode(json.dumps(claims()).encode())
    signing_input = header + b"." + body
    signature = jwt.utils.base64url_encode(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("case", "token"),
    [
        ("malformed", "not-a-jwt"),
        ("empty", ""),
        ("expired", sign(claims(exp=int(time.time()) - 120))),
        ("wrong issuer", sign(claims(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"))),
        ("wrong client (id token)", sign(claims(aud="someone-else"))),
        ("wrong client (access token)", sign(claims(aud=None, token_use="access", client_id="someone-else"))),
        ("unknown token_use", sign(claims(token_use="refresh"))),
        ("missing exp", sign(claims(exp=None))),
        ("neither auth_time nor iat", sign(claims(iat=None))),
        ("alg none", _none_token()),
        ("HS256 with the public key as secret", _hs256_with_the_public_key_as_secret()),
        ("HS256 with another secret", jwt.encode(claims(), "s" * 40, algorithm="HS256")),
        ("tampered payload", _tampered()),
        ("unknown kid", sign(claims(), key=OTHER_KEY, kid="other")),
        ("no kid", jwt.encode(claims(), PRIVATE_KEY, algorithm="RS256")),
        ("right kid, other key", sign(claims(), key=OTHER_KEY, kid="dummy")),
        ("header not an object", "W10." + sign(claims()).split(".", 1)[1]),  # base64url of []
        ("header not base64", "é." + sign(claims()).split(".", 1)[1]),
        ("header deeply nested", jwt.utils.base64url_encode(b"[" * 100_000).decode() + ".e30.e30"),
        ("padded header, other key", sign(claims(), key=OTHER_KEY, kid="dummy").replace(".", "=.", 1)),
    ],
)
def test_bad_tokens_are_refused_without_echo(case, token):
    with pytest.raises(InvalidTokenError) as raised:
        verifier().verify(token)
    assert raised.value.code == "invalid_token", case
    if token:
        assert token not in raised.value.message


HEADER_FILLERS = ["", "a", "ab", "abc"]


def _signed_with_header_filler(filler):
    return jwt.encode(claims(), PRIVATE_KEY, algorithm="RS256", headers={"kid": "dummy", "x": filler})


def test_the_header_fillers_give_every_length_a_base64url_segment_can_have():
    assert {len(_signed_with_header_filler(f).split(".")[0]) % 4 for f in HEADER_FILLERS} == {0, 2, 3}


@pytest.mark.parametrize("filler", HEADER_FILLERS)
def test_a_header_of_any_length_is_read(filler):
    """base64url drops the padding: the reader restores it for a header segment of any length."""
    assert verifier().verify(_signed_with_header_filler(filler))["sub"] == "user-1"


@pytest.mark.parametrize(
    ("case", "header_segment"),
    [
        # {"alg":"RS256","kid":"unk"} and {"alg":"RS256","kid":"u"} with a "!" put in: a lenient base64 reader
        # skips the "!" and reads an unknown kid, so the forged token would set off a JWKS fetch
        ("a character outside base64url", "eyJhbGciOiJSUzI1NiIsImtpZCI6!InVuayJ9"),
        ("a character outside base64url, one padding short", "eyJhbGciOiJSUzI1NiIsImtpZCI6!InUifQ"),
        ("a padded segment", "eyJhbGciOiJSUzI1NiIsImtpZCI6InUifQ=="),
        ("not ASCII", "eyJhbGciOiJSUzI1NiIsImtpZCI6InVuayJ9é"),
    ],
)
def test_a_header_that_is_not_strict_base64url_is_refused_before_any_jwks_fetch(case, header_segment):
    fetch = CountingFetch()
    body = sign(claims()).split(".", 1)[1]
    with pytest.raises(InvalidTokenError):
        verifier(fetch=fetch).verify(f"{header_segment}.{body}")
    assert fetch.calls == 0, case


def test_jwks_is_fetched_once_and_cached():
    fetch = CountingFetch()
    checker = verifier(fetch=fetch)
    for _ in range(5):
        checker.verify(sign(claims()))
    assert fetch.calls == 1


def test_unknown_kid_refetches_at_most_once_per_interval():
    fetch, clock = CountingFetch(), Clock()
    checker = verifier(fetch=fetch, clock=clock)
    checker.verify(sign(claims()))
    forged = sign(claims(), key=OTHER_KEY, kid="rotated")
    for _ in range(20):
        with pytest.raises(InvalidTokenError):
            checker.verify(forged)
    assert fetch.calls == 1  # the first fetch was just now: no refetch inside the interval
    clock.now += JWKS_REFRESH_INTERVAL_SECONDS + 1
    with pytest.raises(InvalidTokenError):
        checker.verify(forged)
    assert fetch.calls == 2


def test_rotated_key_is_picked_up_after_the_interval():
    other_public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY.public_key()))
    fetch, clock = CountingFetch(), Clock()
    checker = verifier(fetch=fetch, clock=clock)
    checker.verify(sign(claims()))
    fetch.document = {"keys": [*PUBLIC_JWKS["keys"], {**other_public, "kid": "rotated", "alg": "RS256"}]}
    clock.now += JWKS_REFRESH_INTERVAL_SECONDS + 1
    assert checker.verify(sign(claims(), key=OTHER_KEY, kid="rotated"))["sub"] == "user-1"


def test_unreachable_jwks_refuses_the_token():
    def failing(_url):
        raise OSError("connection refused")

    with pytest.raises(InvalidTokenError):
        verifier(fetch=failing).verify(sign(claims()))


def test_the_jwks_comes_from_the_pools_url():
    fetch = CountingFetch()
    verifier(fetch=fetch).verify(sign(claims()))
    assert fetch.url == "https://jwks"


def test_a_jwks_without_keys_or_with_other_key_types_refuses_cleanly():
    with pytest.raises(InvalidTokenError):
        verifier(fetch=CountingFetch({})).verify(sign(claims()))
    elliptic = {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "AA", "y": "AA"}
    anonymous = {k: v for k, v in PUBLIC_JWKS["keys"][0].items() if k != "kid"}
    mixed = {"keys": [elliptic, anonymous, *PUBLIC_JWKS["keys"]]}
    assert verifier(fetch=CountingFetch(mixed)).verify(sign(claims()))["sub"] == "user-1"


def test_the_refetch_interval_ends_exactly_on_time():
    fetch, clock = CountingFetch(), Clock()
    checker = verifier(fetch=fetch, clock=clock)
    checker.verify(sign(claims()))
    clock.now += JWKS_REFRESH_INTERVAL_SECONDS
    with pytest.raises(InvalidTokenError):
        checker.verify(sign(claims(), key=OTHER_KEY, kid="rotated"))
    assert fetch.calls == 2


def test_a_few_seconds_of_clock_skew_are_allowed():
    assert verifier().verify(sign(claims(exp=int(time.time()) - 3)))["sub"] == "user-1"


def test_a_token_is_parsed_by_pyjwt_once(monkeypatch):
    # PyJWT's parsing checks each byte in Python: the key is chosen from the header read without it.
    loads = []
    original = jwt.api_jws.PyJWS._load
    monkeypatch.setattr(
        jwt.api_jws.PyJWS, "_load", lambda self, token: loads.append(1) or original(self, token)
    )
    assert verifier().verify(sign(claims()))["sub"]
    assert len(loads) == 1


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    """Serves the pool's JWKS on loopback, recording the paths asked for in its server's `paths`."""

    def do_GET(self):
        self.server.paths.append(self.path)
        body = json.dumps(PUBLIC_JWKS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # no request lines on stderr
        pass


@pytest.fixture
def jwks_server():
    """A JWKS endpoint on 127.0.0.1 (a free port), for the fetch over real HTTP."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.paths
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_jwks_is_read_over_http_and_verifies_tokens_by_default(jwks_server):
    url, paths = jwks_server
    assert fetch_json(f"{url}/pool/.well-known/jwks.json") == PUBLIC_JWKS
    assert paths == ["/pool/.well-known/jwks.json"]
    checker = TokenVerifier(JwksCache(f"{url}/jwks"), ISSUER, CLIENT_ID)  # the default fetch: fetch_json
    assert checker.verify(sign(claims()))["sub"] == "user-1"
    assert paths[1:] == ["/jwks"]


class _Opened:
    """What urlopen returns, as fetch_json uses it: a context manager whose read() is the body."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body


def test_the_jwks_fetch_waits_three_seconds_unless_told_and_takes_https(monkeypatch):
    opened = []

    def urlopen(url, timeout=None):
        opened.append((url, timeout))
        return _Opened(b'{"keys": []}')

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    assert fetch_json("https://cognito-idp/jwks") == {"keys": []}
    assert fetch_json("https://cognito-idp/jwks", timeout=0.5) == {"keys": []}
    assert opened == [("https://cognito-idp/jwks", 3.0), ("https://cognito-idp/jwks", 0.5)]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/jwks", "jwks", "HTTPS//host"])
def test_a_jwks_url_that_is_not_http_is_never_opened(monkeypatch, url):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kwargs: pytest.fail("opened"))
    with pytest.raises(ValueError, match=r"^JWKS URL must be http\(s\)$"):
        fetch_json(url)
