"""The outbox worker: claim due messages under a lease, send them, record the outcome.

Delivery is at-least-once with one small window:

1. **Claim** (one short transaction, committed before anything is sent): pick due messages
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never pick the same row; on
   SQLite the transaction starts with ``BEGIN IMMEDIATE``, so claims are serialised), set
   ``claimed_until = now + lease`` and count the attempt. A worker that dies after this leaves a
   lease that expires; the message is then claimed again. Nothing is lost.
2. **Send** through the sender registered for the channel.
3. **Record** in its own short transaction right after the channel accepted: ``sent``. A crash
   between 2 and 3 — after the channel accepted and before the row says so — is the only way a
   message goes out twice (after the lease expires). The window is one ``UPDATE … COMMIT``.

Temporary failures retry with exponential backoff and jitter (the random source is injected, so
tests are exact), or after the delay the sender named (``TemporaryFailure.retry_after``); permanent failures and messages over the attempt limit become dead letters.
Messages on a channel with no registered sender are never claimed: they wait, ``pending``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.orm import Session

from core import clock
from delivery import senders as sender_registry
from delivery.models import OutboxMessage, OutboxStatus
from delivery.render import RenderSettings, render_message
from delivery.senders import Outgoing, PermanentFailure, Sender, TemporaryFailure

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
MAX_ERROR = 2000


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int = 50
    lease_seconds: float = 120.0  # longer than any send may take; see the module docstring
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_cap_seconds: float = 6 * 3600.0
    idle_seconds: float = 1.0  # sleep when nothing is due

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkerSettings:
        defaults = cls()
        return cls(
            batch_size=int(config.get("OUTBOX_BATCH_SIZE", defaults.batch_size)),
            lease_seconds=float(config.get("OUTBOX_LEASE_SECONDS", defaults.lease_seconds)),
            max_attempts=int(config.get("OUTBOX_MAX_ATTEMPTS", defaults.max_attempts)),
            backoff_base_seconds=float(
                config.get("OUTBOX_BACKOFF_BASE_SECONDS", defaults.backoff_base_seconds)
            ),
            backoff_cap_seconds=float(
                config.get("OUTBOX_BACKOFF_CAP_SECONDS", defaults.backoff_cap_seconds)
            ),
            idle_seconds=float(config.get("OUTBOX_IDLE_SECONDS", defaults.idle_seconds)),
        )


def exponential_step(attempts: int, base_seconds: float, cap_seconds: float) -> float:
    """The wait before retry number ``attempts`` (1, 2, …): the base, doubled per attempt, capped.
    Shared by everything that retries in the background (outbox messages, media downloads)."""
    return float(min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0)))


def backoff_delay(attempts: int, settings: WorkerSettings, rng: random.Random) -> dt.timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random, so retries of
    many messages that failed together (a channel outage) spread out instead of stampeding."""
    step = exponential_step(attempts, settings.backoff_base_seconds, settings.backoff_cap_seconds)
    return dt.timedelta(seconds=step / 2 + rng.uniform(0, step / 2))


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds a lease on."""

    id: int
    idempotency_key: str
    audience: str
    channel: str
    recipient: str
    template: str
    params: dict[str, Any]
    locale: str
    ticket_id: int | None
    attempts: int
    lease: dt.datetime


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class Worker:
    """One worker loop. Several may run at once, in threads or processes on several machines;
    each uses its own sessions (connections)."""

    def __init__(
        self,
        session_factory: SessionFactory,
        render_settings: RenderSettings,
        settings: WorkerSettings | None = None,
        *,
        senders: Mapping[str, Sender] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.render_settings = render_settings
        self.settings = settings or WorkerSettings()
        self._senders = senders
        self.rng = rng or random.Random()
        self.name = worker_name()
        self._connection: Connection | None = None
        self._bind: Engine | None = None

    def _engine(self) -> Engine:
        if self._bind is None:
            with self.session_factory() as session:
                bind = session.get_bind()
            self._bind = bind if isinstance(bind, Engine) else bind.engine
        return self._bind

    def _record(self, statement: Any) -> None:
        """Run one outcome UPDATE in its own short transaction and commit it now."""
        if self._connection is not None:
            self._connection.execute(statement)
            self._connection.commit()
            return
        with self._engine().begin() as connection:
            connection.execute(statement)

    # -- the registry, or the senders a test passed ---------------------------------------------

    def senders(self) -> Mapping[str, Sender]:
        if self._senders is not None:
            return self._senders
        registry = sender_registry.registered_channels()
        return {ch: s for ch in registry if (s := sender_registry.sender_for(ch)) is not None}

    # -- claim ----------------------------------------------------------------------------------

    def claim(self) -> list[Claimed]:
        """Lease up to ``batch_size`` due messages and commit the lease."""
        channels = list(self.senders())
        if not channels:
            return []
        with self.session_factory() as session, session.begin():
            now = clock.now()
            query = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                    OutboxMessage.attempts < self.settings.max_attempts,
                    OutboxMessage.channel.in_(channels),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.settings.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if not ids:
                return []
            lease = now + dt.timedelta(seconds=self.settings.lease_seconds)
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(claimed_until=lease, attempts=OutboxMessage.attempts + 1),
                execution_options={"synchronize_session": False},
            )
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.idempotency_key,
                    OutboxMessage.audience,
                    OutboxMessage.channel,
                    OutboxMessage.recipient,
                    OutboxMessage.template,
                    OutboxMessage.params,
                    OutboxMessage.locale,
                    OutboxMessage.ticket_id,
                    OutboxMessage.attempts,
                )
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            ).all()
        return [Claimed(**row._mapping, lease=lease) for row in rows]

    # -- send and record ------------------------------------------------------------------------

    def deliver(self, message: Claimed) -> str:
        """Send one claimed message; return the status it ends in (pending means "retry")."""
        sender = self.senders().get(message.channel)
        try:
            text, extra = render_message(
                message.template, message.params, message.locale, self.render_settings
            )
        except Exception as error:  # a message that cannot be rendered never will be
            self._mark_dead(message, f"render: {error!r}")
            return OutboxStatus.DEAD
        if sender is None:  # unregistered between claim and send: give the lease back
            self._release(message)
            return OutboxStatus.PENDING
        outgoing = Outgoing(
            id=message.id,
            idempotency_key=message.idempotency_key,
            audience=message.audience,
            channel=message.channel,
            recipient=message.recipient,
            template=message.template,
            params=message.params,
            locale=message.locale,
            ticket_id=message.ticket_id,
            attempts=message.attempts,
            text=text,
            extra=extra,
        )
        try:
            sender(outgoing)
        except PermanentFailure as error:
            self._mark_dead(message, f"permanent: {error}")
            return OutboxStatus.DEAD
        except Exception as error:  # TemporaryFailure, or a sender bug: both retry
            wait = error.retry_after if isinstance(error, TemporaryFailure) else None
            return self._mark_retry(message, f"{type(error).__name__}: {error}", retry_after=wait)
        self._mark_sent(message)
        return OutboxStatus.SENT

    def _mark_sent(self, message: Claimed) -> None:
        # Recorded even if the lease has expired meanwhile: the channel did accept it.
        self._record(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.SENT, sent_at=clock.now(), claimed_until=None, last_error=None
            )
        )

    def _mark_retry(self, message: Claimed, error: str, *, retry_after: float | None = None) -> str:
        if message.attempts >= self.settings.max_attempts:
            self._mark_dead(message, f"gave up after {message.attempts} attempts: {error}")
            return OutboxStatus.DEAD
        if retry_after is not None and retry_after >= 0:  # the channel said when (capped)
            delay = dt.timedelta(seconds=min(retry_after, self.settings.backoff_cap_seconds))
        else:
            delay = backoff_delay(message.attempts, self.settings, self.rng)
        self._record(
            update(OutboxMessage)
            .where(*self._still_ours(message))
            .values(
                next_attempt_at=clock.now() + delay,
                claimed_until=None,
                last_error=error[:MAX_ERROR],
            )
        )
        return OutboxStatus.PENDING

    def _mark_dead(self, message: Claimed, error: str) -> None:
        self._record(
            update(OutboxMessage)
            .where(*self._still_ours(message))
            .values(status=OutboxStatus.DEAD, claimed_until=None, last_error=error[:MAX_ERROR])
        )

    def _release(self, message: Claimed) -> None:
        self._record(
            update(OutboxMessage)
            .where(*self._still_ours(message))
            .values(claimed_until=None, attempts=OutboxMessage.attempts - 1)
        )

    @staticmethod
    def _still_ours(message: Claimed) -> tuple[Any, ...]:
        """A failure is recorded only while our lease holds, so a slow worker never undoes the
        work of the one that re-claimed the message after the lease ran out."""
        return (
            OutboxMessage.id == message.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.claimed_until == message.lease,
        )

    # -- loops ----------------------------------------------------------------------------------

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Claim one batch and deliver it; return how many messages were handled. When ``stop``
        is set in the middle of the batch (SIGTERM), the message being sent is finished and the
        rest of the batch is given back at once, for another worker, without waiting for the
        lease to run out: nothing is lost and nothing is sent twice."""
        claimed = self.claim()
        if not claimed:
            return 0
        handled = 0
        # One connection for the batch's outcome records: each is still its own transaction,
        # committed at once, but without a pool checkout (and its liveness ping) per message.
        with self._engine().connect() as connection:
            self._connection = connection
            try:
                for message in claimed:
                    if stop is not None and stop.is_set():
                        self._release(message)
                        continue
                    self.deliver(message)
                    handled += 1
            finally:
                self._connection = None
        return handled

    def drain(self, *, max_batches: int = 10_000) -> int:
        """Deliver until nothing is due (tests, ``worker --once``)."""
        total = 0
        for _ in range(max_batches):
            handled = self.run_once()
            if not handled:
                break
            total += handled
        return total

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; sleep ``idle_seconds`` when nothing is due."""
        log.info("outbox worker %s started", self.name)
        failures = 0
        while not stop.is_set():
            try:
                handled = self.run_once(stop)
                failures = 0
            except Exception:  # the database went away, say: wait and try again
                failures += 1
                log.exception("outbox worker %s: batch failed", self.name)
                stop.wait(min(60.0, self.settings.idle_seconds * 2**failures))
                continue
            if not handled:
                stop.wait(self.settings.idle_seconds)
        log.info("outbox worker %s stopped", self.name)
