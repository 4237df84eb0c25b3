"""Shared fixtures.

The database is the one named by ``HOTLINE_TEST_DATABASE_URL`` (the test command sets it to a
throw-away PostgreSQL database for the second run) or else an SQLite file in a temporary folder.
The schema is built once per run by the real migrations; every test starts from empty tables.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import clock
from core.db import Base, Database
from directory import staff as staff_module
from directory.citizens import get_or_create_citizen
from directory.models import Department, Role, StaffUser
from hotline import migrate

# The browser fixtures, for every test folder (one Playwright and one Chromium per session).
from tests.browser.fixtures import (  # noqa: F401
    live_server,
    new_page,
    playwright_browser,
    pytest_collection_modifyitems,
    screenshot,
)
from tickets import workflow
from tickets.access import CitizenActor
from tickets.models import Ticket
from tickets.seed import seed_reference_data

TIMEZONE = "Asia/Shanghai"

# Every test lives on a pinned date, never on the real one: a Tuesday with no holiday near it,
# 10:00 in the hotline's zone. The clock still runs from there (workers and timeouts need
# seconds to pass); a test that needs another date freezes it with ``clock.frozen``.
# ``HOTLINE_TEST_TODAY=YYYY-MM-DD`` moves it, to run the whole suite on another day.
PINNED_TODAY = dt.datetime.combine(
    dt.date.fromisoformat(os.environ.get("HOTLINE_TEST_TODAY") or "2026-03-10"),
    dt.time(10, 0, tzinfo=ZoneInfo(TIMEZONE)),
)

# The date-sensitive modules (``pytestmark = pytest.mark.date_matrix``) run once more under each
# of these "today"s, so a rule that only holds on working days cannot come back unnoticed.
DATE_MATRIX: dict[str, dt.date] = {
    "monday": dt.date(2026, 3, 9),
    "friday": dt.date(2026, 3, 13),
    "saturday": dt.date(2026, 3, 14),
    "sunday": dt.date(2026, 3, 15),
    "national-day": dt.date(2026, 10, 1),  # a public holiday in the middle of a week off
    "before-spring-festival": dt.date(2026, 2, 14),  # a 调休 Saturday; 2-15..2-23 are off
    "tiaoxiu-saturday": dt.date(2026, 2, 28),  # worked in exchange for Spring Festival
    "new-years-eve": dt.date(2026, 12, 31),  # counting runs into 2027, which the package lacks
    "in-2027": dt.date(2027, 3, 10),  # the package does not know 2027: Mon-Fri until overrides
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("date_matrix") is None:
        return
    days = [None, *DATE_MATRIX.values()]
    ids = ["pinned", *DATE_MATRIX]
    metafunc.parametrize("pinned_today", days, ids=ids, indirect=True)


@pytest.fixture(autouse=True)
def pinned_today(request: pytest.FixtureRequest) -> Iterator[dt.date]:
    """The date the test runs on: the pinned Tuesday, or a day of the matrix."""
    day: dt.date | None = getattr(request, "param", None)
    moment = PINNED_TODAY if day is None else dt.datetime.combine(day, PINNED_TODAY.timetz())
    with clock.travelled(moment):
        yield moment.date()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    # Tables of models newer than the last migration (tests/hotline/test_migrations.py fails
    # until a migration covers them).
    migrate.all_models()
    database = Database(url)
    Base.metadata.create_all(database.engine)
    database.dispose()
    return url


@pytest.fixture(scope="session")
def dialect(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    previous = staff_module.PASSWORD_METHOD
    staff_module.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    yield
    staff_module.PASSWORD_METHOD = previous


def _wipe(database: Database) -> None:
    migrate.all_models()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def test_config(database_url: str, tmp_path: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "TIMEZONE": TIMEZONE,
        "RATELIMIT_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "WTF_CSRF_ENABLED": False,
        "RUN_WORKER": False,
        # A first WeChat message builds the FAQ index (seconds on a loaded CI machine); the late
        # reply that then follows is tested on its own (tests/wechat/test_late_reply.py).
        "WECHAT_PASSIVE_REPLY_SECONDS": 60.0,
    }


@pytest.fixture
def app(test_config: dict[str, Any]) -> Iterator[Flask]:
    from hotline.factory import create_app

    application = create_app(test_config)
    database: Database = application.extensions["hotline_db"]
    _wipe(database)
    yield application
    _wipe(database)
    database.dispose()


@pytest.fixture
def make_app(test_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database with some settings changed, its pool closed afterwards.

    On PostgreSQL a pool left to the garbage collector drops open connections, a ResourceWarning
    that pytest reports on whichever later test happens to be running.
    """
    from hotline.factory import create_app

    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        application = create_app({**test_config, **overrides})
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["hotline_db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask, database_url: str) -> Iterator[Session]:
    """A session on the app's database; the test commits when a request must see its data.

    On SQLite it begins transactions as deferred (the app's sessions take the write lock at
    BEGIN), so a test that only read something never blocks the app's requests or workers.
    """
    database = Database(database_url, timezone=TIMEZONE, sqlite_immediate=False)
    session = database.session()
    yield session
    session.rollback()
    session.close()
    database.dispose()


@pytest.fixture
def departments(db: Session) -> dict[str, Department]:
    seed_reference_data(db)
    db.commit()
    return {d.code: d for d in db.query(Department)}


@pytest.fixture
def make_staff(db: Session, departments: dict[str, Department]) -> Callable[..., StaffUser]:
    from directory.staff import create_staff_user
    from tickets.access import SYSTEM

    counter = iter(range(1, 10_000))

    def make(role: str = Role.OPERATOR, department: str | None = None, **kw: Any) -> StaffUser:
        n = next(counter)
        user = create_staff_user(
            db,
            username=kw.get("username", f"{role}{n}"),
            display_name=kw.get("display_name", f"{role} {n}"),
            password=kw.get("password", "password123"),
            role=role,
            department=departments[department] if department else None,
            actor=SYSTEM,
        )
        db.commit()
        return user

    return make


@pytest.fixture
def staff(make_staff: Callable[..., StaffUser]) -> dict[str, StaffUser]:
    """One of each role; department staff of 城管 (chengguan) and 住建 (zhujian)."""
    return {
        "operator": make_staff(Role.OPERATOR, username="op"),
        "reviewer": make_staff(Role.REVIEWER, username="rv"),
        "supervisor": make_staff(Role.SUPERVISOR, username="sv"),
        "admin": make_staff(Role.ADMIN, username="ad"),
        "dept": make_staff(Role.DEPARTMENT, "chengguan", username="cg"),
        "other_dept": make_staff(Role.DEPARTMENT, "zhujian", username="zj"),
    }


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    """An aware moment at a local (Asia/Shanghai) hour."""
    return dt.datetime(year, month, day, hour, tzinfo=ZoneInfo(TIMEZONE))


def workdays_ago(n: int, hour: int = 10) -> dt.datetime:
    """An aware moment ``n`` working days (official calendar) before today, at a local hour: for
    a ticket that must be late by a given margin whatever today is (calendar days are not enough
    across Spring Festival or National Day)."""
    from tickets.sla import WorkCalendar

    calendar = WorkCalendar()
    day = clock.today(TIMEZONE)
    for _ in range(n):
        day = calendar.previous_workday(day)
    return at(day.year, day.month, day.day, hour)


@pytest.fixture
def make_ticket(
    db: Session, departments: dict[str, Department], staff: dict[str, StaffUser]
) -> Callable[..., Ticket]:
    """A ticket walked through the real workflow up to ``stage``."""

    def make(
        stage: str = "submitted",
        *,
        kind: str = "complaint",
        department: str = "chengguan",
        channel: str = "web",
        anonymous: bool = False,
        description: str = "小区门口垃圾堆放多日无人清理，气味很大。",
        when: dt.datetime | None = None,
        phone: str | None = "13800138000",
        external_id: str | None = None,
    ) -> Ticket:
        moment = when or clock.now()
        with clock.frozen(moment):
            citizen = get_or_create_citizen(db, channel, external_id or f"{channel}-user-1")
            ticket = workflow.submit_ticket(
                db,
                workflow.TicketDraft(
                    kind=kind,
                    description=description,
                    title="垃圾无人清理",
                    address="香洲区吉大路1号",
                    contact_name="张三",
                    phone=phone,
                    anonymous=anonymous,
                ),
                actor=CitizenActor(citizen.id, channel),
                channel=channel,
                citizen=citizen,
            )
            steps = ["submitted", "dept_review", "handling", "re_review", "callback", "closed"]
            assert stage in steps, f"make_ticket: no stage {stage!r} (one of {steps})"
            target = steps.index(stage)
            if target >= 1:
                workflow.dispatch_ticket(
                    db, ticket, departments[department], actor=staff["operator"]
                )
            clerk = staff["dept"] if department == "chengguan" else staff["other_dept"]
            if target >= 2:
                workflow.accept_ticket(db, ticket, actor=clerk)
            if target >= 3:
                workflow.reply_ticket(db, ticket, actor=clerk, reply="已处理完毕。")
            if target >= 4:
                workflow.pass_review(db, ticket, actor=staff["reviewer"])
            if target >= 5:
                workflow.record_callback(
                    db, ticket, actor=staff["operator"], satisfaction="satisfied"
                )
        db.commit()
        return ticket

    return make
