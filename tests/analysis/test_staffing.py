"""Staffing: Erlang C against the textbook values and the factorial formula, the seats for the
seed's targets, and the forecast per weekday and half hour from the last four weeks' calls."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy.orm import Session

from analysis import staffing
from bot.engine.models import Conversation, Handoff
from calls.ingest import ingest_events, parse_events
from calls.models import CtiSystem
from core import clock
from tests.conftest import at


def _factorial_formula(n: int, a: float) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_c() -> None:
    assert staffing.erlang_c(11, 10) == pytest.approx(0.6821, abs=1e-3)  # the textbook example
    assert staffing.erlang_c(12, 10) == pytest.approx(0.4494, abs=1e-3)
    for n, a in ((1, 0.5), (5, 3.2), (30, 25.0), (90, 80.0)):
        assert staffing.erlang_c(n, a) == pytest.approx(_factorial_formula(n, a), rel=1e-9)
    assert staffing.erlang_c(10, 10) == 1.0 and staffing.erlang_c(3, 0) == 0.0
    assert staffing.average_wait(10, 10, 180) == math.inf
    assert staffing.average_wait(12, 10, 180) == pytest.approx(0.4494 * 180 / 2, rel=1e-3)


def test_seats_for_the_targets() -> None:
    assert staffing.seats_needed(0, 180) == 0
    assert staffing.seats_needed(2, 180) == 2  # 0.2 erlangs: one seat would wait 45 s on average
    seats = staffing.seats_needed(100, 180)  # 10 erlangs
    erlangs = 10.0
    assert staffing.average_wait(seats, erlangs, 180) <= 25
    assert staffing.answered_within(seats, erlangs, 180, 60) >= 0.85
    assert staffing.average_wait(seats - 1, erlangs, 180) > 25 or (
        staffing.answered_within(seats - 1, erlangs, 180, 60) < 0.85
    )
    assert seats == 13


def test_the_forecast_per_weekday_and_half_hour(db: Session) -> None:
    system = CtiSystem(name="test", created_at=clock.now())
    db.add(system)
    db.flush()
    events = []
    # the four Mondays before 2026-03-09 (two in Spring Festival: holidays are not left out of
    # the forecast): two calls 09:00-09:30 and one 09:30-10:00 each, 200 s
    mondays = (dt.date(2026, 2, 9), dt.date(2026, 2, 16), dt.date(2026, 2, 23), dt.date(2026, 3, 2))
    for week, day in enumerate(mondays):
        for n, minute in enumerate((5, 20, 40)):
            offered = at(day.year, day.month, day.day, 9) + dt.timedelta(minutes=minute)
            call = f"W{week}-{n}"
            events += [
                {"type": "offered", "call_id": call, "at": offered.isoformat(), "queue": "综合"},
                {"type": "answered", "call_id": call, "at": (offered + dt.timedelta(seconds=10)).isoformat(), "agent": "8001"},
                {"type": "ended", "call_id": call, "at": (offered + dt.timedelta(seconds=210)).isoformat()},
            ]  # fmt: skip
    # a call of the forecast week itself, and one five weeks back: not in the forecast
    for call, moment in (("X", at(2026, 3, 9, 9)), ("Y", at(2026, 2, 2, 9))):
        events.append(
            {"type": "offered", "call_id": call, "at": moment.isoformat(), "queue": "综合"}
        )
    with clock.frozen(at(2026, 3, 10, 12)):
        parsed, _ = parse_events({"events": events})
        ingest_events(db, system, parsed)
    db.commit()
    roster = staffing.forecast(db, dt.date(2026, 3, 9))
    assert roster.aht == 200.0
    monday = {slot.starts: slot for slot in roster.slots if slot.day == dt.date(2026, 3, 9)}
    assert (monday["09:00"].calls, monday["09:30"].calls, monday["10:00"].calls) == (2.0, 1.0, 0.0)
    assert monday["09:00"].seats == staffing.seats_needed(2.0, 200.0) == 2
    assert monday["10:00"].seats == 0
    grid = roster.grid()
    assert len(grid) == 48 and grid[18][0] == "09:00" and grid[18][1][0].calls == 2.0
    assert roster.seat_hours == (2 + 1) / 2 * 1 + 0  # 09:00 two seats, 09:30 one: 1.5 seat-hours
    assert staffing.seats_needed(1.0, 200.0) == 1


def test_no_calls_no_seats(db: Session) -> None:
    roster = staffing.forecast(db, dt.date(2026, 3, 9))
    assert roster.aht == staffing.DEFAULT_AHT_SECONDS
    assert all(slot.seats == 0 and slot.calls == 0 for slot in roster.slots)


def _handoff(db: Session, queued: dt.datetime, handled: float | None) -> None:
    conversation = Conversation(channel="web", user_id=f"u{queued.isoformat()}",
                                created_at=queued, updated_at=queued)  # fmt: skip
    db.add(conversation)
    db.flush()
    picked = queued + dt.timedelta(seconds=15)
    db.add(
        Handoff(
            conversation_id=conversation.id,
            queue="general",
            status="ended" if handled is not None else "waiting",
            reason="asked",
            handed_off_at=queued,
            picked_up_at=picked if handled is not None else None,
            wait_seconds=15 if handled is not None else None,
            ended_at=picked + dt.timedelta(seconds=handled) if handled is not None else None,
        )
    )


def test_chats_are_forecast_per_local_half_hour_as_their_own_queue(db: Session) -> None:
    # Each of the four Mondays before 2026-03-09: three chats 07:30-08:00 local (23:30-24:00 UTC
    # on the Sunday before: the local weekday and half hour, not UTC's) and one 08:00-08:30,
    # handled for 360 s, 420 s, 600 s and (still waiting) unknown.
    mondays = (dt.date(2026, 2, 9), dt.date(2026, 2, 16), dt.date(2026, 2, 23), dt.date(2026, 3, 2))
    for day in mondays:
        seven = at(day.year, day.month, day.day, 7)
        for minute, handled in ((31, 360.0), (45, 420.0), (59, 600.0), (70, None)):
            _handoff(db, seven + dt.timedelta(minutes=minute), handled)
    _handoff(
        db, at(2026, 3, 9, 7) + dt.timedelta(minutes=40), 60.0
    )  # the forecast week itself: not counted
    db.commit()
    roster = staffing.forecast(db, dt.date(2026, 3, 9))
    assert roster.chat_aht == pytest.approx(460.0)
    assert roster.aht == staffing.DEFAULT_AHT_SECONDS  # no calls
    monday = {slot.starts: slot for slot in roster.slots if slot.day == dt.date(2026, 3, 9)}
    assert (monday["07:00"].chats, monday["07:30"].chats, monday["08:00"].chats) == (0, 3.0, 1.0)
    sunday = [slot for slot in roster.slots if slot.day == dt.date(2026, 3, 15)]
    assert all(slot.chats == 0 for slot in sunday)
    # three chats of 460 s in half an hour, three at once per person: 460 / 3 s of seat time each
    seat_time = 460.0 / staffing.CHAT_CONCURRENCY
    assert monday["07:30"].chat_seats == staffing.seats_needed(3.0, seat_time) == 2
    assert monday["07:30"].call_seats == 0 and monday["07:30"].seats == 2
    assert monday["07:30"].calls == 0.0
    # with one chat at a time the same load needs more seats than with three
    assert staffing.seats_needed(30.0, 460.0) > staffing.seats_needed(30.0, seat_time)
