"""Benchmark: supervision (red/yellow card) refresh over 1,000,000 open tickets.

    python scripts/bench_supervision.py [--tickets N] [--sqlite-only | --postgres-only]

Fills a throw-away database (an SQLite file in a temp folder; a new PostgreSQL database on the
local server, dropped afterwards) with N open tickets whose due dates spread over ±60 days, then
times, with the real ``refresh_supervision``:
  1. the first full refresh (statuses start as "normal"; every overdue ticket changes),
  2. a full refresh the next working day (only rows whose status changes are written),
  3. the daily run the next working day (only near due dates are looked at).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from core.db import Database  # noqa: E402
from hotline import migrate  # noqa: E402
from tickets.calendar import load_calendar  # noqa: E402
from tickets.supervision import refresh_supervision  # noqa: E402

TODAY = dt.date(2026, 11, 24)
POSTGRES = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def fill(database: Database, count: int) -> None:
    """Insert ``count`` open tickets with one set-based statement (generate_series / a CTE)."""
    base = TODAY - dt.timedelta(days=60)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO departments (id, code, name, name_en, is_district, is_specialist, active, created_at) VALUES (1, 'd', '部门', 'Dept', false, false, true, CURRENT_TIMESTAMP)"
            )
        )
        if database.dialect == "postgresql":
            series = "SELECT g AS n FROM generate_series(1, :count) AS g"
            due = "(CAST(:base AS date) + ((n::bigint * 7919) % 121)::int)"
            created = "now()"
        else:
            series = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) SELECT n FROM s"
            due = "date(:base, '+' || ((n * 7919) % 121) || ' days')"
            created = "CURRENT_TIMESTAMP"
        conn.execute(
            text(
                f"""
                INSERT INTO tickets (number, query_code, kind, title, description, channel, anonymous, urgent,
                    stage, department_id, is_returned, review_due, handling_due, due_date, supervision,
                    needs_supervisor, created_at, updated_at)
                SELECT 'B' || n, 'QQQQQQ', 'complaint', '标题', '内容', 'web', false, false,
                    CASE WHEN n % 2 = 0 THEN 'handling' ELSE 'dept_review' END, 1, false,
                    {due}, {due}, {due}, 'normal', false, {created}, {created}
                FROM ({series}) AS numbers
                """
            ),
            {"count": count, "base": base.isoformat()},
        )
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE" if database.dialect == "postgresql" else "ANALYZE"))


def timed(database: Database, today: dt.date, *, full: bool, repeat: int = 1) -> tuple[float, int]:
    times, changed = [], 0
    for _ in range(repeat):
        with database.session() as session:
            start = time.perf_counter()
            changed = refresh_supervision(session, today=today, full=full)
            session.commit()
            times.append(time.perf_counter() - start)
    return statistics.median(times), changed


def run(label: str, url: str, count: int) -> list[str]:
    migrate.upgrade(url)
    database = Database(url)
    start = time.perf_counter()
    fill(database, count)
    fill_seconds = time.perf_counter() - start
    with database.session() as session:
        calendar = load_calendar(session)
    next_day = calendar.add_workdays(TODAY, 1)
    first, first_changed = timed(database, TODAY, full=True)
    full_next, full_changed = timed(database, next_day, full=True)
    # undo the next day's changes so that the daily run has the same work to do
    with database.session() as session:
        refresh_supervision(session, today=TODAY, full=True)
        session.commit()
        refresh_supervision(session, today=TODAY)  # remember TODAY as the last run
        session.commit()
    daily, daily_changed = timed(database, next_day, full=False)
    database.dispose()
    return [
        f"| {label} | {count:,} | {fill_seconds:.1f} s | {first:.2f} s ({first_changed:,} rows) "
        f"| {full_next:.2f} s ({full_changed:,} rows) | {daily:.3f} s ({daily_changed:,} rows) |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    print(
        "| database | open tickets | fill | initial sweep (all start normal) | full refresh next day | daily run next day |"
    )
    print("|---|---|---|---|---|---|", flush=True)
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            print(*run("SQLite", f"sqlite:///{folder}/bench.db", args.tickets), flush=True)
    if not args.sqlite_only:
        import psycopg

        name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
        admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            print(
                *run("PostgreSQL", POSTGRES.rsplit("/", 1)[0] + f"/{name}", args.tickets),
                flush=True,
            )
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
