"""New rows written without the ORM's flush: a new account, and the rows of every sign-in
(README "Performance"). The entity only carries the values; it is not added to the session,
so a later change to it is not saved.

`insert_new` runs a Core INSERT on the unit of work's connection. `CompiledInsert` goes one
step further for the rows a sign-in writes (session, refresh token, access-token record, audit
event): the statement is compiled once per dialect and set of columns
(F_RepositoryPackage.compiled_statement, which says why) and runs on the DBAPI cursor of that
same connection, in the unit of work's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Dialect, Insert, Table, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from B_EntityPackage.login_entity_master import Base
from F_RepositoryPackage.compiled_statement import CompiledStatement


@cache
def _written_columns(entity_class: type[Base]) -> tuple[str, ...]:
    """Every mapped column but a key the database generates."""
    return tuple(
        attribute.key
        for attribute in inspect(entity_class).column_attrs
        if not (attribute.columns[0].primary_key and attribute.columns[0].autoincrement is True)
    )


def assigned_values(entity: Base) -> dict[str, Any]:
    """The column values set on the entity; a column never set is left to the database."""
    assigned = inspect(entity).dict
    return {name: assigned[name] for name in _written_columns(type(entity)) if name in assigned}


def insert_new(session: Session, statement: Insert, entity: Base) -> CursorResult[Any]:
    """Run `statement` (an INSERT into the entity's table) with the column values set on the
    entity, in the session's transaction. A column never set gets its default (or NULL), as
    the ORM's flush would give it."""
    return session.connection().execute(statement, assigned_values(entity))


class CompiledInsert:
    """An INSERT into the entity's table of the columns it is given, compiled once per dialect
    and set of columns, run on the DBAPI cursor of the unit of work's connection.

    The table's columns may have no Python-side default (it would have to be computed here); a
    column not given gets its server default or NULL. Errors come out as SQLAlchemy's
    (IntegrityError...), and a connection found dead is invalidated, as a Core execution does.
    """

    def __init__(self, entity_class: type[Base], returning: str | None = None) -> None:
        table = cast(Table, entity_class.__table__)
        defaulted = [column.name for column in table.columns if column.default is not None]
        if defaulted:
            raise ValueError(f"{table.name}: Python-side defaults on {defaulted}")
        self.table = table
        self.returning = returning
        self._compiled: dict[tuple[str, tuple[str, ...]], CompiledStatement] = {}

    def _compile(self, dialect: Dialect, columns: tuple[str, ...]) -> CompiledStatement:
        key = (dialect.name, columns)
        found = self._compiled.get(key)
        if found is None:
            returned = [self.table.c[self.returning]] if self.returning is not None else []
            statement = (
                self.table.insert().returning(*returned) if returned else self.table.insert()
            )
            found = CompiledStatement(statement, dialect, returned=returned, column_keys=columns)
            self._compiled[key] = found
        return found

    def run(self, session: Session, values: Mapping[str, Any]) -> Any:
        """Insert one row in the session's transaction; the RETURNING column's value, if any."""
        connection = session.connection()
        compiled = self._compile(connection.dialect, tuple(values))
        parameters = compiled.parameters(values)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            row = cursor.fetchone() if compiled.result_processors else None
        except Exception as error:
            translated = _translated(connection, cursor, compiled.sql, parameters, error)
            if translated is error:
                raise
            raise translated from error
        finally:
            cursor.close()
        return None if row is None else compiled.row(row)[0]


def _translated(
    connection: Connection, cursor: Any, sql: str, parameters: Any, error: Exception
) -> BaseException:
    """SQLAlchemy's error for a DBAPI error (its IntegrityError...), after invalidating a
    connection the error shows to be dead; any other exception as it is."""
    dialect = connection.dialect
    dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
    if not isinstance(error, dbapi_error):
        return error
    disconnected = dialect.is_disconnect(
        cast(Any, error), connection.connection.dbapi_connection, cursor
    )
    if disconnected:
        connection.invalidate(error)
    return DBAPIError.instance(
        sql,
        parameters,
        error,
        dbapi_error,
        connection_invalidated=disconnected,
        dialect=dialect,
    )
