"""Date ranges of local dates (config ``TIMEZONE``) and their UTC instants.

A figure's range is a pair of local dates, both included. The database stores UTC; a local day
is the half-open UTC interval [its midnight, the next midnight). In SQL, :func:`local_date`
gives the local date of a UTC column: PostgreSQL's own time-zone conversion, or on SQLite (which
has no time-zone database) a CASE over the local midnights of the period, computed in Python
with ``zoneinfo`` (right across daylight-saving changes in zones that have them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, case, cast, func, literal, null
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.db import session_timezone

MAX_DAYS = 190  # the longest range a screen may ask for: half a year


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length right before this one."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=n) for n in range(self.days)]


def local_midnight(day: dt.date, timezone: str) -> dt.datetime:
    """The UTC instant the local date ``day`` begins."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)


def utc_bounds(session: Session, period: Period) -> tuple[dt.datetime, dt.datetime]:
    """[first local midnight, the midnight after the last day) in UTC."""
    timezone = session_timezone(session)
    return (
        local_midnight(period.start, timezone),
        local_midnight(period.end + dt.timedelta(days=1), timezone),
    )


def local_date(session: Session, column: Any, period: Period) -> ColumnElement[dt.date]:
    """The local date (config ``TIMEZONE``) of the UTC instants in ``column`` that fall in
    ``period`` (NULL outside it). PostgreSQL converts with its time-zone database; elsewhere
    (SQLite has none) a CASE over the period's local midnights, computed here with ``zoneinfo``."""
    timezone = session_timezone(session)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(timezone, column), Date())
    whens: list[tuple[Any, Any]] = [(column < local_midnight(period.start, timezone), null())]
    for day in period.dates():
        whens.append(
            (column < local_midnight(day + dt.timedelta(days=1), timezone), literal(day, Date()))
        )
    return case(*whens, else_=null())


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week of ``day``."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)
