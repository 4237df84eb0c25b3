"""Two transactions racing on one unique key, as two app servers do (a retry, two first messages
at once): PostgreSQL lets the race happen, SQLite serialises writers, so the tests that use this
run on PostgreSQL only."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from core.db import Database


@contextmanager
def racing(
    database_url: str, first: Callable[[Session], Any], second: Callable[[Session], Any]
) -> Iterator[tuple[int, int, Session]]:
    """``first`` runs in a transaction left open; ``second`` runs in another, on a thread, and
    must wait on the key until the first commits; then both commit. Yields the ids of what each
    returned, and the first session for the test's own reads."""
    database = Database(database_url)
    one, other = database.session(), database.session()
    try:
        mine = first(one)
        theirs: dict[str, Any] = {}

        def run() -> None:
            try:
                theirs["id"] = second(other).id
                other.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                theirs["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second insert should wait for the first transaction"
        one.commit()
        thread.join(10)
        assert "error" not in theirs, theirs.get("error")
        yield mine.id, theirs["id"], one
    finally:
        one.close()
        other.close()
        database.dispose()
