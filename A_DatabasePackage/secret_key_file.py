"""The development SECRET_KEY: generated once into a 0600 file beside the SQLite database,
so tokens survive restarts and every worker shares it (A_DatabasePackage.settings uses it)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import URL

MIN_SECRET_KEY_LENGTH = 32
GENERATED_SECRET_SUFFIX = ".secret_key"  # noqa: S105 (a file name suffix)


def generated_secret_key_path(database_url: URL) -> Path:
    """Beside the SQLite database file; in the working directory for other databases."""
    if database_url.get_backend_name() == "sqlite" and database_url.database not in (
        None,
        "",
        ":memory:",
    ):
        return Path(str(database_url.database)).with_name(
            Path(str(database_url.database)).name + GENERATED_SECRET_SUFFIX
        )
    return Path("auth" + GENERATED_SECRET_SUFFIX)


def load_or_create_secret_key(path: Path) -> str:
    """Read the key file, creating it (mode 0600) if absent.

    Several workers may start at once: the key is written to a private temporary file and
    hard-linked into place, which fails atomically if another worker won, so every worker
    ends up reading the same complete key.
    """
    if path.exists():
        return checked_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return checked_key_file(path)


def checked_key_file(path: Path) -> str:
    """The key in `path`, refused when others may read the file or the key is too short."""
    if path.stat().st_mode & 0o077:
        raise ValueError(f"{path} must be readable by its owner only (chmod 600 {path})")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(f"{path} holds a key shorter than {MIN_SECRET_KEY_LENGTH} characters")
    return key
