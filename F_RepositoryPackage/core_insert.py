"""New rows written without the ORM's flush: a new account, and the rows of every sign-in
(README "Performance"). The entity only carries the values; it is not added to the session,
so a later change to it is not saved.

`insert_new` runs a Core INSERT on the unit of work's connection. `CompiledInsert` goes one
step further for the rows a sign-in writes (session, refresh token, access-token record, audit
event): the statement is compiled once per dialect and set of columns, with the column types'
conversions, and runs on the DBAPI cursor of that same connection, in the unit of work's
transaction. Under a sign-in flood each Argon2 pass leaves the caches cold, and a Core
execution, which touches much of SQLAlchemy's machinery, then costs several times what it does
in a warm loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Dialect, Insert, Table, inspect
from sqlalchemy.exc import DBAPIError
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


def assigned_values(entity: Base) -> dict[str, Any]:
    """The column values set on the entity; a column never set is left to the database."""
    assigned = inspect(entity).dict
    return {name: assigned[name] for name in _written_columns(type(entity)) if name in assigned}


def insert_new(session: Session, statement: Insert, entity: Base) -> CursorResult[Any]:
    """Run `statement` (an INSERT into the entity's table) with the column values set on the
    entity, in the session's transaction. A column never set gets its default (or NULL), as
    the ORM's flush would give it."""
    return session.connection().execute(statement, assigned_values(entity))


Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _CompiledForDialect:
    sql: str
    positions: tuple[str, ...] | None
    """The parameters' order for a positional paramstyle (SQLite's `?`); None: by name."""
    bind_processors: dict[str, Processor]
    result_processors: tuple[Processor | None, ...]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        bound = dict(values)
        for name, processor in self.bind_processors.items():
            bound[name] = processor(bound[name])
        if self.positions is None:
            return bound
        return tuple(bound[name] for name in self.positions)


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
        self._compiled: dict[tuple[str, tuple[str, ...]], _CompiledForDialect] = {}

    def _compile(self, dialect: Dialect, columns: tuple[str, ...]) -> _CompiledForDialect:
        key = (dialect.name, columns)
        found = self._compiled.get(key)
        if found is not None:
            return found
        statement = self.table.insert()
        returned = []
        if self.returning is not None:
            returned = [self.table.c[self.returning]]
            statement = statement.returning(*returned)
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        made = _CompiledForDialect(
            sql=compiled.string,
            positions=tuple(compiled.positiontup or ()) if compiled.positional else None,
            bind_processors={
                name: processor
                for name, bind in compiled.binds.items()
                if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
                is not None
            },
            result_processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in returned
            ),
        )
        self._compiled[key] = made
        return made

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
        if row is None:
            return None
        processor = compiled.result_processors[0]
        return row[0] if processor is None else processor(row[0])


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
