"""Builds the mail parts once per application: where mail goes (SMTP, or a folder without
SMTP_HOST), the outbox drainer and its thread, and the tools of password recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from A_DatabasePackage.settings import Settings
from B_EntityPackage.domain import Clock
from E_SecurityPackage.mail_sealing import MailSealer
from E_SecurityPackage.one_time_secrets import OneTimeSecrets
from F_RepositoryPackage.mail_sender import FolderMailSender, MailSender, SmtpMailSender
from F_RepositoryPackage.unit_of_work import AbstractUnitOfWork
from H_ServiceImplementationPackage.mail_composer import MailComposer
from H_ServiceImplementationPackage.mail_outbox import OutboxDrainer
from H_ServiceImplementationPackage.password_recovery_tools import RecoveryTools
from I_ControllerPackage.mail_dispatch import MailDispatcher

logger = logging.getLogger("auth_service.mail")


@dataclass(frozen=True)
class MailParts:
    sender: MailSender
    drainer: OutboxDrainer
    dispatcher: MailDispatcher
    recovery: RecoveryTools


def build_mail_sender(settings: Settings) -> MailSender:
    if settings.SMTP_HOST:
        password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else None
        return SmtpMailSender(
            settings.SMTP_HOST,
            settings.SMTP_PORT,
            settings.MAIL_FROM,
            username=settings.SMTP_USERNAME,
            password=password,
            starttls=settings.SMTP_STARTTLS,
            tls=settings.SMTP_TLS,
        )
    if settings.APP_ENV == "production":
        logger.warning("SMTP_HOST is not set: mail is written to MAIL_DIR, not sent")
    return FolderMailSender(Path(settings.MAIL_DIR), settings.MAIL_FROM)


DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


def mail_base_url(settings: Settings) -> str:
    """Where mailed links point: PUBLIC_BASE_URL, or the development address."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    if settings.APP_ENV == "production":
        logger.warning("PUBLIC_BASE_URL is not set: mailed links point to %s", DEVELOPMENT_BASE_URL)
    return DEVELOPMENT_BASE_URL


def build_mail_parts(
    settings: Settings, clock: Clock, new_unit_of_work: Callable[[], AbstractUnitOfWork]
) -> MailParts:
    sender = build_mail_sender(settings)
    sealer = MailSealer(settings.secret_key())
    drainer = OutboxDrainer(new_unit_of_work, sender, sealer, clock)
    dispatcher = MailDispatcher(drainer)
    recovery = RecoveryTools(
        secrets=OneTimeSecrets(settings.secret_key()),
        sealer=sealer,
        composer=MailComposer(mail_base_url(settings)),
        reset_lifetime=timedelta(minutes=settings.RESET_TOKEN_EXPIRE_MINUTES),
        wake_sender=dispatcher.wake,
        verify_lifetime=timedelta(hours=settings.VERIFY_TOKEN_EXPIRE_HOURS),
        lockout_notice_interval=timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS),
    )
    return MailParts(sender, drainer, dispatcher, recovery)
