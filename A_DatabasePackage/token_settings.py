"""Parsing and checks of the token settings (JWT_PRIVATE_KEY_FILE, INTROSPECTION_CLIENTS),
kept apart from settings.py to keep that file readable; what production refuses about the
signing keys is in production_checks."""

from __future__ import annotations

import string
from pathlib import Path

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
SHA256_HEX_LENGTH = 64
CLIENT_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")


def parse_introspection_clients(value: str) -> dict[str, str]:
    """`id:sha256-hex-of-secret`, comma-separated, into {id: hex}. The hex is of the client
    secret's SHA-256 (secrets are random, 256 bits: `python -m scripts.manage
    introspection-client NAME` makes one), so a fast hash is enough."""
    clients: dict[str, str] = {}
    for part in value.split(","):
        item = part.strip()
        if not item:
            continue
        client_id, _, digest = item.partition(":")
        digest = digest.strip().lower()
        valid = (
            client_id
            and set(client_id) <= CLIENT_ID_CHARACTERS
            and len(digest) == SHA256_HEX_LENGTH
            and set(digest) <= set(string.hexdigits.lower())
            and client_id not in clients
        )
        if not valid:
            raise ValueError(
                "INTROSPECTION_CLIENTS takes id:sha256-hex pairs separated by commas "
                f"(a bad or repeated entry for {client_id[:32]!r})"
            )
        clients[client_id] = digest
    return clients


def private_key_file_problem(algorithm: str, private_key_file: Path | None) -> str | None:
    """Refused everywhere: a PEM file with an HMAC algorithm would be silently unused."""
    if private_key_file is not None and algorithm in HMAC_ALGORITHMS:
        return f"JWT_PRIVATE_KEY_FILE is set but JWT_ALGORITHM={algorithm} signs with SECRET_KEY"
    return None
