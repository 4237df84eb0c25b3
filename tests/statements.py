"""The SQL statements a piece of code sends: what tests count to pin a path's database cost."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event


@contextlib.contextmanager
def recorded(engine: Any, *kinds: str) -> Iterator[list[str]]:
    """The statements sent on ``engine`` inside the block, those starting with one of ``kinds``
    ("SELECT", "INSERT", …; every statement without any)."""
    statements: list[str] = []
    wanted = tuple(kind.upper() for kind in kinds)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not wanted or statement.lstrip().upper().startswith(wanted):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
