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
def _written_columns(entity_class: type[Base]) -> tuple[str, ...]:
    """Every mapped column but a key the database generates."""
    return tuple(
        attribute.key
        for attribute in inspect(entity_class).column_attrs
        if not (attribute.columns[0].primary_key and attribute.columns[0].autoincrement is True)
    )


def insert_new(session: Session, statement: Insert, entity: Base) -> CursorResult[Any]:
    """Run `statement` (an INSERT into the entity's table) with the column values set on the
    entity, in the session's transaction. A column never set gets its default (or NULL), as
    the ORM's flush would give it."""
    assigned = inspect(entity).dict
    values = {name: assigned[name] for name in _written_columns(type(entity)) if name in assigned}
    return session.connection().execute(statement, values)
