"""Working-day deadlines and the red/yellow card ladder (红黄牌预警).

The rules are in ``shared/spec/workflow.md``. Counting follows Chinese administrative practice
(期间开始之日不计算在内): the dispatch day itself is not counted, and a deadline of N working days
falls on the N-th working day after the dispatch date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar

from core.errors import DomainError
from core.i18n import N_

# Total deadline (department review + handling) and the review part, in working days.
TOTAL_DAYS = {
    "consultation": 5,
    "complaint": 15,
    "suggestion": 15,
    "praise": 15,
    "report": 30,
}
REVIEW_DAYS = 3
RETURN_TOTAL_CHOICES = (5, 15)  # the reviewer's choice when returning to the same department


@lru_cache(maxsize=4096)
def _official_workday(day: dt.date) -> bool | None:
    """The State Council schedule as the calendar package knows it; None for unknown years."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


class WorkCalendar:
    """Which dates are working days: the official schedule, then staff overrides on top.

    For a year the package does not know yet, Monday–Friday are working days unless staff
    override a date (holidays and 调休 days are published each November for the next year).
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        official = _official_workday(day)
        if official is not None:
            return official
        return day.weekday() < 5

    def knows_year(self, year: int) -> bool:
        return _official_workday(dt.date(year, 6, 1)) is not None

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (``day`` itself never counts); n must be >= 0.

        ``add_workdays(d, 0)`` is ``d`` itself.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        current = day
        remaining = n
        while remaining:
            current += dt.timedelta(days=1)
            if self.is_workday(current):
                remaining -= 1
        return current

    def previous_workday(self, day: dt.date, *, inclusive: bool = False) -> dt.date:
        current = day if inclusive else day - dt.timedelta(days=1)
        while not self.is_workday(current):
            current -= dt.timedelta(days=1)
        return current

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open interval (start, end]."""
        count, current = 0, start
        while current < end:
            current += dt.timedelta(days=1)
            count += self.is_workday(current)
        return count


@dataclass(frozen=True)
class DueDates:
    review: dt.date
    handling: dt.date
    total_days: int


class InvalidDeadline(DomainError):
    pass


def due_dates(
    kind: str, dispatch_date: dt.date, calendar: WorkCalendar, *, total_days: int | None = None
) -> DueDates:
    """Review and handling due dates for a ticket dispatched on ``dispatch_date``.

    ``total_days`` is the reviewer's 5/15 choice for a returned ticket (退回原部门重新处理);
    without it the kind's normal total applies.
    """
    if kind not in TOTAL_DAYS:
        raise InvalidDeadline(N_("Unknown ticket kind: %(kind)s"), kind=kind)
    if total_days is None:
        total = TOTAL_DAYS[kind]
    elif total_days in RETURN_TOTAL_CHOICES:
        total = total_days
    else:
        raise InvalidDeadline(N_("The handling deadline must be 5 or 15 working days."))
    return DueDates(
        review=calendar.add_workdays(dispatch_date, REVIEW_DAYS),
        handling=calendar.add_workdays(dispatch_date, total),
        total_days=total,
    )


def supervision_status(due: dt.date, today: dt.date, calendar: WorkCalendar) -> str:
    """正常 / 预警 / 黄牌 / 红牌 on calendar date ``today`` for a deadline ``due``.

    - normal: today < due
    - warning: today == due, and non-working days after due before the next working day
    - yellow: today is the first working day after due
    - red: the second working day after due, or later
    """
    if today < due:
        return "normal"
    late_workdays = calendar.workdays_between(due, today)
    if late_workdays == 0:
        return "warning"
    if late_workdays == 1:
        return "yellow"
    return "red"


@dataclass(frozen=True)
class SupervisionThresholds:
    """Due-date boundaries that turn the ladder into range tests for one set-based UPDATE.

    The ladder counts the working days in (due, today]: none → warning, one → yellow, two or
    more → red. With w1 the latest working day on or before today and w2 the one before it:
    due > today → normal; w1 <= due <= today → warning; w2 <= due < w1 → yellow; due < w2 → red.
    """

    today: dt.date
    warning_from: dt.date
    yellow_from: dt.date

    def status(self, due: dt.date) -> str:
        if due > self.today:
            return "normal"
        if due >= self.warning_from:
            return "warning"
        if due >= self.yellow_from:
            return "yellow"
        return "red"


def supervision_thresholds(today: dt.date, calendar: WorkCalendar) -> SupervisionThresholds:
    w1 = calendar.previous_workday(today, inclusive=True)
    w2 = calendar.previous_workday(w1)
    return SupervisionThresholds(today=today, warning_from=w1, yellow_from=w2)
