"""The Lambda worker: one long-lived process per execution environment, run by the function's interpreter.

Standard library only, and nothing from LocalStack: it runs in the stand-in for the Lambda runtime.
Started as `python worker.py <log file>` with the function's environment (LAMBDA_TASK_ROOT, _HANDLER, ...).

Protocol (JSON, one object per line):
- in, on stdin: {"invoke-id", "invoked-function-arn", "payload", "trace-id"} per invocation;
- out, on the original stdout: {"event": "ready"} once the handler module is imported (or failed to), then
  {"event": "result", "ok": bool, "payload": str, "logs": str} per invocation.
After start-up, file descriptors 1 and 2 point to the log file and 0 to /dev/null, so everything the function
writes (print, logging, C extensions, child processes) is captured; `logs` is that output wrapped in the
START/END/REPORT lines Lambda writes. An import error is reported on each invocation, as Lambda does.
The worker exits when its stdin closes or its parent (LocalStack) goes away.

Test-only: with LAMBDA_WORKER_RECORD_AWS_CALLS (a JSONL file) and LAMBDA_WORKER_AWS_CALL_RECORDER (the path of
tests/support/aws_calls.py), set only by the end-to-end tests, every AWS call the function makes is recorded.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import importlib.util
import json
import os
import resource
import sys
import threading
import time
import traceback

LOG_TRUNCATE_BYTES = 8 * 1024 * 1024


class LambdaContext:
    """The `context` argument of a Python handler."""

    def __init__(self, request: dict, deadline: float) -> None:
        self.aws_request_id = request["invoke-id"]
        self.invoked_function_arn = request.get("invoked-function-arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _Encoder(json.JSONEncoder):
    """The Lambda Python runtime's marshaller also accepts Decimal (as DynamoDB returns numbers)."""

    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict:
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _load_handler(spec: str):
    """Import `module.function` (or `dir/module.function`) as the Lambda Python runtime does."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise _InitError(exc, "Runtime.HandlerNotFound", message) from exc


class _InitError(Exception):
    def __init__(self, cause: BaseException, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error = _error(cause, error_type, message)


class _Logs:
    """Reads what the function wrote to fds 1/2 (the log file) since the last read."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.offset = 0

    def take(self) -> str:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # closed or broken by the function
                stream.flush()
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        if self.offset > LOG_TRUNCATE_BYTES:  # a long-lived worker does not fill the disk
            os.ftruncate(self.fd, 0)
            self.offset = 0
        return data.decode("utf-8", errors="replace")


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1)
        if os.getppid() != parent:  # LocalStack died (even by SIGKILL): do not outlive it
            os._exit(1)


def _redirect_stdio(log_path: str) -> tuple:
    """Keep the protocol on private fds; point 0 at /dev/null and 1/2 at the log file."""
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    return proto_in, proto_out, _Logs(log_path, log_fd)


def _aws_call_recorder():
    """The tests' recorder of the function's AWS calls, when they ask for one; the function does not see the
    variables that ask."""
    log = os.environ.pop("LAMBDA_WORKER_RECORD_AWS_CALLS", "")
    module_path = os.environ.pop("LAMBDA_WORKER_AWS_CALL_RECORDER", "")
    if not log or not module_path:
        return None
    spec = importlib.util.spec_from_file_location("_aws_call_recorder", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.install_in_lambda(log)


def _send(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _invoke(handler, init_error: dict | None, request: dict) -> tuple[bool, str]:
    """Run one invocation; returns (ok, payload as JSON text)."""
    if init_error is not None:
        print(f"[ERROR] {init_error['errorType']}: {init_error['errorMessage']}", file=sys.stderr)
        return False, json.dumps(init_error)
    timeout = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)
    os.environ["_X_AMZN_TRACE_ID"] = request.get("trace-id") or ""
    try:
        event = json.loads(request.get("payload") or "null")
        result = handler(event, LambdaContext(request, time.time() + timeout))
    except Exception as exc:
        error = _error(exc)
        error["requestId"] = request["invoke-id"]
        print(f"[ERROR] {error['errorType']}: {error['errorMessage']}", file=sys.stderr)
        traceback.print_exc()
        return False, json.dumps(error)
    try:
        return True, json.dumps(result, cls=_Encoder)
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        print(f"[ERROR] Runtime.MarshalError: {message}", file=sys.stderr)
        return False, json.dumps({"errorMessage": message, "errorType": "Runtime.MarshalError"})


def _peak_rss_mb() -> int:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over from the forking parent."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024
    )  # bytes on macOS, KiB elsewhere


def _report(request_id: str, started: float, init_ms: float | None) -> str:
    duration = (time.perf_counter() - started) * 1000
    max_rss_mb = _peak_rss_mb()
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Billed Duration: {int(duration) + 1} ms\tMemory Size: {memory} MB\tMax Memory Used: {max_rss_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    return line + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: worker.py <log file>", file=sys.stderr)
        return 2
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="parent-watch").start()
    proto_in, proto_out, logs = _redirect_stdio(argv[1])

    # sys.path as in Lambda: the task root first; never this file's own directory.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)

    init_started = time.perf_counter()
    handler, init_error = None, None
    recorder = None
    try:
        recorder = _aws_call_recorder()
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as exc:
        init_error = exc.error
    except Exception as exc:  # an exception raised by the module's top-level code
        init_error = _error(exc)
        traceback.print_exc()
    init_ms: float | None = (time.perf_counter() - init_started) * 1000
    _send(proto_out, {"event": "ready"})

    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    for line in proto_in:
        request = json.loads(line)
        request_id = request["invoke-id"]
        before = logs.take()  # init output, or anything background threads wrote since the last invocation
        started = time.perf_counter()
        if recorder is not None:
            recorder.invocation(request.get("invoked-function-arn"))
        ok, payload = _invoke(handler, init_error, request)
        output = logs.take()
        text = (
            f"{before}START RequestId: {request_id} Version: {version}\n{output}"
            + ("" if not output or output.endswith("\n") else "\n")
            + f"END RequestId: {request_id}\n{_report(request_id, started, init_ms)}"
        )
        init_ms = None
        _send(proto_out, {"event": "result", "ok": ok, "payload": payload, "logs": text})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
