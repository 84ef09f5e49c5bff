"""Helpers for the fuzz and property tests: emptying the app's database between examples."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from A_DatabasePackage.database import Database
from B_EntityPackage.login_entity_master import Base


def empty_tables(app: FastAPI) -> None:
    """Delete every row through the app's own engine (no new connection per example)."""
    database: Database = app.state.database
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        if database.is_sqlite:
            connection.execute(text("DELETE FROM sqlite_sequence"))
