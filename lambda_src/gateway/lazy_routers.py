"""Routers included on the first request that could reach them, not at cold start.

Importing a router's module and building its routes (dependency graphs, request and response models) is most
of a cold import, and one Lambda instance often serves only a few of the app's routers. A `LazyRouter` holds a
router's place in the route table by its module's name and the path prefixes every one of its routes starts
with. A path outside those prefixes cannot match any of its routes, so the placeholder answers "no match"
without importing. Any other path includes the router in the placeholder's place (once per process) and lets
it answer: matching order, 404s, 405s and slash redirects are the ones of the router included at start.
Readers of the whole table (`app.routes`, the OpenAPI schema) include every router first.
"""

import importlib
import threading
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

# One lock for every placeholder: including a router replaces the app's route list.
_INCLUDE_LOCK = threading.Lock()


class LazyRouter(BaseRoute):
    def __init__(self, app: FastAPI, module: str, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.module = module
        self.prefixes = prefixes
        self._included: BaseRoute | None = None

    def include(self) -> BaseRoute:
        """Import the module and include its `router` where this placeholder stands, once (thread-safe)."""
        if self._included is None:
            with _INCLUDE_LOCK:
                if self._included is None:
                    self._included = self._include()
        return self._included

    def _include(self) -> BaseRoute:
        router = importlib.import_module(self.module).router
        table = self.app.router
        table.routes = list(table.routes)  # include into a copy: requests in flight keep theirs
        self.app.include_router(router)
        included = table.routes.pop()
        table.routes = [included if route is self else route for route in table.routes]
        return included

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self._included is None and not get_route_path(scope).startswith(self.prefixes):
            return Match.NONE, {}
        return self.include().matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.include().handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.include().url_path_for(name, **path_params)

    def __repr__(self) -> str:
        return f"LazyRouter({self.module!r}, prefixes={self.prefixes!r})"


def include_lazy_routers(app: FastAPI) -> None:
    """Include every router still waiting for its first request (before reading the whole route table)."""
    for route in list(app.router.routes):
        if isinstance(route, LazyRouter):
            route.include()
