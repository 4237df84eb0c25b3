"""Ticket history from a previous system (``flask --app app tickets import-history FILE.csv``).

A city that moves to this hotline brings its closed tickets along: they are searchable like any
ticket, count in statistics apart from the hotline's own (close reason ``history``, channel
``history``) and train the routing suggestion (``tickets.routing``).

The whole file is checked before anything is written: every bad line is reported at once (line,
column, why) and a file with any bad line changes nothing. A row with an ``external_id`` is
imported once: importing the same file again skips it (the id is kept as the ticket's
idempotency key, ``history:<external_id>``, under the table's unique constraint).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.db import session_timezone
from directory.models import Category, Department
from tickets.access import Actor, StaffUser, require
from tickets.models import CloseReason, Kind, Stage, Ticket, TicketEvent
from tickets.numbers import new_query_code, next_ticket_number

REQUIRED_COLUMNS = ("title", "description", "category", "department", "created_at")
OPTIONAL_COLUMNS = ("kind", "address", "reply", "external_id")
HISTORY_CHANNEL = "history"
IDEMPOTENCY_PREFIX = "history:"
EVENT_ACTION = "imported_history"
MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300
MAX_REPLY = 4000
MAX_EXTERNAL_ID = 150

# The kind column takes the code or the Chinese name; an empty kind is a complaint (choice: most
# of a hotline's tickets are complaints, and the kind only decides deadlines, which a closed
# ticket no longer has).
KIND_NAMES = {
    "咨询": Kind.CONSULTATION,
    "投诉": Kind.COMPLAINT,
    "建议": Kind.SUGGESTION,
    "表扬": Kind.PRAISE,
    "举报": Kind.REPORT,
    **{k.value: k for k in Kind},
}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class LineError:
    line: int  # the file's line number (the header is line 1)
    column: str
    reason: str


@dataclass(frozen=True)
class HistoryRow:
    line: int
    title: str
    description: str
    category_id: int | None
    department_id: int
    created_at: dt.datetime
    kind: str
    address: str | None
    reply: str | None
    external_id: str | None


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)  # ticket numbers
    skipped: int = 0  # rows whose external_id was imported before
    errors: list[LineError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Names:
    """Department and category by code or name (full, or without 市…局 as staff write them)."""

    def __init__(self, items: Iterable[Department | Category]) -> None:
        self.by_key: dict[str, int] = {}
        for item in items:
            for key in (item.code, item.name, getattr(item, "name_en", None)):
                if key:
                    self.by_key.setdefault(key.strip().lower(), item.id)
                    self.by_key.setdefault(_short(key.strip()), item.id)

    def find(self, value: str) -> int | None:
        value = value.strip()
        return self.by_key.get(value.lower()) or self.by_key.get(_short(value))


def _short(name: str) -> str:
    if name.startswith("市") and len(name) > 2:
        name = name[1:]
    for suffix in ("管理中心", "中心", "支队", "局"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _parse_moment(value: str, zone: ZoneInfo) -> dt.datetime | None:
    """An ISO date or time; without an offset it is the hotline's local time (a date alone:
    noon)."""
    value = value.strip()
    moment: dt.datetime | None = None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        for fmt in DATE_FORMATS:
            try:
                moment = dt.datetime.strptime(value, fmt).replace(tzinfo=zone)
                break
            except ValueError:
                continue
    if moment is None:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return None
        moment = dt.datetime(day.year, day.month, day.day, 12, tzinfo=zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.UTC)


class _Fields:
    """One CSV record's values and what is wrong with them."""

    def __init__(self, record: dict[str | None, Any], line: int) -> None:
        self.record = record
        self.line = line
        self.bad: list[LineError] = []

    def value(self, column: str) -> str:
        return str(self.record.get(column) or "").strip()

    def need(self, column: str, limit: int) -> str:
        text = self.value(column)
        if not text:
            self.bad.append(LineError(self.line, column, "required"))
        elif len(text) > limit:
            self.bad.append(LineError(self.line, column, f"longer than {limit} characters"))
        return text

    def optional(self, column: str, limit: int) -> str | None:
        text = self.value(column)
        if len(text) > limit:
            self.bad.append(LineError(self.line, column, f"longer than {limit} characters"))
        return text or None


def read_history(session: Session, text: str) -> tuple[list[HistoryRow], list[LineError]]:
    """Parse and check the whole CSV; the rows are good only when the errors are empty."""
    zone = ZoneInfo(session_timezone(session))
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[LineError] = []
    for column in REQUIRED_COLUMNS:
        if column not in header:
            errors.append(LineError(1, column, "missing column"))
    unknown = [h for h in header if h not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    for column in unknown:
        errors.append(LineError(1, column, "unknown column"))
    if errors:
        return [], errors
    reader.fieldnames = header
    departments = _Names(session.scalars(select(Department)))
    categories = _Names(session.scalars(select(Category)))
    now = clock.now()
    rows: list[HistoryRow] = []
    seen_ids: dict[str, int] = {}
    last_end = 1  # the header's line
    for record in reader:
        line = last_end + 1  # where the record starts (a quoted field may span lines)
        last_end = reader.line_num
        fields = _Fields(record, line)
        bad = fields.bad
        value, need, optional = fields.value, fields.need, fields.optional

        if None in record:  # more fields than the header has
            bad.append(LineError(line, "", "more fields than the header"))
        title = need("title", MAX_TITLE)
        description = need("description", MAX_DESCRIPTION)
        department_name = need("department", 100)
        department_id = departments.find(department_name) if department_name else None
        if department_name and department_id is None:
            bad.append(LineError(line, "department", f"unknown department {department_name!r}"))
        category_name = value("category")
        category_id = categories.find(category_name) if category_name else None
        if category_name and category_id is None:
            bad.append(LineError(line, "category", f"unknown category {category_name!r}"))
        created_text = need("created_at", 40)
        created_at = _parse_moment(created_text, zone) if created_text else None
        if created_text and created_at is None:
            bad.append(LineError(line, "created_at", "not a date or time (2024-05-01 09:30)"))
        elif created_at is not None and created_at > now:
            bad.append(LineError(line, "created_at", "in the future"))
        kind_text = value("kind")
        kind = KIND_NAMES.get(kind_text.lower() if kind_text.isascii() else kind_text)
        if kind_text and kind is None:
            bad.append(LineError(line, "kind", f"unknown kind {kind_text!r}"))
        address = optional("address", MAX_ADDRESS)
        reply = optional("reply", MAX_REPLY)
        external_id = optional("external_id", MAX_EXTERNAL_ID)
        if external_id is not None:
            if external_id in seen_ids:
                bad.append(LineError(line, "external_id", f"repeats line {seen_ids[external_id]}"))
            else:
                seen_ids[external_id] = line
        if bad:
            errors.extend(bad)
            continue
        assert department_id is not None and created_at is not None
        rows.append(
            HistoryRow(
                line=line,
                title=title,
                description=description,
                category_id=category_id,
                department_id=department_id,
                created_at=created_at,
                kind=(kind or Kind.COMPLAINT).value,
                address=address,
                reply=reply,
                external_id=external_id,
            )
        )
    return rows, errors


def import_history(session: Session, text: str, *, actor: Actor) -> ImportReport:
    """Import closed tickets from CSV text: all of it, or nothing when any line is bad."""
    require(actor, "import_history")
    report = ImportReport()
    rows, errors = read_history(session, text)
    if errors:
        report.errors = errors
        return report
    keys = [IDEMPOTENCY_PREFIX + r.external_id for r in rows if r.external_id]
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            k
            for k in session.scalars(
                select(Ticket.idempotency_key).where(
                    Ticket.idempotency_key.in_(keys[start : start + 500])
                )
            )
            if k
        )
    zone = ZoneInfo(session_timezone(session))
    now = clock.now()
    for row in rows:
        key = IDEMPOTENCY_PREFIX + row.external_id if row.external_id else None
        if key is not None and key in existing:
            report.skipped += 1
            continue
        local_day = row.created_at.astimezone(zone).date()
        ticket = Ticket(
            number=next_ticket_number(session, local_day),
            query_code=new_query_code(),
            kind=row.kind,
            category_id=row.category_id,
            title=row.title,
            description=row.description,
            address=row.address,
            channel=HISTORY_CHANNEL,
            anonymous=False,
            urgent=False,
            idempotency_key=key,
            stage=Stage.CLOSED.value,
            department_id=row.department_id,
            is_returned=False,
            needs_supervisor=False,
            reply=row.reply,
            replied_at=row.created_at if row.reply else None,
            # The old system's closing time is not in the file: the creation time stands in.
            closed_at=row.created_at,
            close_reason=CloseReason.HISTORY.value,
            created_at=row.created_at,
            updated_at=now,
        )
        session.add(ticket)
        session.flush()
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=now,
                action=EVENT_ACTION,
                actor_type="staff" if isinstance(actor, StaffUser) else "system",
                actor_id=actor.id if isinstance(actor, StaffUser) else None,
                actor_name=actor.display_name if isinstance(actor, StaffUser) else None,
                from_stage=None,
                to_stage=Stage.CLOSED.value,
                department_id=row.department_id,
                note=None,
                public=False,
                data={"external_id": row.external_id, "line": row.line},
            )
        )
        if key is not None:
            existing.add(key)
        report.created.append(ticket.number)
    session.flush()
    return report


__all__ = [
    "EVENT_ACTION",
    "HISTORY_CHANNEL",
    "ImportReport",
    "LineError",
    "import_history",
    "read_history",
]
