"""Blocking work runs inline in a Lambda invocation (Mangum) and on a worker thread under a server."""

import asyncio
import inspect
import json
import threading
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import Depends, FastAPI
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


def test_under_a_server_routes_and_dependencies_run_on_worker_threads():
    with TestClient(thread_recording_app()) as client:
        answer = client.get("/work", params={"value": 4}).json()

    assert answer["value"] == 8
    assert answer["route_thread"] != answer["loop_thread"]
    assert answer["dependency_thread"] != answer["loop_thread"]


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
