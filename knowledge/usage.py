"""What searches leave behind (hit and suggestion counts, the gap log), kept in the process and
written in batches, so that answering a question stays a read.

``answer_question`` records into the :class:`PendingUsage` of its database (one per engine, in this
process: a dict update under a lock, no database access). :func:`flush_pending_usage` drains it into
a session — as atomic increments (``hit_count = hit_count + n``), so several processes flushing
their own counts at the same time never overwrite each other's — and puts the batch back when the
transaction fails or rolls back, to be written at the next flush.

Who flushes: every process that answers questions runs a :class:`UsageFlusher` thread
(``start_usage_flusher``: ``flask --app app serve`` starts it, a gunicorn worker's ``post_fork``
hook may), which writes every ``KNOWLEDGE_USAGE_FLUSH_SECONDS`` (default 5) and once more when the
process exits normally; the scheduler's ``knowledge_usage`` job flushes the process the scheduler
runs in (``make run``). The staff gap-log page flushes its own process first.

What a crash loses: a process killed without running its exit handlers (SIGKILL, power loss)
loses what it counted since its last flush, at most one interval of hit counts and gap-log
sightings; a normal exit (SIGTERM, Ctrl+C) flushes. The pending gap log is bounded at
``MAX_PENDING_GAPS`` distinct questions: when it is full, a new question is written at once in the
request's own transaction (as before batching), so overload never drops a question a citizen
asked, it only brings the write back into that request.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, case, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.models import QUERY_MAX, Faq, GapStatus, KnowledgeGap

log = logging.getLogger(__name__)

MAX_PENDING_GAPS = 10_000  # distinct unanswered questions kept between two flushes
GAP_CHUNK = 500  # questions looked up per SELECT while flushing


@dataclass
class GapSighting:
    """One unanswered question (by its normalised text) as seen since the last flush."""

    normalized: str
    sample: str
    count: int
    suggested: int
    channels: list[str]
    best_faq_id: int | None
    best_score: float | None
    first_seen: dt.datetime
    last_seen: dt.datetime

    def merge(self, other: GapSighting) -> None:
        """Add ``other`` (seen later or earlier) to this sighting."""
        self.count += other.count
        self.suggested += other.suggested
        for channel in other.channels:
            if channel not in self.channels:
                self.channels.append(channel)
        if other.last_seen >= self.last_seen:
            self.best_faq_id, self.best_score = other.best_faq_id, other.best_score
            self.last_seen = other.last_seen
        if other.first_seen < self.first_seen:
            self.first_seen, self.sample = other.first_seen, other.sample


@dataclass
class UsageBatch:
    """What one flush writes (drained from a :class:`PendingUsage`)."""

    hits: dict[int, int] = field(default_factory=dict)
    last_hit: dict[int, dt.datetime] = field(default_factory=dict)
    suggested: dict[int, int] = field(default_factory=dict)
    gaps: dict[str, GapSighting] = field(default_factory=dict)

    def __len__(self) -> int:
        return (
            sum(self.hits.values())
            + sum(self.suggested.values())
            + sum(g.count for g in self.gaps.values())
        )


class PendingUsage:
    """This process's counts for one database since the last flush (thread-safe)."""

    def __init__(self, max_gaps: int = MAX_PENDING_GAPS) -> None:
        self.max_gaps = max_gaps
        self._lock = threading.Lock()
        self._batch = UsageBatch()

    def hit(self, faq_id: int, at: dt.datetime) -> None:
        with self._lock:
            batch = self._batch
            batch.hits[faq_id] = batch.hits.get(faq_id, 0) + 1
            previous = batch.last_hit.get(faq_id)
            if previous is None or at > previous:
                batch.last_hit[faq_id] = at

    def suggest(self, faq_ids: Iterable[int]) -> None:
        with self._lock:
            suggested = self._batch.suggested
            for faq_id in faq_ids:
                suggested[faq_id] = suggested.get(faq_id, 0) + 1

    def gap(self, sighting: GapSighting) -> bool:
        """Count an unanswered question; False when the pending log is full and the question is
        not in it yet (the caller then writes it itself)."""
        with self._lock:
            gaps = self._batch.gaps
            known = gaps.get(sighting.normalized)
            if known is not None:
                known.merge(sighting)
                return True
            if len(gaps) >= self.max_gaps:
                return False
            gaps[sighting.normalized] = sighting
            return True

    def drain(self) -> UsageBatch:
        with self._lock:
            batch, self._batch = self._batch, UsageBatch()
            return batch

    def restore(self, batch: UsageBatch) -> None:
        """Put back a batch that could not be written (merged with what came in since); the gap
        bound does not apply: nothing already counted is dropped."""
        with self._lock:
            current = self._batch
            for faq_id, n in batch.hits.items():
                current.hits[faq_id] = current.hits.get(faq_id, 0) + n
            for faq_id, at in batch.last_hit.items():
                if faq_id not in current.last_hit or at > current.last_hit[faq_id]:
                    current.last_hit[faq_id] = at
            for faq_id, n in batch.suggested.items():
                current.suggested[faq_id] = current.suggested.get(faq_id, 0) + n
            for key, sighting in batch.gaps.items():
                if key in current.gaps:
                    sighting.merge(current.gaps[key])
                current.gaps[key] = sighting

    def __len__(self) -> int:
        with self._lock:
            return len(self._batch)


# One per engine: a test's new app (a new engine) never sees an earlier one's counts, and a
# process's flusher, holding a session factory on the same engine, drains the same counts.
_pending: weakref.WeakKeyDictionary[Engine, PendingUsage] = weakref.WeakKeyDictionary()
_pending_lock = threading.Lock()


def session_engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


# Engines whose counts a flusher thread writes, started with the first count (armed by the
# composition root for every app process: flush_in_background).
_armed: weakref.WeakKeyDictionary[Engine, tuple[Callable[[], Session], float]] = (
    weakref.WeakKeyDictionary()
)
_flushers: weakref.WeakKeyDictionary[Engine, UsageFlusher] = weakref.WeakKeyDictionary()


def pending_usage(session: Session) -> PendingUsage:
    """The pending counts of the session's database in this process (the first call starts the
    flusher thread of an engine armed by :func:`flush_in_background`)."""
    engine = session_engine(session)
    found = _pending.get(engine)
    if found is None:
        with _pending_lock:
            found = _pending.setdefault(engine, PendingUsage())
            armed = _armed.get(engine)
            if armed is not None and engine not in _flushers:
                _flushers[engine] = UsageFlusher(*armed).start()
    return found


def flush_in_background(
    engine: Engine, session_factory: Callable[[], Session], interval: float
) -> None:
    """Have this process's counts for ``engine`` written every ``interval`` seconds by a flusher
    thread, started when the first search counts something (so an app that never answers a
    question, or a gunicorn master that only forks, starts none), and flushed at exit."""
    if interval > 0:
        _armed[engine] = (session_factory, interval)


def stop_background_flushers() -> None:
    """Stop every flusher thread (each writes what it holds); tests."""
    for flusher in list(_flushers.values()):
        flusher.stop()
    _flushers.clear()
    _armed.clear()


def forget_pending_usage() -> None:
    """Drop every pending count (tests)."""
    with _pending_lock:
        _pending.clear()


def flush_pending_usage(session: Session) -> int:
    """Write this process's pending counts for the session's database in the session (flushes;
    the caller commits). If the transaction fails or rolls back instead of committing, the batch
    goes back to be written by the next flush. Returns the number of counts written."""
    pending = pending_usage(session)
    batch = pending.drain()
    if not len(batch):
        return 0
    try:
        apply_usage(session, batch)
    except BaseException:
        pending.restore(batch)
        raise
    _restore_unless_committed(session, pending, batch)
    return len(batch)


def _restore_unless_committed(session: Session, pending: PendingUsage, batch: UsageBatch) -> None:
    state = {"committed": False, "done": False}

    def committed(_session: Session) -> None:
        state["committed"] = True

    def ended(_session: Session, transaction: object) -> None:
        if state["done"] or getattr(transaction, "parent", None) is not None:
            return  # a savepoint ended, not the transaction the batch was written in
        state["done"] = True
        if not state["committed"]:
            pending.restore(batch)

    from sqlalchemy import event

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_transaction_end", ended)


def apply_usage(session: Session, batch: UsageBatch) -> None:
    """Write a batch: increments for the FAQs' counters, one merged row per logged question."""
    faqs = cast(Table, Faq.__table__)
    if batch.hits:
        at = bindparam("at", type_=faqs.c.last_hit_at.type)  # UTCDateTime: stored as the ORM does
        session.execute(
            update(faqs)
            .where(faqs.c.id == bindparam("faq"))
            .values(
                hit_count=faqs.c.hit_count + bindparam("n"),
                last_hit_at=case(
                    (or_(faqs.c.last_hit_at.is_(None), faqs.c.last_hit_at < at), at),
                    else_=faqs.c.last_hit_at,
                ),
            ),
            [
                {"faq": faq_id, "n": n, "at": batch.last_hit[faq_id]}
                for faq_id, n in sorted(batch.hits.items())
            ],
        )
    if batch.suggested:
        session.execute(
            update(faqs)
            .where(faqs.c.id == bindparam("faq"))
            .values(suggest_count=faqs.c.suggest_count + bindparam("n")),
            [{"faq": faq_id, "n": n} for faq_id, n in sorted(batch.suggested.items())],
        )
    if batch.gaps:
        _apply_gaps(session, batch.gaps)
    session.flush()


def _apply_gaps(session: Session, gaps: dict[str, GapSighting]) -> None:
    keys = sorted(gaps)  # one order for every process: row locks taken in the same order
    wanted = {g.best_faq_id for g in gaps.values() if g.best_faq_id is not None}
    existing_faqs = (
        set(session.scalars(select(Faq.id).where(Faq.id.in_(wanted)))) if wanted else set()
    )
    for start in range(0, len(keys), GAP_CHUNK):
        chunk = keys[start : start + GAP_CHUNK]
        rows = {
            row.normalized: row
            for row in session.scalars(
                select(KnowledgeGap).where(KnowledgeGap.normalized.in_(chunk))
            )
        }
        for key in chunk:
            sighting = gaps[key]
            if sighting.best_faq_id not in existing_faqs:
                sighting.best_faq_id = None  # an FAQ gone since the search (never in practice)
            row = rows.get(key)
            if row is None:
                row = _insert_gap(session, sighting)
                if row is not None:
                    continue
                row = session.scalar(select(KnowledgeGap).where(KnowledgeGap.normalized == key))
                if row is None:
                    continue
            _merge_into(row, sighting)


def _insert_gap(session: Session, sighting: GapSighting) -> KnowledgeGap | None:
    """A new gap-log row, or None if another process inserted the same question meanwhile."""
    try:
        with session.begin_nested():
            row = KnowledgeGap(
                normalized=sighting.normalized[:QUERY_MAX],
                sample=sighting.sample[:QUERY_MAX],
                count=sighting.count,
                suggested_count=sighting.suggested,
                channels=list(sighting.channels),
                best_faq_id=sighting.best_faq_id,
                best_score=sighting.best_score,
                status=GapStatus.OPEN,
                first_seen=sighting.first_seen,
                last_seen=sighting.last_seen,
            )
            session.add(row)
        return row
    except IntegrityError:
        return None


def _merge_into(row: KnowledgeGap, sighting: GapSighting) -> None:
    row.count += sighting.count
    row.suggested_count += sighting.suggested
    channels = list(row.channels or [])
    for channel in sighting.channels:
        if channel not in channels:
            channels.append(channel)
    row.channels = channels
    if sighting.last_seen >= row.last_seen:
        row.best_faq_id, row.best_score = sighting.best_faq_id, sighting.best_score
        row.last_seen = sighting.last_seen
    row.status = GapStatus.OPEN  # asked again and still not answered: a gap again


class UsageFlusher:
    """A daemon thread that flushes this process's pending counts every ``interval`` seconds with
    its own sessions, and once more when stopped or when the interpreter exits."""

    def __init__(self, session_factory: Callable[[], Session], interval: float) -> None:
        self.session_factory = session_factory
        self.interval = max(float(interval), 0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="knowledge-usage", daemon=True)

    def start(self) -> UsageFlusher:
        self._thread.start()
        atexit.register(self.stop)
        return self

    def flush(self) -> int:
        with self.session_factory() as session:
            count = flush_pending_usage(session)
            session.commit()
            return count

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the database is away: the batch was put back; next interval
                log.exception("knowledge usage flush failed")

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.exception("knowledge usage: the last flush failed; its counts are lost")


def start_usage_flusher(session_factory: Callable[[], Session], interval: float) -> UsageFlusher:
    """Flush this process's pending counts every ``interval`` seconds (and at exit)."""
    return UsageFlusher(session_factory, interval).start()
