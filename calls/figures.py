"""Call figures per queue and per hour of one local day: offered, answered, abandoned,
人工接通率, average and 90th-percentile wait, average handling time.

The definitions are data (:data:`FIGURES`, Chinese and English), written once, so a screen can
show them beside the numbers. A call counts on the local date and hour (config ``TIMEZONE``)
it was **offered**: a call offered at 23:59 and answered at 00:01 is an answered call of the
23:00 hour of the first day, with a two-minute wait; a call still waiting counts as offered
only. Calls whose offer event has not arrived are not counted anywhere yet.

Computed in SQL, set-based: one aggregate and one percentile (window function) statement per
grouping (queue × hour, queue, whole day) over the ``(offered_date, queue, offered_hour)``
index, so a day costs the same with millions of calls in the table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from calls.models import Call

P90 = 90  # the percentile of "90th-percentile wait" (nearest rank)


@dataclass(frozen=True)
class Figure:
    key: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    unit: str  # "calls", "percent" or "seconds"


FIGURES: tuple[Figure, ...] = (
    Figure(
        "offered",
        "呼入量",
        "Offered",
        "该小时（本地时间）进入排队的来电数，按进入排队的时间计，跨零点的来电算在进入排队的那一天。",
        "Calls that reached the queue in the hour (local time), counted by when they were "
        "offered, also when they end after midnight.",
        "calls",
    ),
    Figure(
        "answered",
        "人工接通量",
        "Answered",
        "上述来电中由话务员接起的来电数（无论何时接起）。",
        "Of those calls, the ones an agent answered (whenever the answer came).",
        "calls",
    ),
    Figure(
        "abandoned",
        "放弃量",
        "Abandoned",
        "上述来电中话务员接起前来电人挂断的来电数。",
        "Of those calls, the ones whose caller hung up before an agent answered.",
        "calls",
    ),
    Figure(
        "answer_rate",
        "人工接通率",
        "Answer rate",
        "人工接通量 ÷ 呼入量 × 100%；仍在排队的来电计入呼入量；无呼入时为空。",
        "Answered ÷ offered × 100%; calls still waiting count as offered; empty when nothing "
        "was offered.",
        "percent",
    ),
    Figure(
        "avg_wait",
        "平均排队时长",
        "Average wait",
        "已接通来电从进入排队到接起的平均秒数（放弃的来电不计）。",
        "Mean seconds from offer to answer over answered calls (abandoned calls not included).",
        "seconds",
    ),
    Figure(
        "p90_wait",
        "90%排队时长",
        "90th-percentile wait",
        "已接通来电中至少 90% 的排队时长不超过的秒数（最近秩法）。",
        "The wait, in seconds, that at least 90% of answered calls did not exceed (nearest rank).",
        "seconds",
    ),
    Figure(
        "avg_handling",
        "平均通话时长",
        "Average handling time",
        "已接通且已结束的来电从接起到挂断的平均秒数。",
        "Mean seconds from answer to hang-up over answered calls that have ended.",
        "seconds",
    ),
)

FIGURES_BY_KEY = {figure.key: figure for figure in FIGURES}


@dataclass
class FigureRow:
    """One cell of the table: a queue (None: all queues) and an hour (None: the whole day)."""

    queue: str | None
    hour: int | None
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    avg_wait: float | None = None
    p90_wait: int | None = None
    avg_handling: float | None = None

    @property
    def answer_rate(self) -> float | None:
        return None if not self.offered else 100.0 * self.answered / self.offered

    def value(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class DayFigures:
    day: dt.date
    by_queue_hour: list[FigureRow] = field(default_factory=list)  # only hours with calls
    by_queue: list[FigureRow] = field(default_factory=list)
    total: FigureRow | None = None

    @property
    def queues(self) -> list[str]:
        return [row.queue for row in self.by_queue if row.queue is not None]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _rows(session: Session, day: dt.date, *, by_queue: bool, by_hour: bool) -> list[FigureRow]:
    queue = Call.queue if by_queue else literal(None).label("queue")
    hour = Call.offered_hour if by_hour else literal(None).label("hour")
    groups = [c for c, on in ((Call.queue, by_queue), (Call.offered_hour, by_hour)) if on]
    answered = Call.answered_at.is_not(None)
    on_day = and_(Call.offered_date == day, Call.offered_at.is_not(None))
    aggregate = (
        select(
            queue.label("queue"),
            hour.label("hour"),
            func.count().label("offered"),
            func.count(Call.answered_at).label("answered"),
            func.coalesce(
                func.sum(case((and_(Call.abandoned_at.is_not(None), ~answered), 1), else_=0)), 0
            ).label("abandoned"),
            func.avg(case((answered, Call.wait_seconds))).label("avg_wait"),
            func.avg(case((answered, Call.handling_seconds))).label("avg_handling"),
        )
        .where(on_day)
        .group_by(*groups)
    )
    # nearest rank: the smallest wait whose rank r satisfies r >= 0.9 n, i.e. 10 r >= 9 n
    ranked = (
        select(
            *groups,
            Call.wait_seconds.label("wait"),
            func.row_number()
            .over(partition_by=groups or None, order_by=Call.wait_seconds)
            .label("rank"),
            func.count().over(partition_by=groups or None).label("n"),
        )
        .where(on_day, answered, Call.wait_seconds.is_not(None))
        .subquery()
    )
    rank_groups = [ranked.c[c.key] for c in groups]
    p90 = (
        select(*rank_groups, func.min(ranked.c.wait).label("p90"))
        .where(ranked.c.rank * 100 >= ranked.c.n * P90)
        .group_by(*rank_groups)
    )
    p90_by_group = {tuple(row[:-1]): row[-1] for row in session.execute(p90)}
    rows = []
    for row in session.execute(aggregate):
        key = tuple(v for v, on in ((row.queue, by_queue), (row.hour, by_hour)) if on)
        rows.append(
            FigureRow(
                queue=row.queue if by_queue else None,
                hour=row.hour if by_hour else None,
                offered=int(row.offered),
                answered=int(row.answered),
                abandoned=int(row.abandoned),
                avg_wait=_float(row.avg_wait),
                p90_wait=None if p90_by_group.get(key) is None else int(p90_by_group[key]),
                avg_handling=_float(row.avg_handling),
            )
        )
    rows.sort(key=lambda r: (r.queue or "", -1 if r.hour is None else r.hour))
    return rows


def day_figures(session: Session, day: dt.date) -> DayFigures:
    """The figures of the local date ``day``: per queue and hour, per queue, and in total."""
    totals = _rows(session, day, by_queue=False, by_hour=False)
    return DayFigures(
        day=day,
        by_queue_hour=_rows(session, day, by_queue=True, by_hour=True),
        by_queue=_rows(session, day, by_queue=True, by_hour=False),
        total=totals[0] if totals else None,
    )
