"""What the read side's statements share (F_RepositoryPackage.access_token_reader,
F_RepositoryPackage.sign_in_reader): one prepared Core statement on a pooled connection that
holds no transaction (Database.read_connection), read again once if that connection was dead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError


def first_row(
    connect: Callable[[], Connection], statement: Select[Any], parameters: dict[str, Any]
) -> Sequence[Any] | None:
    """The statement's first row, or None.

    Runs once more on a fresh connection if the pooled one turned out dead (the server
    restarted while it sat in the pool; these connections are not pinged before use): the
    statement only reads, so repeating it is safe. The failure also has the pool replace every
    connection opened before it.
    """
    try:
        with connect() as connection:
            return connection.execute(statement, parameters).first()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    with connect() as connection:
        return connection.execute(statement, parameters).first()
