"""Media references submitted with a ticket (``tickets.media``): pending rows written with the
ticket, and the background job that fetches them through the fetcher registry
(``delivery.media``) into the ticket's attachments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from delivery.media import (
    PermanentFailure,
    register_media_fetcher,
    unregister_media_fetcher,
)
from directory.citizens import get_or_create_citizen
from tests.portal.citizen.helpers import png_bytes
from tickets import workflow
from tickets.access import CitizenActor
from tickets.attachments import MAX_BYTES
from tickets.media import MAX_ATTEMPTS, clean_references, fetch_pending_media
from tickets.models import Attachment, MediaStatus, Ticket, TicketMedia

SCHEME = "test-media"


class Fetcher:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []
        self.error: Exception | None = None

    def __call__(self, media_id: str) -> tuple[bytes, str | None]:
        self.asked.append(media_id)
        if self.error is not None:
            raise self.error
        if media_id not in self.files:
            raise PermanentFailure(f"unknown {media_id}")
        return self.files[media_id], "image/jpeg"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fake = Fetcher()
    register_media_fetcher(SCHEME, fake)
    yield fake
    unregister_media_fetcher(SCHEME)


def submit(db: Session, *media: str, key: str | None = None, **extra: Any) -> Ticket:
    citizen = get_or_create_citizen(db, "wechat", "o-media-citizen")
    ticket = workflow.submit_ticket(
        db,
        workflow.TicketDraft(
            kind="complaint",
            description="路灯坏了一个星期，晚上很黑",
            phone="13800138000",
            media=media,
            extra=extra,
        ),
        actor=CitizenActor(citizen.id, "wechat"),
        channel="wechat",
        citizen=citizen,
        idempotency_key=key,
    )
    db.commit()
    return ticket


def rows(db: Session) -> list[TicketMedia]:
    db.rollback()
    return list(db.scalars(select(TicketMedia).order_by(TicketMedia.id)))


def run(db: Session, upload_dir: Path) -> int:
    count = fetch_pending_media(db, upload_dir=upload_dir)
    db.rollback()
    return count


def test_references_are_cleaned_deduplicated_and_limited() -> None:
    refs = ["a:1", "a:1", "not a reference", 42, "B:upper", "a:" + "x" * 400, "a:2"]
    assert clean_references(refs) == ["a:1", "a:2"]
    assert clean_references(f"a:{i}" for i in range(9)) == [f"a:{i}" for i in range(5)]


def test_submission_records_pending_media_once(db: Session, departments: Any) -> None:
    ticket = submit(db, "test-media:1", key="k1", images=["test-media:1", "test-media:2"])
    again = submit(db, "test-media:1", "test-media:3", key="k1")  # a retry: the first ticket
    assert again.id == ticket.id
    found = rows(db)
    assert [(r.source, r.status, r.attempts) for r in found] == [
        ("test-media:1", "pending", 0),
        ("test-media:2", "pending", 0),
    ]
    assert all(r.ticket_id == ticket.id for r in found)
    assert db.scalars(select(Attachment)).all() == []


def test_without_a_fetcher_media_wait_pending(
    db: Session, departments: Any, tmp_path: Path
) -> None:
    submit(db, "nobody-fetches:1")
    assert run(db, tmp_path) == 0
    [row] = rows(db)
    assert (row.status, row.attempts) == ("pending", 0)


def test_fetched_refused_and_too_big(
    db: Session, departments: Any, tmp_path: Path, fetcher: Fetcher
) -> None:
    fetcher.files.update(
        {"ok": png_bytes(), "big": png_bytes(extra=MAX_BYTES), "text": b"hello, world!"}
    )
    ticket = submit(db, "test-media:ok", "test-media:big", "test-media:text", "test-media:gone")
    assert run(db, tmp_path) == 1
    outcome = {r.source: (r.status, r.last_error) for r in rows(db)}
    assert outcome == {
        "test-media:ok": ("fetched", None),
        "test-media:big": ("failed", "refused: test-media-big is larger than 10 MB."),
        "test-media:text": ("failed", "refused: test-media-text is not an image or a PDF file."),
        "test-media:gone": ("failed", "permanent: unknown gone"),
    }
    [attachment] = db.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id))
    assert attachment.content_type == "image/png"
    assert (tmp_path / attachment.storage_key).read_bytes() == png_bytes()


def test_a_fetcher_bug_is_retried_then_given_up(
    db: Session, departments: Any, tmp_path: Path, fetcher: Fetcher
) -> None:
    fetcher.error = RuntimeError("boom")
    submit(db, "test-media:x")
    moment = clock.now()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with clock.frozen(moment):
            assert run(db, tmp_path) == 0
        [row] = rows(db)
        assert row.attempts == attempt
        moment += dt.timedelta(hours=1, minutes=1)
    assert row.status == MediaStatus.FAILED
    assert row.last_error == "gave up after 5 attempts: temporary: RuntimeError('boom')"
    assert len(fetcher.asked) == MAX_ATTEMPTS


def test_a_fetch_that_never_finishes_is_given_up(
    app: Flask, db: Session, departments: Any, tmp_path: Path, fetcher: Fetcher
) -> None:
    """A job that dies mid-fetch leaves the row leased; after the last attempt's lease it fails."""
    submit(db, "test-media:stuck")
    with app.extensions["hotline_db"].session() as session, session.begin():
        # five claims whose outcome was never recorded
        session.execute(update(TicketMedia).values(attempts=MAX_ATTEMPTS))
    with app.extensions["hotline_db"].session() as session:
        assert fetch_pending_media(session, upload_dir=tmp_path) == 0
    [row] = rows(db)
    assert row.status == MediaStatus.FAILED and fetcher.asked == []
    assert row.last_error == "gave up after 5 attempts: no outcome recorded"
