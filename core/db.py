"""Database plumbing shared by every package: the declarative base, engines and sessions.

SQLite (a file) is the default so that one command runs the product; PostgreSQL is the production
database. Domain functions receive a session, flush, and never commit: the entry point (web
request, webhook, bot update, worker job) owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, String, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class JSONType(TypeDecorator[Any]):
    """JSON on SQLite, JSONB on PostgreSQL (one type, so migrations render it simply)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


class StateEntry(Base):
    """Small key/value facts the system keeps about itself (last supervision run, index versions)."""

    __tablename__ = "system_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while the single writer commits; busy_timeout makes concurrent
    # writers wait for the lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _WriterQueue:
    """One SQLite transaction at a time per engine in this process, queued on a lock.

    Every transaction takes SQLite's write lock at BEGIN (IMMEDIATE), so concurrent requests must
    wait for each other anyway; waiting on SQLite's busy handler means sleeping in steps of up to
    100 ms and re-trying, which made a request's p99 at 8 concurrent citizens ten times its
    median. Waiting here wakes the next transaction the moment the last one ends. Other processes
    (a separate worker) still meet SQLite's busy handler, which stays the safety net: a lock not
    obtained within the timeout falls through to it.
    """

    KEY = "hotline_sqlite_writer"

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    def begin(self, conn: Any) -> None:
        info = conn.info
        if not info.get(self.KEY):  # a connection beginning again after its own commit
            if self._lock.acquire(timeout=self._timeout):
                info[self.KEY] = True
            else:
                log.warning(
                    "SQLite writer queue: waited %.0f s; trying SQLite's lock", self._timeout
                )
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._release(info)
            raise

    def end(self, conn: Any) -> None:
        self._release(conn.info)

    def end_reset(self, dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        self._release(connection_record.info)

    def end_checkin(self, dbapi_connection: Any, connection_record: Any) -> None:
        self._release(connection_record.info)

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop(self.KEY, False):
            self._lock.release()


def make_engine(url: str, *, echo: bool = False, sqlite_immediate: bool = True) -> Engine:
    """An engine for ``url``. On SQLite every transaction starts with BEGIN IMMEDIATE (unless
    ``sqlite_immediate`` is false, for read-mostly tools such as test fixtures): it holds the
    write lock from the start, so entry points must keep transactions short."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

        if sqlite_immediate:
            writers = _WriterQueue(timeout=30)
            event.listen(engine, "begin", writers.begin)
            # released as the transaction ends, and in any case when its connection goes back
            event.listen(engine, "commit", writers.end)
            event.listen(engine, "rollback", writers.end)
            event.listen(engine.pool, "reset", writers.end_reset)
            event.listen(engine.pool, "checkin", writers.end_checkin)
        else:
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """An engine and its session factory; ``session.info`` carries the hotline's settings."""

    def __init__(
        self,
        url: str,
        *,
        timezone: str = "Asia/Shanghai",
        echo: bool = False,
        sqlite_immediate: bool = True,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """``settings`` go into every session's ``info`` (a domain's configured values, read once
        at start-up by the composition root)."""
        self.url = url
        self.engine = make_engine(url, echo=echo, sqlite_immediate=sqlite_immediate)
        self.timezone = timezone
        self.sessionmaker = sessionmaker(
            bind=self.engine,
            expire_on_commit=False,
            info={"timezone": timezone, **(settings or {})},
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessionmaker()

    def dispose(self) -> None:
        self.engine.dispose()


def session_timezone(session: Session) -> str:
    return str(session.info.get("timezone", "Asia/Shanghai"))


def insert_for(session: Session) -> Any:
    """The session's dialect's ``insert`` (PostgreSQL's or SQLite's), which has
    ``on_conflict_do_nothing``: one statement where a savepoint would take three."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
