"""The settings of outgoing mail and account recovery (a part of Settings, kept apart).

Mailed links start with PUBLIC_BASE_URL (in Settings: the discovery document uses it too);
the limits on requests for mail are in abuse_settings."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class MailSettings(BaseModel):
    SMTP_HOST: str | None = None
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_STARTTLS: bool = True
    SMTP_TLS: bool = False
    MAIL_FROM: str = "Auth service <no-reply@localhost>"
    MAIL_DIR: str = "./mail"
    RESET_TOKEN_EXPIRE_MINUTES: int = Field(default=30, ge=5, le=24 * 60)
    VERIFY_TOKEN_EXPIRE_HOURS: int = Field(default=24, ge=1, le=24 * 14)
    REQUIRE_VERIFIED_EMAIL: bool = False
