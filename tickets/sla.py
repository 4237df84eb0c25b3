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


# -- working hours (deadline policies, tickets.policies) ----------------------------------------

DEFAULT_WORKING_HOURS = "08:30-12:00,14:30-17:30"


class WorkingHours:
    """The periods of a working day (e.g. 08:30–12:00 and 14:30–17:30) on the calendar's working
    days; holidays and 调休 days come from the :class:`WorkCalendar`.

    Times are local wall-clock times; the caller converts to and from UTC.
    """

    def __init__(self, periods: tuple[tuple[dt.time, dt.time], ...]) -> None:
        if not periods:
            raise InvalidDeadline(N_("Give at least one working period, e.g. 08:30-12:00."))
        previous_end: dt.time | None = None
        for start, end in periods:
            if start >= end or (previous_end is not None and start < previous_end):
                raise InvalidDeadline(
                    N_("Working periods must be in order and must not overlap: %(text)s"),
                    text=format_working_hours(periods),
                )
            previous_end = end
        self.periods = periods

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """``"08:30-12:00,14:30-17:30"`` → two periods."""
        periods: list[tuple[dt.time, dt.time]] = []
        for part in (text or "").replace("，", ",").split(","):
            part = part.strip().replace("–", "-")
            if not part:
                continue
            try:
                start_text, end_text = part.split("-")
                start, end = _clock_time(start_text), _clock_time(end_text)
            except ValueError:
                raise InvalidDeadline(
                    N_("Working hours are periods like 08:30-12:00,14:30-17:30, not %(text)s."),
                    text=part,
                ) from None
            periods.append((start, end))
        return cls(tuple(periods))

    def __str__(self) -> str:
        return format_working_hours(self.periods)

    def add(self, start: dt.datetime, minutes: int, calendar: WorkCalendar) -> dt.datetime:
        """The local moment ``minutes`` of working time after ``start`` (naive or aware, local).

        Time outside the periods (nights, the lunch break, weekends, holidays) does not count;
        a deadline that ends exactly at a period's end stays there (12:00, not 14:30).
        """
        if minutes <= 0:
            raise InvalidDeadline(N_("A working-hour deadline must be at least one minute."))
        remaining = dt.timedelta(minutes=minutes)
        cursor = start
        day = start.date()
        for _ in range(800):  # more than two years of days: the calendar always has workdays
            if calendar.is_workday(day):
                for period_start, period_end in self.periods:
                    begin = dt.datetime.combine(day, period_start, tzinfo=start.tzinfo)
                    end = dt.datetime.combine(day, period_end, tzinfo=start.tzinfo)
                    segment_start = max(cursor, begin)
                    if segment_start >= end:
                        continue
                    available = end - segment_start
                    if remaining <= available:
                        return segment_start + remaining
                    remaining -= available
            day += dt.timedelta(days=1)
            cursor = dt.datetime.combine(day, dt.time(0, 0), tzinfo=start.tzinfo)
        raise InvalidDeadline(N_("No working time in the calendar for this deadline."))


def _clock_time(text: str) -> dt.time:
    """``"8:30"`` or ``"08:30"`` → 08:30; ValueError otherwise."""
    hour, _, minute = text.strip().partition(":")
    if not (hour.isascii() and hour.isdigit() and minute.isascii() and minute.isdigit()):
        raise ValueError(text)
    return dt.time(int(hour), int(minute))


def format_working_hours(periods: tuple[tuple[dt.time, dt.time], ...]) -> str:
    return ",".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in periods)


def moment_supervision_status(
    due: dt.date,
    due_at: dt.datetime | None,
    now: dt.datetime,
    today: dt.date,
    calendar: WorkCalendar,
) -> str:
    """The ladder for a deadline that may end at a working hour (``due_at``, on date ``due``).

    **(choice)** The cards still count working days after the due date, as for the seed's
    rules; a deadline at a working hour that has passed is late at once: on its own day it is
    yellow instead of warning. Without ``due_at`` (the deadline lasts to the end of its day)
    this is :func:`supervision_status`.
    """
    status = supervision_status(due, today, calendar)
    if due_at is not None and status == "warning" and now >= due_at:
        return "yellow"
    return status
