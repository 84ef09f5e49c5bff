"""The service's Prometheus metrics, and their text exposition for GET /metrics.

Several worker processes (gunicorn, `uvicorn --workers`) each count their own requests; with
PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps every process's figures in files in that
directory and a scrape sums them, so any worker answers with the totals of all. The mode is
chosen when prometheus-client is first imported: gunicorn's configuration sets the variable
before the workers start, and under `uvicorn --workers` the workers set it themselves before
the import (I_ControllerPackage.metrics_folder). A single process keeps its own registry.

Every label has a small fixed set of values (route templates, never raw paths), so the number
of series stays bounded whatever clients send.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from I_ControllerPackage.metrics_folder import metrics_folder

MULTIPROCESS_DIRECTORY = metrics_folder()

# isort: split
from prometheus_client import (  # noqa: E402 (after the folder is chosen: see above)
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Metric,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

# The classic text format, which every Prometheus version (2.x and 3.x) reads.
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_workers(folder: Path) -> None:
    """Drop the live gauges of workers that died (uvicorn has no hook to do it when they exit,
    as gunicorn's child_exit does). Their counters stay in the sum, so totals never go back."""
    for path in folder.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _is_running(int(pid)):
            multiprocess.mark_process_dead(int(pid), str(folder))  # type: ignore[no-untyped-call]


if MULTIPROCESS_DIRECTORY is not None:
    # Each process writes its own files there as soon as a metric exists.
    MULTIPROCESS_DIRECTORY.mkdir(parents=True, exist_ok=True)
    forget_dead_workers(MULTIPROCESS_DIRECTORY)

# `_created` series double the output and are not kept in multi-process mode anyway.
disable_created_metrics()  # type: ignore[no-untyped-call]

# /login/mfa is a sign-in's second step: a /login answered `mfa_required` counts as the
# password step's success, and the second step counts again there.
SIGN_IN_ROUTES = ("/login", "/login/mfa", "/users/code")
SIGN_IN_OUTCOMES = (
    "success",
    "invalid_credentials",
    "disabled",
    "unverified",
    "locked",
    "invalid_request",
    "unavailable",
    "error",
)
REGISTRATION_OUTCOMES = (
    "created",
    "taken",
    "weak_password",
    "invalid_request",
    "rate_limited",
    "unavailable",
    "error",
)
REFRESH_OUTCOMES = (
    "refreshed",
    "invalid",
    "reuse_detected",
    "invalid_request",
    "rate_limited",
    "unavailable",
    "error",
)
HASH_OPERATIONS = ("hash", "verify")
HASH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)

HTTP_REQUESTS = Counter(
    "auth_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("route", "method", "status"),
)
HTTP_REQUEST_DURATION = Histogram(
    "auth_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template and method.",
    ("route", "method"),
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "auth_http_requests_in_progress",
    "Requests being served right now (all workers).",
    multiprocess_mode="livesum",
)
SIGN_INS = Counter(
    "auth_sign_ins",
    "Sign-in attempts (/login, /login/mfa, /users/code) by outcome.",
    ("route", "outcome"),
)
REGISTRATIONS = Counter(
    "auth_registrations",
    "Registration attempts (/register) by outcome.",
    ("outcome",),
)
TOKEN_REFRESHES = Counter(
    "auth_token_refreshes",
    "Refresh-token exchanges (/token/refresh) by outcome; reuse_detected ends a session.",
    ("outcome",),
)
PASSWORD_HASH_DURATION = Histogram(
    "auth_password_hash_seconds",
    "Time of one Argon2id computation: hashing a new password, or verifying one.",
    ("operation",),
    buckets=HASH_BUCKETS,
)


def _declare_known_series() -> None:
    """Expose every outcome from the start at 0, so dashboards and rate() see them at once."""
    for route in SIGN_IN_ROUTES:
        for outcome in SIGN_IN_OUTCOMES:
            SIGN_INS.labels(route=route, outcome=outcome)
    for outcome in REGISTRATION_OUTCOMES:
        REGISTRATIONS.labels(outcome=outcome)
    for outcome in REFRESH_OUTCOMES:
        TOKEN_REFRESHES.labels(outcome=outcome)
    for operation in HASH_OPERATIONS:
        PASSWORD_HASH_DURATION.labels(operation=operation)


_declare_known_series()


@contextmanager
def time_password_hash(operation: str) -> Iterator[None]:
    """Observe the duration of the Argon2 computation inside the block."""
    with PASSWORD_HASH_DURATION.labels(operation=operation).time():
        yield


class OutboxPending(Collector):
    """Read at scrape time from the database, so every instance reports the same figure."""

    def __init__(self, pending: int) -> None:
        self.pending = pending

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "auth_mail_outbox_pending",
            "Mails in the outbox (all instances) neither sent nor given up.",
            value=self.pending,
        )


def render_metrics(outbox_pending: int | None = None) -> bytes:
    """The Prometheus text exposition: every worker's figures summed in multi-process mode,
    and the outbox's pending mails when they could be counted."""
    if MULTIPROCESS_DIRECTORY is None:
        text = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(MULTIPROCESS_DIRECTORY)
        )
        text = generate_latest(registry)
    if outbox_pending is not None:
        scrape_time = CollectorRegistry()
        scrape_time.register(OutboxPending(outbox_pending))
        text += generate_latest(scrape_time)
    return text
