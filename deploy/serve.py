"""Several uvicorn workers, each listening on a socket of its own: `python -m deploy.serve`.

`uvicorn --workers N` and gunicorn bind one listening socket and share it between the
workers; the worker that wakes first accepts every connection waiting. Long-lived keep-alive
connections (a load balancer's pool, a benchmark's) then pile up on one worker while the
others idle: 15 of 16 connections on one of two workers, measured on the development machine
(also reported upstream, uvicorn-worker issue #34). Here each worker binds its own socket to
the same address with SO_REUSEPORT, and Linux hands each new connection to one of them by a
hash of its addresses, so the workers get about equal shares. Elsewhere (no SO_REUSEPORT load
balancing) use gunicorn.

Run from the project root; service settings come from the environment and `.env` as always.
Server variables (the same as deploy/gunicorn_conf.py's):

| variable | default | meaning |
|---|---|---|
| BIND | 0.0.0.0:8000 | address and port to listen on |
| WEB_CONCURRENCY | CPU cores available | worker processes |
| GRACEFUL_TIMEOUT | 30 | seconds in-flight requests get to finish after SIGTERM |
| KEEPALIVE | 5 | seconds an idle keep-alive connection stays open |
| PROMETHEUS_MULTIPROC_DIR | a new temporary directory | where the workers keep their metrics |

WEB_CONCURRENCY, GRACEFUL_TIMEOUT and KEEPALIVE are whole numbers of at least 1. When the
service setting HASH_CONCURRENCY is unset, the workers get the cores divided among them, as
the connections are: one Argon2 computation per core on the whole machine.

The parent empties the metrics folder and applies the migrations once (unless
AUTO_MIGRATE=false), then starts the workers and replaces one that dies. SIGTERM or SIGINT
stops them gracefully; the parent exits 0 once they are gone, or 3 when the address cannot be
bound or a worker fails within STARTUP_GRACE_SECONDS of its start (a settings error, say),
rather than starting it again and again. The parent's own lines are JSON on stdout too.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from deploy.process_setup import (
    UVICORN_OPTIONS,
    available_cores,
    empty_metrics_dir,
    json_logging_config,
    migrate_once,
)

SERVICE_APP = "I_ControllerPackage.logic_controller:app"
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# A worker that fails this soon after its start is taken for one that cannot start at all.
STARTUP_GRACE_SECONDS = 10.0
logger = logging.getLogger("deploy.serve")


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (all IPv4 addresses)."""
    host, separator, port = bind.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"BIND must look like host:port, not {bind!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (the documented default)


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) in a SO_REUSEPORT group, not yet listening.

    `proto` is IPPROTO_TCP, so asyncio itself turns Nagle's algorithm off on the accepted
    connections (uvicorn's own sockets say 0, see I_ControllerPackage/http_protocol.py).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run_worker(app: str, host: str, port: int, graceful_timeout: int, keepalive: int) -> None:
    """One worker process: uvicorn on a listening socket of its own."""
    sock = reuse_port_socket(host, port)
    config = uvicorn.Config(
        app,
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=keepalive,
        log_config=json_logging_config("uvicorn.error", "uvicorn.access"),
        **UVICORN_OPTIONS,
    )
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts `workers` worker processes, replaces those that die, stops them on a signal."""

    def __init__(
        self, app: str, bind: str, workers: int, graceful_timeout: int, keepalive: int
    ) -> None:
        self.host, self.port = parse_bind(bind)
        self.worker_arguments = (app, self.host, self.port, graceful_timeout, keepalive)
        self.workers = workers
        self.graceful_timeout = graceful_timeout
        self.processes: list[SpawnProcess] = []
        self.started_at: dict[int | None, float] = {}
        self.stopping = threading.Event()
        self.context = multiprocessing.get_context("spawn")

    def _start_worker(self) -> SpawnProcess:
        process = self.context.Process(target=run_worker, args=self.worker_arguments)
        process.start()
        self.started_at[process.pid] = time.monotonic()
        logger.info("worker %s started", process.pid)
        return process

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> int:
        # Bound (not listening) for as long as the parent runs: a taken port fails here, once,
        # and no other program can take the port while a worker is being replaced.
        try:
            placeholder = reuse_port_socket(self.host, self.port)
        except OSError as error:
            logger.error("cannot listen on %s:%s: %s", self.host, self.port, error)
            return STARTUP_FAILURE
        with placeholder:
            for stop_signal in STOP_SIGNALS:
                signal.signal(stop_signal, self._stop)
            self.processes = [self._start_worker() for _ in range(self.workers)]
            exit_code = self._watch()
            self._stop_all()
        return exit_code

    def _watch(self) -> int:
        while not self.stopping.wait(0.2):
            for index, process in enumerate(self.processes):
                if process.is_alive():
                    continue
                process.join()
                _forget_metrics_of(process.pid)
                lived = time.monotonic() - self.started_at.pop(process.pid, 0.0)
                if process.exitcode == STARTUP_FAILURE or lived < STARTUP_GRACE_SECONDS:
                    logger.error(
                        "worker %s exited (%s) %.1f s after its start; stopping",
                        process.pid,
                        process.exitcode,
                        lived,
                    )
                    return STARTUP_FAILURE
                logger.warning(
                    "worker %s exited (%s); starting another", process.pid, process.exitcode
                )
                self.processes[index] = self._start_worker()
        return 0

    def _stop_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.graceful_timeout + 5
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
            _forget_metrics_of(process.pid)


def _forget_metrics_of(pid: int | None) -> None:
    metrics_dir = os.environ.get(METRICS_DIR_VARIABLE)
    if pid is None or not metrics_dir:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path=metrics_dir)  # type: ignore[no-untyped-call]


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name) or str(default)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", default=SERVICE_APP, help="module:attribute")
    arguments = parser.parse_args(argv)
    logging.config.dictConfig(json_logging_config("deploy.serve", "uvicorn.access"))
    bind = os.environ.get("BIND") or "0.0.0.0:8000"
    try:
        parse_bind(bind)
        workers = _positive_int("WEB_CONCURRENCY", available_cores())
        graceful_timeout = _positive_int("GRACEFUL_TIMEOUT", 30)
        keepalive = _positive_int("KEEPALIVE", 5)
    except ValueError as error:
        logger.error("%s", error)
        return STARTUP_FAILURE
    if not os.environ.get("HASH_CONCURRENCY"):
        # The workers get equal shares of the connections, so the cores can be shared out too:
        # more Argon2 computations at once than cores only thrash the caches (README "Sizing").
        os.environ["HASH_CONCURRENCY"] = str(max(1, available_cores() // workers))
    own_metrics_dir = not os.environ.get(METRICS_DIR_VARIABLE)
    if own_metrics_dir:
        # Set before any worker starts, so prometheus-client runs in multi-process mode in each.
        os.environ[METRICS_DIR_VARIABLE] = tempfile.mkdtemp(prefix="auth-metrics-")
    metrics_dir = Path(os.environ[METRICS_DIR_VARIABLE])
    try:
        empty_metrics_dir(metrics_dir)
        migrate_once()
        return Supervisor(arguments.app, bind, workers, graceful_timeout, keepalive).run()
    finally:
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
