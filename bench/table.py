"""The Markdown table of a run's figures: its rows, their targets, and met or missed."""

from __future__ import annotations

from dataclasses import dataclass

from bench.figures import BackendResult

LOSS = 0.85  # after ÷ before below this: the route lost more than 15% against the commit before
MISSING = "n/a"


@dataclass(frozen=True)
class Target:
    """A bound a figure should meet: at least `value`, or at most."""

    at_least: bool
    value: float
    unit: str = ""

    def met(self, measured: float) -> bool:
        """Whether `measured` is within the bound."""
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


AT_LEAST_RAW = Target(True, 0.80)
NO_LOSS = Target(True, LOSS)
NO_LOSS_LATENCY = Target(False, 2 - LOSS)
RATE = "{:.1f}/s"
TIMES = "{:.1f}x"


def _sign_in_rows(route: str, path: str) -> list[Figure | Breakdown]:
    """The rows of one hashing route: its rates, their ratios to raw Argon2id and its CPU."""
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
    """The rows of one side's /healthz latency, idle and flooded, with their ratios."""
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
    """The row's formatted cell per backend; None where that backend measured none of it."""
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
    """Met, missed or n/a per backend for a row with a target; empty for one without."""
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
