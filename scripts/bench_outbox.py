"""Outbox throughput on PostgreSQL: messages per second with 1 and 4 worker processes.

    python scripts/bench_outbox.py [--messages 10000] [--workers 1,4]

Creates a throw-away database on the server named by HOTLINE_TEST_POSTGRES_URL (default: the
local server), fills the outbox, lets N separate worker processes drain it through a sender that
accepts at once (so the figure is the outbox's own cost: claim, lease, record), checks that every
message was sent exactly once, and drops the database.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from core import clock  # noqa: E402
from core.db import Base, Database  # noqa: E402
from delivery.models import OutboxMessage  # noqa: E402
from delivery.render import RenderSettings  # noqa: E402
from delivery.senders import Outgoing  # noqa: E402
from delivery.worker import Worker, WorkerSettings  # noqa: E402
from hotline import migrate  # noqa: E402

ADMIN = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _work(url: str, start: mp.synchronize.Barrier, out: mp.Queue) -> None:  # type: ignore[name-defined]
    database = Database(url)
    accepted: list[int] = []

    def sender(message: Outgoing) -> None:
        accepted.append(message.id)

    worker = Worker(
        database.session,
        RenderSettings("bench", "http://127.0.0.1:5000"),
        WorkerSettings(batch_size=100),
        senders={"web": sender},
    )
    start.wait()
    idle = 0
    while idle < 3:
        idle = 0 if worker.run_once() else idle + 1
    database.dispose()
    out.put(accepted)


def run(url: str, messages: int, workers: int) -> float:
    database = Database(url)
    now = clock.now()
    with database.session() as session:
        session.query(OutboxMessage).delete()
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"bench:{workers}:{i}",
                    "audience": "citizen",
                    "channel": "web",
                    "recipient": f"N{i}",
                    "template": "ticket_dispatched",
                    "params": {"number": f"N{i}", "department": "城管局", "stage": "dept_review"},
                    "locale": "zh_CN",
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for i in range(messages)
            ],
        )
        session.commit()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_work, args=(url, start, out)) for _ in range(workers)]
    for proc in procs:
        proc.start()
    start.wait()
    began = time.perf_counter()
    sent: list[int] = []
    for _ in procs:
        sent.extend(out.get())
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join()
    with database.session() as session:
        left = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        )
    database.dispose()
    assert len(sent) == messages == len(set(sent)) and left == 0, "not exactly once"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    conninfo = ADMIN.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.all_models()
        database = Database(url)
        Base.metadata.create_all(database.engine)
        database.dispose()
        for workers in (int(w) for w in args.workers.split(",")):
            elapsed = run(url, args.messages, workers)
            print(
                f"{workers} worker(s): {args.messages} messages in {elapsed:.1f} s = "
                f"{args.messages / elapsed:,.0f} messages/s, each sent exactly once"
            )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
