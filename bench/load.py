"""Load from separate processes: wrk (Debian's package) for throughput, and a paced probe for
the latency of GET /healthz."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

REPORT_MARKER = "BENCH_JSON "
# wrk's `done` hook prints one JSON line that run.py reads back.
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
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing Debian's wrk package", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return "wrk"


def run_wrk(
    base_url: str, script: str, seconds: float, connections: int, threads: int = 1
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = Path(handle.name)
    try:
        completed = subprocess.run(
            [
                wrk_binary(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(script_path),
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        script_path.unlink()
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


def start_wrk(
    base_url: str, script: str, seconds: float, connections: int, threads: int = 1
) -> subprocess.Popen[str]:
    """A background flood (its report is not read)."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    handle.write(script)
    handle.close()
    return subprocess.Popen(
        [
            wrk_binary(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            handle.name,
            base_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def percentiles(timings_ms: list[float]) -> tuple[float, float]:
    """p50 and p99 of these timings."""
    quantiles = statistics.quantiles(timings_ms, n=100, method="inclusive")
    return quantiles[49], quantiles[98]


def probe_latency(host: str, port: int, path: str, seconds: float, interval: float) -> list[float]:
    """GET `path` once every `interval` seconds over one kept-alive connection, as a health
    checker does, and time each answer (run in its own process by run.py)."""
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
