"""The web console is served by the app: its page, its files, their headers, their size and their licences."""

import gzip
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest

from gateway.api import console

CONSOLE = console.ASSETS_DIR
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}/[^"']+)["']""")


class _Refs(HTMLParser):
    """Every URL the page refers to, and every script element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.urls += [attributes[name] for name in ("href", "src") if attributes.get(name)]
        if tag == "script":
            self.scripts.append(attributes)


def _page(client) -> tuple[object, _Refs]:
    response = client.get("/")
    refs = _Refs()
    refs.feed(response.text)
    return response, refs


def _modules(client, entry: str) -> dict[str, str]:
    """The ES module graph from `entry` (a URL relative to the page), fetched through the app."""
    seen: dict[str, str] = {}
    pending = [entry]
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        response = client.get(f"/{url}")
        assert response.status_code == 200, url
        seen[url] = response.text
        folder = url.rsplit("/", 1)[0]
        for target in IMPORT.findall(response.text):
            parts = [*folder.split("/"), *target.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            pending.append("/".join(resolved))
    return seen


def test_the_page_is_served_at_the_root_with_a_strict_policy_and_no_cache(client):
    response, _refs = _page(client)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


class _Metas(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.content: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta" and "name" in attributes:
            self.content[attributes["name"]] = attributes.get("content", "")


def _password_rule(client) -> str:
    metas = _Metas()
    metas.feed(client.get("/").text)
    return metas.content["password-rule"]


def test_the_sign_up_form_states_the_pools_password_rule(client, monkeypatch):
    from gateway.settings import get_settings

    assert _password_rule(client) == get_settings().password_policy.in_words()
    assert "at least 12 characters" in _password_rule(client)

    # Terraform sets another policy: the page served by that function states it, not the default.
    monkeypatch.setenv(
        "GATEWAY_PASSWORD_POLICY",
        '{"minimum_length": 20, "require_uppercase": false, "require_symbols": true}',
    )
    get_settings.cache_clear()
    console.index_page.cache_clear()
    try:
        assert _password_rule(client) == (
            "The password must have at least 20 characters, with a lower-case letter, a number, a symbol."
        )
    finally:
        monkeypatch.delenv("GATEWAY_PASSWORD_POLICY")
        get_settings.cache_clear()
        console.index_page.cache_clear()


def test_the_sign_up_form_reads_its_hint_from_the_page():
    source = (CONSOLE / "pages" / "auth.js").read_text()
    assert 'meta[name="password-rule"]' in source
    assert "At least 12 characters" not in source


def test_the_page_has_no_inline_script_and_only_relative_urls(client):
    response, refs = _page(client)
    assert refs.scripts
    assert all(script.get("src") for script in refs.scripts)
    assert "<style" not in response.text
    assert " style=" not in response.text
    for url in refs.urls:
        # Relative URLs keep the console working under any prefix (a stage, a custom domain's base path).
        assert url.startswith(("console/", "data:")), url


def test_every_module_the_page_loads_is_served_immutable_under_the_version(client):
    _, refs = _page(client)
    entry = next(script["src"] for script in refs.scripts)
    assert entry == f"console/{console.version()}/app.js"
    modules = _modules(client, entry)
    assert {"vendor/preact.js", "vendor/uplot.js", "pages/chat.js", "pages/admin.js"} <= {
        url.split("/", 2)[2] for url in modules
    }
    for url in [*modules, *(u for u in refs.urls if u.startswith("console/"))]:
        response = client.get(f"/{url}")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert response.headers["content-security-policy"] == console.CONTENT_SECURITY_POLICY
    assert client.get(f"/{entry}").headers["content-type"] == "text/javascript; charset=utf-8"


def test_a_file_asked_under_another_version_is_served_but_never_cached(client):
    response = client.get("/console/0123456789abcdef/app.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["nothing.js", "../api/console.py", "..%2Fapi%2Fconsole.py", "index.html"])
def test_unknown_or_escaping_paths_are_404_in_the_error_shape(client, path):
    response = client.get(f"/console/{console.version()}/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("console_file_not_found", "not_found")


def test_the_version_changes_with_any_file(monkeypatch):
    before = console.version()
    files = dict(console.assets())
    files["app.js"] = files["app.js"] + b"\n"
    console.version.cache_clear()
    monkeypatch.setattr(console, "assets", lambda: files)
    try:
        assert console.version() != before
    finally:
        console.version.cache_clear()


def test_the_console_is_small_gzipped():
    total = sum(len(gzip.compress(content, 9)) for content in console.assets().values())
    total += len(gzip.compress((CONSOLE / "index.html").read_bytes(), 9))
    assert total < 300_000, f"{total} bytes gzipped"


def test_no_console_source_stores_secrets_in_local_storage_or_logs_them():
    for path in CONSOLE.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        source = path.read_text()
        assert "localStorage" not in source, path
        assert "console.log" not in source, path
        assert "document.cookie" not in source, path


def test_the_api_key_is_sent_only_as_the_x_api_key_header():
    source = (CONSOLE / "api.js").read_text()
    assert source.count("session.apiKey") >= 1
    uses = [line.strip() for line in source.splitlines() if "session.apiKey" in line and "headers" in line]
    assert uses == ['if (key && session.apiKey) headers["x-api-key"] = session.apiKey;']


def test_every_vendored_file_is_recorded_with_its_version_hash_and_licence():
    vendor = CONSOLE / "vendor"
    record = json.loads((vendor / "VENDOR.json").read_text())
    recorded = {}
    for package, entry in record.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", entry["version"]), package
        assert entry["licence"]
        assert (vendor / f"{package}.LICENSE.txt").stat().st_size > 100
        recorded.update(entry["files"])
    shipped = {p.name for p in vendor.iterdir() if p.suffix in (".js", ".css")}
    assert shipped == set(recorded)
    for name, digest in recorded.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name


def test_console_routes_write_no_audit_event_and_stay_out_of_the_openapi(client):
    from gateway.services.audit import UNAUDITED_ROUTES

    assert {"console.index", "console.asset"} <= UNAUDITED_ROUTES
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not any(path.startswith("/console") for path in paths)
