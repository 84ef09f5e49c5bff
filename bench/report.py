"""The results table with its targets, the machine it ran on, and bench/RESULTS.md.

A run's figures are one dict per backend, keyed `<kind> <what>/<side>`: kind `rate`
(requests per second), `cpu` (the server processes' CPU ms per request; per verification for
`raw`), `p50` and `p99` (ms); side `before`, `after`, `bare` or `peer` (fastapi-users)."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_HEADER = """# Benchmark results

Written by `python bench/run.py`, newest first. Absolute figures depend on the machine and on
what else ran on it (see the load average); each ratio compares figures measured in the same
run, in alternating slices. Since 2026-12 a run measures the commit before the bench rework
("before") beside the working tree ("after"), fastapi-users 15 and a bare JWT app.
"""
LOSS = 0.85  # after ÷ before below this: the route lost more than 15% against the commit before
CPU_GREW = 0.05  # CPU per request rose by this much or more: the service does more work
MISSING = "n/a"


@dataclass(frozen=True)
class Target:
    """A bound a figure should meet: at least `value`, or at most."""

    at_least: bool
    value: float
    unit: str = ""

    def met(self, measured: float) -> bool:
        return measured >= self.value if self.at_least else measured <= self.value

    def __str__(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.value:.2f}{self.unit}"


@dataclass(frozen=True)
class Figure:
    """A row: one figure's value (one key) or the ratio of two, with an optional target."""

    label: str
    keys: tuple[str] | tuple[str, str]
    fmt: str = "{:.2f}"
    target: Target | None = None


@dataclass(frozen=True)
class Breakdown:
    """A row of several figures side by side in each cell, `a / b / c`."""

    label: str
    keys: tuple[str, ...]
    fmt: str = "{:.2f}"


@dataclass
class BackendResult:
    """Every figure of one backend's run, and notes on what went wrong in it."""

    backend: str
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def value(self, keys: tuple[str, ...]) -> float | None:
        """The figure of one key, the ratio of two; None where one was not measured."""
        values = [self.figures[key] for key in keys if key in self.figures]
        if len(values) < len(keys):
            return None
        if len(values) == 1:
            return values[0]
        numerator, denominator = values
        return numerator / denominator if denominator else None


AT_LEAST_RAW = Target(True, 0.80)
NO_LOSS = Target(True, LOSS)
NO_LOSS_LATENCY = Target(False, 2 - LOSS)
RATE = "{:.1f}/s"
TIMES = "{:.1f}x"


def _sign_in_rows(route: str, path: str) -> list[Figure | Breakdown]:
    return [
        Figure(f"{path}, before", (f"rate {route}/before",), RATE),
        Figure(f"{path}, after", (f"rate {route}/after",), RATE),
        Figure(
            f"  {path} ÷ raw, before", (f"rate {route}/before", "rate raw"), "{:.2f}", AT_LEAST_RAW
        ),
        Figure(
            f"  {path} ÷ raw, after", (f"rate {route}/after", "rate raw"), "{:.2f}", AT_LEAST_RAW
        ),
        Figure(
            f"  {path} after ÷ before",
            (f"rate {route}/after", f"rate {route}/before"),
            target=NO_LOSS,
        ),
        Breakdown(
            f"  CPU ms per raw verify / {path} before / after",
            ("cpu raw", f"cpu {route}/before", f"cpu {route}/after"),
        ),
    ]


def _healthz_rows(side: str) -> list[Figure | Breakdown]:
    return [
        Breakdown(
            f"GET /healthz p50 idle / flooded (ms), {side}",
            (f"p50 idle/{side}", f"p50 flood/{side}"),
        ),
        Figure(
            f"  p50 flooded ÷ idle, {side}",
            (f"p50 flood/{side}", f"p50 idle/{side}"),
            TIMES,
            Target(False, 3, "x"),
        ),
        Breakdown(
            f"GET /healthz p99 idle / flooded (ms), {side}",
            (f"p99 idle/{side}", f"p99 flood/{side}"),
        ),
        Figure(
            f"  p99 flooded ÷ idle, {side}",
            (f"p99 flood/{side}", f"p99 idle/{side}"),
            TIMES,
            Target(False, 5, "x"),
        ),
    ]


ROWS: list[Figure | Breakdown] = [
    Figure("Argon2id verify, 2 processes (raw limit)", ("rate raw",), RATE),
    *_sign_in_rows("login", "POST /login"),
    *_sign_in_rows("register", "POST /register"),
    Figure("GET /users/me, before", ("rate me/before",), "{:.0f}/s"),
    Figure("GET /users/me, after", ("rate me/after",), "{:.0f}/s"),
    Figure("bare FastAPI JWT-decode app", ("rate me/bare",), "{:.0f}/s"),
    Figure("fastapi-users 15 GET /users/me", ("rate me/peer",), "{:.0f}/s"),
    Figure(
        "  /users/me after ÷ fastapi-users",
        ("rate me/after", "rate me/peer"),
        target=Target(True, 2.5),
    ),
    Figure(
        "  /users/me after ÷ bare", ("rate me/after", "rate me/bare"), target=Target(True, 0.35)
    ),
    Figure("  /users/me before ÷ bare", ("rate me/before", "rate me/bare")),
    Figure("  /users/me after ÷ before", ("rate me/after", "rate me/before"), target=NO_LOSS),
    Breakdown(
        "  CPU ms per request: bare / before / after / fastapi-users",
        ("cpu me/bare", "cpu me/before", "cpu me/after", "cpu me/peer"),
        "{:.3f}",
    ),
    *_healthz_rows("before"),
    *_healthz_rows("after"),
    Figure(
        "  /healthz p50 flooded, after ÷ before",
        ("p50 flood/after", "p50 flood/before"),
        target=NO_LOSS_LATENCY,
    ),
    Figure(
        "  /healthz p99 flooded, after ÷ before",
        ("p99 flood/after", "p99 flood/before"),
        target=NO_LOSS_LATENCY,
    ),
]


def _cells(row: Figure | Breakdown, results: list[BackendResult]) -> list[str | None]:
    cells: list[str | None] = []
    for result in results:
        if isinstance(row, Breakdown):
            parts = [result.figures.get(key) for key in row.keys]
            shown = [MISSING if part is None else row.fmt.format(part) for part in parts]
            cells.append(None if all(part is None for part in parts) else " / ".join(shown))
        else:
            value = result.value(row.keys)
            cells.append(None if value is None else row.fmt.format(value))
    return cells


def _verdicts(row: Figure | Breakdown, results: list[BackendResult]) -> str:
    if isinstance(row, Breakdown) or row.target is None:
        return ""
    verdicts = []
    for result in results:
        value = result.value(row.keys)
        if value is None:
            verdicts.append(MISSING)
        else:
            verdicts.append("met" if row.target.met(value) else "**missed**")
    return ", ".join(verdicts)


def table(results: list[BackendResult]) -> str:
    """A Markdown table: one column per backend, then the target and whether each met it.
    Rows with no figure on any backend (a phase left out) are left out."""
    lines = [
        "| figure | " + " | ".join(result.backend for result in results) + " | target | result |",
        "|---|" + "---:|" * len(results) + "---|---|",
    ]
    for row in ROWS:
        cells = _cells(row, results)
        if all(cell is None for cell in cells):
            continue
        target = str(row.target) if isinstance(row, Figure) and row.target else ""
        shown = " | ".join(MISSING if cell is None else cell for cell in cells)
        lines.append(f"| {row.label} | {shown} | {target} | {_verdicts(row, results)} |")
    return "\n".join(lines)


ROUTES = (("login", "POST /login"), ("register", "POST /register"), ("me", "GET /users/me"))


def losses(result: BackendResult) -> list[str]:
    """For each route that lost more than 15% against the commit before: whether the servers'
    CPU per request rose with it (the service's own work grew) or not (the time went to
    waiting: other load on the machine, the database, how connections fell on the workers)."""
    notes = []
    for route, path in ROUTES:
        ratio = result.value((f"rate {route}/after", f"rate {route}/before"))
        if ratio is None or ratio >= LOSS:
            continue
        note = f"{path} after ÷ before {ratio:.2f}"
        cpu_after = result.figures.get(f"cpu {route}/after")
        cpu_before = result.figures.get(f"cpu {route}/before")
        if cpu_after and cpu_before:
            change = cpu_after / cpu_before - 1
            note += f": CPU per request {cpu_before:.3f} → {cpu_after:.3f} ms ({change:+.0%}), "
            if change >= CPU_GREW:
                note += "so the service's own work per request grew"
            else:
                note += "so it was not the service's own work: the time went to waiting"
        notes.append(note)
    return notes


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


def machine(load_before: str, load_after: str, postgres_version: str | None) -> list[str]:
    """Markdown list items: CPU, memory, load, Python, SQLite, PostgreSQL and wrk."""
    return [
        f"- CPU: {_cpu_model()}, `nproc` {os.cpu_count()}; memory {_memory()}",
        f"- load average (1, 5, 15 min): {load_before} before, {load_after} after",
        f"- Python {platform.python_version()} on {platform.platform()}; SQLite "
        f"{sqlite3.sqlite_version}"
        + (f"; PostgreSQL {postgres_version}" if postgres_version else "")
        + f"; load from {_wrk_version()}",
    ]


def section(results: list[BackendResult], details: list[str]) -> str:
    """This run's part of bench/RESULTS.md: date, table, `details` (list items), notes."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = [f"- {r.backend}: {note}" for r in results for note in (*r.notes, *losses(r))]
    parts = [f"## {stamp}", "", table(results), "", *details]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts) + "\n"


def record(section_text: str, path: Path = RESULTS_PATH) -> None:
    """Put this run on top of the earlier ones, under the file's header."""
    earlier = ""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        marker = text.find("\n## ")
        earlier = text[marker + 1 :] if marker >= 0 else ""
    path.write_text(f"{RESULTS_HEADER}\n{section_text}\n{earlier}".rstrip() + "\n", "utf-8")
