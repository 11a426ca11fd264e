"""`make bench-http`'s reading of wrk's report and of a process's CPU time."""

import json
import os
import time

import pytest

from scripts import bench_http

WRK_REPORT = """Running 5s test @ http://127.0.0.1:8000/v1/chat/completions
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   419.40ms  112.43ms 892.10ms   81.33%
    Req/Sec    10.54      5.33    30.00     60.91%
  150 requests in 8.08s, 74.27KB read
{extra}Requests/sec:     18.57
Transfer/sec:      9.19KB
"""


def test_a_clean_report_gives_requests_rate_and_no_failures():
    assert bench_http.parse_wrk(WRK_REPORT.format(extra="")) == (150, 18.57, 0)


def test_non_2xx_answers_and_socket_errors_count_as_failed():
    extra = "  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 4\n"
    assert bench_http.parse_wrk(WRK_REPORT.format(extra=extra)) == (150, 18.57, 7)


def test_an_unreadable_report_stops_the_benchmark():
    with pytest.raises(SystemExit, match="could not read wrk's report"):
        bench_http.parse_wrk("unable to connect to 127.0.0.1:8000 Connection refused")


def test_cpu_seconds_of_a_process_grow_with_its_work():
    before = bench_http.process_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.15
    while time.process_time() < deadline:
        pass
    after = bench_http.process_cpu_seconds(os.getpid())
    assert after - before >= 0.1


def test_the_wrk_script_posts_json_with_the_key():
    script = bench_http.wrk_script('key-with-"quote')
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["x-api-key"] = "key-with-\\"quote"' in script
    body_literal = script.split("wrk.body = ", 1)[1].split("\n", 1)[0]
    body = json.loads(json.loads(body_literal))
    assert body["model"] == bench_http.MODEL_ID
    assert body["messages"][0]["role"] == "user"
