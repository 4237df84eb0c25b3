"""Each call figure's definition on a small hand-checked day (Tuesday 2026-03-10, Shanghai),
with abandoned calls, a call still waiting, one still talking and calls across midnight."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from calls.figures import FIGURES, FigureRow, day_figures
from calls.ingest import ingest_events, parse_events
from calls.models import CtiSystem
from core import clock
from tests.conftest import at
from tests.statements import recorded

DAY = dt.date(2026, 3, 10)


def t(day: int, hour: int, minute: int = 0, second: int = 0) -> str:
    return (at(2026, 3, day, hour) + dt.timedelta(minutes=minute, seconds=second)).isoformat()


def ev(kind: str, call_id: str, when: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "call_id": call_id, "at": when, **extra}


def answered_call(call_id: str, queue: str, offered: str, answered: str, ended: str | None):
    events = [
        ev("offered", call_id, offered, queue=queue),
        ev("answered", call_id, answered, agent="8001"),
    ]
    if ended:
        events.append(ev("ended", call_id, ended))
    return events


HAND_CHECKED = [
    # 综合, 09:00 hour
    *answered_call("A", "综合", t(10, 9, 0, 0), t(10, 9, 0, 10), t(10, 9, 5, 10)),  # wait 10, 300
    *answered_call("B", "综合", t(10, 9, 10, 0), t(10, 9, 10, 30), t(10, 9, 12, 30)),  # 30, 120
    ev("offered", "C", t(10, 9, 20), queue="综合"),
    ev("abandoned", "C", t(10, 9, 20, 45)),  # abandoned after 45 s: not in the waits
    *answered_call("D", "综合", t(10, 9, 30), t(10, 9, 31), None),  # wait 60, still talking
    ev("offered", "E", t(10, 9, 40), queue="综合"),  # still waiting
    # 综合, 23:00 hour: answered and ended after midnight, counted on the 10th
    *answered_call("F", "综合", t(10, 23, 59, 50), t(11, 0, 0, 20), t(11, 0, 10, 20)),  # 30, 600
    # not the 10th: offered the evening before, offered just after midnight, never offered
    *answered_call("G", "综合", t(9, 23, 58), t(10, 0, 1), t(10, 0, 3)),
    ev("offered", "H", t(11, 0, 0, 5), queue="综合"),
    ev("answered", "I", t(10, 12), agent="8002"),
    # 专席 人社, 14:00 hour: ten answered calls waiting 1..10 s, talking 100 s; one abandoned
    *[
        e
        for n in range(1, 11)
        for e in answered_call(
            f"R{n}", "专席 人社", t(10, 14, n), t(10, 14, n, n), t(10, 14, n, n + 100)
        )
    ],
    ev("offered", "R11", t(10, 14, 30), queue="专席 人社"),
    ev("abandoned", "R11", t(10, 14, 30, 20)),
]


@pytest.fixture
def day(db: Session) -> Session:
    system = CtiSystem(name="test", created_at=clock.now())
    db.add(system)
    db.flush()
    with clock.frozen(at(2026, 3, 11, 12)):
        events, _ = parse_events({"events": HAND_CHECKED})
        ingest_events(db, system, events)
    db.commit()
    return db


def _cells(row: FigureRow) -> tuple[Any, ...]:
    return (
        row.offered,
        row.answered,
        row.abandoned,
        None if row.answer_rate is None else round(row.answer_rate, 2),
        None if row.avg_wait is None else round(row.avg_wait, 2),
        row.p90_wait,
        None if row.avg_handling is None else round(row.avg_handling, 2),
    )


def test_per_queue_and_hour(day: Session) -> None:
    figures = day_figures(day, DAY)
    cells = {(r.queue, r.hour): _cells(r) for r in figures.by_queue_hour}
    assert cells == {
        # offered answered abandoned rate% avg-wait p90 avg-handling
        ("综合", 9): (5, 3, 1, 60.0, 33.33, 60, 210.0),
        ("综合", 23): (1, 1, 0, 100.0, 30.0, 30, 600.0),
        ("专席 人社", 14): (11, 10, 1, 90.91, 5.5, 9, 100.0),
    }


def test_per_queue_and_for_the_whole_day(day: Session) -> None:
    figures = day_figures(day, DAY)
    assert {r.queue: _cells(r) for r in figures.by_queue} == {
        "综合": (6, 4, 1, 66.67, 32.5, 60, 340.0),
        "专席 人社": (11, 10, 1, 90.91, 5.5, 9, 100.0),
    }
    assert figures.total is not None
    # waits 1..10, 10, 30, 30, 60: the 13th of 14 (ceil 0.9 × 14) is 30
    assert _cells(figures.total) == (17, 14, 2, 82.35, 13.21, 30, 155.38)
    assert sorted(figures.queues) == ["专席 人社", "综合"]


def test_neighbouring_days_get_the_calls_offered_on_them(day: Session) -> None:
    before = day_figures(day, DAY - dt.timedelta(days=1))
    assert [(r.queue, r.hour, r.offered, r.answered) for r in before.by_queue_hour] == [
        ("综合", 23, 1, 1)
    ]
    after = day_figures(day, DAY + dt.timedelta(days=1))
    assert [
        (r.queue, r.hour, r.offered, r.answered, r.answer_rate) for r in after.by_queue_hour
    ] == [("综合", 0, 1, 0, 0.0)]


def test_an_empty_day_has_no_rates(db: Session) -> None:
    figures = day_figures(db, DAY)
    assert figures.by_queue_hour == [] and figures.by_queue == []
    assert figures.total is not None and figures.total.offered == 0
    assert figures.total.answer_rate is None and figures.total.p90_wait is None


def test_the_p90_is_the_nearest_rank(db: Session) -> None:
    system = CtiSystem(name="test", created_at=clock.now())
    db.add(system)
    db.flush()
    # 20 answered calls waiting 1..20 s: ceil(0.9 × 20) = 18th -> 18 s
    events = [
        e
        for n in range(1, 21)
        for e in answered_call(f"P{n}", "综合", t(10, 8, n), t(10, 8, n, n), None)
    ]
    with clock.frozen(at(2026, 3, 10, 12)):
        ingest_events(db, system, parse_events({"events": events})[0])
    db.commit()
    figures = day_figures(db, DAY)
    assert figures.total is not None and figures.total.p90_wait == 18


def test_the_figures_are_a_fixed_number_of_statements(day: Session) -> None:
    with recorded(day.get_bind(), "SELECT") as statements:
        day_figures(day, DAY)
    assert len(statements) == 6  # aggregate + percentile for each of the three groupings
    assert all("FROM calls" in s for s in statements)


def test_every_figure_has_one_definition_in_both_languages() -> None:
    keys = [f.key for f in FIGURES]
    assert keys == [
        "offered",
        "answered",
        "abandoned",
        "answer_rate",
        "avg_wait",
        "p90_wait",
        "avg_handling",
    ]
    row = FigureRow(queue=None, hour=None, offered=4, answered=3)
    for figure in FIGURES:
        assert figure.name_zh and figure.name_en and figure.unit in {"calls", "percent", "seconds"}
        assert len(figure.definition_zh) > 10 and len(figure.definition_en) > 20
        row.value(figure.key)  # each definition names a value the table has
    assert row.value("answer_rate") == 75.0
    assert {f.name_zh for f in FIGURES} >= {"人工接通率", "平均排队时长"}
