"""The executor's side of the worker protocol (see worker.py): start, invoke with a timeout, stop.
No LocalStack imports, so it is tested on its own.

A worker that times out is killed, as Lambda discards a sandbox that timed out; one that dies is reported as a
runtime exit. Either way the next invocation starts a fresh worker (a new init), like Lambda does.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")


class _WorkerExited(Exception):  # noqa: N818 - an event, not an error
    """The worker closed its protocol channel: it exited."""


class WorkerStartError(Exception):
    """The worker did not become ready; the message ends with its output."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    payload: bytes
    logs: str


class WorkerProcess:
    def __init__(
        self,
        python: str,
        env: dict[str, str],
        log_path: Path,
        timeout: float,
        startup_timeout: float = 20.0,
    ) -> None:
        self.python = python
        self.env = env
        self.log_path = log_path
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._log_offset = 0
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the worker and wait until it has imported the handler module."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        self._kill()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        self._log_offset = self.log_path.stat().st_size
        self._buffer = b""
        self._proc = subprocess.Popen(
            [self.python, "-u", str(WORKER), str(self.log_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the worker sends its own stderr to the log file
            env=self.env,
            cwd=self.env.get("LAMBDA_TASK_ROOT"),
            start_new_session=True,  # its own process group: a timeout kills the handler's children too
        )
        try:
            message = self._read_message(self.startup_timeout)
        except _WorkerExited:
            message = None
        if message is None or message.get("event") != "ready":
            self._kill()
            raise WorkerStartError(f"the Lambda worker did not start: {self._tail()}")
        self._log_offset = self.log_path.stat().st_size  # init output is the worker's to report

    def invoke(self, request_id: str, invoked_arn: str, payload: str, trace_id: str = "") -> Outcome:
        with self._lock:
            if not self.running():
                try:
                    self._start()
                except WorkerStartError:
                    return self._failure(request_id, timed_out=False)
            request = {
                "invoke-id": request_id,
                "invoked-function-arn": invoked_arn,
                "payload": payload,
                "trace-id": trace_id,
            }
            try:
                self._proc.stdin.write((json.dumps(request) + "\n").encode())
                self._proc.stdin.flush()
            except BrokenPipeError:
                pass  # it died: reading finds EOF and reports it
            try:
                message = self._read_message(self.timeout)
            except _WorkerExited:
                message = {}
            if message and message.get("event") == "result":
                self._log_offset = self.log_path.stat().st_size
                return Outcome(bool(message["ok"]), message["payload"].encode(), message["logs"])
            timed_out = message is None
            self._kill(grace=0 if timed_out else 2.0)  # a worker that exited gets to finish exiting
            return self._failure(request_id, timed_out)

    def _failure(self, request_id: str, timed_out: bool) -> Outcome:
        output = self._tail(limit=None)
        if timed_out:
            message = f"RequestId: {request_id} Error: Task timed out after {self.timeout:.2f} seconds"
            error = {"errorMessage": message, "errorType": "Sandbox.Timedout"}
        else:
            status = self._proc.returncode if self._proc else None
            message = f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"
            error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
        logs = f"START RequestId: {request_id} Version: $LATEST\n{output}"
        logs += (
            "" if not output or output.endswith("\n") else "\n"
        ) + f"{message}\nEND RequestId: {request_id}\n"
        return Outcome(False, json.dumps(error).encode(), logs)

    def _read_message(self, timeout: float) -> dict | None:
        """The next protocol line as JSON ({} if it is not JSON), None on timeout; _WorkerExited on EOF."""
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _WorkerExited
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def _tail(self, limit: int | None = 4000) -> str:
        """What the worker wrote since the last reported invocation."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_offset)
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return text if limit is None else text[-limit:]

    def stop(self) -> None:
        with self._lock:
            self._kill()

    def _kill(self, grace: float = 0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._proc = proc  # keep the return code for _failure; it no longer runs
