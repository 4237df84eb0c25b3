"""Weekly quality inspection (工单质检): each week a configurable share of each department's
closed tickets is drawn; supervisors score each against a checklist with a comment. The weekly
rows (:class:`QualityWeek`) and the scored inspections are what the dashboard reports as the
inspection rate and the quality score.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry, session_timezone
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import N_
from directory.models import Department
from tickets.access import Actor, StaffUser, SystemActor, require
from tickets.console_models import QualityInspection, QualityWeek
from tickets.models import CloseReason, Stage, Ticket

SHARE_KEY = "quality.sample_share"
DEFAULT_SHARE = 0.05
CHECKLIST = ("right_department", "answers_question", "on_time", "polite_clear")
CHECKLIST_LABELS = {
    "right_department": N_("Dispatched to the right department"),
    "answers_question": N_("The reply answers the question"),
    "on_time": N_("Handled on time"),
    "polite_clear": N_("Polite and clear"),
}
POINTS_PER_ITEM = 100 // len(CHECKLIST)
# Only tickets a department handled are worth inspecting (not rejections or merges).
INSPECTED_REASONS = (CloseReason.SURVEYED.value, CloseReason.NO_RESPONSE.value)


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week_bounds(session: Session, week_start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(session_timezone(session))
    start = dt.datetime.combine(week_start, dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=7)).astimezone(dt.UTC)


def get_sample_share(session: Session) -> float:
    entry = session.get(StateEntry, SHARE_KEY)
    try:
        return float(entry.value) if entry is not None else DEFAULT_SHARE
    except ValueError:
        return DEFAULT_SHARE


def set_sample_share(session: Session, percent: float | None, *, actor: Actor) -> float:
    """The share of closed tickets drawn each week, given in percent (0.1–100)."""
    require(actor, "inspect_quality")
    if percent is None or not (0.1 <= percent <= 100):
        raise ValidationError({"share": N_("Enter a share between 0.1 and 100 per cent.")})
    share = round(percent / 100.0, 4)
    entry = session.get(StateEntry, SHARE_KEY)
    if entry is None:
        session.add(StateEntry(key=SHARE_KEY, value=str(share), updated_at=clock.now()))
    else:
        entry.value = str(share)
        entry.updated_at = clock.now()
    session.flush()
    return share


def sample_week(
    session: Session, week_start: dt.date, *, actor: Actor, share: float | None = None
) -> list[QualityWeek]:
    """Draw the week's sample for every department that has none yet (safe to run twice).

    At least one ticket is drawn from a department that closed any. The draw is seeded by the
    week and the department so that a rerun after a crash draws the same tickets.
    """
    if not isinstance(actor, SystemActor):
        require(actor, "inspect_quality")
    week_start = week_start_of(week_start)
    if week_start > week_start_of(clock.local_date(clock.now(), session_timezone(session))):
        raise ValidationError({"week": N_("That week has not started yet.")})
    share = get_sample_share(session) if share is None else share
    start, end = _week_bounds(session, week_start)
    done = set(
        session.scalars(
            select(QualityWeek.department_id).where(QualityWeek.week_start == week_start)
        )
    )
    by_department: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(Ticket.department_id, Ticket.id)
        .where(
            Ticket.closed_at >= start,
            Ticket.closed_at < end,
            Ticket.stage == Stage.CLOSED.value,
            Ticket.close_reason.in_(INSPECTED_REASONS),
            Ticket.department_id.is_not(None),
        )
        .order_by(Ticket.id)
    ).all()
    for dept_id, ticket_id in rows:
        if dept_id is not None:
            by_department[dept_id].append(ticket_id)
    now = clock.now()
    created = []
    for dept_id in sorted(by_department):
        if dept_id in done:
            continue
        ids = by_department[dept_id]
        count = min(len(ids), max(1, math.ceil(len(ids) * share)))
        drawn = random.Random(f"{week_start.isoformat()}:{dept_id}").sample(ids, count)
        week = QualityWeek(
            week_start=week_start,
            department_id=dept_id,
            closed_count=len(ids),
            sample_share=share,
            sampled_count=count,
            created_at=now,
        )
        session.add(week)
        for ticket_id in sorted(drawn):
            session.add(
                QualityInspection(
                    week_start=week_start,
                    ticket_id=ticket_id,
                    department_id=dept_id,
                    sampled_at=now,
                )
            )
        created.append(week)
    session.flush()
    return created


def score_inspection(
    session: Session,
    inspection_id: int,
    *,
    checks: dict[str, bool],
    comment: str | None,
    actor: Actor,
) -> QualityInspection:
    """Score one sampled ticket: 25 points per checklist item met. A score is final."""
    require(actor, "inspect_quality")
    inspection = session.get(QualityInspection, inspection_id)
    if inspection is None:
        raise NotFound(N_("No such inspection."))
    if inspection.scored_at is not None:
        raise Conflict(N_("This ticket has already been scored."))
    text = (comment or "").strip()
    if len(text) > 2000:
        raise ValidationError({"comment": N_("At most 2,000 characters.")})
    passed = 0
    for item in CHECKLIST:
        value = bool(checks.get(item))
        setattr(inspection, item, value)
        passed += value
    inspection.score = passed * POINTS_PER_ITEM
    if passed < len(CHECKLIST) and not text:
        raise ValidationError({"comment": N_("Say what was wrong when an item is not met.")})
    inspection.comment = text or None
    inspection.scored_at = clock.now()
    inspection.inspector_id = actor.id if isinstance(actor, StaffUser) else None
    session.flush()
    return inspection


def list_inspections(
    session: Session, week_start: dt.date, *, department_id: int | None = None
) -> list[QualityInspection]:
    stmt = (
        select(QualityInspection)
        .where(QualityInspection.week_start == week_start_of(week_start))
        .order_by(
            QualityInspection.scored_at.is_not(None),
            QualityInspection.department_id,
            QualityInspection.id,
        )
    )
    if department_id:
        stmt = stmt.where(QualityInspection.department_id == department_id)
    return list(session.scalars(stmt).unique())


@dataclass(frozen=True)
class QualityRow:
    department_id: int
    department_name: str
    closed: int
    sampled: int
    scored: int
    average_score: float | None

    @property
    def inspection_rate(self) -> float:
        """工单质检率: scored tickets over closed tickets."""
        return self.scored / self.closed if self.closed else 0.0


def quality_summary(session: Session, week_start: dt.date) -> list[QualityRow]:
    """Per department for one week: closed, sampled, scored, inspection rate, mean score."""
    week_start = week_start_of(week_start)
    scores = (
        select(
            QualityInspection.department_id.label("dept"),
            func.count(QualityInspection.scored_at).label("scored"),
            func.avg(QualityInspection.score).label("average"),
        )
        .where(QualityInspection.week_start == week_start)
        .group_by(QualityInspection.department_id)
        .subquery()
    )
    rows = session.execute(
        select(
            QualityWeek.department_id,
            Department.name,
            QualityWeek.closed_count,
            QualityWeek.sampled_count,
            scores.c.scored,
            scores.c.average,
        )
        .join(Department, Department.id == QualityWeek.department_id)
        .outerjoin(scores, scores.c.dept == QualityWeek.department_id)
        .where(QualityWeek.week_start == week_start)
        .order_by(Department.id)
    ).all()
    return [
        QualityRow(
            dept,
            name,
            closed,
            sampled,
            int(scored or 0),
            round(float(average), 1) if average is not None else None,
        )
        for dept, name, closed, sampled, scored, average in rows
    ]
