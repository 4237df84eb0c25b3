"""Four workers with their own connections drain 10,000 messages on PostgreSQL: every message
is sent exactly once (the fake senders' records prove it)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core import clock
from core.db import Database
from delivery.models import OutboxMessage
from delivery.render import RenderSettings
from delivery.worker import Worker, WorkerSettings
from tests.delivery.conftest import FakeSender

pytestmark = pytest.mark.postgres

MESSAGES = 10_000
WORKERS = 4


def test_four_workers_send_ten_thousand_messages_exactly_once(
    app: Flask, db: Session, dialect: str, database_url: str
) -> None:
    if dialect != "postgresql":
        pytest.skip(
            "needs PostgreSQL: several workers claiming with FOR UPDATE SKIP LOCKED; "
            "set HOTLINE_TEST_DATABASE_URL to a throw-away PostgreSQL database"
        )
    now = clock.now()
    db.execute(
        insert(OutboxMessage),
        [
            {
                "idempotency_key": f"bulk:{i}",
                "audience": "citizen",
                "channel": "web" if i % 2 else "sms",
                "recipient": f"R{i}",
                "template": "ticket_dispatched",
                "params": {"number": f"N{i}", "department": "城管局", "stage": "dept_review"},
                "locale": "zh_CN",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for i in range(MESSAGES)
        ],
    )
    db.commit()
    sender = FakeSender()
    databases = [Database(database_url) for _ in range(WORKERS)]  # one pool (connection) each
    settings = WorkerSettings(batch_size=100, lease_seconds=300)
    render = RenderSettings("test-secret", "https://12345.example.test")
    workers = [
        Worker(d.session, render, settings, senders={"web": sender, "sms": sender})
        for d in databases
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def run(worker: Worker) -> None:
        try:
            start.wait()
            idle = 0
            while idle < 3:  # a claim may come back empty while others hold the last rows
                idle = 0 if worker.run_once() else idle + 1
        except BaseException as error:  # reported below
            errors.append(error)

    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - began
    for d in databases:
        d.dispose()
    assert not errors, errors

    sent = Counter(sender.ids())
    assert len(sent) == MESSAGES
    assert set(sent.values()) == {1}, "a message was sent twice"
    db.rollback()
    statuses = dict(
        db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    )
    assert statuses == {"sent": MESSAGES}
    assert db.scalar(select(func.max(OutboxMessage.attempts))) == 1
    print(f"\n{MESSAGES} messages, {WORKERS} workers: {elapsed:.1f} s, {MESSAGES / elapsed:.0f}/s")
