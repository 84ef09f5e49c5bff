"""What password recovery and the security notices need, built once per application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from E_SecurityPackage.mail_sealing import MailSealer
from E_SecurityPackage.one_time_secrets import OneTimeSecrets
from H_ServiceImplementationPackage.mail_composer import MailComposer


@dataclass(frozen=True)
class RecoveryTools:
    """Built once per application."""

    secrets: OneTimeSecrets
    sealer: MailSealer
    composer: MailComposer
    reset_lifetime: timedelta
    wake_sender: Callable[[], None]
