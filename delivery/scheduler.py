"""Periodic jobs, each under a lock row so that schedulers on several machines never run one job
twice at once, nor more than once per interval.

The lock is a row in ``job_locks`` taken with one conditional UPDATE (works on SQLite and
PostgreSQL; no Redis needed): a scheduler gets the job only if no lease is live and the last start
is at least one interval ago. The lease outlives a crash by at most ``lease_seconds``; the job then
runs again on whichever scheduler comes next. A job's own work is one transaction, committed
before the lock is released, so a crash in the middle leaves no half-done job.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import clock
from delivery.models import JobLock
from delivery.worker import SessionFactory, worker_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[Session], int]  # does its work in the session (flushes); returns a count
    lease_seconds: float = 600.0  # longer than a run may take


def try_lock(
    session_factory: SessionFactory, job: Job, owner: str, *, force: bool = False
) -> dt.datetime | None:
    """Take the job's lease if it is free and the job is due; return the lease's end or None."""
    with session_factory() as session, session.begin():
        now = clock.now()
        dialect = session.get_bind().dialect.name
        insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert_for(JobLock)
            .values(name=job.name)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        lease = now + dt.timedelta(seconds=job.lease_seconds)
        conditions = [
            JobLock.name == job.name,
            or_(JobLock.locked_until.is_(None), JobLock.locked_until < now),
        ]
        if not force:
            conditions.append(
                or_(
                    JobLock.last_started_at.is_(None),
                    JobLock.last_started_at <= now - dt.timedelta(seconds=job.interval_seconds),
                )
            )
        result = session.execute(
            update(JobLock)
            .where(*conditions)
            .values(locked_until=lease, owner=owner, last_started_at=now),
            execution_options={"synchronize_session": False},
        )
        return lease if result.rowcount == 1 else None  # type: ignore[attr-defined]


def release_lock(
    session_factory: SessionFactory, job: Job, owner: str, lease: dt.datetime, result: str
) -> None:
    with session_factory() as session, session.begin():
        session.execute(
            update(JobLock)
            .where(JobLock.name == job.name, JobLock.owner == owner, JobLock.locked_until == lease)
            .values(locked_until=None, last_finished_at=clock.now(), last_result=result[:500]),
            execution_options={"synchronize_session": False},
        )


def run_job(
    session_factory: SessionFactory, job: Job, *, owner: str | None = None, force: bool = False
) -> int | None:
    """Run the job if this scheduler gets its lock; return its count, or None if not run."""
    owner = owner or worker_name()
    lease = try_lock(session_factory, job, owner, force=force)
    if lease is None:
        return None
    outcome = "error"
    try:
        with session_factory() as session, session.begin():
            count = job.run(session)
        outcome = f"ok: {count}"
        return count
    except Exception as error:
        outcome = f"error: {error!r}"
        raise
    finally:
        release_lock(session_factory, job, owner, lease, outcome)


class Scheduler:
    def __init__(
        self, session_factory: SessionFactory, jobs: Sequence[Job], *, tick_seconds: float = 5.0
    ) -> None:
        self.session_factory = session_factory
        self.jobs = list(jobs)
        self.tick_seconds = tick_seconds
        self.owner = worker_name()

    def run_due(self) -> dict[str, int]:
        """One pass over the jobs: run each that is due and free; return what ran."""
        ran: dict[str, int] = {}
        for job in self.jobs:
            try:
                count = run_job(self.session_factory, job, owner=self.owner)
            except Exception:
                log.exception("scheduled job %s failed", job.name)
                continue
            if count is not None:
                ran[job.name] = count
        return ran

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler %s started with %s", self.owner, [j.name for j in self.jobs])
        while not stop.is_set():
            try:
                self.run_due()
            except Exception:  # e.g. the database is away; try again next tick
                log.exception("scheduler pass failed")
            stop.wait(self.tick_seconds)
        log.info("scheduler %s stopped", self.owner)
