"""`python -m scripts.manage keys list|rotate|revoke` and `introspection-client`.

Rotation can run on a schedule; on one instance only, for example from cron (daily check,
a new key when the newest is 30 days old):

    17 3 * * *  cd /srv/auth && .venv/bin/python -m scripts.manage keys rotate --if-older-than 30d
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import sys
from datetime import timedelta

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from A_DatabasePackage.settings import Settings
from D_CustomExceptionPackage.errors import ServiceError
from F_RepositoryPackage.token_denylist import redis_client_from_url
from I_ControllerPackage.app_components import build_security_components, unit_of_work_factory
from I_ControllerPackage.key_dependencies import signing_key_service

DURATION = re.compile(r"^(\d{1,9})([smhd]?)$")
SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `3600s` or `3600`."""
    match = DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration such as 30d, 12h or 3600: {text!r}")
    return timedelta(seconds=int(match.group(1)) * SECONDS_PER_UNIT[match.group(2)])


def add_key_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="list, rotate or revoke the token signing keys")
    actions = keys.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every key, newest first, as JSON lines")
    rotate = actions.add_parser("rotate", help="publish a new key; it signs after the JWKS age")
    rotate.add_argument(
        "--if-older-than",
        type=duration,
        default=None,
        metavar="AGE",
        help="only when the newest key is at least this old (30d, 12h, 3600): for cron",
    )
    revoke = actions.add_parser("revoke", help="end a key and all its tokens at once")
    revoke.add_argument("kid")
    client = commands.add_parser(
        "introspection-client", help="make a client secret for POST /token/introspect"
    )
    client.add_argument("client_id", type=str)


def run_keys(arguments: argparse.Namespace, settings: Settings) -> int:
    database = Database(settings.database_url)
    try:
        if settings.AUTO_MIGRATE:
            upgrade_to_head(database)
        redis_client = redis_client_from_url(settings.REDIS_URL) if settings.REDIS_URL else None
        security = build_security_components(settings)
        new_unit_of_work = unit_of_work_factory(database, redis_client, security.clock)
        service = signing_key_service(security, new_unit_of_work())
        if arguments.action == "list":
            for key in service.list_keys():
                print(key.model_dump_json())
        elif arguments.action == "rotate":
            print(service.rotate(arguments.if_older_than).model_dump_json())
        else:
            print(service.revoke(arguments.kid).model_dump_json())
    except ServiceError as error:
        print(f"error: {error.code}: {error.detail}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    return 0


def make_introspection_client(arguments: argparse.Namespace) -> int:
    """Print the secret (give it to the resource server) and the INTROSPECTION_CLIENTS entry
    (only the secret's SHA-256 is configured here)."""
    client_id: str = arguments.client_id
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", client_id):
        print("error: the client id takes letters, digits, '_', '.' and '-'", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    print(json.dumps({"client_id": client_id, "client_secret": secret}))
    print(f"INTROSPECTION_CLIENTS entry: {client_id}:{digest}", file=sys.stderr)
    return 0
