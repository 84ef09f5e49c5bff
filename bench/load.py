"""Load from separate processes: wrk (Debian's package) for throughput, and a paced probe for
the latency of GET /healthz."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

REPORT_MARKER = "BENCH_JSON "
# wrk's `done` hook prints one JSON line that run_wrk reads back.
LUA_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"non_2xx\\": %d, "
    .. "\\"socket_errors\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d}\\n",
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_json_post(path: str, body: str) -> str:
    """Every request the same POST with a JSON body."""
    return f"""
wrk.method = "POST"
wrk.path = {json.dumps(path)}
wrk.headers["Content-Type"] = "application/json"
wrk.body = {json.dumps(body)}
{LUA_REPORT}"""


def lua_get(path: str, headers: dict[str, str]) -> str:
    """Every request the same GET with these headers."""
    header_lines = "\n".join(
        f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}" for key, value in headers.items()
    )
    return f"""
wrk.method = "GET"
wrk.path = {json.dumps(path)}
{header_lines}
{LUA_REPORT}"""


def lua_register(prefix: str, password: str) -> str:
    """A new account per request: `<prefix>t<thread>n<counter>`, unique across wrk threads."""
    return f"""
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end
local counter = 0
request = function()
  counter = counter + 1
  local name = string.format("%st%dn%d", {json.dumps(prefix)}, tid, counter)
  local body = string.format(
    '{{"username": "%s", "email": "%s@bench.example.com", "password": %s}}',
    name, name, {json.dumps(json.dumps(password))})
  return wrk.format("POST", "/register", {{["Content-Type"] = "application/json"}}, body)
end
{LUA_REPORT}"""


@dataclass(frozen=True)
class LoadResult:
    """What wrk's report says about one run."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float


def wrk_binary() -> str:
    """wrk's path; installs Debian's package first when it is missing and this is root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError("wrk is missing: install Debian's package `wrk` (apt-get install wrk)")
    print("wrk is missing: installing Debian's wrk package", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or "wrk"


@contextmanager
def _script_file(script: str) -> Iterator[Path]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    path = Path(handle.name)
    try:
        yield path
    finally:
        path.unlink()


def _wrk_command(base_url: str, script: Path, seconds: float, connections: int) -> list[str]:
    duration = f"{max(1, round(seconds))}s"
    return [
        *(wrk_binary(), "-t1", f"-c{connections}", f"-d{duration}", "--timeout", "30s"),
        *("-s", str(script), base_url),
    ]


def run_wrk(base_url: str, script: str, seconds: float, connections: int) -> LoadResult:
    """One wrk thread with `connections` connections for `seconds` (whole seconds)."""
    with _script_file(script) as path:
        completed = subprocess.run(
            _wrk_command(base_url, path, seconds, connections),
            capture_output=True,
            text=True,
            check=True,
        )
    line = next(
        (line for line in completed.stdout.splitlines() if line.startswith(REPORT_MARKER)), None
    )
    if line is None:
        raise RuntimeError(f"wrk printed no report:\n{completed.stdout}\n{completed.stderr}")
    report = json.loads(line[len(REPORT_MARKER) :])
    return LoadResult(
        requests=report["requests"],
        seconds=report["duration_us"] / 1e6,
        non_2xx=report["non_2xx"],
        socket_errors=report["socket_errors"],
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
    )


@contextmanager
def flood(base_url: str, script: str, seconds: float, connections: int) -> Iterator[None]:
    """wrk in the background for `seconds` while the block runs; waits for it on the way out."""
    with _script_file(script) as path:
        process = subprocess.Popen(
            _wrk_command(base_url, path, seconds, connections),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            try:
                process.wait(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def percentiles(timings_ms: list[float]) -> tuple[float, float]:
    """p50 and p99 of these timings."""
    quantiles = statistics.quantiles(timings_ms, n=100, method="inclusive")
    return quantiles[49], quantiles[98]


def probe_latency(host: str, port: int, path: str, seconds: float, interval: float) -> list[float]:
    """GET `path` once every `interval` seconds over one kept-alive connection, as a health
    checker does, and time each answer in ms (bench/run.py runs it in a process of its own)."""
    connection = HTTPConnection(host, port, timeout=30)
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    next_at = time.perf_counter()
    while next_at < deadline:
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        timings.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        next_at += interval
    connection.close()
    return [timing * 1000 for timing in timings]
