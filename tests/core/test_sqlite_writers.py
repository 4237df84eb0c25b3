"""SQLite: one writer at a time per engine, queued in the process (core.db._WriterQueue), and the
queue always let go when a transaction ends, however it ends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.db import make_engine

# A leaked writer slot makes the next transaction wait out the queue's 30-second timeout; a
# transaction on a free engine starts in milliseconds. Five seconds tells the two apart.
FREE = 5.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    yield engine
    engine.dispose()


def _in_another_thread(work: Callable[[], None]) -> bool:
    """Whether ``work`` finished within :data:`FREE` seconds on another thread."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(FREE)


def _write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = n + 1"))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM counter")).scalar_one())


def test_concurrent_writers_all_land_without_a_lock_error(engine: Engine) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(25):
                with Session(engine) as session, session.begin():
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # read-then-write in one transaction: lost updates would show as a smaller total
    assert _count(engine) == 8 * 25


@pytest.mark.parametrize("ending", ["commit", "rollback", "exception", "close", "again"])
def test_the_writer_slot_is_free_after_a_transaction_ends(engine: Engine, ending: str) -> None:
    if ending == "commit":
        with Session(engine) as session:
            session.execute(text("UPDATE counter SET n = n + 1"))
            session.commit()
    elif ending == "rollback":
        with Session(engine) as session:
            session.execute(text("UPDATE counter SET n = n + 1"))
            session.rollback()
    elif ending == "exception":
        with pytest.raises(ZeroDivisionError), Session(engine) as session, session.begin():
            session.execute(text("UPDATE counter SET n = n + 1"))
            raise ZeroDivisionError
    elif ending == "close":
        session = Session(engine)
        session.execute(text("UPDATE counter SET n = n + 1"))
        session.close()  # never committed: the connection goes back to the pool
    else:
        with engine.connect() as conn:  # one connection, two transactions in a row
            conn.execute(text("UPDATE counter SET n = n + 1"))
            conn.commit()
            conn.execute(text("UPDATE counter SET n = n + 1"))
            conn.commit()
    assert _in_another_thread(lambda: _write(engine))


def test_a_failed_begin_frees_the_slot(engine: Engine) -> None:
    blocker = make_engine(str(engine.url))  # another engine: SQLite's own lock, not our queue
    held = blocker.connect()
    held.exec_driver_sql("UPDATE counter SET n = n + 1")  # BEGIN IMMEDIATE: the file's write lock
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=10")  # fail fast: before any BEGIN
            with pytest.raises(Exception, match="locked"):
                conn.execute(text("UPDATE counter SET n = n + 1"))
    finally:
        held.rollback()
        held.close()
        blocker.dispose()
    assert _in_another_thread(lambda: _write(engine))
