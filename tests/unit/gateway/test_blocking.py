"""Blocking work runs inline in a Lambda invocation (Mangum); under a server, each request runs alone on a
worker thread's own event loop, its blocking work inline there."""

import asyncio
import inspect
import json
import threading
from collections.abc import Coroutine
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from mangum import Mangum
from pydantic import BaseModel

from gateway import blocking
from gateway.middleware import RequestContextMiddleware
from tests.support.events import LambdaContext, api_gateway_event


def run_on_own_loop[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Like asyncio.run, without unsetting the thread's event loop (Mangum in later tests asks for it)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


class Answer(BaseModel):
    value: int
    dependency_thread: int
    route_thread: int
    loop_thread: int


def thread_recording_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @blocking.as_async
    def blocking_dependency(factor: int = 2) -> tuple[int, int]:
        return factor, threading.get_ident()

    async def loop_thread() -> int:
        return threading.get_ident()

    @app.get("/work")
    @blocking.as_async
    def work(
        dependency: Annotated[tuple[int, int], Depends(blocking_dependency)],
        loop: Annotated[int, Depends(loop_thread)],
        value: int = 21,
    ) -> Answer:
        factor, dependency_thread = dependency
        return Answer(
            value=value * factor,
            dependency_thread=dependency_thread,
            route_thread=threading.get_ident(),
            loop_thread=loop,
        )

    return app


def test_in_a_lambda_invocation_routes_and_dependencies_run_on_the_loop_thread():
    handler = Mangum(thread_recording_app(), lifespan="off")
    event = api_gateway_event("GET", "/work")
    event["queryStringParameters"] = {"value": "5"}

    result = handler(event, LambdaContext())

    assert result["statusCode"] == 200
    answer = json.loads(result["body"])
    assert answer["value"] == 10  # query and dependency parameters read through the wrapper
    assert answer["route_thread"] == answer["loop_thread"] == threading.get_ident()
    assert answer["dependency_thread"] == answer["loop_thread"]


class ServerThread:
    """The outermost layer: records the thread of the server's event loop."""

    def __init__(self, app) -> None:
        self.app = app
        self.thread: int | None = None

    async def __call__(self, scope, receive, send) -> None:
        self.thread = threading.get_ident()
        await self.app(scope, receive, send)


def test_under_a_server_the_request_runs_alone_on_a_worker_thread_and_its_blocking_work_inline():
    server = ServerThread(thread_recording_app())
    with TestClient(server) as client:
        answer = client.get("/work", params={"value": 4}).json()

    assert answer["value"] == 8
    # One hand-off for the whole request: route, blocking dependency and async dependency share its thread...
    assert answer["route_thread"] == answer["dependency_thread"] == answer["loop_thread"]
    # ...which is not the server's loop: that one stays free for other requests.
    assert answer["route_thread"] != server.thread


def test_requests_in_flight_together_run_at_once():
    # The first request's blocking work waits for the second's: served one after the other, it would time out.
    released = threading.Event()
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/wait")
    @blocking.as_async
    def wait() -> bool:
        return released.wait(timeout=5)

    @app.get("/release")
    @blocking.as_async
    def release() -> bool:
        released.set()
        return True

    async def both() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            waiting = asyncio.ensure_future(client.get("/wait"))
            await asyncio.sleep(0.05)
            answers = await asyncio.gather(waiting, client.get("/release"))
        return [answer.json() for answer in answers]

    assert run_on_own_loop(both()) == [True, True]


def test_a_body_in_several_messages_and_the_answer_reach_their_ends_in_order():
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.post("/length")
    async def length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    chunks = [b"a" * 10, b"b" * 20, b"c" * 30]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []
    loop_threads: set[int] = set()

    async def receive() -> dict:
        loop_threads.add(threading.get_ident())
        return messages.pop(0)

    async def send(message: dict) -> None:
        loop_threads.add(threading.get_ident())
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/length",
        "raw_path": b"/length",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    run_on_own_loop(app(scope, receive, send))

    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert any(name == b"x-request-id" for name, _ in sent[0]["headers"])
    assert json.loads(sent[1]["body"]) == {"length": 60}
    assert loop_threads == {threading.get_ident()}  # every message read and sent on the server's loop


def test_an_error_in_a_request_served_alone_reaches_the_server():
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.get("/fail")
    @blocking.as_async
    def fail() -> None:
        raise LookupError("boom")

    with TestClient(app) as client, pytest.raises(LookupError, match="boom"):
        client.get("/fail")
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/fail").status_code == 500


def test_as_async_keeps_the_signature_fastapi_reads():
    def sync(a: int, b: str = "x") -> float:
        return 1.0

    wrapped = blocking.as_async(sync)

    assert inspect.iscoroutinefunction(wrapped)
    assert inspect.signature(wrapped) == inspect.signature(sync)
    assert wrapped.__name__ == "sync"


def test_the_choice_is_per_request_and_reset_after_it():
    seen: list[bool] = []

    def record() -> None:
        seen.append(threading.get_ident() == caller)

    async def one(scope: dict) -> None:
        token = blocking.start(scope)
        try:
            await blocking.run(record)
        finally:
            blocking.reset(token)
        await blocking.run(record)  # outside any request: a worker thread

    caller = threading.get_ident()
    run_on_own_loop(one({"type": "http", "aws.context": LambdaContext()}))
    run_on_own_loop(one({"type": "http"}))

    assert seen == [True, False, False, False]


def test_errors_propagate_from_inline_and_threaded_work():
    def fail() -> None:
        raise LookupError("boom")

    async def attempt(scope: dict) -> str:
        token = blocking.start(scope)
        try:
            await blocking.run(fail)
        except LookupError as exc:
            return str(exc)
        finally:
            blocking.reset(token)
        return "no error"

    assert run_on_own_loop(attempt({"aws.context": LambdaContext()})) == "boom"
    assert run_on_own_loop(attempt({})) == "boom"
