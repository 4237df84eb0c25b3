"""The demo data shows every stage and every 监察状态 whatever day `make run` happens on.

This module runs under each "today" of the date matrix (tests/conftest.py): weekdays, a
weekend, the eve of Spring Festival, a 调休 Saturday, New Year's Eve and a day in 2027.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from directory.models import Department, StaffUser
from hotline.demo import seed_demo
from tests.conftest import TIMEZONE
from tickets.calendar import load_calendar
from tickets.models import Ticket, TicketEvent
from tickets.seed import DEMO_TICKETS

pytestmark = pytest.mark.date_matrix

CONFIG = {"TIMEZONE": TIMEZONE}


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _seeded(db: Session) -> dict[str, Ticket]:
    seed_demo(db, CONFIG)
    db.commit()
    return {t.title: t for t in db.scalars(select(Ticket))}


def test_seed_demo_is_safe_to_run_twice(runner, app) -> None:
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "hotline-demo" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    database = app.extensions["hotline_db"]
    with database.session() as session:
        assert len(session.scalars(select(Department)).all()) >= 30
        assert len(session.scalars(select(StaffUser)).all()) == 10
        stages = set(session.scalars(select(Ticket.stage)))
        cards = set(session.scalars(select(Ticket.supervision)))
        count = len(session.scalars(select(Ticket)).all())
    assert stages == {"submitted", "dept_review", "handling", "re_review", "callback", "closed"}
    assert {"yellow", "red", "warning", "normal"} <= cards
    assert count == len(DEMO_TICKETS)
    with database.session() as session:
        # the demo operator is the switchboard's agent 8001, once (the second run changes nothing)
        agents = dict(session.execute(select(StaffUser.username, StaffUser.agent_code)).all())
    assert agents["operator"] == "8001"
    assert sorted(code for code in agents.values() if code) == ["8001"]


def test_each_demo_ticket_reaches_its_rung(db: Session, pinned_today: dt.date) -> None:
    tickets = _seeded(db)
    expected = {
        "小区门口占道经营": ("dept_review", "normal"),
        "健身房关门无法退卡": ("dept_review", "yellow"),
        "建议增加夜间公交班次": ("handling", "normal"),
        "失业保险金申领条件": ("handling", "red"),
        "物业乱收停车费": ("handling", "warning"),
        "夜间施工噪音扰民": ("submitted", None),
        "表扬交警热心帮助": ("callback", None),
        "河道有异味": ("closed", None),
    }
    for title, (stage, card) in expected.items():
        assert (tickets[title].stage, tickets[title].supervision) == (stage, card), title
    # Dispatch dates are working days, counted back from the latest one on or before today.
    calendar = load_calendar(db)
    for ticket in tickets.values():
        if ticket.dispatch_date is not None:
            assert calendar.is_workday(ticket.dispatch_date), ticket.title
            assert ticket.dispatch_date <= pinned_today


def test_nothing_in_the_demo_happens_in_the_future(db: Session, pinned_today: dt.date) -> None:
    """Run at 07:00, before the demo's office hours, today's tickets are placed just before now,
    and every ticket's history still reads in order."""
    early = dt.datetime.combine(pinned_today, dt.time(7, 0), tzinfo=ZoneInfo(TIMEZONE))
    with clock.frozen(early):
        tickets = _seeded(db)
    for ticket in tickets.values():
        moments: list[Any] = [
            _aware(at)
            for at in db.scalars(
                select(TicketEvent.at)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.id)
            )
        ]
        assert moments and moments == sorted(moments), ticket.title
        assert moments[-1] <= early, ticket.title
        assert _aware(ticket.created_at) <= early
