"""Command-line administration: `python -m scripts.manage create-admin`, `keys list|rotate|
revoke` (scripts/key_commands.py) and `introspection-client NAME`.

Uses the same settings (.env / environment), migrations, validation and service as the API.
The password is read from a prompt, or from standard input with --password-stdin, never from
the command line (where `ps` and shell history would show it).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from A_DatabasePackage.database import Database
from A_DatabasePackage.migrations_runner import upgrade_to_head
from A_DatabasePackage.settings import Settings, get_settings
from C_SchemaPackage.request import RegisterRequest
from D_CustomExceptionPackage.errors import ServiceError
from F_RepositoryPackage.token_denylist import redis_client_from_url
from H_ServiceImplementationPackage.user_admin_service_implementation import UserAdminService
from I_ControllerPackage.app_components import build_security_components, unit_of_work_factory
from scripts.key_commands import add_key_commands, make_introspection_client, run_keys


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise SystemExit("error: the passwords differ")
    return password


def create_admin(arguments: argparse.Namespace, settings: Settings) -> int:
    try:
        request = RegisterRequest(
            username=arguments.username,
            email=arguments.email,
            password=read_password(arguments.password_stdin),
            full_name=arguments.full_name,
        )
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            print(f"error: {field}: {problem['msg']}", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    try:
        if settings.AUTO_MIGRATE:
            upgrade_to_head(database)
        security = build_security_components(settings)
        redis_client = redis_client_from_url(settings.REDIS_URL) if settings.REDIS_URL else None
        service = UserAdminService(
            unit_of_work_factory(database, redis_client, security.clock)(),
            security.hasher,
            security.policy,
            security.clock,
        )
        admin = service.create_admin(request)
    except ServiceError as error:
        print(f"error: {error.code}: {error.detail}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    print(admin.model_dump_json())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scripts.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an admin account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", default=None)
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of a prompt",
    )
    add_key_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command == "create-admin":
        return create_admin(arguments, settings or get_settings())
    if arguments.command == "keys":
        return run_keys(arguments, settings or get_settings())
    if arguments.command == "introspection-client":
        return make_introspection_client(arguments)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
