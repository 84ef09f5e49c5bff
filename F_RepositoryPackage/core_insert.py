"""New rows written with a Core INSERT on the unit of work's connection instead of the ORM's
flush: a new account and the rows of every sign-in (README "Performance"). The entity only
carries the values; it is not added to the session, so a later change to it is not saved."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Insert, inspect
from sqlalchemy.orm import Session

from B_EntityPackage.login_entity_master import Base


@cache
def _written_columns(entity_class: type[Base]) -> tuple[tuple[str, bool], ...]:
    """Every mapped column but a key the database generates, and whether it has a default."""
    return tuple(
        (attribute.key, column.default is not None or column.server_default is not None)
        for attribute in inspect(entity_class).column_attrs
        if not ((column := attribute.columns[0]).primary_key and column.autoincrement is True)
    )


def insert_new(session: Session, statement: Insert, entity: Base) -> CursorResult[Any]:
    """Run `statement` (an INSERT into the entity's table) with the entity's column values, in
    the session's transaction. A column left unset (None) that has a default gets the default,
    as the ORM's flush would give it."""
    values = {
        name: value
        for name, has_default in _written_columns(type(entity))
        if (value := getattr(entity, name)) is not None or not has_default
    }
    return session.connection().execute(statement, values)
