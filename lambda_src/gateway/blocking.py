"""Blocking work (AWS calls through boto3) from async routes and dependencies: inline when the request has
the event loop to itself, on a worker thread when it shares the loop.

Under Lambda, Mangum runs one event per invocation on its own loop: nothing else can run while a call blocks
it, so a worker thread buys nothing and costs a hop each way, plus a new thread per invocation (anyio ties
its workers to the task Mangum runs the invocation in). A server with concurrent requests on one loop
(uvicorn: `make serve`, the test client) gets FastAPI's own choice for sync code: a worker thread.
The request-context middleware decides per request with `start(scope)`.
"""

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar, Token
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

_loop_to_itself: ContextVar[bool] = ContextVar("request_has_loop_to_itself", default=False)


def has_loop_to_itself(scope: Scope) -> bool:
    """Whether the request is a Lambda invocation: Mangum puts the Lambda context in the scope."""
    return scope.get("aws.context") is not None


def start(scope: Scope) -> Token[bool]:
    """Decide for the request in `scope`; reset with the token it returns."""
    return _loop_to_itself.set(has_loop_to_itself(scope))


def reset(token: Token[bool]) -> None:
    _loop_to_itself.reset(token)


async def run[T](func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(*args, **kwargs)`: inline in a Lambda invocation, else on a worker thread."""
    if _loop_to_itself.get():
        return func(*args, **kwargs)
    return await run_in_threadpool(func, *args, **kwargs)


def as_async[**P, T](func: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """A sync route or dependency as a coroutine function that calls it through `run`. FastAPI reads the
    parameters and return type through `__wrapped__`, and awaits it instead of giving it a worker thread."""

    @functools.wraps(func)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run(func, *args, **kwargs)

    return call
