"""The read side of the ticket domain for the staff console: queues, the department workbench,
the overdue board, similar-ticket and dispatch suggestions.

Every list is keyset-paginated on indexed columns (a cursor carries the last row's sort key), so
the hundredth page costs what the first does on a table of millions. Rows are loaded with their
department and category in the same statement (the relationships are ``lazy="joined"``), so a
page is one query whatever its length.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from core.db import UTCDateTime
from core.inputs import in_range
from directory.models import Category, Department
from tickets import routing
from tickets.calendar import local_today
from tickets.models import (
    URGED_FLAG_AT,
    Attachment,
    CloseReason,
    MediaStatus,
    Stage,
    Supervision,
    Survey,
    Ticket,
    TicketEvent,
    TicketMedia,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Keyword filters use LIKE; cap the term so a pasted essay cannot make an expensive pattern.
MAX_KEYWORD = 50
DEPARTMENT_STAGES = (Stage.DEPT_REVIEW.value, Stage.HANDLING.value)
OVERDUE_LEVELS = (Supervision.YELLOW.value, Supervision.RED.value)


@dataclass(frozen=True)
class TicketFilters:
    kind: str | None = None
    channel: str | None = None
    category_id: int | None = None
    department_id: int | None = None
    keyword: str | None = None
    stage: str | None = None
    supervision: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.kind:
            found.append(Ticket.kind == self.kind)
        if self.channel:
            found.append(Ticket.channel == self.channel)
        if self.category_id:
            found.append(Ticket.category_id == self.category_id)
        if self.department_id:
            found.append(Ticket.department_id == self.department_id)
        if self.stage:
            found.append(Ticket.stage == self.stage)
        if self.supervision:
            found.append(Ticket.supervision == self.supervision)
        keyword = (self.keyword or "").strip()[:MAX_KEYWORD]
        if keyword:
            pattern = "%" + keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern += "%"
            found.append(
                or_(
                    Ticket.number == keyword,
                    Ticket.title.like(pattern, escape="\\"),
                    Ticket.description.like(pattern, escape="\\"),
                    Ticket.address.like(pattern, escape="\\"),
                )
            )
        return found


@dataclass
class Page:
    items: list[Ticket]
    next_cursor: str | None


# -- cursors ------------------------------------------------------------------------------------


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None, kinds: Sequence[str]) -> list[Any] | None:
    """The sort key a cursor carries, or None for a missing or tampered cursor (first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
        if not isinstance(plain, list) or len(plain) != len(kinds):
            return None
        values: list[Any] = []
        for kind, value in zip(kinds, plain, strict=True):
            if kind == "bool":
                values.append(bool(value))
            elif kind == "int":
                if not isinstance(value, int) or not in_range(value):
                    return None
                values.append(value)
            elif kind == "datetime":
                moment = dt.datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    return None
                values.append(moment)
            elif kind == "date":
                values.append(dt.date.fromisoformat(value))
        return values
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def _after(columns: Sequence[tuple[Any, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``columns`` ((column, descending) pairs)."""
    if all(desc for _, desc in columns):
        # One row-value comparison: PostgreSQL walks the index straight to the cursor.
        return tuple_(*(c for c, _ in columns)) < tuple_(
            *(_bind(c, v) for (c, _), v in zip(columns, values, strict=True))
        )
    clauses = []
    for i, (column, desc) in enumerate(columns):
        equal = [c == v for (c, _), v in zip(columns[:i], values[:i], strict=True)]
        clauses.append(and_(*equal, column < values[i] if desc else column > values[i]))
    return or_(*clauses)


def _bind(column: Any, value: Any) -> Any:
    from sqlalchemy import literal

    if isinstance(value, dt.datetime):
        return literal(value, UTCDateTime())
    return literal(value, column.type)


def _paginate(
    session: Session,
    conditions: list[ColumnElement[bool]],
    order: Sequence[tuple[Any, bool, str, str]],
    cursor: str | None,
    limit: int,
) -> Page:
    """order: (column, descending, cursor kind, Ticket attribute name)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    columns = [(col, desc) for col, desc, _, _ in order]
    values = _decode(cursor, [kind for _, _, kind, _ in order])
    where = list(conditions)
    if values is not None:
        where.append(_after(columns, values))
    stmt = (
        select(Ticket)
        .where(*where)
        .order_by(*(col.desc() if desc else col.asc() for col, desc in columns))
        .limit(limit + 1)
    )
    rows = list(session.scalars(stmt).unique())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, attr) for _, _, _, attr in order])
    return Page(rows, next_cursor)


NEWEST_FIRST = (
    (Ticket.urgent, True, "bool", "urgent"),
    (Ticket.created_at, True, "datetime", "created_at"),
    (Ticket.id, True, "int", "id"),
)
# Urgent first, then the nearest (most overdue) deadline first.
BY_URGENCY = (
    (Ticket.urgent, True, "bool", "urgent"),
    (Ticket.due_date, False, "date", "due_date"),
    (Ticket.id, False, "int", "id"),
)


def list_stage_queue(
    session: Session,
    stage: str,
    *,
    filters: TicketFilters | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A hotline queue (submitted, re_review, callback, …): urgent first, then newest first.
    Served by ix_tickets_stage_urgent_created."""
    conditions = [Ticket.stage == stage, *(filters or TicketFilters()).conditions()]
    return _paginate(session, conditions, NEWEST_FIRST, cursor, limit)


def list_all_tickets(
    session: Session,
    *,
    filters: TicketFilters | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Every ticket (search screen, supervisors' read-only view), newest first."""
    order = (
        (Ticket.created_at, True, "datetime", "created_at"),
        (Ticket.id, True, "int", "id"),
    )
    return _paginate(session, (filters or TicketFilters()).conditions(), order, cursor, limit)


def list_department_workbench(
    session: Session,
    department_id: int,
    *,
    stage: str | None = None,
    filters: TicketFilters | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """A department's open tickets, urgent first then by deadline (ix_tickets_department_stage)."""
    stages = (stage,) if stage in DEPARTMENT_STAGES else DEPARTMENT_STAGES
    conditions = [
        Ticket.department_id == department_id,
        Ticket.stage.in_(stages),
        Ticket.due_date.is_not(None),
        *(filters or TicketFilters()).conditions(),
    ]
    return _paginate(session, conditions, BY_URGENCY, cursor, limit)


def list_unsatisfied(
    session: Session, *, cursor: str | None = None, limit: int = PAGE_SIZE
) -> Page:
    """Closed tickets whose citizen answered 不满意, waiting for a supervisor's look."""
    order = (
        (Ticket.created_at, True, "datetime", "created_at"),
        (Ticket.id, True, "int", "id"),
    )
    conditions = [Ticket.needs_supervisor.is_(True), Ticket.stage == Stage.CLOSED.value]
    return _paginate(session, conditions, order, cursor, limit)


def list_urged(session: Session, *, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Open tickets urged URGED_FLAG_AT times or more (多次催办), newest first
    (ix_tickets_urged)."""
    order = (
        (Ticket.created_at, True, "datetime", "created_at"),
        (Ticket.id, True, "int", "id"),
    )
    conditions = [Ticket.urge_count >= URGED_FLAG_AT, Ticket.stage != Stage.CLOSED.value]
    return _paginate(session, conditions, order, cursor, limit)


def list_overdue(
    session: Session,
    *,
    department_id: int | None = None,
    level: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    levels = (level,) if level in OVERDUE_LEVELS else OVERDUE_LEVELS
    conditions: list[ColumnElement[bool]] = [
        Ticket.due_date < local_today(session),  # the indexed way to yellow and red tickets
        Ticket.supervision.in_(levels),
        Ticket.stage.in_(DEPARTMENT_STAGES),
    ]
    if department_id:
        conditions.append(Ticket.department_id == department_id)
    return _paginate(session, conditions, BY_URGENCY, cursor, limit)


def iter_pages(fetch: Any, *, cap: int, page_size: int = 500, **kwargs: Any) -> Iterator[Ticket]:
    """Every row of a keyset list, page by page (CSV export), at most ``cap`` rows."""
    cursor = None
    sent = 0
    while sent < cap:
        page = fetch(cursor=cursor, limit=min(page_size, cap - sent), **kwargs)
        yield from page.items
        sent += len(page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -- overdue board ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdueRow:
    department_id: int
    department_name: str
    yellow: int
    red: int

    @property
    def total(self) -> int:
        return self.yellow + self.red


def overdue_board(session: Session) -> list[OverdueRow]:
    """Yellow and red cards by department, worst first: one grouped query. A yellow or red
    ticket's due date is before today, so the range on ix_tickets_due_date finds them (the
    supervision column itself is deliberately not indexed; see Ticket.__table_args__)."""
    counts = (
        select(Ticket.department_id, Ticket.supervision, func.count())
        .where(
            Ticket.due_date < local_today(session),
            Ticket.supervision.in_(OVERDUE_LEVELS),
            Ticket.stage.in_(DEPARTMENT_STAGES),
        )
        .group_by(Ticket.department_id, Ticket.supervision)
        .subquery()
    )
    rows = session.execute(
        select(Department.id, Department.name, counts.c.supervision, counts.c[2]).join(
            counts, counts.c.department_id == Department.id
        )
    ).all()
    board: dict[int, dict[str, Any]] = {}
    for dept_id, name, level, count in rows:
        entry = board.setdefault(dept_id, {"name": name, "yellow": 0, "red": 0})
        entry[level] = int(count)
    result = [OverdueRow(d, e["name"], e["yellow"], e["red"]) for d, e in board.items()]
    result.sort(key=lambda r: (-r.red, -r.yellow, r.department_name))
    return result


# -- one ticket ---------------------------------------------------------------------------------


@dataclass
class TicketDetail:
    ticket: Ticket
    events: list[TicketEvent]
    attachments: list[Attachment]
    survey: Survey | None
    merged_into_number: str | None = None
    # Pictures a channel handed over that are not attachments yet: still being fetched, or failed.
    waiting_media: list[TicketMedia] = field(default_factory=list)


def load_ticket_detail(session: Session, ticket: Ticket) -> TicketDetail:
    """The ticket's timeline, attachments, pictures not fetched yet and latest survey."""
    events = list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .options(joinedload(TicketEvent.department))
            .order_by(TicketEvent.id)
        ).unique()
    )
    attachments = list(
        session.scalars(
            select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
        )
    )
    waiting = list(
        session.scalars(
            select(TicketMedia)
            .where(
                TicketMedia.ticket_id == ticket.id,
                TicketMedia.status != MediaStatus.FETCHED.value,
            )
            .order_by(TicketMedia.id)
        )
    )
    survey = session.scalar(
        select(Survey).where(Survey.ticket_id == ticket.id).order_by(Survey.id.desc()).limit(1)
    )
    merged = None
    if ticket.merged_into_id:
        merged = session.scalar(select(Ticket.number).where(Ticket.id == ticket.merged_into_id))
    return TicketDetail(ticket, events, attachments, survey, merged, waiting)


def latest_surveys(session: Session, ticket_ids: Sequence[int]) -> dict[int, Survey]:
    """The newest survey of each ticket in one query (callback queue)."""
    if not ticket_ids:
        return {}
    newest = (
        select(func.max(Survey.id))
        .where(Survey.ticket_id.in_(ticket_ids))
        .group_by(Survey.ticket_id)
    )
    return {s.ticket_id: s for s in session.scalars(select(Survey).where(Survey.id.in_(newest)))}


# -- similar tickets and dispatch suggestions ---------------------------------------------------

SIMILAR_WINDOW = 3000  # the most recent tickets compared (a few hours to a few days of intake)
SIMILAR_MIN_SCORE = 60.0


@dataclass(frozen=True)
class SimilarTicket:
    id: int
    number: str
    title: str
    stage: str
    department_id: int | None
    created_at: dt.datetime
    score: float


def similar_tickets(
    session: Session, ticket: Ticket, *, limit: int = 5, window: int = SIMILAR_WINDOW
) -> list[SimilarTicket]:
    """Possible duplicates among recent tickets by fuzzy text match (rapidfuzz on the title,
    description and address). The candidates are the ``window`` tickets with the highest ids,
    read by primary key, so the cost does not grow with the table."""
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.title,
            Ticket.description,
            Ticket.address,
            Ticket.stage,
            Ticket.department_id,
            Ticket.created_at,
            Ticket.close_reason,
        )
        .where(Ticket.id != ticket.id)
        .order_by(Ticket.id.desc())
        .limit(window)
    ).all()
    probe = _fuzzy_text(ticket.title, ticket.description, ticket.address)
    found = []
    for row in rows:
        if row.close_reason == CloseReason.MERGED:
            continue
        text = _fuzzy_text(row.title, row.description, row.address)
        score = fuzz.token_set_ratio(probe, text, processor=None)
        score = max(score, fuzz.partial_ratio(ticket.description[:200], row.description[:200]))
        if score >= SIMILAR_MIN_SCORE:
            found.append(
                SimilarTicket(
                    row.id,
                    row.number,
                    row.title,
                    row.stage,
                    row.department_id,
                    row.created_at,
                    round(score, 1),
                )
            )
    found.sort(key=lambda s: (-s.score, -s.id))
    return found[:limit]


def _fuzzy_text(*parts: str | None) -> str:
    # Chinese has no spaces: compare character by character (spaces make each one a token).
    joined = "".join(p for p in parts if p)
    return " ".join(ch for ch in joined if not ch.isspace())


@dataclass
class DispatchSuggestion:
    department_id: int
    department_name: str
    reasons: list[str] = field(default_factory=list)  # category, knowledge, similar, model
    weight: float = 0.0
    # The learned model's reason (tickets.routing): its most similar past tickets there.
    similar_numbers: list[str] = field(default_factory=list)
    model_score: float | None = None


REASON_CATEGORY = "category"
REASON_KNOWLEDGE = "knowledge"
REASON_SIMILAR = "similar"
REASON_MODEL = "model"
MODEL_WEIGHT = 4.0


def dispatch_suggestions(
    session: Session,
    ticket: Ticket,
    *,
    similar: Sequence[SimilarTicket] | None = None,
    faq_hits: Sequence[Any] | None = None,
    limit: int = 3,
) -> list[DispatchSuggestion]:
    """Departments to dispatch to, best first, each with why: the category's usual department,
    the department of matching FAQ entries, where similar recent tickets went, and the routing
    model learned from past dispatches (``tickets.routing``) once one is trained. The model's
    score already holds the category's weight, so with a model the category only gives its
    reason."""
    by_id: dict[int, DispatchSuggestion] = {}
    departments = {
        d.id: d for d in session.scalars(select(Department).where(Department.active.is_(True)))
    }
    by_code = {d.code: d for d in departments.values()}

    def add(dept_id: int | None, reason: str, weight: float) -> None:
        if dept_id is None or dept_id not in departments:
            return
        entry = by_id.setdefault(dept_id, DispatchSuggestion(dept_id, departments[dept_id].name))
        if reason not in entry.reasons:
            entry.reasons.append(reason)
        entry.weight += weight

    category = ticket.category
    model = routing.current_model(session)
    if category is not None and category.department_id:
        add(category.department_id, REASON_CATEGORY, 3.0 if model is None else 0.0)
    if model is not None:
        routed = routing.rank(
            model,
            routing.ticket_text(ticket.title, ticket.description),
            category_department=category.department.code
            if category is not None and category.department is not None
            else None,
            limit=limit,
            allowed={d.code for d in departments.values()},
        )
        for entry in routed:
            routed_dept = by_code[entry.code]
            add(routed_dept.id, REASON_MODEL, MODEL_WEIGHT * entry.score)
            by_id[routed_dept.id].similar_numbers = entry.similar
            by_id[routed_dept.id].model_score = entry.score
    for hit in faq_hits or ():
        code = getattr(hit, "department_code", None)
        dept = by_code.get(code) if code else None
        if dept is None:
            dept_attr = getattr(hit, "department", None)
            dept_id = getattr(dept_attr, "id", dept_attr if isinstance(dept_attr, int) else None)
        else:
            dept_id = dept.id
        score = float(getattr(hit, "score", 1.0) or 1.0)
        add(dept_id, REASON_KNOWLEDGE, 2.0 * (score / 100.0 if score > 1.0 else score))
    for match in similar if similar is not None else similar_tickets(session, ticket):
        add(match.department_id, REASON_SIMILAR, match.score / 100.0)
    ranked = sorted(by_id.values(), key=lambda s: (-s.weight, s.department_name))
    return ranked[:limit]


def active_departments(session: Session) -> list[Department]:
    return list(
        session.scalars(
            select(Department).where(Department.active.is_(True)).order_by(Department.id)
        )
    )


def active_categories(session: Session) -> list[Category]:
    return list(
        session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.id))
    )
