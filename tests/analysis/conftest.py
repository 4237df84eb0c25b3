"""Helpers to build a hand-checked history: each workflow step runs on the clock frozen at the
moment given, so events, surveys and deadlines carry those dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import clock
from directory.citizens import get_or_create_citizen
from tickets import workflow
from tickets.access import CitizenActor
from tickets.models import Ticket


@pytest.fixture
def new_ticket(db: Session, departments: Any) -> Callable[..., Ticket]:
    counter = iter(range(1, 10_000))

    def make(
        when: dt.datetime, *, kind: str = "complaint", channel: str = "web", user: str | None = None
    ) -> Ticket:
        with clock.frozen(when):
            citizen = get_or_create_citizen(db, channel, user or f"{channel}-{next(counter)}")
            ticket = workflow.submit_ticket(
                db,
                workflow.TicketDraft(
                    kind=kind,
                    description="路灯不亮已经一周了，晚上很危险。",
                    title="路灯不亮",
                    address="香洲区吉大路1号",
                    contact_name="李四",
                    phone="13800138000",
                ),
                actor=CitizenActor(citizen.id, channel),
                channel=channel,
                citizen=citizen,
            )
        db.commit()
        return ticket

    return make


@pytest.fixture
def step(db: Session) -> Callable[..., Any]:
    """``step(when, workflow.accept_ticket, ticket, actor=...)``: one step at a moment."""

    def run(when: dt.datetime, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with clock.frozen(when):
            result = function(db, *args, **kwargs)
        db.commit()
        return result

    return run
