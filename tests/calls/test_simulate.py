"""The simulated day looks like a hotline's day and speaks the event format."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

from calls.ingest import parse_events
from calls.simulate import QUEUES, day_events, simulate_calls
from core import clock
from tests.conftest import at

DAY = dt.date(2026, 3, 9)
ZONE = ZoneInfo("Asia/Shanghai")


def test_the_day_is_shaped_and_reproducible() -> None:
    calls = simulate_calls(DAY, calls=3000, seed=7)
    assert calls == simulate_calls(DAY, calls=3000, seed=7)
    assert calls != simulate_calls(DAY, calls=3000, seed=8)
    hours = Counter(c.offered_at.astimezone(ZONE).hour for c in calls)
    assert hours[10] > 10 * hours[3]  # the morning peak against the night
    assert hours[15] > hours[12] and hours[10] > hours[20]
    assert {c.offered_at.astimezone(ZONE).date() for c in calls} == {DAY}
    queues = Counter(c.queue for c in calls)
    assert set(queues) == set(QUEUES) and 0.15 < queues["专席 人社"] / 3000 < 0.35
    abandoned = sum(1 for c in calls if c.abandoned_at is not None)
    assert 0.03 < abandoned / 3000 < 0.3
    waits = sorted(
        (c.answered_at - c.offered_at).total_seconds() for c in calls if c.answered_at is not None
    )
    assert 5 < sum(waits) / len(waits) < 40
    assert len({c.caller for c in calls}) < 3000  # some citizens call twice


def test_every_event_is_valid_and_in_time_order() -> None:
    calls = simulate_calls(DAY, calls=400, seed=1)
    events = day_events(calls)
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    with clock.frozen(at(2026, 3, 10, 12)):
        for start in range(0, len(events), 500):
            parsed, batch = parse_events({"events": events[start : start + 500]})
            assert batch and len(parsed) == len(events[start : start + 500])
    kinds = Counter(e["type"] for e in events)
    assert kinds["offered"] == 400 == kinds["answered"] + kinds["abandoned"]
    assert kinds["ended"] == kinds["answered"]
