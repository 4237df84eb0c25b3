"""Staffing (话务量预估 → 值班表): the coming week's calls per half hour, forecast from the last
weeks, and the seats each half hour needs for the seed's targets, by Erlang C.

Erlang C is implemented here (a few lines, below): no maintained Python library fits without
pulling in a large dependency for one formula (choice). With A = arrivals × handling time ÷ 1800 s
erlangs offered in a half hour and N seats (N > A), the probability that a call waits is

    C(N, A) = (A^N / N!) · N/(N − A) / (Σ_{k<N} A^k / k! + A^N / N! · N/(N − A)),

the average wait (平均排队时间) is C · AHT / (N − A), and the share answered within t seconds is
1 − C · e^(−(N − A) · t / AHT).

(choice) Erlang C has no abandonment, so 接通率 ≥ 85% is read as "at least 85% of callers are
answered within their patience", PATIENCE_SECONDS (60 s): a caller still waiting after a minute
is taken to hang up. The seats needed are the fewest N meeting both ASA ≤ 25 s and that.

Forecast (choice): for each weekday and half hour, the mean number of calls offered in that slot
over the last WEEKS weeks (the switchboard's ``offered_date`` and ``offered_hour``, local, and the
minute of the offer: exact for zones whose offset is whole hours, as Asia/Shanghai); the handling
time is the mean of those weeks' answered calls (DEFAULT_AHT_SECONDS without any). One GROUP BY.

Chats (the bot's hand-offs to staff) are a second queue with the same targets, forecast the same
way from ``chat_handoffs.handed_off_at``: PostgreSQL groups by the local half hour; SQLite, which
has no time-zone database, groups by the UTC half hour, mapped to the local one here (exact for
zones whose offset is a whole or half hour). The chat handling time is the mean from pick-up to
end of those weeks' chats. (choice) A staff member holds up to CHAT_CONCURRENCY chats at once, so
Erlang C runs with a handling time CHAT_CONCURRENCY times shorter (a seat serving k chats at once
works like a seat k times as fast); the roster shows call seats and chat seats and their sum.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, and_, case, cast, extract, func, select
from sqlalchemy.orm import Session

from analysis.figures import TARGET_ANSWER_RATE, TARGET_WAIT_SECONDS
from analysis.periods import Period, utc_bounds
from bot.engine.models import Handoff
from calls.models import Call
from core.db import session_timezone

WEEKS = 4
SLOTS = 48  # half hours a day
SLOT_SECONDS = 1800
PATIENCE_SECONDS = 60.0
DEFAULT_AHT_SECONDS = 180.0
DEFAULT_CHAT_AHT_SECONDS = 300.0
CHAT_CONCURRENCY = 3  # chats one staff member holds at once (choice)
MAX_SEATS = 500


def erlang_c(seats: int, erlangs: float) -> float:
    """The probability that a call waits (1.0 when the seats cannot keep up)."""
    if erlangs <= 0:
        return 0.0
    if seats <= erlangs:
        return 1.0
    term, total = 1.0, 1.0  # A^k / k!, summed for k < N (iteratively, no overflow)
    for k in range(1, seats):
        term *= erlangs / k
        total += term
    top = term * erlangs / seats * seats / (seats - erlangs)
    return top / (total + top)


def average_wait(seats: int, erlangs: float, aht: float) -> float:
    if erlangs <= 0:
        return 0.0
    if seats <= erlangs:
        return math.inf
    return erlang_c(seats, erlangs) * aht / (seats - erlangs)


def answered_within(seats: int, erlangs: float, aht: float, seconds: float) -> float:
    if erlangs <= 0:
        return 1.0
    if seats <= erlangs:
        return 0.0
    return 1.0 - erlang_c(seats, erlangs) * math.exp(-(seats - erlangs) * seconds / aht)


def seats_needed(
    calls: float,
    aht: float,
    *,
    wait_target: float = TARGET_WAIT_SECONDS,
    answer_target: float = TARGET_ANSWER_RATE / 100,
    patience: float = PATIENCE_SECONDS,
) -> int:
    """The fewest seats for ``calls`` arrivals in a half hour of ``aht`` seconds each."""
    erlangs = calls * aht / SLOT_SECONDS
    if erlangs <= 0:
        return 0
    seats = max(1, math.floor(erlangs) + 1)
    while seats < MAX_SEATS:
        if (
            average_wait(seats, erlangs, aht) <= wait_target
            and answered_within(seats, erlangs, aht, patience) >= answer_target
        ):
            return seats
        seats += 1
    return MAX_SEATS


@dataclass(frozen=True)
class Slot:
    day: dt.date
    slot: int  # 0..47: 00:00, 00:30, …
    calls: float
    call_seats: int
    chats: float = 0.0
    chat_seats: int = 0

    @property
    def starts(self) -> str:
        return f"{self.slot // 2:02d}:{30 * (self.slot % 2):02d}"

    @property
    def seats(self) -> int:
        return self.call_seats + self.chat_seats


@dataclass(frozen=True)
class Roster:
    week_start: dt.date  # the Monday of the forecast week
    weeks: int
    aht: float
    slots: list[Slot]  # 7 × 48, by day then slot
    chat_aht: float = DEFAULT_CHAT_AHT_SECONDS
    chat_concurrency: int = CHAT_CONCURRENCY

    def grid(self) -> list[tuple[str, list[Slot]]]:
        """Half hours down, days across: (start time, the seven days' slots)."""
        by_day = [self.slots[d * SLOTS : (d + 1) * SLOTS] for d in range(7)]
        return [(by_day[0][s].starts, [by_day[d][s] for d in range(7)]) for s in range(SLOTS)]

    @property
    def seat_hours(self) -> float:
        return sum(slot.seats for slot in self.slots) / 2


Totals = list[list[int]]  # [weekday][half hour]


def _call_totals(session: Session, since: dt.date, until: dt.date) -> tuple[Totals, float]:
    """Calls offered per weekday and local half hour in [since, until), and their handling time."""
    half = case((extract("minute", Call.offered_at) >= 30, 1), else_=0)
    in_range = and_(
        Call.offered_date >= since,
        Call.offered_date < until,
        Call.offered_at.is_not(None),
    )
    rows = session.execute(
        select(Call.offered_date, Call.offered_hour, half, func.count())
        .where(in_range)
        .group_by(Call.offered_date, Call.offered_hour, half)
    ).all()
    aht_value = session.scalar(
        select(func.avg(Call.handling_seconds)).where(in_range, Call.handling_seconds.is_not(None))
    )
    totals = [[0] * SLOTS for _ in range(7)]
    for day, hour, second_half, count in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        totals[day.weekday()][2 * int(hour) + int(second_half)] += int(count)
    return totals, float(aht_value) if aht_value else DEFAULT_AHT_SECONDS


def _chat_totals(session: Session, since: dt.date, until: dt.date) -> tuple[Totals, float]:
    """Hand-offs per weekday and local half hour in [since, until), and their handling time."""
    start, end = utc_bounds(session, Period(since, until - dt.timedelta(days=1)))
    queued = Handoff.handed_off_at
    in_range = and_(queued >= start, queued < end)
    totals = [[0] * SLOTS for _ in range(7)]
    timezone = session_timezone(session)
    handled: Any
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(timezone, queued)
        keys: Sequence[Any] = (
            cast(local, Date()),
            extract("hour", local),
            case((extract("minute", local) >= 30, 1), else_=0),
        )
        rows: Sequence[Any] = session.execute(
            select(*keys, func.count()).where(in_range).group_by(*keys)
        ).all()
        for day, hour, second_half, count in rows:
            totals[day.weekday()][2 * int(hour) + int(second_half)] += int(count)
        handled = extract("epoch", Handoff.ended_at - Handoff.picked_up_at)
    else:
        zone = ZoneInfo(timezone)
        minute = cast(func.strftime("%M", queued), Integer())
        keys = (func.strftime("%Y-%m-%d %H", queued), case((minute >= 30, 1), else_=0))
        rows = session.execute(select(*keys, func.count()).where(in_range).group_by(*keys)).all()
        for hour, second_half, count in rows:
            utc = dt.datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
            moment = (utc + dt.timedelta(minutes=30 * int(second_half))).astimezone(zone)
            totals[moment.weekday()][2 * moment.hour + moment.minute // 30] += int(count)
        handled = (func.julianday(Handoff.ended_at) - func.julianday(Handoff.picked_up_at)) * 86400
    aht_value = session.scalar(
        select(func.avg(handled)).where(
            in_range, Handoff.picked_up_at.is_not(None), Handoff.ended_at.is_not(None)
        )
    )
    return totals, float(aht_value) if aht_value else DEFAULT_CHAT_AHT_SECONDS


def forecast(session: Session, week_start: dt.date, *, weeks: int = WEEKS) -> Roster:
    """The forecast and seats for the week starting on Monday ``week_start``, from the ``weeks``
    weeks before it: calls and chats, each its own queue."""
    since = week_start - dt.timedelta(days=7 * weeks)
    calls, aht = _call_totals(session, since, week_start)
    chats, chat_aht = _chat_totals(session, since, week_start)
    chat_seat_time = chat_aht / CHAT_CONCURRENCY
    slots = []
    for weekday in range(7):
        for slot in range(SLOTS):
            offered = calls[weekday][slot] / weeks
            handed_off = chats[weekday][slot] / weeks
            slots.append(
                Slot(
                    week_start + dt.timedelta(days=weekday),
                    slot,
                    offered,
                    seats_needed(offered, aht),
                    handed_off,
                    seats_needed(handed_off, chat_seat_time),
                )
            )
    return Roster(week_start, weeks, aht, slots, chat_aht, CHAT_CONCURRENCY)
