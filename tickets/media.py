"""Pictures a channel hands over by reference (``wechat-media:<MediaId>``) with a submission.

:func:`add_media` records each reference as a pending :class:`TicketMedia` row in the
submission's transaction (``submit_ticket`` calls it). :func:`fetch_pending_media` is the
scheduler's job: it claims due pending rows in small batches, asks the fetcher the channel
registered for the reference's scheme (``delivery.media``), checks and stores the bytes like an
upload (``tickets.attachments``: a sniffed image or PDF, at most 10 MB) and records the outcome:

- stored: an :class:`Attachment` of the ticket (the same content twice is one attachment) and
  the row ``fetched``;
- refused by the checks, or a permanent failure of the fetcher: ``failed`` with the reason;
- a temporary failure (or any other exception): ``pending`` again, due after a backoff of
  1, 2, 4, 8 minutes; after :data:`MAX_ATTEMPTS` attempts ``failed``.

The network is never touched inside a database transaction: the claim and each outcome are
their own short commits (on SQLite every transaction takes the write lock, and a web request
must never wait for a download). A claimed row is leased (``next_attempt_at`` moves
:data:`LEASE` ahead), so a job that dies mid-fetch leaves it to the next run. References whose
scheme has no fetcher are not claimed: they wait, pending.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from core import clock
from delivery import media as registry
from delivery.media import PermanentFailure
from delivery.worker import exponential_step
from tickets.attachments import (
    ALLOWED_TYPES,
    FIELD,
    MAX_FILES,
    StoredFile,
    Upload,
    UploadRejected,
    store_uploads,
)
from tickets.models import Attachment, MediaStatus, Ticket, TicketMedia

log = logging.getLogger(__name__)

BATCH_SIZE = 10
MAX_ATTEMPTS = 5
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=5)  # longer than a fetch may take (WeChat's timeout is 10 s)
MAX_ERROR = 500


def clean_references(references: Iterable[object]) -> list[str]:
    """The well-formed references, each once, in order, at most :data:`MAX_FILES` (a ticket's
    attachment limit). Anything else is logged and dropped: references come from adapters, and
    a bad one must not cost the citizen the ticket."""
    kept: list[str] = []
    for reference in references:
        if not isinstance(reference, str) or registry.split_reference(reference) is None:
            log.warning("media reference dropped: %r", reference)
            continue
        if reference not in kept:
            kept.append(reference)
    if len(kept) > MAX_FILES:
        log.warning("media references over the limit of %s dropped: %s", MAX_FILES, kept[5:])
    return kept[:MAX_FILES]


def add_media(session: Session, ticket: Ticket, references: Iterable[str]) -> list[TicketMedia]:
    """Record the references of a new ticket as pending media (flushes, never commits)."""
    present = set(
        session.scalars(select(TicketMedia.source).where(TicketMedia.ticket_id == ticket.id))
    )
    now = clock.now()
    added = []
    for reference in clean_references(references):
        if reference in present:
            continue
        row = TicketMedia(
            ticket_id=ticket.id,
            source=reference,
            status=MediaStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        added.append(row)
    session.flush()
    return added


@dataclasses.dataclass(frozen=True)
class _Claimed:
    id: int
    ticket_id: int
    source: str
    attempts: int


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(
        seconds=exponential_step(
            attempts, BACKOFF_BASE.total_seconds(), BACKOFF_CAP.total_seconds()
        )
    )


def _claim(engine: Engine, schemes: list[str], batch_size: int) -> list[_Claimed]:
    with Session(engine) as session, session.begin():
        now = clock.now()
        query = (
            select(TicketMedia)
            .where(
                TicketMedia.status == MediaStatus.PENDING.value,
                TicketMedia.next_attempt_at <= now,
                or_(*(TicketMedia.source.startswith(f"{scheme}:") for scheme in schemes)),
            )
            .order_by(TicketMedia.next_attempt_at, TicketMedia.id)
            .limit(batch_size)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in session.scalars(query):
            row.updated_at = now
            if row.attempts >= MAX_ATTEMPTS:  # every lease expired: the fetch never finished
                row.status = MediaStatus.FAILED.value
                row.last_error = f"gave up after {row.attempts} attempts: no outcome recorded"
                continue
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            claimed.append(_Claimed(row.id, row.ticket_id, row.source, row.attempts))
        return claimed


def _fetch(claimed: _Claimed, upload_dir: Path) -> StoredFile:
    """Fetch and store one reference: raises a delivery failure or :class:`UploadRejected`."""
    parts = registry.split_reference(claimed.source)
    fetch = registry.fetcher_for(parts[0]) if parts else None
    if parts is None or fetch is None:
        raise registry.TemporaryFailure(f"no fetcher for {claimed.source}")
    content, _hint = fetch(parts[1])  # the type is sniffed from the content, never trusted
    name = claimed.source.replace(":", "-")[:200]
    stored = store_uploads([Upload(name, io.BytesIO(content))], upload_dir=upload_dir)[0]
    return dataclasses.replace(stored, filename=f"{name}.{ALLOWED_TYPES[stored.content_type]}")


def _record(
    engine: Engine,
    claimed: _Claimed,
    *,
    stored: StoredFile | None = None,
    error: str | None = None,
    retry: bool = False,
) -> str:
    with Session(engine) as session, session.begin():
        row = session.get(TicketMedia, claimed.id)
        if row is None or row.status != MediaStatus.PENDING.value:
            return row.status if row is not None else MediaStatus.FAILED.value
        now = clock.now()
        row.updated_at = now
        if stored is not None:
            attachment = session.scalar(
                select(Attachment).where(
                    Attachment.ticket_id == claimed.ticket_id,
                    Attachment.sha256 == stored.sha256,
                )
            )
            if attachment is None:
                attachment = Attachment(
                    ticket_id=claimed.ticket_id,
                    filename=stored.filename,
                    content_type=stored.content_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    storage_key=stored.storage_key,
                    created_at=now,
                )
                session.add(attachment)
                session.flush()
            row.status = MediaStatus.FETCHED.value
            row.attachment_id = attachment.id
            row.last_error = None
        elif retry and claimed.attempts < MAX_ATTEMPTS:
            row.next_attempt_at = now + backoff(claimed.attempts)
            row.last_error = (error or "")[:MAX_ERROR]
        else:
            row.status = MediaStatus.FAILED.value
            if retry:
                error = f"gave up after {claimed.attempts} attempts: {error}"
            row.last_error = (error or "")[:MAX_ERROR]
        return row.status


def fetch_pending_media(
    session: Session, *, upload_dir: str | Path, batch_size: int = BATCH_SIZE
) -> int:
    """The scheduler's job: fetch one batch of due pending media; returns how many were
    stored. ``session`` only names the database: the job writes in its own short commits."""
    schemes = registry.registered_schemes()
    if not schemes:
        return 0
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    folder = Path(upload_dir)
    stored_count = 0
    for claimed in _claim(engine, schemes, batch_size):
        try:
            stored = _fetch(claimed, folder)
        except UploadRejected as refused:
            reason = refused.fields[FIELD] % refused.field_params[FIELD]
            _record(engine, claimed, error=f"refused: {reason}")
        except PermanentFailure as failure:
            _record(engine, claimed, error=f"permanent: {failure}")
        except Exception as failure:  # temporary, or a fetcher's bug: retry, then give up
            log.warning("media %s: attempt %s failed: %r", claimed.id, claimed.attempts, failure)
            _record(engine, claimed, error=f"temporary: {failure!r}", retry=True)
        else:
            if _record(engine, claimed, stored=stored) == MediaStatus.FETCHED.value:
                stored_count += 1
    return stored_count
