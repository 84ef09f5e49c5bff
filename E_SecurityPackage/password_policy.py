"""Password rules (NIST SP 800-63B, ASVS 4.0.3 2.1): length and a blocklist, no composition."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from D_CustomExceptionPackage.errors import PasswordTooShortError, WeakPasswordError

COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt"


@lru_cache(maxsize=1)
def load_common_passwords(path: Path = COMMON_PASSWORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("# ")
    )


class PasswordPolicy:
    def __init__(self, min_length: int, common_passwords: frozenset[str] | None = None) -> None:
        self.min_length = min_length
        self.common_passwords = (
            common_passwords if common_passwords is not None else load_common_passwords()
        )

    def check(self, password: str, *, username: str, email: str, field: str = "password") -> None:
        """Raise unless the password may be used by the account with this username and email.

        Length is counted in code points and the password is never truncated.
        """
        if len(password) < self.min_length:
            raise PasswordTooShortError(self.min_length, field)
        folded = password.casefold()
        if folded in self.common_passwords:
            raise WeakPasswordError("This password is one of the most common passwords.")
        if folded in (username.casefold(), email.casefold()):
            raise WeakPasswordError("The password must not be the username or the email.")
