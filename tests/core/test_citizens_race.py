"""Two requests creating the same citizen at once (a retry on the other app server, two first
messages together): one citizen, and neither request fails. A race PostgreSQL lets happen;
SQLite serialises writers, so the test runs on PostgreSQL only."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import Database
from directory.citizens import get_or_create_citizen
from directory.models import ChannelIdentity


def test_a_concurrent_first_contact_makes_one_citizen(
    app: Any, database_url: str, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the race cannot happen there")
    database = Database(database_url)
    first, second = database.session(), database.session()
    try:
        mine = get_or_create_citizen(first, "web", "phone:13800138000", phone="13800138000")
        theirs: dict[str, Any] = {}

        def other_request() -> None:
            try:  # blocks on the unique key until the first commits
                theirs["citizen"] = get_or_create_citizen(second, "web", "phone:13800138000")
                second.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                theirs["error"] = error

        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second insert should wait for the first transaction"
        first.commit()
        thread.join(10)
        assert "error" not in theirs, theirs.get("error")
        assert theirs["citizen"].id == mine.id
        count = first.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(ChannelIdentity.external_id == "phone:13800138000")
        )
        assert count == 1
    finally:
        first.close()
        second.close()
        database.dispose()
