"""The thread that drains the mail outbox in each worker process.

It drains at once when this process put a mail in the outbox (`wake`), and every
POLL_SECONDS anyway, for mails of other processes, retries that have come due and mails a
crashed process left behind. Several processes and instances drain together safely: each mail
is taken under a lease (H_ServiceImplementationPackage.mail_outbox).
"""

from __future__ import annotations

import logging
import threading

from H_ServiceImplementationPackage.mail_outbox import OutboxDrainer

logger = logging.getLogger("auth_service.mail")

POLL_SECONDS = 5.0


class MailDispatcher:
    def __init__(self, drainer: OutboxDrainer, poll_seconds: float = POLL_SECONDS) -> None:
        self.drainer = drainer
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mail-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                while self.drainer.drain_once() and not self._stopping.is_set():
                    pass
            except Exception as error:  # an outage must not end the thread
                logger.warning("mail outbox unavailable", extra={"error": type(error).__name__})
