"""Blocking work (AWS calls through botocore) from async routes and dependencies: inline when the request has
an event loop to itself, on a worker thread when it shares the loop.

Under Lambda, Mangum runs one event per invocation on its own loop: nothing else can run while a call blocks
it, so a worker thread buys nothing and costs a hop each way, plus a new thread per invocation (anyio ties
its workers to the task Mangum runs the invocation in). The request-context middleware decides per request
with `start(scope)`.

A server with concurrent requests on one loop (uvicorn: `make serve`, the test client) hands the rest of
each request to a worker thread that runs it on an event loop of that thread's own (`serve_alone`): there the
request has the loop to itself, as in Lambda, so its blocking work runs inline. One hand-off per request
instead of one per blocking dependency and route: each costs thread wake-ups on both sides (about 0.4 ms of
CPU per chat completion's two, measured in-process under uvloop), and the loop stays free for other requests.
"""

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

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


# As many requests at once as FastAPI's threadpool (anyio's default limit) ran blocking work for.
REQUEST_THREADS = 40
_request_threads: "ThreadPoolExecutor | None" = None
_REQUEST_THREADS_LOCK = threading.Lock()
_thread_state = threading.local()


def _threads() -> "ThreadPoolExecutor":
    global _request_threads
    if _request_threads is None:
        # Imported here: a Lambda invocation never hands a request off, and its cold start need not load it.
        from concurrent.futures import ThreadPoolExecutor

        with _REQUEST_THREADS_LOCK:
            if _request_threads is None:
                _request_threads = ThreadPoolExecutor(REQUEST_THREADS, thread_name_prefix="gateway-request")
    return _request_threads


def _own_loop() -> asyncio.AbstractEventLoop:
    """This worker thread's event loop, made on its first request and kept for its next ones."""
    loop = getattr(_thread_state, "loop", None)
    if loop is None:
        loop = _thread_state.loop = asyncio.new_event_loop()
    return loop


def _run_alone(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    _loop_to_itself.set(True)  # in this request's copy of the context only
    _own_loop().run_until_complete(app(scope, receive, send))


async def serve_alone(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """`app(scope, receive, send)` on a worker thread's own event loop, where the request's blocking work
    runs inline; this loop waits without blocking. The first request message is read here, before the hand-off
    (the whole body of most requests); any later one is read on this loop for the worker. The answer's
    messages are sent from here, in order, once the app is done (the gateway streams nothing: API Gateway
    buffers every answer), also when it fails part way; then its exception is raised here."""
    server_loop = asyncio.get_running_loop()
    first: list[Message] = [await receive()]

    async def receive_from_server() -> Message:
        if first:
            return first.pop()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), server_loop))

    answer: list[Message] = []

    async def keep(message: Message) -> None:
        answer.append(message)

    context = contextvars.copy_context()
    done = _threads().submit(context.run, _run_alone, app, scope, receive_from_server, keep)
    try:
        await asyncio.wrap_future(done)
    finally:
        for message in answer:
            await send(message)
