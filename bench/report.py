"""The results table, the machine it ran on, and bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_HEADER = """# Benchmark results

Written by `python bench/run.py` (README "Performance"), newest first. Absolute figures depend
on the machine and on what else ran on it (see the load average); each ratio compares figures
measured in the same run, one phase after the other.
"""
PACKAGES = (
    *("fastapi", "starlette", "uvicorn", "httptools", "uvloop", "pydantic", "SQLAlchemy"),
    *("psycopg2-binary", "psycopg"),
    *("argon2-cffi", "libpass", "python-jose"),
)


def _ratio(measured: float, baseline: float) -> float:
    """`measured / baseline`, or 0.0 where the baseline was not measured (a phase left out)."""
    return measured / baseline if baseline else 0.0


@dataclass
class BackendResult:
    """Every figure of one backend's run."""

    backend: str
    argon2_rate: float = 0.0
    login_rate: float = 0.0
    bare_login_rate: float = 0.0
    register_rate: float = 0.0
    me_rate: float = 0.0
    bare_rate: float = 0.0
    healthz_idle: tuple[float, float] = (0.0, 0.0)  # p50, p99 in ms
    healthz_flood: tuple[float, float] = (0.0, 0.0)
    # CPU milliseconds per request of the server processes (per verification for the raw run):
    # what the ratios would be on a machine with nothing else running.
    verify_cpu: float = 0.0
    login_cpu: float = 0.0
    bare_login_cpu: float = 0.0
    register_cpu: float = 0.0
    me_cpu: float = 0.0
    bare_cpu: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def login_ratio(self) -> float:
        return _ratio(self.login_rate, self.argon2_rate)

    @property
    def bare_login_ratio(self) -> float:
        return _ratio(self.bare_login_rate, self.argon2_rate)

    @property
    def login_to_bare_ratio(self) -> float:
        return _ratio(self.login_rate, self.bare_login_rate)

    @property
    def register_ratio(self) -> float:
        return _ratio(self.register_rate, self.argon2_rate)

    @property
    def me_ratio(self) -> float:
        return _ratio(self.me_rate, self.bare_rate)

    @property
    def p50_ratio(self) -> float:
        return _ratio(self.healthz_flood[0], self.healthz_idle[0])

    @property
    def p99_ratio(self) -> float:
        return _ratio(self.healthz_flood[1], self.healthz_idle[1])


def cpu(baseline: float, measured: float) -> str:
    """`baseline / measured = their ratio`: the share a CPU-bound, otherwise idle machine
    would reach."""
    if not measured:
        return "0.0"
    return f"{baseline:.2f} / {measured:.2f} = {baseline / measured:.2f}"


def _verdict(value: float, target: float, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    return "met" if met else "**missed**"


def table(results: list[BackendResult]) -> str:
    """A Markdown table: one column per backend, then the target and whether each met it."""
    names = [result.backend for result in results]
    rows: list[tuple[str, list[str], str, str]] = []

    def add(label: str, values: list[str], target: str = "", verdicts: str = "") -> None:
        rows.append((label, values, target, verdicts))

    def verdicts(values: list[float], target: float, at_least: bool) -> str:
        return ", ".join(_verdict(value, target, at_least) for value in values)

    add("Argon2id verify, 2 processes (raw limit)", [f"{r.argon2_rate:.1f}/s" for r in results])
    add("POST /login", [f"{r.login_rate:.1f}/s" for r in results])
    ratios = [r.login_ratio for r in results]
    add("  /login ÷ raw", [f"{v:.2f}" for v in ratios], ">= 0.9", verdicts(ratios, 0.9, True))
    add("  CPU ms per verify (raw) / per /login", [cpu(r.verify_cpu, r.login_cpu) for r in results])
    add("bare sign-in app (verify + JWT only)", [f"{r.bare_login_rate:.1f}/s" for r in results])
    add("  bare sign-in ÷ raw", [f"{r.bare_login_ratio:.2f}" for r in results])
    add("  /login ÷ bare sign-in", [f"{r.login_to_bare_ratio:.2f}" for r in results])
    add(
        "  CPU ms per verify (raw) / per bare sign-in",
        [cpu(r.verify_cpu, r.bare_login_cpu) for r in results],
    )
    add("POST /register", [f"{r.register_rate:.1f}/s" for r in results])
    ratios = [r.register_ratio for r in results]
    add("  /register ÷ raw", [f"{v:.2f}" for v in ratios], ">= 0.9", verdicts(ratios, 0.9, True))
    add(
        "  CPU ms per verify (raw) / per /register",
        [cpu(r.verify_cpu, r.register_cpu) for r in results],
    )
    add("GET /users/me (bearer)", [f"{r.me_rate:.0f}/s" for r in results])
    add("bare FastAPI JWT-decode app", [f"{r.bare_rate:.0f}/s" for r in results])
    ratios = [r.me_ratio for r in results]
    add("  /users/me ÷ bare", [f"{v:.2f}" for v in ratios], ">= 0.5", verdicts(ratios, 0.5, True))
    add("  CPU ms per request, bare / /users/me", [cpu(r.bare_cpu, r.me_cpu) for r in results])
    add("GET /healthz p50 idle", [f"{r.healthz_idle[0]:.2f} ms" for r in results])
    add("GET /healthz p50, /login flooded", [f"{r.healthz_flood[0]:.2f} ms" for r in results])
    ratios = [r.p50_ratio for r in results]
    add("  p50 flooded ÷ idle", [f"{v:.1f}x" for v in ratios], "<= 2x", verdicts(ratios, 2, False))
    add("GET /healthz p99 idle", [f"{r.healthz_idle[1]:.2f} ms" for r in results])
    add("GET /healthz p99, /login flooded", [f"{r.healthz_flood[1]:.2f} ms" for r in results])
    ratios = [r.p99_ratio for r in results]
    add("  p99 flooded ÷ idle", [f"{v:.1f}x" for v in ratios], "<= 5x", verdicts(ratios, 5, False))

    # Phases left out (--phases) leave their figures at zero: no row for them.
    rows = [row for row in rows if any(not value.startswith(("0.0", "0/")) for value in row[1])]
    lines = [
        "| figure | " + " | ".join(names) + " | target | result |",
        "|---|" + "---:|" * len(names) + "---|---|",
    ]
    lines += [
        f"| {label} | " + " | ".join(values) + f" | {target} | {verdict} |"
        for label, values, target, verdict in rows
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _wrk_version() -> str:
    try:
        completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    except OSError:
        return "missing"
    return (completed.stdout or completed.stderr).splitlines()[0].split(" [")[0]


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine(load_before: str, load_after: str, postgres_version: str | None) -> str:
    packages = ", ".join(f"{name} {version(name)}" for name in PACKAGES)
    lines = [
        f"- CPU: {_cpu_model()}, `nproc` {os.cpu_count()}; memory {_memory()}",
        f"- load average (1, 5, 15 min): {load_before} before, {load_after} after",
        f"- Python {platform.python_version()} on {platform.platform()}; {packages}",
        f"- SQLite {sqlite3.sqlite_version}"
        + (f"; PostgreSQL {postgres_version}" if postgres_version else "")
        + f"; load from {_wrk_version()}",
    ]
    return "\n".join(lines)


def section(results: list[BackendResult], machine_text: str, settings_text: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = [f"- {r.backend}: {note}" for r in results for note in r.notes]
    parts = [f"## {stamp}", "", table(results), "", machine_text, f"- {settings_text}"]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def record(section_text: str, path: Path = RESULTS_PATH) -> None:
    """Put this run on top of the earlier ones."""
    earlier = ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        marker = text.find("\n## ")
        earlier = text[marker + 1 :] if marker >= 0 else ""
    path.write_text(f"{RESULTS_HEADER}\n{section_text}\n{earlier}".rstrip() + "\n", "utf-8")
