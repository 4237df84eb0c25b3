"""Scheduler job locks: never twice at once, once per interval, taken over after a crash."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from core import clock
from delivery.models import JobLock
from delivery.scheduler import Job, Scheduler, release_lock, run_job, try_lock
from hotline.jobs import default_jobs

pytestmark = pytest.mark.date_matrix

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def _job(calls: list[str], interval: float = 60) -> Job:
    def work(_session: Session) -> int:
        calls.append("ran")
        return 7

    return Job("test_job", interval, work, lease_seconds=300)


def test_a_job_runs_once_per_interval_across_schedulers(app: Flask) -> None:
    sessions = app.extensions["hotline_db"].session
    calls: list[str] = []
    job = _job(calls)
    with clock.frozen(T0):
        assert run_job(sessions, job, owner="machine-a") == 7
        assert run_job(sessions, job, owner="machine-b") is None
    with clock.frozen(T0 + dt.timedelta(seconds=61)):
        assert run_job(sessions, job, owner="machine-b") == 7
    assert calls == ["ran", "ran"]


def test_a_held_lock_keeps_other_schedulers_out_until_it_expires(app: Flask, db: Session) -> None:
    sessions = app.extensions["hotline_db"].session
    calls: list[str] = []
    job = _job(calls, interval=0)
    with clock.frozen(T0):
        lease = try_lock(sessions, job, "machine-a")  # machine-a dies holding it
        assert lease == T0 + dt.timedelta(seconds=300)
        assert run_job(sessions, job, owner="machine-b", force=True) is None
    with clock.frozen(T0 + dt.timedelta(seconds=301)):
        assert run_job(sessions, job, owner="machine-b") == 7
        # machine-a's late release does not free machine-b's later lease (already released).
        release_lock(sessions, job, "machine-a", lease, "late")
    row = db.get(JobLock, "test_job")
    assert row is not None and row.owner == "machine-b" and row.locked_until is None
    assert row.last_result == "ok: 7"


def test_concurrent_schedulers_run_a_job_once(app: Flask) -> None:
    sessions = app.extensions["hotline_db"].session
    calls: list[str] = []
    job = _job(calls, interval=3600)
    barrier = threading.Barrier(4)
    results: list[int | None] = []

    def one(n: int) -> None:
        barrier.wait()
        results.append(run_job(sessions, job, owner=f"m{n}"))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for r in results if r is not None) == [7]
    assert calls == ["ran"]


def test_a_failing_job_releases_its_lock_and_rolls_back(app: Flask, db: Session) -> None:
    sessions = app.extensions["hotline_db"].session

    def broken(session: Session) -> int:
        session.add(JobLock(name="written-by-the-broken-job"))
        session.flush()
        raise RuntimeError("boom")

    job = Job("broken", 0, broken)
    with pytest.raises(RuntimeError):
        run_job(sessions, job, owner="a")
    assert db.get(JobLock, "written-by-the-broken-job") is None
    row = db.get(JobLock, "broken")
    assert row is not None and row.locked_until is None and "boom" in (row.last_result or "")
    # The scheduler loop logs and carries on.
    assert Scheduler(sessions, [job]).run_due() == {}


def test_the_default_jobs_run(app: Flask) -> None:
    sessions = app.extensions["hotline_db"].session
    jobs = default_jobs(app.config)
    assert [j.name for j in jobs] == [
        "supervision",
        "survey_callbacks",
        "quality_sample",
        "outbox_retries",
        "ticket_media",
        "routing_model",
        "knowledge_usage",
        "knowledge_refit",
    ]
    assert Scheduler(sessions, jobs).run_due() == {
        "supervision": 0,
        "survey_callbacks": 0,
        "quality_sample": 0,
        "outbox_retries": 0,
        "ticket_media": 0,
        "routing_model": 0,
        "knowledge_usage": 0,
        "knowledge_refit": 0,
    }
    assert Scheduler(sessions, jobs).run_due() == {}  # not due again yet


def test_the_default_jobs_on_the_demo_data(app: Flask, make_app: Any) -> None:
    """Whatever today is, the demo's yellow and red tickets are announced once and its survey
    is reminded once, while it stays open for the citizen's answer. (The semantic model is off:
    embedding the starter FAQs would take most of the test's time on every frozen day; the
    knowledge_refit job's embedding has its own test in tests/knowledge/test_semantic.py.)"""
    from sqlalchemy import select

    from hotline.demo import seed_demo
    from tickets.models import Ticket

    # The ``app`` fixture stays for its wipe of the test database before and after; the jobs run
    # in an app on the same database with the model off.
    app = make_app(KNOWLEDGE_SEMANTIC="off")
    sessions = app.extensions["hotline_db"].session
    with sessions() as session:
        seed_demo(session, app.config)
        session.commit()
    jobs = default_jobs(app.config)
    first = Scheduler(sessions, jobs).run_due()
    assert (first["supervision"], first["survey_callbacks"]) == (3, 1)  # 1 yellow, 2 red
    with clock.frozen(clock.now() + dt.timedelta(hours=1)):
        again = Scheduler(sessions, jobs).run_due()
    assert (again["supervision"], again["survey_callbacks"]) == (0, 0)
    with sessions() as session:
        stages = set(session.scalars(select(Ticket.stage)))
    assert "callback" in stages
