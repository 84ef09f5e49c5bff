"""One backend's figures from a run, and the notes on what went wrong in it.

Figures are keyed `<kind> <what>/<side>`: kind `rate` (requests per second), `cpu` (the
server processes' CPU ms per request; per verification for `raw`), `p50` and `p99` (ms); side
`before`, `after`, `bare` or `peer` (fastapi-users)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
