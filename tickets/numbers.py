"""Readable ticket numbers and unguessable query codes.

A number is the local date and a per-day sequence, e.g. ``261123000042``: short enough to read
aloud on the phone, unique under concurrent submission because the per-day counter row is
incremented with one atomic UPDATE … RETURNING (a row lock on PostgreSQL, the write lock on
SQLite). The query code is random, so knowing a number is not enough to read a ticket.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import TicketNumberCounter

QUERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
QUERY_CODE_LENGTH = 6


def next_ticket_number(session: Session, day: dt.date) -> str:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(TicketNumberCounter)
        .values(day=day, last_value=0)
        .on_conflict_do_nothing(index_elements=["day"])
    )
    value = session.execute(
        update(TicketNumberCounter)
        .where(TicketNumberCounter.day == day)
        .values(last_value=TicketNumberCounter.last_value + 1)
        .returning(TicketNumberCounter.last_value)
    ).scalar_one()
    return f"{day:%y%m%d}{value:06d}"


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
