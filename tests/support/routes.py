"""The app's own route table, for tests that must cover every route (a new route cannot escape them)."""

from collections.abc import Callable

from fastapi.routing import APIRoute

from gateway.main import create_app


def app_routes() -> list[APIRoute]:
    """Every API route of the app, once, sorted by path and methods (routers included lazily too)."""
    app = create_app()
    found = []
    stack = list(app.routes)
    while stack:
        route = stack.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        stack.extend(getattr(route, "routes", []) or [])
        original = getattr(route, "original_router", None) or getattr(route, "router", None)
        if original is not None and original is not route:
            stack.extend(getattr(original, "routes", []))
    unique = {(route.name, tuple(sorted(route.methods)), route.path): route for route in found}
    return sorted(unique.values(), key=lambda route: (route.path, sorted(route.methods)))


def depends_on(route: APIRoute, dependency: Callable) -> bool:
    """Whether `dependency` (a function, or the factory of a dependency closure) is among the route's
    dependencies, however deep."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        call = dependant.call
        if call is dependency or getattr(call, "__qualname__", "").startswith(
            f"{dependency.__qualname__}.<locals>."
        ):
            return True
        stack.extend(dependant.dependencies)
    return False
