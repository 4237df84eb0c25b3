"""The worker: claim under a lease, send once, retry with backoff, dead-letter."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.models import OutboxMessage
from delivery.outbox import dead_letter_stuck_messages, enqueue_message
from delivery.worker import Worker, WorkerSettings, backoff_delay
from tests.delivery.conftest import FakeSender, PermanentFailure, TemporaryFailure, always

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def queue(
    db: Session, n: int = 1, *, channel: str = "web", template: str = "ticket_received"
) -> list[int]:
    ids = []
    for i in range(n):
        message = enqueue_message(
            db,
            idempotency_key=f"test:{channel}:{template}:{i}",
            audience="citizen",
            channel=channel,
            recipient=f"R{i}",
            template=template,
            params={"number": f"2026112300{i:02d}", "query_code": "ABC123", "stage": "submitted"},
        )
        ids.append(message.id)
    db.commit()
    return ids


def row(db: Session, message_id: int) -> OutboxMessage:
    db.rollback()  # end the test session's transaction: read what the worker committed
    message = db.get(OutboxMessage, message_id)
    assert message is not None
    return message


def test_due_messages_are_sent_once(db: Session, make_worker: Callable[..., Worker]) -> None:
    with clock.frozen(T0):
        ids = queue(db, 3)
        sender = FakeSender()
        worker = make_worker({"web": sender})
        assert worker.drain() == 3
        assert worker.drain() == 0
    assert sorted(sender.ids()) == ids
    for message_id in ids:
        message = row(db, message_id)
        assert (message.status, message.attempts, message.claimed_until) == ("sent", 1, None)
        assert message.sent_at == T0
    assert "2026112300" in sender.accepted[0].text


def test_crash_between_claim_and_send_loses_nothing(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    sender = FakeSender()
    with clock.frozen(T0):
        (message_id,) = queue(db)
        crashed = make_worker({"web": sender})
        claimed = crashed.claim()  # the lease is committed ...
        assert [c.id for c in claimed] == [message_id]
        del crashed  # ... and the worker dies before sending anything.
        survivor = make_worker({"web": sender})
        assert survivor.drain() == 0, "a live lease keeps other workers off"
    with clock.frozen(T0 + dt.timedelta(seconds=61)):
        assert survivor.drain() == 1
        assert survivor.drain() == 0
    assert sender.ids() == [message_id]
    message = row(db, message_id)
    assert (message.status, message.attempts) == ("sent", 2)


def test_crash_after_the_channel_accepted_may_repeat_the_message(
    db: Session, make_worker: Callable[..., Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented window: accepted by the channel, not yet recorded. The only repeat."""
    sender = FakeSender()
    with clock.frozen(T0):
        (message_id,) = queue(db)
        crashed = make_worker({"web": sender})

        def die(_message: object) -> None:
            raise SystemExit("killed between send and record")

        monkeypatch.setattr(crashed, "_mark_sent", die)
        with pytest.raises(SystemExit):
            crashed.run_once()
    with clock.frozen(T0 + dt.timedelta(seconds=61)):
        assert make_worker({"web": sender}).drain() == 1
    assert sender.ids() == [message_id, message_id]
    assert row(db, message_id).status == "sent"


def test_a_stop_in_the_middle_of_a_batch_finishes_one_and_gives_the_rest_back(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    """SIGTERM (a deploy, an orchestrator's stop) while a batch is being sent: the message in
    flight is finished and recorded, the rest are free at once, for the next worker, and each
    message is sent exactly once."""
    stop = threading.Event()
    sender = FakeSender(fail=lambda _message: stop.set())  # the stop arrives during the 1st send
    with clock.frozen(T0):
        ids = queue(db, 5)
        worker = make_worker({"web": sender})
        assert worker.run_once(stop) == 1
        assert sender.ids() == ids[:1]
        for message_id in ids[1:]:
            message = row(db, message_id)
            assert (message.status, message.attempts, message.claimed_until) == ("pending", 0, None)
        # no lease to wait out: another worker takes the rest right away
        other = FakeSender()
        assert make_worker({"web": other}).drain() == 4
    assert other.ids() == ids[1:]
    assert {row(db, i).status for i in ids} == {"sent"}


def test_temporary_failures_back_off_with_jitter_then_dead_letter(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    sender = FakeSender(always(TemporaryFailure("gateway timeout")))
    settings = {"max_attempts": 4, "backoff_base_seconds": 10, "backoff_cap_seconds": 1000}
    expected_rng = random.Random(42)
    expected_settings = WorkerSettings(**settings)
    moment = T0
    with clock.frozen(T0):
        (message_id,) = queue(db)
    worker = make_worker({"web": sender}, rng=random.Random(42), **settings)
    delays = []
    for attempt in range(1, 4):
        with clock.frozen(moment):
            assert worker.drain() == 1
            message = row(db, message_id)
            expected = backoff_delay(attempt, expected_settings, expected_rng)
            assert message.status == "pending"
            assert message.attempts == attempt
            assert message.next_attempt_at == moment + expected
            assert "gateway timeout" in (message.last_error or "")
            delays.append(message.next_attempt_at - moment)
            assert worker.drain() == 0, "not due before its backoff ends"
        moment = message.next_attempt_at
    # Doubling steps of 10 s, 20 s, 40 s, each between half and all of the step.
    for attempt, delay in enumerate(delays, start=1):
        step = 10 * 2 ** (attempt - 1)
        assert step / 2 <= delay.total_seconds() <= step
    with clock.frozen(moment):
        assert worker.drain() == 1
    message = row(db, message_id)
    assert message.status == "dead"
    assert message.attempts == 4
    assert "gave up after 4 attempts" in (message.last_error or "")
    assert sender.calls == 4 and sender.accepted == []


def test_a_temporary_failure_then_success_sends_once(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    outcomes = [TemporaryFailure("busy"), None]
    sender = FakeSender(lambda _m: outcomes.pop(0))
    with clock.frozen(T0):
        (message_id,) = queue(db)
        worker = make_worker({"web": sender})
        worker.drain()
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        worker.drain()
    assert sender.ids() == [message_id]
    assert row(db, message_id).status == "sent"


def test_permanent_failure_is_a_dead_letter_at_once(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    sender = FakeSender(always(PermanentFailure("user blocked the account")))
    with clock.frozen(T0):
        (message_id,) = queue(db)
        make_worker({"web": sender}).drain()
    message = row(db, message_id)
    assert (message.status, message.attempts) == ("dead", 1)
    assert "blocked" in (message.last_error or "")


def test_a_sender_bug_counts_as_temporary(db: Session, make_worker: Callable[..., Worker]) -> None:
    sender = FakeSender(always(KeyError("oops")))
    with clock.frozen(T0):
        (message_id,) = queue(db)
        make_worker({"web": sender}).drain()
    message = row(db, message_id)
    assert message.status == "pending" and "KeyError" in (message.last_error or "")


def test_unknown_template_is_dead(db: Session, make_worker: Callable[..., Worker]) -> None:
    with clock.frozen(T0):
        (message_id,) = queue(db, template="no_such_template")
        make_worker().drain()
    assert row(db, message_id).status == "dead"


def test_channels_without_a_sender_wait_and_are_not_claimed(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    with clock.frozen(T0):
        (wechat_id,) = queue(db, channel="wechat")
        (web_id,) = queue(db, channel="web")
        worker = make_worker({"web": FakeSender()})
        assert worker.drain() == 1
        assert worker.drain() == 0
    message = row(db, wechat_id)
    assert (message.status, message.attempts, message.claimed_until) == ("pending", 0, None)
    assert row(db, web_id).status == "sent"
    # Once the adapter registers its sender, the waiting message goes out.
    wechat = FakeSender()
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        assert make_worker({"wechat": wechat}).drain() == 1
    assert wechat.ids() == [wechat_id]


def test_messages_whose_every_attempt_crashed_become_dead_letters(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    with clock.frozen(T0):
        (message_id,) = queue(db)
    moment = T0
    for _ in range(2):  # two attempts, the worker dying each time after the claim
        with clock.frozen(moment):
            assert len(make_worker(max_attempts=2).claim()) == 1
        moment += dt.timedelta(seconds=61)
    with clock.frozen(moment):
        assert make_worker(max_attempts=2).claim() == []  # over the limit: never claimed again
        assert dead_letter_stuck_messages(db, max_attempts=2) == 1
        db.commit()
    message = row(db, message_id)
    assert message.status == "dead" and "lease expired" in (message.last_error or "")


def test_backoff_is_capped_and_jittered() -> None:
    settings = WorkerSettings(backoff_base_seconds=30, backoff_cap_seconds=3600)
    rng = random.Random(1)
    for attempts in range(1, 20):
        delay = backoff_delay(attempts, settings, rng).total_seconds()
        step = min(3600, 30 * 2 ** (attempts - 1))
        assert step / 2 <= delay <= step
    low = backoff_delay(3, settings, _Fixed(0.0)).total_seconds()
    high = backoff_delay(3, settings, _Fixed(1.0)).total_seconds()
    assert (low, high) == (60.0, 120.0)


class _Fixed(random.Random):
    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


def test_claims_are_oldest_first_in_batches(
    db: Session, make_worker: Callable[..., Worker]
) -> None:
    with clock.frozen(T0):
        ids = queue(db, 5)
        worker = make_worker(batch_size=2)
        first = [c.id for c in worker.claim()]
        second = [c.id for c in worker.claim()]
    assert first == ids[:2] and second == ids[2:4]
    assert db.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == ids[4])) == 0
