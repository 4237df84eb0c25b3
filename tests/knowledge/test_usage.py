"""Searching is a read: hits, suggestions and the gap log are kept in the process and written in
batches (knowledge.usage), by the flusher thread, the scheduler's job or at exit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.db import Database
from delivery.scheduler import run_job
from hotline.jobs import default_jobs
from knowledge import search, usage
from knowledge.models import Faq, KnowledgeGap
from knowledge.search import answer_question
from knowledge.usage import (
    PendingUsage,
    UsageFlusher,
    flush_pending_usage,
    pending_usage,
)
from tests.knowledge.conftest import flush


def _statements(database: Database) -> list[str]:
    seen: list[str] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    return seen


def test_a_search_writes_nothing_and_mostly_reads_nothing(
    app: Flask, client: FlaskClient, faqs: dict[str, Faq]
) -> None:
    database: Database = app.extensions["hotline_db"]
    client.get("/api/v1/faq/search", query_string={"q": "驾照过期了怎么换新的"})  # builds
    statements = _statements(database)
    for q in ("驾照过期了怎么换新的", "火星移民怎么申请", "护照"):
        assert client.get("/api/v1/faq/search", query_string={"q": q}).status_code == 200
    # The version stamp was read a moment ago: no statement at all, no transaction, no lock.
    assert statements == []
    with database.session() as session:
        assert len(pending_usage(session)) >= 2  # a hit and a gap at least
        assert session.scalar(select(Faq.hit_count).where(Faq.id == faqs["licence"].id)) == 0
        assert session.scalar(select(KnowledgeGap)) is None


def test_another_process_change_is_seen_once_the_check_expires(
    db: Session, faqs: dict[str, Faq], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = search.get_matcher(db)
    db.commit()
    # Another process's change: the stamp moves in the database, not through this process.
    db.execute(update(search.StateEntry).values(value="moved-elsewhere"))
    db.commit()
    assert search.get_matcher(db) is first  # read less than VERSION_CHECK_SECONDS ago
    monkeypatch.setattr(search, "VERSION_CHECK_SECONDS", 0.0)
    assert search.get_matcher(db) is not first


def test_a_change_in_this_process_is_seen_at_once(db: Session, faqs: dict[str, Faq]) -> None:
    assert not answer_question(db, "犬只登记在哪里办理").answered
    from knowledge import operations
    from tickets.access import SYSTEM

    operations.create_faq(
        db,
        question="犬只登记在哪里办理？",
        answer="到居住地派出所办理。",
        category="其他",
        keywords=["犬只登记"],
        actor=SYSTEM,
    )
    db.commit()
    result = answer_question(db, "犬只登记在哪里办理")
    assert (result.best or result.suggestions[0]).question == "犬只登记在哪里办理？"


def test_a_flush_adds_to_what_other_processes_wrote(
    db: Session, faqs: dict[str, Faq], database_url: str
) -> None:
    """Two engines stand for two processes, each with its own pending counts: increments, so
    neither overwrites the other's, and one question's sightings merge into one row."""
    other = Database(database_url, sqlite_immediate=False)
    try:
        with other.session() as session:
            for _ in range(3):
                answer_question(session, "驾照过期了怎么换新的", channel="wechat")
            answer_question(session, "火星移民怎么申请", channel="wechat")
            session.rollback()  # the request's own transaction does not matter
        for _ in range(2):
            answer_question(db, "驾照过期了怎么换新的")
        answer_question(db, "火星移民怎么申请", channel="telegram")
        assert flush(db) == 3
        with other.session() as session:
            assert flush_pending_usage(session) == 4
            session.commit()
    finally:
        other.dispose()
    db.expire_all()
    assert db.get(Faq, faqs["licence"].id).hit_count == 5
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None and gap.count == 2
    assert gap.channels == ["telegram", "wechat"]
    assert flush(db) == 0  # nothing pending twice


def test_a_rolled_back_or_failed_flush_keeps_its_counts(
    db: Session, faqs: dict[str, Faq], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_question(db, "驾照过期了怎么换新的")
    answer_question(db, "火星移民怎么申请")
    db.commit()
    assert flush_pending_usage(db) == 2
    db.rollback()  # e.g. the commit failed: the batch goes back
    assert len(pending_usage(db)) == 2

    def broken(session: Session, batch: Any) -> None:
        raise RuntimeError("database away")

    monkeypatch.setattr(usage, "apply_usage", broken)
    with pytest.raises(RuntimeError):
        flush_pending_usage(db)
    db.rollback()
    monkeypatch.undo()
    assert flush(db) == 2
    assert db.get(Faq, faqs["licence"].id).hit_count == 1
    assert db.scalar(select(KnowledgeGap.count)) == 1


def test_a_full_pending_gap_log_writes_the_new_question_at_once(
    db: Session, faqs: dict[str, Faq], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = PendingUsage(max_gaps=1)
    monkeypatch.setattr(search, "pending_usage", lambda session: small)
    answer_question(db, "火星移民怎么申请")  # pending
    answer_question(db, "火星移民怎么申请")  # the same question: merged, still pending
    answer_question(db, "明天会下雨吗")  # full: written in the search's own transaction
    db.commit()
    rows = {g.normalized: g.count for g in db.scalars(select(KnowledgeGap))}
    assert rows == {"明天会下雨": 1}
    assert len(small) == 2


def test_the_flusher_thread_writes_at_stop(app: Flask, db: Session, faqs: dict[str, Faq]) -> None:
    database: Database = app.extensions["hotline_db"]
    flusher = UsageFlusher(database.session, interval=3600).start()
    with database.session() as session:
        answer_question(session, "驾照过期了怎么换新的")
        answer_question(session, "火星移民怎么申请")
        session.commit()
    flusher.stop()  # what happens at exit (atexit) or when `flask serve` returns
    db.expire_all()
    assert db.get(Faq, faqs["licence"].id).hit_count == 1
    assert db.scalar(select(KnowledgeGap.normalized)) == "火星移民怎么申请"


def test_the_scheduler_job_flushes_its_process(
    app: Flask, db: Session, faqs: dict[str, Faq]
) -> None:
    database: Database = app.extensions["hotline_db"]
    job = {j.name: j for j in default_jobs(app.config)}["knowledge_usage"]
    with database.session() as session:
        answer_question(session, "驾照过期了怎么换新的")
        session.commit()
    assert run_job(database.session, job, force=True) == 1
    db.expire_all()
    assert db.get(Faq, faqs["licence"].id).hit_count == 1
    assert run_job(database.session, job, force=True) == 0


def test_the_last_hit_time_is_the_search_time_in_utc(db: Session, faqs: dict[str, Faq]) -> None:
    from core import clock
    from tests.conftest import at

    with clock.frozen(at(2026, 3, 10, 11)):
        answer_question(db, "驾照过期了怎么换新的")
    with clock.frozen(at(2026, 3, 10, 9)):
        answer_question(db, "驾照过期了怎么换新的")  # an earlier time flushed later never wins
    flush(db)
    db.expire_all()
    assert db.get(Faq, faqs["licence"].id).last_hit_at == at(2026, 3, 10, 11)


def test_an_armed_app_process_flushes_from_its_own_thread(
    app: Flask, db: Session, faqs: dict[str, Faq]
) -> None:
    """What hotline.cli arms in every app process that is not a test's."""
    import time

    database: Database = app.extensions["hotline_db"]
    usage.flush_in_background(database.engine, database.session, 0.05)
    try:
        with database.session() as session:
            answer_question(session, "驾照过期了怎么换新的")  # the first count starts the thread
            session.commit()
        deadline = time.monotonic() + 10
        hits = 0
        while time.monotonic() < deadline and not hits:
            db.rollback()  # a fresh snapshot
            hits = db.scalar(select(Faq.hit_count).where(Faq.id == faqs["licence"].id)) or 0
            time.sleep(0.05)
        assert hits == 1
    finally:
        usage.stop_background_flushers()
