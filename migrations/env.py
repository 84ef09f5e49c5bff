"""Alembic environment: runs on a connection handed in by the service, or on the settings' URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from A_DatabasePackage.database import prepare_sqlite_engine
from A_DatabasePackage.settings import get_settings
from B_EntityPackage import (
    audit_entities,  # noqa: F401  (registers the audit table)
    mfa_entities,  # noqa: F401  (registers the second-factor tables)
    recovery_entities,  # noqa: F401  (registers the one-time token and outbox tables)
    session_entities,  # noqa: F401  (registers the session tables)
    signing_key_entities,  # noqa: F401  (registers the signing keys)
)
from B_EntityPackage.login_entity_master import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_on_connection(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on_connection(connection)
        return
    url = get_settings().database_url
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    if url.get_backend_name() == "sqlite":
        prepare_sqlite_engine(engine)  # the same lower() the service's indexes are built with
    with engine.connect() as new_connection:
        run_on_connection(new_connection)
        new_connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
