"""A Core statement compiled once for one dialect, to run on a driver's cursor directly: the SQL,
the parameters' order, and the column types' conversions (UTCDateTime's check and time zone,
SQLite's text dates) that SQLAlchemy would apply on the way in and out.

The read side's statements on psycopg 3 (F_RepositoryPackage.read_side.PostgresRead) and a
sign-in's rows (F_RepositoryPackage.core_insert.CompiledInsert) run this way: under a sign-in
flood each Argon2 pass leaves the caches cold, and a Core execution, which touches much of
SQLAlchemy's machinery, then costs several times what it does in a warm loop (README
"Performance").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Row = Sequence[Any]
Parameters = tuple[Any, ...] | dict[str, Any]
Processor = Callable[[Any], Any]


class CompiledStatement:
    """Every value comes from the caller: the statement may hold no literal values.

    `column_keys` names the columns an INSERT or UPDATE sets; `returned` are the columns whose
    values come back (a SELECT's selected columns, an INSERT's RETURNING)."""

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        returned: Sequence[ColumnElement[Any]] = (),
        column_keys: Sequence[str] | None = None,
    ) -> None:
        keys = list(column_keys) if column_keys is not None else None
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
        literals = [name for name, bind in compiled.binds.items() if not bind.required]
        if literals:
            raise ValueError(f"bind the values of {literals} by name")
        self.sql = compiled.string
        self.positions: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        """The parameters' order for a positional paramstyle (SQLite's `?`); None: by name."""
        self.bind_processors: dict[str, Processor] = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.result_processors: tuple[Processor | None, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in returned
        )

    def parameters(self, values: Mapping[str, Any]) -> Parameters:
        bound = dict(values)
        for name, processor in self.bind_processors.items():
            bound[name] = processor(bound[name])
        if self.positions is None:
            return bound
        return tuple(bound[name] for name in self.positions)

    def row(self, values: Row) -> Row:
        return tuple(
            value if processor is None else processor(value)
            for value, processor in zip(values, self.result_processors, strict=True)
        )
