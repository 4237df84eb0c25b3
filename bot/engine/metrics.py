"""Chat service figures for the dashboard (spec: manual answer rate ≥ 85 %, average queue time
≤ 25 s). Computed in SQL over one period; the 90th percentile is read with ORDER BY … OFFSET on
the indexed period, which works the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.engine.models import Handoff, HandoffStatus

TARGET_PICKUP_RATE = 0.85  # 人工接通率
TARGET_AVERAGE_WAIT_SECONDS = 25.0  # 平均排队时间


@dataclass(frozen=True)
class ChatFigures:
    handed_off: int  # hand-offs in the period (a citizen joined a staff queue)
    picked_up: int
    cancelled: int  # the citizen left the queue, or staff closed a chat nobody took
    waiting: int  # still in a queue now
    pickup_rate: float | None  # picked_up / (handed_off − still waiting)
    average_wait_seconds: float | None
    p90_wait_seconds: float | None

    @property
    def meets_pickup_target(self) -> bool | None:
        return None if self.pickup_rate is None else self.pickup_rate >= TARGET_PICKUP_RATE

    @property
    def meets_wait_target(self) -> bool | None:
        if self.average_wait_seconds is None:
            return None
        return self.average_wait_seconds <= TARGET_AVERAGE_WAIT_SECONDS


def chat_figures(
    session: Session, *, since: dt.datetime, until: dt.datetime, queue: str | None = None
) -> ChatFigures:
    """Figures for hand-offs that started in [since, until)."""
    period = [Handoff.handed_off_at >= since, Handoff.handed_off_at < until]
    if queue:
        period.append(Handoff.queue == queue)
    row = session.execute(
        select(
            func.count(),
            func.count(Handoff.picked_up_at),
            func.sum(case((Handoff.status == HandoffStatus.WAITING.value, 1), else_=0)),
            func.avg(Handoff.wait_seconds),
        ).where(*period)
    ).one()
    total, picked, waiting, average = int(row[0]), int(row[1]), int(row[2] or 0), row[3]
    decided = total - waiting
    p90 = None
    if picked:
        # nearest-rank 90th percentile
        rank = math.ceil(0.9 * picked)
        p90 = session.scalar(
            select(Handoff.wait_seconds)
            .where(*period, Handoff.wait_seconds.is_not(None))
            .order_by(Handoff.wait_seconds)
            .offset(rank - 1)
            .limit(1)
        )
    return ChatFigures(
        handed_off=total,
        picked_up=picked,
        cancelled=decided - picked,
        waiting=waiting,
        pickup_rate=(picked / decided) if decided else None,
        average_wait_seconds=float(average) if average is not None else None,
        p90_wait_seconds=float(p90) if p90 is not None else None,
    )
