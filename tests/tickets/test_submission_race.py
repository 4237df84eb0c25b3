"""Two retries of one submission at once, on two app servers: the first key's INSERT is not yet
committed when the second looks for it, so the second's INSERT meets the unique key, waits for
the first transaction and returns the first ticket; one ticket, and neither request fails. A race
PostgreSQL lets happen; SQLite serialises writers, so the test runs on PostgreSQL only."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import Database
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
    database = Database(database_url)
    first, second = database.session(), database.session()
    try:
        mine = _submit(first)
        theirs: dict[str, Any] = {}

        def retry() -> None:
            try:  # finds no ticket yet, then its INSERT waits on the key until the first commits
                theirs["ticket"] = _submit(second)
                theirs["id"] = theirs["ticket"].id
                second.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                theirs["error"] = error

        thread = threading.Thread(target=retry)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the retry's insert should wait for the first transaction"
        first.commit()
        thread.join(10)
        assert "error" not in theirs, theirs.get("error")
        assert theirs["id"] == mine.id
        count = first.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.idempotency_key == "k-race")
        )
        assert count == 1
    finally:
        first.close()
        second.close()
        database.dispose()
