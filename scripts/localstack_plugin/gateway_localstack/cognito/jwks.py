"""The JWKS of the emulated user pools at /<pool id>/.well-known/jwks.json, as Cognito serves it
(https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json).

moto signs the tokens of every pool with one fixed RSA key (kid "dummy"), so every pool publishes the same
JWKS; the route answers 404 for a pool that does not exist, like Cognito.
"""

from __future__ import annotations

import functools
import gzip
import json
import pkgutil

from localstack.http import Request, Response

# Pool ids are <region>_<suffix>: AWS uses 9 alphanumerics, moto 32 hex digits (uuid4) or a sha256 prefix.
POOL_ID = r"[a-z]{2}(?:-[a-z]+)+-\d+_[0-9A-Za-z]+"
ROUTE = f'/<regex("{POOL_ID}"):pool_id>/.well-known/jwks.json'


@functools.cache
def moto_jwks() -> dict:
    """The public JWKS moto signs every pool's tokens with (shipped gzipped in newer moto releases)."""
    try:
        data = gzip.decompress(pkgutil.get_data("moto.cognitoidp", "resources/jwks-public.json.gz"))
    except FileNotFoundError:
        data = pkgutil.get_data("moto.cognitoidp", "resources/jwks-public.json")
    return json.loads(data)


def pool_exists(pool_id: str) -> bool:
    from moto.cognitoidp.models import cognitoidp_backends

    region = pool_id.split("_", 1)[0]
    for account_backends in cognitoidp_backends.values():
        backend = dict.get(account_backends, region)  # plain dict lookup: do not create backends
        if backend is not None and pool_id in backend.user_pools:
            return True
    return False


def serve_jwks(request: Request, pool_id: str) -> Response:
    if not pool_exists(pool_id):
        body = {"message": f"User pool {pool_id} does not exist."}
        return Response(json.dumps(body), 404, mimetype="application/json")
    return Response(json.dumps(moto_jwks()), 200, mimetype="application/json")
