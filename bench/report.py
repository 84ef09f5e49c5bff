"""A run's section of bench/RESULTS.md: date, table, details and notes, and recording it on
top of the earlier runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.figures import BackendResult
from bench.table import LOSS, table

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
RESULTS_HEADER = """# Benchmark results

Written by `python bench/run.py`, newest first. Absolute figures depend on the machine and on
what else ran on it (see the load average); each ratio compares figures measured in the same
run, in alternating slices. Since 2026-12 a run measures the commit before the simplification
("before") beside the working tree ("after"), fastapi-users 15 and a bare JWT app.
"""
CPU_GREW = 0.05  # CPU per request rose by this much or more: the service does more work
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
