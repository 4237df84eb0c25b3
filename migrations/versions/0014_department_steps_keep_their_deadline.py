"""A department's steps keep their deadline: on ticket_events, the due date an accept, a return to
the operator or a reply was due by and the local date its clock started, written when the step
happens, so that the dashboard's department figures read the range's events alone (no join with
their tickets, no reconstruction of earlier clocks). Existing steps are filled in: those on the
ticket's current clock from the ticket, the rest from the latest dispatch, transfer or return
before them with the seed's deadline rules (what the dashboard computed until now).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 07:20:00
"""

import datetime as dt
import os
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

import core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JUDGED = ("accept", "return_to_operator", "reply")
STARTS = ("dispatch", "transfer", "return_to_department")

events = sa.table(
    "ticket_events",
    sa.column("id", sa.Integer()),
    sa.column("ticket_id", sa.Integer()),
    sa.column("at", core.db.UTCDateTime(timezone=True)),
    sa.column("action", sa.String()),
    sa.column("due_date", sa.Date()),
    sa.column("clock_start", sa.Date()),
)
tickets = sa.table(
    "tickets",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("total_days", sa.Integer()),
    sa.column("dispatched_at", core.db.UTCDateTime(timezone=True)),
    sa.column("dispatch_date", sa.Date()),
    sa.column("review_due", sa.Date()),
    sa.column("handling_due", sa.Date()),
)


def upgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("clock_start", sa.Date(), nullable=True))
    _fill_current_clocks()
    _fill_earlier_clocks()


def _fill_current_clocks() -> None:
    """Steps on the ticket's current clock: its dates now are the ones the step ran on."""
    ticket = tickets.alias("t")
    of_ticket = ticket.c.id == events.c.ticket_id
    due = sa.case(
        (events.c.action == "reply", ticket.c.handling_due), else_=ticket.c.review_due
    )
    op.execute(
        events.update()
        .where(
            events.c.action.in_(JUDGED),
            events.c.at >= sa.select(ticket.c.dispatched_at).where(of_ticket).scalar_subquery(),
        )
        .values(
            due_date=sa.select(due).where(of_ticket).scalar_subquery(),
            clock_start=sa.select(ticket.c.dispatch_date).where(of_ticket).scalar_subquery(),
        )
    )


def _fill_earlier_clocks() -> None:
    """Steps of a clock that a later dispatch replaced (and returns to the operator, whose
    ticket's deadlines were cleared): from the latest start before the step."""
    from tickets.calendar import load_calendar
    from tickets.sla import TOTAL_DAYS, due_dates

    bind = op.get_bind()
    zone = ZoneInfo(os.environ.get("HOTLINE_TIMEZONE", "Asia/Shanghai"))
    with Session(bind=bind) as session:
        calendar = load_calendar(session)
    pending = bind.execute(
        sa.select(events.c.id, events.c.ticket_id, events.c.action)
        .where(events.c.action.in_(JUDGED), events.c.due_date.is_(None))
        .order_by(events.c.id)
    ).all()
    for event_id, ticket_id, action in pending:
        start = bind.execute(
            sa.select(events.c.action, events.c.at)
            .where(
                events.c.ticket_id == ticket_id,
                events.c.action.in_(STARTS),
                events.c.id < event_id,
            )
            .order_by(events.c.id.desc())
            .limit(1)
        ).first()
        kind, total = bind.execute(
            sa.select(tickets.c.kind, tickets.c.total_days).where(tickets.c.id == ticket_id)
        ).one()
        if start is None or kind not in TOTAL_DAYS:
            continue
        started: dt.date = start.at.astimezone(zone).date()
        dues = due_dates(
            kind,
            started,
            calendar,
            total_days=total if start.action == "return_to_department" else None,
        )
        bind.execute(
            events.update()
            .where(events.c.id == event_id)
            .values(
                due_date=dues.handling if action == "reply" else dues.review,
                clock_start=started,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("clock_start")
        batch.drop_column("due_date")
