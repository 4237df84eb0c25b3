"""Deadlines and the red/yellow card ladder, table-driven (shared/spec/workflow.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.errors import DomainError
from tickets.sla import (
    TOTAL_DAYS,
    WorkCalendar,
    due_dates,
    supervision_status,
    supervision_thresholds,
)

pytestmark = pytest.mark.date_matrix

D = dt.date
CAL = WorkCalendar()


def test_deadlines_counted_from_today(pinned_today: dt.date) -> None:
    """Whatever today is, a deadline of N working days is a working day, N working days on."""
    for kind, total in TOTAL_DAYS.items():
        dues = due_dates(kind, pinned_today, CAL)
        for due, days in ((dues.review, 3), (dues.handling, total)):
            assert CAL.is_workday(due) and CAL.workdays_between(pinned_today, due) == days
            assert supervision_status(due, pinned_today, CAL) == "normal"
            assert supervision_status(due, due, CAL) == "warning"
            assert supervision_status(due, CAL.add_workdays(due, 1), CAL) == "yellow"
            assert supervision_status(due, CAL.add_workdays(due, 2), CAL) == "red"
    if not CAL.knows_year(pinned_today.year):
        # On purpose: for a year the package does not know, Monday to Friday are the working
        # days until staff enter its holidays (see test_unknown_year_uses_weekdays_and_overrides).
        week = [pinned_today + dt.timedelta(days=n) for n in range(7)]
        assert [CAL.is_workday(d) for d in week] == [d.weekday() < 5 for d in week]


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (D(2026, 11, 20), True),  # Friday
        (D(2026, 11, 21), False),  # Saturday
        (D(2026, 11, 22), False),  # Sunday
        (D(2026, 9, 20), True),  # Sunday, adjusted workday (调休) before National Day
        (D(2026, 10, 1), False),  # National Day
        (D(2026, 10, 7), False),  # last day of the Golden Week
        (D(2026, 10, 8), True),
        (D(2026, 10, 10), True),  # Saturday, adjusted workday
        (D(2026, 9, 25), False),  # Mid-Autumn Festival, a Friday
    ],
)
def test_official_calendar(day: dt.date, workday: bool) -> None:
    assert CAL.is_workday(day) is workday


@pytest.mark.parametrize(
    ("kind", "dispatched", "review", "handling"),
    [
        # the spec's example: Friday dispatch, complaint
        ("complaint", D(2026, 11, 20), D(2026, 11, 25), D(2026, 12, 11)),
        ("consultation", D(2026, 11, 20), D(2026, 11, 25), D(2026, 11, 27)),
        ("suggestion", D(2026, 11, 23), D(2026, 11, 26), D(2026, 12, 14)),
        ("praise", D(2026, 11, 23), D(2026, 11, 26), D(2026, 12, 14)),
        ("report", D(2026, 11, 2), D(2026, 11, 5), D(2026, 12, 14)),
        # dispatched on a Saturday: the next working days count, the dispatch day never does
        ("consultation", D(2026, 11, 21), D(2026, 11, 25), D(2026, 11, 27)),
        # across National Day: 9/30 → 10/8, 10/9, 10/10 (Saturday, adjusted workday)
        ("consultation", D(2026, 9, 30), D(2026, 10, 10), D(2026, 10, 13)),
        # Mid-Autumn (9/25–27) and the adjusted Sunday 9/20
        ("consultation", D(2026, 9, 18), D(2026, 9, 22), D(2026, 9, 24)),
        ("complaint", D(2026, 9, 24), D(2026, 9, 30), D(2026, 10, 22)),
    ],
)
def test_due_dates(kind: str, dispatched: dt.date, review: dt.date, handling: dt.date) -> None:
    dues = due_dates(kind, dispatched, CAL)
    assert (dues.review, dues.handling) == (review, handling)


@pytest.mark.parametrize(("total", "handling"), [(5, D(2026, 11, 27)), (15, D(2026, 12, 11))])
def test_returned_ticket_deadline_choice(total: int, handling: dt.date) -> None:
    dues = due_dates("report", D(2026, 11, 20), CAL, total_days=total)
    assert dues.review == D(2026, 11, 25)
    assert dues.handling == handling


@pytest.mark.parametrize("bad", [0, 3, 10, 30, -5])
def test_returned_ticket_deadline_must_be_5_or_15(bad: int) -> None:
    with pytest.raises(DomainError):
        due_dates("complaint", D(2026, 11, 20), CAL, total_days=bad)


def test_unknown_kind() -> None:
    with pytest.raises(DomainError):
        due_dates("gossip", D(2026, 11, 20), CAL)


def test_unknown_year_uses_weekdays_and_overrides() -> None:
    assert not CAL.knows_year(2027)
    plain = WorkCalendar()
    # 2027-01-01 is a Friday: without an override it counts as a working day...
    assert plain.is_workday(D(2027, 1, 1))
    # ...until staff mark New Year's Day, and a Sunday as an adjusted working day.
    staffed = WorkCalendar({D(2027, 1, 1): False, D(2027, 1, 3): True})
    assert not staffed.is_workday(D(2027, 1, 1))
    assert staffed.is_workday(D(2027, 1, 3))
    # dispatched Thursday 2026-12-31: 1/1 holiday, 1/2 Saturday, 1/3 adjusted, 1/4, 1/5
    dues = due_dates("consultation", D(2026, 12, 31), staffed)
    assert dues.review == D(2027, 1, 5)
    assert due_dates("consultation", D(2026, 12, 31), plain).review == D(2027, 1, 5)
    assert plain.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 1)
    assert staffed.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 3)


def test_override_beats_the_package() -> None:
    cal = WorkCalendar({D(2026, 11, 23): False})
    assert not cal.is_workday(D(2026, 11, 23))
    assert cal.add_workdays(D(2026, 11, 20), 1) == D(2026, 11, 24)


# due date, today, status
LADDER = [
    # due Wednesday 11/25
    (D(2026, 11, 25), D(2026, 11, 20), "normal"),
    (D(2026, 11, 25), D(2026, 11, 24), "normal"),
    (D(2026, 11, 25), D(2026, 11, 25), "warning"),  # the last working day
    (D(2026, 11, 25), D(2026, 11, 26), "yellow"),  # first working day after
    (D(2026, 11, 25), D(2026, 11, 27), "red"),  # second working day after
    (D(2026, 11, 25), D(2026, 12, 31), "red"),
    # due Friday 11/27: the weekend after stays "warning", Monday is yellow, Tuesday red
    (D(2026, 11, 27), D(2026, 11, 27), "warning"),
    (D(2026, 11, 27), D(2026, 11, 28), "warning"),
    (D(2026, 11, 27), D(2026, 11, 29), "warning"),
    (D(2026, 11, 27), D(2026, 11, 30), "yellow"),
    (D(2026, 11, 27), D(2026, 12, 1), "red"),
    # due Wednesday 9/30, then the National Day holiday: warning until 10/8
    (D(2026, 9, 30), D(2026, 10, 1), "warning"),
    (D(2026, 9, 30), D(2026, 10, 7), "warning"),
    (D(2026, 9, 30), D(2026, 10, 8), "yellow"),
    (D(2026, 9, 30), D(2026, 10, 9), "red"),
    # due Friday 10/9; Saturday 10/10 is an adjusted working day: yellow on a Saturday
    (D(2026, 10, 9), D(2026, 10, 10), "yellow"),
    (D(2026, 10, 9), D(2026, 10, 11), "yellow"),
    (D(2026, 10, 9), D(2026, 10, 12), "red"),
    # due Friday 9/18; Sunday 9/20 is an adjusted working day
    (D(2026, 9, 18), D(2026, 9, 19), "warning"),
    (D(2026, 9, 18), D(2026, 9, 20), "yellow"),
    (D(2026, 9, 18), D(2026, 9, 21), "red"),
]


@pytest.mark.parametrize(("due", "today", "status"), LADDER)
def test_supervision_ladder(due: dt.date, today: dt.date, status: str) -> None:
    assert supervision_status(due, today, CAL) == status


@pytest.mark.parametrize(("due", "today", "status"), LADDER)
def test_set_based_thresholds_agree_with_the_ladder(
    due: dt.date, today: dt.date, status: str
) -> None:
    assert supervision_thresholds(today, CAL).status(due) == status


def test_thresholds_agree_everywhere_in_a_holiday_season() -> None:
    for offset in range(0, 90):
        today = D(2026, 9, 1) + dt.timedelta(days=offset)
        thresholds = supervision_thresholds(today, CAL)
        for back in range(-20, 20):
            due = today + dt.timedelta(days=back)
            assert thresholds.status(due) == supervision_status(due, today, CAL), (due, today)


def test_ladder_in_an_unknown_year_with_overrides() -> None:
    cal = WorkCalendar({D(2027, 2, 8): False})  # a staff-declared holiday, Monday
    # due Friday 2027-02-05: weekend and the Monday holiday stay warning, Tuesday yellow
    assert supervision_status(D(2027, 2, 5), D(2027, 2, 8), cal) == "warning"
    assert supervision_status(D(2027, 2, 5), D(2027, 2, 9), cal) == "yellow"
    assert supervision_status(D(2027, 2, 5), D(2027, 2, 10), cal) == "red"
