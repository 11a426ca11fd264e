"""Routers included on first request (gateway/lazy_routers.py) answer exactly as routers included at start."""

import importlib
import pkgutil
import subprocess
import sys
import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import gateway.api
from gateway.lazy_routers import LazyRouter
from gateway.main import LAZY_ROUTERS, create_app
from gateway.settings import get_settings


def _eager_app() -> FastAPI:
    """The app as it was built before: every router included at start, in the same order."""
    app = create_app()
    app.router.routes = [route for route in app.router.routes if not isinstance(route, LazyRouter)]
    for module, _ in LAZY_ROUTERS:
        app.include_router(importlib.import_module(module).router)
    return app


def _included_modules(app: FastAPI) -> list[str]:
    return [
        route.original_router.routes[0].endpoint.__module__
        for route in app.router.routes
        if hasattr(route, "original_router")
    ]


def _paths(module: str) -> list[str]:
    return [route.path for route in importlib.import_module(module).router.routes]


def test_the_cold_import_builds_no_router_and_imports_neither_pydantic_v1_nor_pydantic_settings_nor_boto3():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, gateway.main; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "gateway.main" in loaded
    assert not [name for name in loaded if name.startswith("gateway.api")]
    assert not [name for name in loaded if name.split(".")[0] == "pydantic_settings"]
    assert "pydantic.v1" not in loaded
    # Clients are botocore's (gateway/aws.py): boto3 and s3transfer stay out of the cold start.
    assert not [name for name in loaded if name.split(".")[0] in ("boto3", "s3transfer")]
    # Services too load with the first request that needs them (gateway/deps.py).
    assert "gateway.services.models" not in loaded
    assert "gateway.services.bots" not in loaded
    # The request threads of a server (gateway/blocking.py): a Lambda invocation never hands a request off.
    assert "concurrent.futures.thread" not in loaded


def test_every_router_module_is_listed_once():
    modules = {
        f"gateway.api.{info.name}"
        for info in pkgutil.iter_modules(gateway.api.__path__)
        if hasattr(importlib.import_module(f"gateway.api.{info.name}"), "router")
    }
    listed = [module for module, _ in LAZY_ROUTERS]
    assert sorted(listed) == sorted(modules)


@pytest.mark.parametrize(("module", "prefixes"), LAZY_ROUTERS)
def test_every_path_of_a_router_starts_with_one_of_its_prefixes(module, prefixes):
    assert all("{" not in prefix for prefix in prefixes)  # literal: a matching path starts with it
    assert _paths(module)
    assert [path for path in _paths(module) if not path.startswith(prefixes)] == []


def test_openapi_and_the_route_table_are_the_eager_apps():
    lazy, eager = create_app(), _eager_app()
    assert lazy.openapi() == eager.openapi()
    assert list(lazy.openapi()["paths"]) == list(eager.openapi()["paths"])
    assert [type(route).__name__ for route in lazy.routes] == [type(route).__name__ for route in eager.routes]
    assert _included_modules(lazy) == [module for module, _ in LAZY_ROUTERS]


def test_a_first_request_includes_only_the_routers_its_path_may_reach(stack):
    app = create_app()
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/health").status_code == 200
    assert _included_modules(app) == ["gateway.api.health"]
    assert client.get("/admin/bots/abc").status_code == 405  # PATCH only
    # Every router whose prefix the path starts with, and no other, in table order.
    assert _included_modules(app) == [
        "gateway.api.health",
        "gateway.api.admin_users",
        "gateway.api.admin_reports",
        "gateway.api.admin_bots",
        "gateway.api.console",  # its page is the root: every path starts with its prefix "/"
    ]
    assert client.get("/nowhere").status_code == 404
    assert len(_included_modules(app)) == 5


def _requests() -> list[tuple[str, str]]:
    """Each route with its parameters filled, its other methods, its path with a toggled trailing slash, and
    paths next to the routers' prefixes that match nothing."""
    requests = []
    for module, prefixes in LAZY_ROUTERS:
        for route in importlib.import_module(module).router.routes:
            path = route.path.replace("{", "").replace("}", "")
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                requests.append((method, path))
            requests.append((sorted(route.methods)[0], path[:-1] if path.endswith("/") else path + "/"))
        requests += [("GET", f"{prefix.rstrip('/')}/no/such/route") for prefix in prefixes]
    return [*requests, ("GET", "/"), ("GET", "/no-such-route"), ("GET", "/openapi.json/")]


def _answer(client: TestClient, method: str, path: str) -> tuple[int, str | None, bytes]:
    response = client.request(method, path)
    return response.status_code, response.headers.get("location"), response.content


def test_every_first_request_is_answered_as_by_the_eager_app(stack):
    """Unauthenticated, so nothing changes: status (200, 401, 404, 405, 307...), location and body."""
    eager = TestClient(_eager_app(), raise_server_exceptions=False, follow_redirects=False)
    differences, statuses = [], set()
    for method, path in _requests():
        lazy = TestClient(create_app(), raise_server_exceptions=False, follow_redirects=False)
        first, reference = _answer(lazy, method, path), _answer(eager, method, path)
        statuses.add(reference[0])
        if first != reference:
            differences.append((method, path, first, reference))
    assert differences == []
    assert {200, 401, 404, 405, 307} <= statuses  # the walk reaches every kind of answer


def test_concurrent_first_requests_include_each_router_once(stack):
    app = create_app()
    client = TestClient(app, raise_server_exceptions=False)
    start = threading.Barrier(8)
    statuses = []

    def first_request(path):
        start.wait()
        statuses.append(client.get(path).status_code)

    paths = ["/health", "/v1/models", "/admin/listUsers", "/bots/store"] * 2
    threads = [threading.Thread(target=first_request, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    eager = TestClient(_eager_app(), raise_server_exceptions=False)
    assert sorted(statuses) == sorted(eager.get(path).status_code for path in paths)
    included = _included_modules(app)
    assert len(included) == len(set(included))
    waiting = [route.module for route in app.router.routes if isinstance(route, LazyRouter)]
    assert not set(waiting) & set(included)


def test_with_snapstart_every_router_is_included_during_init(monkeypatch):
    monkeypatch.setenv("GATEWAY_INCLUDE_ROUTERS_AT_START", "true")
    get_settings.cache_clear()
    app = create_app()
    assert not [route for route in app.router.routes if isinstance(route, LazyRouter)]
    assert _included_modules(app) == [module for module, _ in LAZY_ROUTERS]
