"""Two retries of one submission at once, on two app servers: the first key's INSERT is not yet
committed when the second looks for it, so the second's INSERT meets the unique key, waits for
the first transaction and returns the first ticket; one ticket, and neither request fails. A race
PostgreSQL lets happen; SQLite serialises writers, so the test runs on PostgreSQL only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.races import racing
from tickets import workflow
from tickets.access import CitizenActor
from tickets.models import Ticket
from tickets.workflow import TicketDraft


def _submit(session: Any) -> Ticket:
    draft = TicketDraft(kind="complaint", description="路灯不亮", phone="13800138000")
    return workflow.submit_ticket(
        session, draft, actor=CitizenActor(None, "web"), channel="web", idempotency_key="k-race"
    )


def test_a_concurrent_retry_returns_the_first_ticket(
    app: Any, database_url: str, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the race cannot happen there")
    with racing(database_url, _submit, _submit) as (mine, theirs, session):
        assert theirs == mine
        count = session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.idempotency_key == "k-race")
        )
        assert count == 1
