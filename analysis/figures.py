"""The dashboard's figures over a range of local dates and an optional department.

Set-based: each section is one or two aggregate statements (GROUP BY over indexed columns:
``tickets.created_at``, the events of the period, ``calls.offered_date``), so the cost follows the
rows of the range, not the size of the tables. Definitions: :mod:`analysis.definitions`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased

from analysis.periods import Period, local_date, month_start, utc_bounds, week_start
from bot.engine.metrics import TARGET_AVERAGE_WAIT_SECONDS, TARGET_PICKUP_RATE, chat_figures
from bot.engine.models import ChatMessage, Conversation, Handoff, Queue
from calls.figures import P90
from calls.models import Call
from directory.models import Category, Channel, Department
from knowledge.models import GapStatus, KnowledgeGap
from tickets.calendar import load_calendar
from tickets.models import OPEN_STAGES, CloseReason, Kind, Satisfaction, Survey, Ticket, TicketEvent

TARGET_ANSWER_RATE = 100 * TARGET_PICKUP_RATE  # 人工接通率 ≥ 85% (seed), as a percentage
TARGET_WAIT_SECONDS = TARGET_AVERAGE_WAIT_SECONDS  # 平均排队时间 ≤ 25 s (seed)

GRAINS = ("day", "week", "month")
DIMENSIONS = ("channel", "kind", "category", "department")


def no_jit(session: Session) -> None:
    """PostgreSQL's JIT compiles these short aggregates for longer than they run (as in
    ``tickets.supervision``): off for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage, or None when there is nothing to divide by."""
    return None if not denominator else 100.0 * numerator / denominator


def change(current: int, previous: int) -> float | None:
    return None if not previous else 100.0 * (current - previous) / previous


# -- volumes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    key: str  # a bucket's first date (ISO), or a dimension's value ("" for none)
    label: str  # what to show (department or category name; the key otherwise)
    current: int
    previous: int

    @property
    def change(self) -> float | None:
        return change(self.current, self.previous)


def _ticket_scope(department_id: int | None) -> list[Any]:
    return [] if department_id is None else [Ticket.department_id == department_id]


def volumes_by_date(
    session: Session, period: Period, *, department_id: int | None = None, grain: str = "day"
) -> list[Count]:
    """Tickets received per local day, ISO week or month of ``period``; each bucket is compared
    with the bucket one period earlier (the same offset into the previous period)."""
    if grain not in GRAINS:
        raise ValueError(grain)
    previous = period.previous()
    both = Period(previous.start, period.end)
    since, until = utc_bounds(session, both)
    local_day = local_date(session, Ticket.created_at, both)
    rows = session.execute(
        select(local_day, func.count())
        .where(Ticket.created_at >= since, Ticket.created_at < until, *_ticket_scope(department_id))
        .group_by(local_day)
    ).all()
    per_day = {_as_date(value): int(n) for value, n in rows}
    bucket = {"day": lambda d: d, "week": week_start, "month": month_start}[grain]
    current: dict[dt.date, int] = defaultdict(int)
    earlier: dict[dt.date, int] = defaultdict(int)
    for day in period.dates():
        key = bucket(day)
        current[key] += per_day.get(day, 0)
        earlier[key] += per_day.get(day - dt.timedelta(days=period.days), 0)
    return [
        Count(key.isoformat(), key.isoformat(), current[key], earlier[key])
        for key in sorted(current)
    ]


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


Counts = dict[str, dict[Any, tuple[int, int]]]


def volume_counts(session: Session, period: Period, *, department_id: int | None = None) -> Counts:
    """Tickets received in ``period`` and the previous period per channel, kind, category and
    department: one GROUP BY over the four columns, summed per dimension here."""
    previous = period.previous()
    since, until = utc_bounds(session, Period(previous.start, period.end))
    boundary, _ = utc_bounds(session, period)
    columns = (Ticket.channel, Ticket.kind, Ticket.category_id, Ticket.department_id)
    rows = session.execute(
        select(
            *columns,
            func.sum(case((Ticket.created_at >= boundary, 1), else_=0)),
            func.sum(case((Ticket.created_at < boundary, 1), else_=0)),
        )
        .where(Ticket.created_at >= since, Ticket.created_at < until, *_ticket_scope(department_id))
        .group_by(*columns)
    ).all()
    counts: Counts = {dimension: {} for dimension in DIMENSIONS}
    for *values, cur, prev in rows:
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            old = counts[dimension].get(value, (0, 0))
            counts[dimension][value] = (old[0] + int(cur or 0), old[1] + int(prev or 0))
    return counts


def volumes_by(
    session: Session,
    period: Period,
    dimension: str,
    *,
    department_id: int | None = None,
    counts: Counts | None = None,
) -> list[Count]:
    """Tickets received in ``period`` and the previous period, by channel, kind, category or
    department (from :func:`volume_counts`, or ``counts`` already read). Every channel and kind
    is listed, also with 0."""
    if dimension not in DIMENSIONS:
        raise ValueError(dimension)
    if counts is None:
        counts = volume_counts(session, period, department_id=department_id)
    return _volumes(session, dimension, counts[dimension])


def _volumes(session: Session, dimension: str, counts: dict[Any, tuple[int, int]]) -> list[Count]:
    labels = _labels(session, dimension, counts)
    keys: list[Any] = list(counts)
    if dimension == "channel":
        keys = [c.value for c in Channel] + [k for k in counts if k not in set(Channel)]
    elif dimension == "kind":
        keys = [k.value for k in Kind]
    result = [
        Count(
            "" if key is None else str(key),
            labels.get(key, "" if key is None else str(key)),
            *counts.get(key, (0, 0)),
        )
        for key in keys
    ]
    if dimension in ("category", "department"):
        result.sort(key=lambda c: (c.key == "", -c.current, c.label))  # "none" last
    return result


def _labels(session: Session, dimension: str, counts: dict[Any, Any]) -> dict[Any, str]:
    ids = [key for key in counts if key is not None]
    model: Any = {"category": Category, "department": Department}.get(dimension)
    if model is None or not ids:
        return {}
    return {
        row[0]: row[1]
        for row in session.execute(select(model.id, model.name).where(model.id.in_(ids)))
    }


# -- departments -------------------------------------------------------------------------------


@dataclass
class DepartmentRow:
    department_id: int
    name: str
    received: int = 0
    reviews: int = 0
    reviews_on_time: int = 0
    replies: int = 0
    replies_on_time: int = 0
    warning: int = 0
    yellow: int = 0
    red: int = 0
    reply_workdays_total: int = 0
    replies_timed: int = 0  # replies whose clock start is known (the average's denominator)
    returns: int = 0
    rereview_failures: int = 0
    urges: int = 0

    @property
    def review_on_time(self) -> float | None:
        return rate(self.reviews_on_time, self.reviews)

    @property
    def handling_on_time(self) -> float | None:
        return rate(self.replies_on_time, self.replies)

    @property
    def avg_reply_workdays(self) -> float | None:
        return None if not self.replies_timed else self.reply_workdays_total / self.replies_timed


START_ACTIONS = ("dispatch", "transfer", "return_to_department")  # the clocks (re)start
DEPARTMENT_ACTIONS = (*START_ACTIONS, "accept", "return_to_operator", "reply", "urge")
JUDGED_ACTIONS = ("accept", "return_to_operator", "reply")


def departments_figures(
    session: Session, period: Period, *, department_id: int | None = None
) -> list[DepartmentRow]:
    """Per department (every active one, also without tickets): received, on-time rates, cards
    now, average working days to reply, returns, re-review failures and urges.

    A review (accept, return to the operator) or reply is on time when its local date is at
    most the deadline of the clock it ran on, which the step keeps (``TicketEvent.due_date``,
    with the clock's start in ``clock_start``, written by ``tickets.workflow``). One statement
    over the range's events alone groups them by department, action, clock start and event
    date (working days are counted once per group, in Python, with the calendar); a second
    counts the cards."""
    since, until = utc_bounds(session, period)
    scope = [] if department_id is None else [Department.id == department_id]
    departments = session.scalars(
        select(Department).where(Department.active.is_(True), *scope).order_by(Department.id)
    ).all()
    rows = {d.id: DepartmentRow(d.id, d.name) for d in departments}

    earlier = aliased(TicketEvent)
    # Re-review failures belong to the department whose reply failed: the latest reply before.
    replied_by = (
        select(earlier.department_id)
        .where(
            earlier.ticket_id == TicketEvent.ticket_id,
            earlier.action == "reply",
            earlier.id < TicketEvent.id,
        )
        .order_by(earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    judged = TicketEvent.action.in_(JUDGED_ACTIONS)
    is_reply = TicketEvent.action == "reply"
    failure = TicketEvent.action.in_(("transfer", "return_to_department"))
    event_day = local_date(session, TicketEvent.at, period)
    per_event = (
        select(
            TicketEvent.department_id.label("department_id"),
            # looked up only for the few failures (CASE evaluates lazily)
            case((failure, replied_by), else_=literal(None)).label("failed_department_id"),
            TicketEvent.action.label("action"),
            case((and_(judged, event_day <= TicketEvent.due_date), 1), else_=0).label("on_time"),
            case((is_reply, TicketEvent.clock_start), else_=literal(None)).label("clock_start"),
            case((is_reply, event_day), else_=literal(None)).label("event_day"),
        )
        .where(
            TicketEvent.at >= since,
            TicketEvent.at < until,
            TicketEvent.action.in_(DEPARTMENT_ACTIONS),
            # one department: its events, and the re-review failures (of whichever reply)
            *(
                []
                if department_id is None
                else [or_(TicketEvent.department_id == department_id, failure)]
            ),
        )
        .subquery()
    )
    groups = (
        per_event.c.department_id,
        per_event.c.failed_department_id,
        per_event.c.action,
        per_event.c.clock_start,
        per_event.c.event_day,
    )
    statement = select(*groups, func.count(), func.sum(per_event.c.on_time)).group_by(*groups)
    workdays = functools.lru_cache(maxsize=None)(load_calendar(session).workdays_between)
    for dept, failed, action, started, done, n, on in session.execute(statement):
        n, on = int(n), int(on or 0)
        if action in ("dispatch", "transfer") and dept in rows:
            rows[dept].received += n
        if action in ("transfer", "return_to_department") and failed in rows:
            rows[failed].rereview_failures += n
        target = rows.get(dept)
        if target is None:
            continue
        if action == "urge":
            target.urges += n
        if action == "return_to_operator":
            target.returns += n
        if action == "reply":
            target.replies += n
            target.replies_on_time += on
            if started is not None and done is not None:
                target.reply_workdays_total += n * workdays(_as_date(started), _as_date(done))
                target.replies_timed += n
        elif action in JUDGED_ACTIONS:
            target.reviews += n
            target.reviews_on_time += on
    cards = session.execute(
        select(Ticket.department_id, Ticket.supervision, func.count())
        .where(
            # a card needs a running deadline: the due-date index finds those tickets
            Ticket.due_date.is_not(None),
            Ticket.stage.in_([s.value for s in OPEN_STAGES]),
            Ticket.supervision.in_(("warning", "yellow", "red")),
        )
        .group_by(Ticket.department_id, Ticket.supervision)
    ).all()
    for dept, status, n in cards:
        if dept in rows:
            setattr(rows[dept], str(status), int(n))
    return list(rows.values())


# -- citizens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitizenFigures:
    answered: int  # surveys answered in the range (channel or phone)
    satisfied: int  # of which 满意 or 基本满意
    closed_handled: int  # tickets closed after department handling
    called_back: int  # of which the callback reached the citizen
    surveys_sent: int
    surveys_responded: int  # of the surveys sent, answered (channel or phone)
    reopened: int

    @property
    def satisfaction(self) -> float | None:
        return rate(self.satisfied, self.answered)

    @property
    def callback_rate(self) -> float | None:
        return rate(self.called_back, self.closed_handled)

    @property
    def survey_response_rate(self) -> float | None:
        return rate(self.surveys_responded, self.surveys_sent)


def citizen_figures(
    session: Session, period: Period, *, department_id: int | None = None
) -> CitizenFigures:
    """Satisfaction, callback rate, survey response rate, reopened tickets: four statements."""
    since, until = utc_bounds(session, period)
    scope = _ticket_scope(department_id)
    responded = Survey.method.in_(("channel", "phone"))
    good = Survey.satisfaction.in_((Satisfaction.SATISFIED.value, Satisfaction.BASICALLY.value))
    answered_in = and_(Survey.answered_at >= since, Survey.answered_at < until, responded)
    sent_in = and_(Survey.sent_at >= since, Survey.sent_at < until)

    def surveys(where: Any, counted: Any) -> Any:
        statement = select(func.count(), func.sum(case((counted, 1), else_=0))).where(where)
        if scope:  # the department's tickets only: join them
            statement = statement.join(Ticket, Ticket.id == Survey.ticket_id).where(*scope)
        return session.execute(statement).one()

    answered = surveys(answered_in, good)
    sent = surveys(sent_in, responded)
    closed = session.execute(
        select(
            func.count(),
            func.sum(case((Ticket.close_reason == CloseReason.SURVEYED.value, 1), else_=0)),
        ).where(
            Ticket.closed_at >= since,
            Ticket.closed_at < until,
            Ticket.close_reason.in_((CloseReason.SURVEYED.value, CloseReason.NO_RESPONSE.value)),
            *scope,
        )
    ).one()
    reopens = (
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.action == "reopen", TicketEvent.at >= since, TicketEvent.at < until)
    )
    if scope:
        reopens = reopens.join(Ticket, Ticket.id == TicketEvent.ticket_id).where(*scope)
    reopened = session.scalar(reopens)
    return CitizenFigures(
        answered=int(answered[0] or 0),
        satisfied=int(answered[1] or 0),
        closed_handled=int(closed[0] or 0),
        called_back=int(closed[1] or 0),
        surveys_sent=int(sent[0] or 0),
        surveys_responded=int(sent[1] or 0),
        reopened=int(reopened or 0),
    )


# -- self-service ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelfService:
    conversations: int
    self_served: int
    gaps: list[KnowledgeGap] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return rate(self.self_served, self.conversations)


def self_service(session: Session, period: Period, *, top: int = 10) -> SelfService:
    """Conversations the citizen wrote in, the share with neither a hand-off nor a ticket from the
    citizen in the range; the open gap-log questions last seen in the range, most asked first."""
    since, until = utc_bounds(session, period)
    wrote = (
        select(ChatMessage.conversation_id.label("id"))
        .where(
            ChatMessage.sender == "citizen",
            ChatMessage.created_at >= since,
            ChatMessage.created_at < until,
        )
        .distinct()
        .subquery()
    )
    handed = (
        select(Handoff.id)
        .where(
            Handoff.conversation_id == Conversation.id,
            Handoff.handed_off_at >= since,
            Handoff.handed_off_at < until,
        )
        .exists()
    )
    ticketed = (
        select(Ticket.id)
        .where(
            Conversation.citizen_id.is_not(None),
            Ticket.citizen_id == Conversation.citizen_id,
            Ticket.created_at >= since,
            Ticket.created_at < until,
        )
        .exists()
    )
    total, served = session.execute(
        select(func.count(), func.sum(case((and_(~handed, ~ticketed), 1), else_=0)))
        .select_from(wrote)
        .join(Conversation, Conversation.id == wrote.c.id)
    ).one()
    gaps = session.scalars(
        select(KnowledgeGap)
        .where(
            KnowledgeGap.status == GapStatus.OPEN.value,
            KnowledgeGap.last_seen >= since,
            KnowledgeGap.last_seen < until,
        )
        .order_by(KnowledgeGap.count.desc(), KnowledgeGap.last_seen.desc(), KnowledgeGap.id.desc())
        .limit(top)
    ).all()
    return SelfService(int(total or 0), int(served or 0), list(gaps))


# -- contact: calls and chats ------------------------------------------------------------------


@dataclass(frozen=True)
class ContactRow:
    """One queue (None: all) of calls or chats over the range."""

    medium: str  # "call" or "chat"
    queue: str | None
    offered: int
    answered: int
    answer_rate: float | None
    avg_wait: float | None
    p90_wait: float | None

    @property
    def meets_answer_target(self) -> bool | None:
        return None if self.answer_rate is None else self.answer_rate >= TARGET_ANSWER_RATE

    @property
    def meets_wait_target(self) -> bool | None:
        return None if self.avg_wait is None else self.avg_wait <= TARGET_WAIT_SECONDS


def call_figures(session: Session, period: Period) -> list[ContactRow]:
    """The switchboard's figures (``calls.figures``: counted on the local date the call was
    offered, 人工接通率 = answered ÷ offered, waits over answered calls, nearest-rank p90) over
    the local dates of ``period``, per queue and in total: two statements per grouping."""
    return [
        *_call_rows(session, period, by_queue=True),
        *_call_rows(session, period, by_queue=False),
    ]


def _call_rows(session: Session, period: Period, *, by_queue: bool) -> list[ContactRow]:
    groups = [Call.queue] if by_queue else []
    answered = Call.answered_at.is_not(None)
    in_range = and_(
        Call.offered_date >= period.start,
        Call.offered_date <= period.end,
        Call.offered_at.is_not(None),
    )
    queue = Call.queue if by_queue else literal(None)
    aggregate = (
        select(
            queue.label("queue"),
            func.count().label("offered"),
            func.count(Call.answered_at).label("answered"),
            func.avg(case((answered, Call.wait_seconds))).label("avg_wait"),
        )
        .where(in_range)
        .group_by(*groups)
    )
    ranked = (
        select(
            *groups,
            Call.wait_seconds.label("wait"),
            func.row_number()
            .over(partition_by=groups or None, order_by=Call.wait_seconds)
            .label("rank"),
            func.count().over(partition_by=groups or None).label("n"),
        )
        .where(in_range, answered, Call.wait_seconds.is_not(None))
        .subquery()
    )
    rank_groups = [ranked.c[c.key] for c in groups]
    p90 = (
        select(*rank_groups, func.min(ranked.c.wait))
        .where(ranked.c.rank * 100 >= ranked.c.n * P90)
        .group_by(*rank_groups)
    )
    p90s = {tuple(row[:-1]): row[-1] for row in session.execute(p90)}
    rows = []
    for row in session.execute(aggregate):
        if not row.offered:
            continue
        key = (row.queue,) if by_queue else ()
        rows.append(
            ContactRow(
                "call",
                row.queue if by_queue else None,
                int(row.offered),
                int(row.answered),
                rate(int(row.answered), int(row.offered)),
                None if row.avg_wait is None else float(row.avg_wait),
                None if p90s.get(key) is None else float(p90s[key]),
            )
        )
    rows.sort(key=lambda r: r.queue or "")
    return rows


def chat_rows(session: Session, period: Period) -> list[ContactRow]:
    """``bot.engine.metrics.chat_figures`` over the range, per queue (专席, 综合) and in total."""
    since, until = utc_bounds(session, period)
    rows = []
    queues: Iterable[str | None] = [q.value for q in (Queue.SPECIALIST, Queue.GENERAL)] + [None]
    for queue in queues:
        figures = chat_figures(session, since=since, until=until, queue=queue)
        if queue is not None and not figures.handed_off:
            continue
        rows.append(
            ContactRow(
                "chat",
                queue,
                figures.handed_off,
                figures.picked_up,
                None if figures.pickup_rate is None else 100.0 * figures.pickup_rate,
                figures.average_wait_seconds,
                figures.p90_wait_seconds,
            )
        )
    return rows


# -- the whole dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    department_id: int | None
    grain: str
    by_date: list[Count]
    by_dimension: dict[str, list[Count]]
    departments: list[DepartmentRow]
    citizens: CitizenFigures
    self_service: SelfService | None  # not per department (conversations have none)
    calls: list[ContactRow]
    chats: list[ContactRow]

    @property
    def total(self) -> Count:
        current = sum(c.current for c in self.by_date)
        previous = sum(c.previous for c in self.by_date)
        return Count("", "", current, previous)


def dashboard(
    session: Session, period: Period, *, department_id: int | None = None, grain: str = "day"
) -> Dashboard:
    """Every figure of the screen. The contact and self-service figures are the hotline's, not a
    department's: they are left out when a department is chosen."""
    hotline_wide = department_id is None
    no_jit(session)
    counts = volume_counts(session, period, department_id=department_id)
    return Dashboard(
        period=period,
        department_id=department_id,
        grain=grain,
        by_date=volumes_by_date(session, period, department_id=department_id, grain=grain),
        by_dimension={
            dimension: _volumes(session, dimension, counts[dimension]) for dimension in DIMENSIONS
        },
        departments=departments_figures(session, period, department_id=department_id),
        citizens=citizen_figures(session, period, department_id=department_id),
        self_service=self_service(session, period) if hotline_wide else None,
        calls=call_figures(session, period) if hotline_wide else [],
        chats=chat_rows(session, period) if hotline_wide else [],
    )
