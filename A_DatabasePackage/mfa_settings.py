"""The settings of two-factor sign-in (a part of Settings, kept apart)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from A_DatabasePackage.secret_key_file import MIN_SECRET_KEY_LENGTH


def split_keys(value: str) -> tuple[str, ...]:
    """Comma-separated keys, blanks ignored."""
    return tuple(key.strip() for key in value.split(",") if key.strip())


class MfaSettings(BaseModel):
    MFA_ENCRYPTION_KEY: SecretStr | None = None
    MFA_ENCRYPTION_OLD_KEYS: SecretStr | None = None
    MFA_ISSUER: str = Field(default="auth-service", min_length=1, max_length=64)

    @field_validator("MFA_ENCRYPTION_KEY", "MFA_ENCRYPTION_OLD_KEYS")
    @classmethod
    def _mfa_keys_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(
            len(key) < MIN_SECRET_KEY_LENGTH for key in split_keys(value.get_secret_value())
        ):
            raise ValueError(
                f"every MFA encryption key must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return value
