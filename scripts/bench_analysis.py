"""Benchmark (not a timed test): the analysis dashboard and the quarterly scorecard over
1,000,000 tickets and their events on PostgreSQL.

    python scripts/bench_analysis.py [--tickets N] [--keep]

Fills a throw-away PostgreSQL database (created on the local server, dropped afterwards unless
``--keep``) with set-based INSERT … SELECT statements: N tickets over the 365 days before TODAY
(every channel, kind and department; 80% closed with a survey), five events each (submit,
dispatch, accept, reply, pass review) for the tickets that got that far, 1,500 calls a day and
300 chat hand-offs a day for 120 days. Then times ``analysis.figures.dashboard`` for the last
30 days (all departments, and one department) and ``analysis.assessment.scorecard`` for the
quarter, each the median of three runs after a warm-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from analysis import assessment, figures  # noqa: E402
from analysis.periods import Period  # noqa: E402
from core import clock  # noqa: E402
from core.db import Database  # noqa: E402
from hotline import migrate  # noqa: E402
from tickets.seed import seed_reference_data  # noqa: E402

TODAY = dt.date(2026, 11, 24)
NOW = "TIMESTAMPTZ '2026-11-24 02:00:00+00'"  # 10:00 in Shanghai
POSTGRES = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

TICKETS = f"""
INSERT INTO tickets (number, query_code, kind, title, description, channel, anonymous, urgent,
    stage, department_id, is_returned, dispatched_at, dispatch_date, total_days, review_due,
    handling_due, due_date, supervision, reply, replied_at, closed_at, close_reason, satisfaction,
    needs_supervisor, urge_count, first_contact, created_at, updated_at)
SELECT 'B' || n, 'QQQQQQ',
    (ARRAY['consultation','complaint','suggestion','praise','report'])[1 + n % 5],
    '标题', '内容',
    (ARRAY['web','wechat','telegram','phone','open311'])[1 + (n / 7) % 5],
    false, false,
    CASE WHEN age > 40 OR n % 10 < 8 THEN 'closed'
         ELSE (ARRAY['submitted','dept_review','handling','re_review','callback'])[1 + n % 5] END,
    1 + n % 30, false, created + interval '1 hour', (created + interval '1 hour')::date, 15,
    (created::date + 5), (created::date + 21),
    CASE WHEN age <= 40 AND n % 10 >= 8 AND n % 5 IN (1, 2) THEN created::date + 5 END,
    CASE WHEN age <= 40 AND n % 10 >= 8 AND n % 5 IN (1, 2) THEN 'normal' END,
    '已处理', created + interval '5 days',
    CASE WHEN age > 40 OR n % 10 < 8 THEN created + interval '8 days' END,
    CASE WHEN age > 40 OR n % 10 < 8 THEN
        CASE WHEN n % 13 = 0 THEN 'no_response' ELSE 'surveyed' END END,
    CASE WHEN age > 40 OR n % 10 < 8 THEN
        (ARRAY['satisfied','satisfied','basically_satisfied','unsatisfied'])[1 + n % 4] END,
    false, n % 3, n % 17 = 0, created, created
FROM (
    SELECT n, {NOW} - ((n::bigint * 7919) % (365 * 1440)) * interval '1 minute' AS created,
           ((n::bigint * 7919) % (365 * 1440)) / 1440 AS age
    FROM generate_series(1, :count) AS n
) AS numbers
"""

EVENTS = """
INSERT INTO ticket_events (ticket_id, at, action, actor_type, from_stage, to_stage,
    department_id, public, due_date, clock_start)
SELECT t.id, t.created_at + step.offset_, step.action, 'staff', NULL, NULL,
    CASE WHEN step.action = 'submit' THEN NULL ELSE t.department_id END, true,
    -- as tickets.workflow writes them: the deadline an accept or reply was due by, and when the
    -- clock started
    CASE step.action WHEN 'accept' THEN t.review_due WHEN 'reply' THEN t.handling_due END,
    CASE WHEN step.action IN ('accept', 'reply') THEN t.dispatch_date END
FROM tickets AS t
JOIN (VALUES (0, 'submit', interval '0'), (1, 'dispatch', interval '1 hour'),
             (2, 'accept', interval '1 day'), (3, 'reply', interval '5 days'),
             (4, 'pass_review', interval '6 days')) AS step (rank, action, offset_)
  ON step.rank <= CASE t.stage WHEN 'submitted' THEN 0 WHEN 'dept_review' THEN 1
                   WHEN 'handling' THEN 2 WHEN 're_review' THEN 3 ELSE 4 END
ORDER BY t.id, step.rank
"""

SURVEYS = """
INSERT INTO surveys (ticket_id, channel, sent_at, sent_date, answered_at, satisfaction, method)
SELECT id, channel, created_at + interval '6 days', (created_at + interval '6 days')::date,
    CASE WHEN close_reason = 'surveyed' THEN created_at + interval '7 days' END,
    CASE WHEN close_reason = 'surveyed' THEN satisfaction END,
    CASE WHEN close_reason = 'surveyed' THEN 'channel' ELSE 'no_response' END
FROM tickets WHERE stage IN ('callback', 'closed')
"""

CALLS = f"""
INSERT INTO calls (system_id, call_id, queue, offered_at, answered_at, ended_at, abandoned_at,
    wait_seconds, handling_seconds, offered_date, offered_hour, created_at, updated_at)
SELECT 1, 'C' || n, CASE WHEN n % 3 = 0 THEN '专席 人社' ELSE '综合' END,
    offered,
    CASE WHEN n % 8 <> 0 THEN offered + (n % 40) * interval '1 second' END,
    CASE WHEN n % 8 <> 0 THEN offered + (n % 40 + 180) * interval '1 second' END,
    CASE WHEN n % 8 = 0 THEN offered + interval '50 seconds' END,
    CASE WHEN n % 8 <> 0 THEN n % 40 ELSE 50 END,
    CASE WHEN n % 8 <> 0 THEN 180 END,
    (offered AT TIME ZONE 'Asia/Shanghai')::date,
    extract(hour FROM offered AT TIME ZONE 'Asia/Shanghai')::int,
    offered, offered
FROM (SELECT n, {NOW} - ((n::bigint * 104729) % (120 * 86400)) * interval '1 second' AS offered
      FROM generate_series(1, 1500 * 120) AS n) AS numbers
"""

CHATS = f"""
WITH c AS (
    INSERT INTO chat_conversations (channel, user_id, locale, mode, state, data, misses,
        created_at, updated_at)
    SELECT 'web', 'u' || n, 'zh_CN', 'bot', 'idle', '{{}}', 0,
        {NOW} - ((n::bigint * 7919) % (120 * 1440)) * interval '1 minute',
        {NOW} - ((n::bigint * 7919) % (120 * 1440)) * interval '1 minute'
    FROM generate_series(1, 300 * 120 * 3) AS n
    RETURNING id, created_at
), m AS (
    INSERT INTO chat_messages (conversation_id, sender, text, created_at)
    SELECT id, 'citizen', '你好', created_at FROM c RETURNING conversation_id, created_at
)
INSERT INTO chat_handoffs (conversation_id, queue, status, reason, handed_off_at, picked_up_at,
    wait_seconds, ended_at, outcome)
SELECT conversation_id, CASE WHEN conversation_id % 3 = 0 THEN 'specialist' ELSE 'general' END,
    'ended', 'asked', created_at, created_at + (conversation_id % 50) * interval '1 second',
    conversation_id % 50, created_at + interval '5 minutes', 'ended'
FROM m WHERE conversation_id % 3 = 0
"""


def fill(database: Database, count: int) -> dict[str, float]:
    took: dict[str, float] = {}
    with database.session() as session:
        seed_reference_data(session)
        session.commit()
    for label, statement, params in (
        ("tickets", TICKETS, {"count": count}),
        ("events", EVENTS, {}),
        ("surveys", SURVEYS, {}),
        (
            "cti system",
            "INSERT INTO cti_systems (id, name, created_at) VALUES (1, 'bench', now())",
            {},
        ),
        ("calls", CALLS, {}),
        ("chats", CHATS, {}),
    ):
        start = time.perf_counter()
        with database.engine.begin() as conn:
            conn.execute(text(statement), params)
        took[label] = time.perf_counter() - start
        print(f"  filled {label} in {took[label]:.1f} s", file=sys.stderr, flush=True)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return took


def timed(database: Database, work: Callable[[Any], Any], repeat: int = 3) -> float:
    with database.session() as session:
        work(session)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            work(session)
            times.append(time.perf_counter() - start)
            session.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    import psycopg

    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        database = Database(url)
        fill(database, args.tickets)
        with database.engine.connect() as conn:
            events = conn.scalar(text("SELECT count(*) FROM ticket_events"))
        month = Period(TODAY - dt.timedelta(days=29), TODAY)
        quarter = assessment.quarter_of(TODAY)
        with clock.frozen(dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)):
            board = timed(database, lambda s: figures.dashboard(s, month))
            one = timed(database, lambda s: figures.dashboard(s, month, department_id=3))
            card = timed(database, lambda s: assessment.scorecard(s, quarter))
        database.dispose()
        print(
            "| tickets | events | dashboard, 30 days | one department, 30 days | scorecard, quarter |"
        )
        print("|---|---|---|---|---|")
        print(f"| {args.tickets:,} | {events:,} | {board:.2f} s | {one:.2f} s | {card:.2f} s |")
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept {url}", file=sys.stderr)


if __name__ == "__main__":
    main()
