#!/usr/bin/env python3
"""Benchmark: HTTP load on `make serve` (uvicorn, local target, local model) with Debian's wrk.

    make bench-http [DURATION=10]    (needs `make local`)

Starts the app as `make serve` does on a free loopback port, signs up a user of its own (code from the
emulator's mailbox) and sends POST /v1/chat/completions with its API key at concurrency 1, 8 and 32 for
DURATION seconds each. Printed per level: requests per second and the app process's CPU milliseconds per
request (user + system time from /proc/<pid>/stat before and after, all its threads, botocore's work for its
AWS requests included). Target: <= 8 ms of CPU per request at every level; exits 1 when missed.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.make_admin import local_endpoint

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CONCURRENCIES = (1, 8, 32)
TARGET_CPU_MS_PER_REQUEST = 8.0
MAX_DURATION_SECONDS = 120
MODEL_ID = "amazon.nova-lite-v1:0"
PASSWORD = "Correct-horse-9"  # a throwaway local user's
START_TIMEOUT_SECONDS = 60
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Level:
    concurrency: int
    requests: int
    requests_per_second: float
    failed: int
    cpu_ms_per_request: float


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name (which may hold spaces) start at field 3, state.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLOCK_TICKS


def parse_wrk(output: str) -> tuple[int, float, int]:
    """(requests, requests per second, non-2xx or socket errors) from wrk's report."""
    requests = re.search(r"(\d+) requests in", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not (requests and rate):
        raise SystemExit(f"bench-http: could not read wrk's report:\n{output}")
    failed = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        failed += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        failed += sum(int(count) for count in socket_errors.groups())
    return int(requests.group(1)), float(rate.group(1)), failed


def wrk_script(api_key: str) -> str:
    body = {"model": MODEL_ID, "messages": [{"role": "user", "content": "Hello from the load test"}]}
    return "\n".join(
        [
            'wrk.method = "POST"',
            f"wrk.body = {json.dumps(json.dumps(body))}",
            'wrk.headers["content-type"] = "application/json"',
            f'wrk.headers["x-api-key"] = {json.dumps(api_key)}',
            "",
        ]
    )


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench-http: installing Debian's wrk (apt-get install wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench-http: wrk is missing: install Debian's wrk (sudo apt-get install wrk)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.serve", "--port", str(port)],
            cwd=REPO,
            env={**os.environ, "RELOAD": ""},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench-http: make serve exited:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"http://{HOST}:{port}/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"bench-http: make serve did not answer within {START_TIMEOUT_SECONDS} s")


def api_key_of_new_user(client: httpx.Client) -> str:
    """Sign up through the served app; the confirmation code from the emulator's mailbox."""
    email = f"bench-http-{int(time.time() * 1000)}@example.com"
    registered = client.post("/register", json={"email": email, "password": PASSWORD, "fullname": "Bench"})
    if registered.status_code != 202:
        raise SystemExit(f"bench-http: /register answered {registered.status_code}: {registered.text}")
    mailbox = httpx.get(f"http://{local_endpoint()}/_gateway/mailbox/{email}", timeout=10).json()
    code = mailbox["messages"][-1]["code"]
    confirmed = client.post("/register/confirm", json={"email": email, "code": code})
    if confirmed.status_code != 201:
        raise SystemExit(f"bench-http: /register/confirm answered {confirmed.status_code}: {confirmed.text}")
    return confirmed.json()["api_key"]


def run_level(wrk: str, script: Path, port: int, server_pid: int, concurrency: int, duration: int) -> Level:
    threads = min(concurrency, 2)  # two cores: more wrk threads only compete with the server
    cpu_before = process_cpu_seconds(server_pid)
    result = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://{HOST}:{port}/v1/chat/completions",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=duration + 60,
    )
    cpu_after = process_cpu_seconds(server_pid)
    if result.returncode != 0:
        raise SystemExit(f"bench-http: wrk failed ({result.returncode}): {result.stderr}")
    requests, rate, failed = parse_wrk(result.stdout)
    cpu_ms = (cpu_after - cpu_before) * 1000 / requests if requests else float("inf")
    return Level(concurrency, requests, rate, failed, cpu_ms)


def report(levels: list[Level], duration: int) -> bool:
    print(f"POST /v1/chat/completions through make serve (uvicorn, local model), {duration} s per level")
    print(
        f"  {'concurrency':>11}  {'requests':>8}  {'req/s':>8}  {'failed':>6}  {'app CPU ms/req':>14}  target"
    )
    met = True
    for level in levels:
        ok = level.cpu_ms_per_request <= TARGET_CPU_MS_PER_REQUEST and level.failed == 0
        met = met and ok
        verdict = f"<= {TARGET_CPU_MS_PER_REQUEST:g} ms {'ok' if ok else 'MISSED'}"
        print(
            f"  {level.concurrency:>11}  {level.requests:>8}  {level.requests_per_second:>8.1f}"
            f"  {level.failed:>6}  {level.cpu_ms_per_request:>14.2f}  {verdict}"
        )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("DURATION") or 10))
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= MAX_DURATION_SECONDS:
        parser.error(f"--duration must be 1-{MAX_DURATION_SECONDS} seconds")
    wrk = ensure_wrk()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as scratch:
        server = start_server(port, Path(scratch) / "serve.log")
        try:
            with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
                api_key = api_key_of_new_user(client)
                script = Path(scratch) / "chat.lua"
                script.write_text(wrk_script(api_key))
                for _ in range(5):  # warm-up: clients, caches, the user's first-call items
                    warm = client.post(
                        "/v1/chat/completions",
                        headers={"x-api-key": api_key},
                        json={"model": MODEL_ID, "messages": [{"role": "user", "content": "warm"}]},
                    )
                    if warm.status_code != 200:
                        raise SystemExit(f"bench-http: warm-up answered {warm.status_code}: {warm.text}")
            levels = [run_level(wrk, script, port, server.pid, c, args.duration) for c in CONCURRENCIES]
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return 0 if report(levels, args.duration) else 1


if __name__ == "__main__":
    sys.exit(main())
