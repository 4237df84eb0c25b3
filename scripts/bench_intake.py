"""Benchmark: the call intake screen (来电登记) for a caller with 200 earlier tickets, in a
PostgreSQL database of 1,000,000 tickets.

    python scripts/bench_intake.py [--tickets N] [--caller-tickets N] [--requests N] [--keep NAME]

Creates a database on the local server (``HOTLINE_TEST_POSTGRES_URL``'s server), migrates it,
seeds the reference data, fills the tickets with one set-based ``INSERT … SELECT
generate_series`` (the benchmark caller's 200 among them, every stage; the other 999,800 spread
over 300,000 other numbers and two years), then signs in as an operator and times
``GET /staff/intake?phone=…`` through the Flask test client (the whole request: gate, history
queries, template), p50/p95/p99 after a warm-up. The history's statements are captured from one
request and shown with ``EXPLAIN`` so that a sequential scan on ``tickets`` cannot go unnoticed
(the script fails if one appears). The database is dropped afterwards unless ``--keep NAME``
names one to create once and reuse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from core.db import Database  # noqa: E402
from directory.models import Role  # noqa: E402
from directory.staff import create_staff_user  # noqa: E402
from hotline import migrate  # noqa: E402
from tickets.access import SYSTEM  # noqa: E402
from tickets.seed import seed_reference_data  # noqa: E402

POSTGRES = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CALLER = "13999999999"
PASSWORD = "bench-password-1"

STAGES = (
    "ARRAY['submitted','dept_review','handling','re_review','callback','closed','closed','closed']"
)
KINDS = "ARRAY['consultation','complaint','complaint','suggestion','praise','report']"


def fill(database: Database, total: int, caller_tickets: int) -> float:
    """``total`` tickets, ``caller_tickets`` of them the benchmark caller's, in one statement."""
    start = time.perf_counter()
    with database.session() as session:
        seed_reference_data(session)
        create_staff_user(
            session,
            username="bench-operator",
            display_name="bench",
            password=PASSWORD,
            role=Role.OPERATOR,
            actor=SYSTEM,
        )
        session.commit()
    with database.engine.begin() as conn:
        departments = conn.execute(text("SELECT count(*) FROM departments")).scalar_one()
        # The caller is also a citizen record: the last 20 of their tickets left another contact
        # number and are found through the citizen (the history's second index path).
        citizen = conn.execute(
            text(
                "INSERT INTO citizens (name, phone, created_at) "
                "VALUES ('市民', :phone, now()) RETURNING id"
            ),
            {"phone": CALLER},
        ).scalar_one()
        conn.execute(
            text(
                f"""
                INSERT INTO tickets (number, query_code, kind, title, description, address,
                    channel, contact_name, contact_phone, anonymous, urgent, stage, department_id,
                    is_returned, review_due, handling_due, due_date, supervision, needs_supervisor,
                    close_reason, closed_at, urge_count, first_contact, citizen_id, created_at, updated_at)
                SELECT 'B' || lpad(g::text, 11, '0'), 'QQQQQQ', k, '标题 ' || g,
                    '小区门口垃圾堆放多日无人清理 ' || g, '香洲区吉大路' || (g % 500) || '号',
                    CASE WHEN g % 3 = 0 THEN 'phone' ELSE 'web' END, '市民',
                    CASE WHEN g <= :caller - 20 THEN :phone
                         WHEN g <= :caller THEN '13000000001'
                         ELSE '13' || lpad(((g::bigint * 7919) % 300000)::text, 9, '0') END,
                    false, g % 97 = 0, s,
                    CASE WHEN s = 'submitted' THEN NULL ELSE 1 + g % :departments END,
                    false, d, d + 12, CASE WHEN s IN ('dept_review', 'handling') THEN d END,
                    CASE WHEN s IN ('dept_review', 'handling') THEN 'normal' END, false,
                    CASE WHEN s = 'closed' THEN 'surveyed' END,
                    CASE WHEN s = 'closed' THEN c + interval '10 days' END,
                    CASE WHEN g % 211 = 0 THEN 2 ELSE 0 END, false,
                    CASE WHEN g <= :caller THEN :citizen END, c, c
                FROM (
                    SELECT g,
                        ({STAGES})[1 + g % 8] AS s,
                        ({KINDS})[1 + g % 6] AS k,
                        timestamptz '2026-12-01 02:00+00' - (g % 730) * interval '1 day'
                            - (g % 86400) * interval '1 second' AS c,
                        date '2026-12-01' - (g % 730) + 3 AS d
                    FROM generate_series(1, :total) AS g
                ) AS numbers
                """
            ),
            {
                "total": total,
                "caller": caller_tickets,
                "phone": CALLER,
                "departments": departments,
                "citizen": citizen,
            },
        )
        conn.execute(text("ANALYZE tickets"))
    return time.perf_counter() - start


def _count(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM tickets")).scalar_one())


def explain(database: Database, statements: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN of the captured statements that read ``tickets``."""
    plans = []
    with database.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for sql, params in statements:
            if "FROM tickets" not in sql:
                continue
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            plans.append(plan)
    return plans


def measure(url: str, requests: int) -> tuple[list[float], list[str], str]:
    from hotline.factory import create_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "RUN_WORKER": False,
        }
    )
    database: Database = app.extensions["hotline_db"]
    client = app.test_client()
    signed_in = client.post(
        "/staff/login", data={"username": "bench-operator", "password": PASSWORD}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    path = f"/staff/intake?phone={CALLER}"
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    event.listen(database.engine, "before_cursor_execute", capture)
    page = client.get(path)
    event.remove(database.engine, "before_cursor_execute", capture)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for _ in range(20):  # warm-up: templates compiled, connections pooled
        client.get(path)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    plans = explain(database, captured)
    database.dispose()
    return times, plans, body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run(url: str, args: argparse.Namespace, *, fresh: bool) -> None:
    database = Database(url)
    if fresh or _count(database) != args.tickets:
        migrate.upgrade(url)
        seconds = fill(database, args.tickets, args.caller_tickets)
        print(f"filled {_count(database):,} tickets in {seconds:.1f} s", flush=True)
    else:
        print(f"reusing {args.tickets:,} tickets", flush=True)
    database.dispose()
    times, plans, body = measure(url, args.requests)
    for plan in plans:
        print(plan, "\n", flush=True)
    if any("Seq Scan on tickets" in plan for plan in plans):
        raise SystemExit("a history query scans the whole tickets table")
    shown = body.count('class="secondary small pick-ticket"')
    print(
        f"| {args.tickets:,} | {args.caller_tickets} | {shown} | {args.requests} "
        f"| {statistics.median(times):.1f} | {percentile(times, 0.95):.1f} "
        f"| {percentile(times, 0.99):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--caller-tickets", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", help="create this database once and reuse it; not dropped")
    args = parser.parse_args()
    import psycopg

    admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    name = args.keep or f"hotline_bench_intake_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    print(
        "| tickets | caller's tickets | rows shown | requests | p50 ms | p95 ms | p99 ms |\n"
        "|---:|---:|---:|---:|---:|---:|---:|",
        flush=True,
    )
    try:
        run(POSTGRES.rsplit("/", 1)[0] + f"/{name}", args, fresh=not exists)
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
