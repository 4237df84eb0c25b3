"""Readable ticket numbers and unguessable query codes.

A number is the local date and a per-day sequence, e.g. ``261123000042``: short enough to read
aloud on the phone, unique under concurrent submission because the per-day counter row is
moved with one atomic upsert … RETURNING (a row lock on PostgreSQL, the write lock on SQLite).
The query code is random, so knowing a number is not enough to read a ticket.

A citizen's submission takes its number ``at_once``: on PostgreSQL the counter moves in a short
transaction of its own, so concurrent submissions wait on the counter row for one statement, not
for the whole of each other's submission. A submission that fails after that leaves a gap in the
day's numbers: numbers are unique and increasing, not dense (as with any database sequence).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import TicketNumberCounter

QUERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
QUERY_CODE_LENGTH = 6


def next_ticket_number(session: Session, day: dt.date, *, at_once: bool = False) -> str:
    """The next number of ``day``. ``at_once``: committed at once on PostgreSQL, outside the
    session's transaction (SQLite's transaction holds the write lock from BEGIN anyway)."""
    bind = session.get_bind()
    dialect = bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(TicketNumberCounter)
        .values(day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["day"], set_={"last_value": TicketNumberCounter.last_value + 1}
        )
        .returning(TicketNumberCounter.last_value)
    )
    if at_once and dialect == "postgresql" and isinstance(bind, Engine):
        with bind.begin() as connection:
            value = connection.execute(statement).scalar_one()
    else:
        value = session.execute(statement).scalar_one()
    return f"{day:%y%m%d}{value:06d}"


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
