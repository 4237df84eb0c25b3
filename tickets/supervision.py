"""Supervision status (监察状态) of every open ticket, refreshed by one set-based UPDATE.

The ladder (see :mod:`tickets.sla`) reduces to comparing each ticket's current due date with three
boundary dates computed once from the calendar, so the database does the whole job in one
statement over the indexed ``due_date`` column, writing only the rows whose status changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, update
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry
from tickets.calendar import SUPERVISION_LAST_RUN_KEY as LAST_RUN_KEY
from tickets.calendar import load_calendar, local_today
from tickets.models import Ticket
from tickets.sla import SupervisionThresholds, supervision_thresholds


def _status_expression(th: SupervisionThresholds, now: dt.datetime) -> Any:
    # A deadline at a working hour (deadline policies: ``due_at``) that has passed is late at
    # once: yellow on its own day (tickets.sla.moment_supervision_status). Only those rows have
    # ``due_at``; the others keep the seed's ladder on ``due_date`` alone.
    return case(
        (Ticket.due_date > th.today, "normal"),
        (and_(Ticket.due_date >= th.warning_from, Ticket.due_at <= now), "yellow"),
        (Ticket.due_date >= th.warning_from, "warning"),
        (Ticket.due_date >= th.yellow_from, "yellow"),
        else_="red",
    )


def refresh_supervision(
    session: Session,
    *,
    today: dt.date | None = None,
    full: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Bring every open ticket's 监察状态 up to date; return how many rows changed.

    The daily run only looks at due dates that can have moved up the ladder since the last run;
    ``full=True`` (or no previous run, or a calendar override since) sweeps every open ticket.
    ``now`` (default: the clock) is the moment deadlines at a working hour are compared with;
    the scheduler runs this every few minutes, so such a ticket turns yellow soon after its hour.
    """
    today = today or local_today(session)
    calendar = load_calendar(session)
    thresholds = supervision_thresholds(today, calendar)
    status = _status_expression(thresholds, now or clock.now())
    conditions = [Ticket.due_date.is_not(None), Ticket.supervision.is_distinct_from(status)]
    last = session.get(StateEntry, LAST_RUN_KEY)
    if not full and last is not None:
        last_day = dt.date.fromisoformat(last.value)
        if last_day <= today:
            # A due date after today is "normal" today and was yesterday; one before the last
            # run's yellow boundary was already red then. Only the band between can move.
            previous = supervision_thresholds(last_day, calendar)
            conditions.append(Ticket.due_date.between(previous.yellow_from, today))
    if session.get_bind().dialect.name == "postgresql":
        # JIT compilation made this statement ~40x slower on a million rows; it never pays here.
        session.connection().exec_driver_sql("SET LOCAL jit = off")
    result = session.execute(
        update(Ticket).where(and_(*conditions)).values(supervision=status),
        execution_options={"synchronize_session": False},
    )
    _remember_run(session, today)
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _remember_run(session: Session, today: dt.date) -> None:
    entry = session.get(StateEntry, LAST_RUN_KEY)
    if entry is None:
        session.add(StateEntry(key=LAST_RUN_KEY, value=today.isoformat(), updated_at=clock.now()))
    else:
        entry.value = today.isoformat()
        entry.updated_at = clock.now()
