"""The web console: its page at `/` and its static files under `/console/<version>/`.

The console is plain ES modules (gateway/console/, no build step) served by this app through the same API
Gateway, without a token or a key (the routes are public in Terraform). Every URL in the page is relative, so
it works under any prefix: a stage name, a custom domain's base path, the local emulator's
`/restapis/<id>/<stage>/_user_request_/`. The files live under a version that is a digest of their content:
a new deploy changes the version, so the files can be cached for a year and the page (never cached) picks up
the new ones.
"""

import functools
import hashlib
import html
from pathlib import Path, PurePosixPath

from fastapi import APIRouter
from fastapi.responses import Response

from gateway.errors import NotFoundError
from gateway.settings import get_settings

router = APIRouter(tags=["console"], include_in_schema=False)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "console"
INDEX = "index.html"
VERSION_PLACEHOLDER = "__CONSOLE_VERSION__"
# The sign-up form states the pool's own rule (Terraform's `password_policy`), not a copy of the default.
RULE_PLACEHOLDER = "__PASSWORD_RULE__"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
# No inline script or style, nothing from elsewhere: the page talks to its own origin only. Styles set from
# script through the CSSOM (the chart library sizes its canvas that way) are not inline styles to CSP.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


@functools.cache
def assets() -> dict[str, bytes]:
    """Path under the console folder -> content, for every file served (read once per process)."""
    found = {}
    for path in sorted(ASSETS_DIR.rglob("*")):
        relative = path.relative_to(ASSETS_DIR).as_posix()
        if path.is_file() and path.suffix in MEDIA_TYPES:
            found[relative] = path.read_bytes()
    return found


@functools.cache
def version() -> str:
    """A digest of every file the page loads: it changes whenever one of them does."""
    digest = hashlib.sha256()
    for name, content in assets().items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()[:16]


@functools.cache
def index_page() -> bytes:
    rule = html.escape(get_settings().password_policy.in_words(), quote=True)
    page = (ASSETS_DIR / INDEX).read_text(encoding="utf-8")
    return page.replace(VERSION_PLACEHOLDER, version()).replace(RULE_PLACEHOLDER, rule).encode()


@router.get("/", name="console.index")
def console_index() -> Response:
    return Response(
        index_page(),
        media_type="text/html; charset=utf-8",
        headers={**SECURITY_HEADERS, "cache-control": NO_CACHE},
    )


@router.get("/console/{asset_version}/{asset_path:path}", name="console.asset")
def console_asset(asset_version: str, asset_path: str) -> Response:
    relative = PurePosixPath(asset_path)
    content = assets().get(relative.as_posix()) if ".." not in relative.parts else None
    if content is None:
        raise NotFoundError("No such console file.", code="console_file_not_found")
    # A page of another deploy (a Lambda instance of the previous version, a stale tab) gets today's file,
    # not kept: it must never be cached under a version it is not.
    cache = IMMUTABLE if asset_version == version() else "no-store"
    return Response(
        content,
        media_type=MEDIA_TYPES[relative.suffix],
        headers={**SECURITY_HEADERS, "cache-control": cache},
    )
