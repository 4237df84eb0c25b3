"""Ticket numbers: readable, sequential per day, unique under concurrent submission."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core import clock
from tests.conftest import at
from tickets import workflow
from tickets.access import CitizenActor
from tickets.models import Ticket
from tickets.numbers import QUERY_CODE_ALPHABET, new_query_code


def _submit(session) -> Ticket:
    draft = workflow.TicketDraft(kind="complaint", description="噪音扰民", phone="13800138000")
    return workflow.submit_ticket(session, draft, actor=CitizenActor(None, "web"), channel="web")


def test_numbers_follow_the_local_date(db, departments) -> None:
    with clock.frozen(at(2026, 11, 23, 23)):  # 23:00 in Shanghai is 15:00 UTC the same day
        first = _submit(db)
        second = _submit(db)
    with clock.frozen(at(2026, 11, 24, 0)):  # past local midnight: a new day, a new sequence
        third = _submit(db)
    assert (first.number, second.number, third.number) == (
        "261123000001",
        "261123000002",
        "261124000001",
    )


def test_query_codes_are_random_and_readable() -> None:
    codes = {new_query_code() for _ in range(2000)}
    assert len(codes) > 1990
    assert all(len(c) == 6 and set(c) <= set(QUERY_CODE_ALPHABET) for c in codes)
    assert not any(ch in QUERY_CODE_ALPHABET for ch in "0O1I")


def test_concurrent_submissions_get_unique_numbers(app, departments, dialect) -> None:
    """Several threads, each with its own connection and transaction, submit at once."""
    if dialect != "postgresql":
        pytest.skip("the concurrency test needs PostgreSQL (SQLite serialises writers by design)")
    database = app.extensions["hotline_db"]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with database.session() as session:
                    _submit(session)
                    session.commit()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with database.session() as session:
        numbers = session.scalars(select(Ticket.number)).all()
    assert len(numbers) == 200 == len(set(numbers))
    sequences = sorted(int(n[6:]) for n in numbers)
    assert sequences == list(range(1, 201))


def test_concurrent_submissions_on_sqlite_are_serialised(app, departments, dialect) -> None:
    if dialect != "sqlite":
        pytest.skip("the SQLite variant")
    database = app.extensions["hotline_db"]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with database.session() as session:
                    _submit(session)
                    session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with database.session() as session:
        numbers = session.scalars(select(Ticket.number)).all()
    assert len(numbers) == 40 == len(set(numbers))


def test_a_submission_does_not_hold_the_days_counter_until_it_commits(
    app, departments, dialect
) -> None:
    """On PostgreSQL the number is taken in a transaction of its own: a second submission goes
    through while the first is still open, and the first, rolled back, leaves a gap."""
    if dialect != "postgresql":
        pytest.skip("SQLite holds one write lock for the whole transaction by design")
    database = app.extensions["hotline_db"]
    first = database.session()
    done = threading.Event()
    second_number: list[str] = []

    def second() -> None:
        with database.session() as session:
            second_number.append(_submit(session).number)
            session.commit()
        done.set()

    try:
        with clock.frozen(at(2026, 11, 23, 10)):
            first_number = _submit(first).number
            thread = threading.Thread(target=second)
            thread.start()
            finished = done.wait(timeout=10)
    finally:
        first.rollback()
        first.close()
    thread.join()
    assert finished, "the second submission waited for the first to end"
    assert first_number == "261123000001" and second_number == ["261123000002"]
    with database.session() as session:
        assert session.scalars(select(Ticket.number)).all() == ["261123000002"]


def test_a_submission_writes_its_ticket_once(db, departments) -> None:
    """The ticket is inserted with its first event's moment: no UPDATE of the row just written
    (the clock runs here, as in production, so a second moment would differ)."""
    from tests.statements import recorded

    with recorded(db.get_bind(), "UPDATE") as updates:
        ticket = _submit(db)
    db.commit()
    assert updates == []
    assert ticket.updated_at == ticket.created_at == ticket.events[0].at


def test_a_submission_with_a_key_is_one_insert_without_a_savepoint(db, departments) -> None:
    """A new idempotency key costs one INSERT … ON CONFLICT DO NOTHING for the ticket, not a
    savepoint around it; the key taken, the first ticket comes back and nothing is inserted."""
    from tests.statements import recorded

    draft = workflow.TicketDraft(kind="complaint", description="路灯不亮", phone="13800138000")

    def submit() -> Ticket:
        return workflow.submit_ticket(
            db, draft, actor=CitizenActor(None, "web"), channel="web", idempotency_key="k-one"
        )

    with recorded(db.get_bind()) as statements:
        first = submit()
    words = [" ".join(s.split()[:3]).upper() for s in statements]
    assert not [w for w in words if "SAVEPOINT" in w], words
    assert words.count("INSERT INTO TICKETS") == 1, words
    db.commit()
    with recorded(db.get_bind(), "INSERT") as inserts:
        again = submit()
    assert again.id == first.id and inserts == []
