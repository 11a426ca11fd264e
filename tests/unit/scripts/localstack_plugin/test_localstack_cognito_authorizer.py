import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_localstack.apigw import cognito_authorizer as ca

REGION, POOL = "us-east-1", "us-east-1_0123456789abcdef0123456789abcdef"
ARN = f"arn:aws:cognito-idp:{REGION}:000000000000:userpool/{POOL}"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
NOW = 1_800_000_000


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    return ca.KeySet({"keys": [jwk]})


def claims(**overrides):
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "token_use": "id",
        "exp": NOW + 3600,
        "iat": NOW,
        "cognito:groups": ["admin", "users"],
        "email_verified": True,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key, payload, kid="k1", alg="RS256"):
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def authorize(keys, token, scopes=None, arns=(ARN,)):
    return ca.authorize(token, keys, arns, scopes, now=NOW)


def test_valid_id_token_passes_and_returns_its_claims(key, keys):
    got = authorize(keys, sign(key, claims()))

    assert got["sub"] == "user-1"


def test_bearer_prefix_is_accepted(key, keys):
    assert authorize(keys, "Bearer " + sign(key, claims()))["sub"] == "user-1"


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer "])
def test_missing_token_is_refused(keys, header):
    with pytest.raises(ca.Unauthorized):
        authorize(keys, header)


def test_token_of_another_pool_is_refused(key, keys):
    other = f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_other"

    with pytest.raises(ca.Unauthorized, match="issuer"):
        authorize(keys, sign(key, claims(iss=other)))


@pytest.mark.parametrize("exp", [NOW, NOW - 1, None, "tomorrow", True])
def test_expired_or_missing_exp_is_refused(key, keys, exp):
    with pytest.raises(ca.Unauthorized, match="exp"):
        authorize(keys, sign(key, claims(exp=exp)))


def test_alg_none_is_refused(keys):
    header = _b64(json.dumps({"alg": "none", "kid": "k1"}).encode())
    payload = _b64(json.dumps(claims()).encode())

    with pytest.raises(ca.Unauthorized, match="alg"):
        authorize(keys, f"{header}.{payload}.")


def test_hs256_signed_with_the_public_key_is_refused(key, keys):
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims()).encode())
    import hashlib
    import hmac

    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())

    with pytest.raises(ca.Unauthorized, match="alg"):
        authorize(keys, f"{header}.{payload}.{signature}")


def test_tampered_payload_is_refused(key, keys):
    header, _, signature = sign(key, claims()).split(".")
    forged = _b64(json.dumps(claims(sub="admin-user")).encode())

    with pytest.raises(ca.Unauthorized, match="signature"):
        authorize(keys, f"{header}.{forged}.{signature}")


def test_unknown_kid_is_refused(key, keys):
    with pytest.raises(ca.Unauthorized, match="kid"):
        authorize(keys, sign(key, claims(), kid="k2"))


def test_another_key_under_a_known_kid_is_refused(keys):
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(ca.Unauthorized, match="signature"):
        authorize(keys, sign(intruder, claims()))


@pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.e30", "W10.W10.e30"])
def test_malformed_tokens_are_refused(keys, token):
    with pytest.raises(ca.Unauthorized):
        authorize(keys, token)


def test_without_scopes_an_access_token_is_refused(key, keys):
    with pytest.raises(ca.Unauthorized, match="ID token"):
        authorize(keys, sign(key, claims(token_use="access", scope="aws.cognito.signin.user.admin")))


def test_with_scopes_an_access_token_needs_one_of_them(key, keys):
    scopes = ["gateway/chat", "gateway/admin"]
    good = sign(key, claims(token_use="access", scope="openid gateway/chat"))
    bad = sign(key, claims(token_use="access", scope="openid"))

    assert authorize(keys, good, scopes=scopes)["sub"] == "user-1"
    with pytest.raises(ca.Unauthorized, match="scopes"):
        authorize(keys, bad, scopes=scopes)
    with pytest.raises(ca.Unauthorized, match="access token"):
        authorize(keys, sign(key, claims()), scopes=scopes)


def test_issuers_come_from_the_authorizer_pool_arns():
    arns = [
        ARN,
        "arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_AbC123xyz",
        "arn:aws:s3:::bucket",
        "junk",
    ]

    assert ca.issuers_for(arns) == {
        ISSUER,
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",
    }


def test_identity_source_names_the_header():
    assert ca.header_name("method.request.header.Authorization") == "Authorization"
    assert ca.header_name("method.request.header.X-Token") == "X-Token"
    assert ca.header_name(None) == "Authorization"


def test_claims_reach_the_integration_as_strings():
    got = ca.claims_for_context(claims(exp=1592496664, custom={"a": 1}))

    assert got["exp"] == "Thu Jun 18 16:11:04 UTC 2020"
    assert got["cognito:groups"] == "admin,users"
    assert got["email_verified"] == "true"
    assert got["custom"] == '{"a":1}'
    assert all(isinstance(v, str) for v in got.values())


def test_tokens_issued_by_moto_cognito_pass_with_its_jwks():
    """moto signs every pool with one key (kid "dummy"): the keys the emulator's JWKS route serves."""
    moto = pytest.importorskip("moto")
    import gzip
    import pkgutil

    import boto3

    with moto.mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool = idp.create_user_pool(PoolName="p")["UserPool"]
        client = idp.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="c", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
        )["UserPoolClient"]
        idp.admin_create_user(UserPoolId=pool["Id"], Username="u", TemporaryPassword="Temp-Passw0rd!")
        idp.admin_set_user_password(
            UserPoolId=pool["Id"], Username="u", Password="Passw0rd!x", Permanent=True
        )
        tokens = idp.initiate_auth(
            ClientId=client["ClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "Passw0rd!x"},
        )["AuthenticationResult"]

    keys = ca.KeySet(
        json.loads(gzip.decompress(pkgutil.get_data("moto.cognitoidp", "resources/jwks-public.json.gz")))
    )
    got = ca.authorize(tokens["IdToken"], keys, [pool["Arn"]], None, now=time.time())

    assert got["cognito:username"] == "u"
    with pytest.raises(ca.Unauthorized):
        ca.authorize(tokens["AccessToken"], keys, [pool["Arn"]], None, now=time.time())
