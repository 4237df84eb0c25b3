"""Two requests creating the same citizen at once (a retry on the other app server, two first
messages together): one citizen, and neither request fails. A race PostgreSQL lets happen;
SQLite serialises writers, so the test runs on PostgreSQL only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from directory.citizens import get_or_create_citizen
from directory.models import ChannelIdentity
from tests.races import racing


def test_a_concurrent_first_contact_makes_one_citizen(
    app: Any, database_url: str, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the race cannot happen there")
    with racing(
        database_url,
        lambda s: get_or_create_citizen(s, "web", "phone:13800138000", phone="13800138000"),
        lambda s: get_or_create_citizen(s, "web", "phone:13800138000"),
    ) as (mine, theirs, session):
        assert theirs == mine
        count = session.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(ChannelIdentity.external_id == "phone:13800138000")
        )
        assert count == 1
