"""What the machine a run measured on is: CPU, memory, load, Python, SQLite, PostgreSQL, wrk."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows, else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    """The total memory from /proc/meminfo in GiB, else "unknown"."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _wrk_version() -> str:
    """wrk's version line without its build details, or "missing"."""
    try:
        completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    except OSError:
        return "missing"
    return (completed.stdout or completed.stderr).splitlines()[0].split(" [")[0]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages now, as `1.00 2.00 3.00`."""
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
