"""The quarterly service assessment (服务评价方案) of the outsourced call service.

The seed: 100 points in three categories, 话务平台 30, 人工服务 50 (13 indicators), 售后服务 20;
19 indicators, among them 人工接通率 ≥ 85%, 平均排队时间 ≤ 25 秒, 最终客户满意率 ≥ 90%,
工单质检率, 工单回访率; the quarterly fee is paid in proportion to the score.

(choice) The seed names five of the 19 indicators; :data:`DEFAULT_INDICATORS` completes the list
with indicators of the kind such schemes use, nine of them measured from the data
(:data:`MEASURES`), the rest entered by the assessor. Admins edit weights, targets, directions
and which are active (``analysis.models.AssessmentIndicator``); until they do, the defaults apply.

(choice) Scoring: an indicator that meets its target earns its full weight; one that misses earns
in proportion, ``weight × value ÷ target`` for "at least" targets and ``weight × target ÷ value``
for "at most" ones (0 when the target is 0 and missed); an indicator without a value (nothing
measured, nothing entered) earns nothing and is listed as missing. The fee share is the score
as a share of the full score of the active indicators (100 with the defaults).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from analysis import figures
from analysis.access import can_assess, can_configure_assessment
from analysis.models import AssessmentEntry, AssessmentIndicator
from analysis.periods import Period, utc_bounds
from core import clock
from core.errors import NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from directory.access import Actor
from directory.models import StaffUser
from tickets.console_models import QualityInspection, QualityWeek
from tickets.models import Ticket

CATEGORIES = {
    "platform": ("话务平台指标", "Platform"),
    "manual": ("人工服务指标", "Agent service"),
    "after_sales": ("售后服务指标", "After-sales service"),
}
COMPARISONS = ("ge", "le")
UNITS = ("percent", "seconds", "points", "count")

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class IndicatorSpec:
    code: str
    category: str
    name_zh: str
    name_en: str
    weight: float
    target: float
    comparison: str
    unit: str
    measure: str | None = None
    active: bool = True


def _spec(code: str, category: str, zh: str, en: str, weight: float, target: float,
          comparison: str, unit: str, measure: str | None = None) -> IndicatorSpec:  # fmt: skip
    return IndicatorSpec(code, category, zh, en, weight, target, comparison, unit, measure)


DEFAULT_INDICATORS: tuple[IndicatorSpec, ...] = (
    # 话务平台 30
    _spec(
        "availability", "platform", "系统可用率", "Platform availability", 10, 99.9, "ge", "percent"
    ),
    _spec(
        "inbound_success", "platform", "呼入成功率", "Inbound call success", 8, 99, "ge", "percent"
    ),
    _spec("recording", "platform", "录音完整率", "Recordings complete", 6, 99, "ge", "percent"),
    _spec(
        "data_accuracy",
        "platform",
        "工单数据准确率",
        "Ticket data accuracy",
        6,
        99,
        "ge",
        "percent",
    ),
    # 人工服务 50, 13 indicators
    _spec(
        "answer_rate",
        "manual",
        "人工接通率",
        "Answer rate",
        6,
        85,
        "ge",
        "percent",
        "call_answer_rate",
    ),
    _spec(
        "queue_time",
        "manual",
        "平均排队时间",
        "Average queue time",
        6,
        25,
        "le",
        "seconds",
        "call_avg_wait",
    ),
    _spec(
        "satisfaction",
        "manual",
        "最终客户满意率",
        "Final satisfaction",
        6,
        90,
        "ge",
        "percent",
        "satisfaction",
    ),
    _spec(
        "inspection_rate",
        "manual",
        "工单质检率",
        "Ticket inspection rate",
        4,
        5,
        "ge",
        "percent",
        "inspection_rate",
    ),
    _spec(
        "callback_rate",
        "manual",
        "工单回访率",
        "Ticket callback rate",
        4,
        95,
        "ge",
        "percent",
        "callback_rate",
    ),
    _spec(
        "inspection_score",
        "manual",
        "质检平均得分",
        "Average inspection score",
        4,
        90,
        "ge",
        "points",
        "inspection_score",
    ),
    _spec(
        "chat_answer_rate",
        "manual",
        "在线人工接通率",
        "Chat answer rate",
        3,
        85,
        "ge",
        "percent",
        "chat_answer_rate",
    ),
    _spec(
        "chat_queue_time",
        "manual",
        "在线平均排队时间",
        "Chat average queue time",
        3,
        25,
        "le",
        "seconds",
        "chat_avg_wait",
    ),
    _spec(
        "first_contact",
        "manual",
        "来电一次解决率",
        "First-contact resolution",
        3,
        30,
        "ge",
        "percent",
        "first_contact_rate",
    ),
    _spec("etiquette", "manual", "服务规范达标率", "Service etiquette", 3, 95, "ge", "percent"),
    _spec(
        "knowledge_exam",
        "manual",
        "业务知识考核成绩",
        "Knowledge exam score",
        3,
        85,
        "ge",
        "points",
    ),
    _spec("attendance", "manual", "排班执行率", "Roster kept", 3, 98, "ge", "percent"),
    _spec(
        "agent_complaints",
        "manual",
        "有效投诉次数",
        "Upheld complaints about agents",
        2,
        0,
        "le",
        "count",
    ),
    # 售后服务 20
    _spec(
        "fault_response",
        "after_sales",
        "故障响应及时率",
        "Faults answered in time",
        10,
        95,
        "ge",
        "percent",
    ),
    _spec(
        "fault_repair",
        "after_sales",
        "故障修复及时率",
        "Faults repaired in time",
        10,
        95,
        "ge",
        "percent",
    ),
)


# -- what the system measures, over the quarter ---------------------------------------------------


def _quality(session: Session, period: Period) -> tuple[float | None, float | None]:
    """工单质检率 (scored ÷ closed, as ``tickets.quality``) and the mean score, over the weeks
    that start in the period."""
    weeks = (QualityWeek.week_start >= period.start, QualityWeek.week_start <= period.end)
    closed = session.scalar(select(func.sum(QualityWeek.closed_count)).where(*weeks)) or 0
    scored, average = session.execute(
        select(func.count(QualityInspection.scored_at), func.avg(QualityInspection.score)).where(
            QualityInspection.week_start >= period.start, QualityInspection.week_start <= period.end
        )
    ).one()
    rate = figures.rate(int(scored or 0), int(closed))
    return rate, None if average is None else float(average)


def _first_contact(session: Session, period: Period) -> float | None:
    since, until = utc_bounds(session, period)
    total, first = session.execute(
        select(func.count(), func.sum(case((Ticket.first_contact.is_(True), 1), else_=0))).where(
            Ticket.channel == "phone", Ticket.created_at >= since, Ticket.created_at < until
        )
    ).one()
    return figures.rate(int(first or 0), int(total or 0))


def measured_values(session: Session, period: Period) -> dict[str, float | None]:
    """Every measurable figure of :data:`MEASURES` over ``period`` (a handful of statements)."""
    calls = [row for row in figures.call_figures(session, period) if row.queue is None]
    chats = [row for row in figures.chat_rows(session, period) if row.queue is None]
    citizens = figures.citizen_figures(session, period)
    inspection_rate, inspection_score = _quality(session, period)
    return {
        "call_answer_rate": calls[0].answer_rate if calls else None,
        "call_avg_wait": calls[0].avg_wait if calls else None,
        "chat_answer_rate": chats[0].answer_rate if chats else None,
        "chat_avg_wait": chats[0].avg_wait if chats else None,
        "satisfaction": citizens.satisfaction,
        "callback_rate": citizens.callback_rate,
        "inspection_rate": inspection_rate,
        "inspection_score": inspection_score,
        "first_contact_rate": _first_contact(session, period),
    }


# the figure each measure is (analysis.definitions keys, for the hover; two are defined here)
MEASURES: Mapping[str, str] = {
    "call_answer_rate": "call_answer_rate",
    "call_avg_wait": "call_avg_wait",
    "chat_answer_rate": "chat_pickup_rate",
    "chat_avg_wait": "chat_avg_wait",
    "satisfaction": "satisfaction",
    "callback_rate": "callback_rate",
    "inspection_rate": "inspection_rate",
    "inspection_score": "inspection_score",
    "first_contact_rate": "first_contact_rate",
}


# -- quarters -----------------------------------------------------------------------------------


def quarter_period(quarter: str) -> Period:
    match = _QUARTER.match(quarter or "")
    if match is None:
        raise ValidationError({"quarter": N_("Write the quarter as 2026Q1.")})
    year, q = int(match.group(1)), int(match.group(2))
    start = dt.date(year, 3 * q - 2, 1)
    end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - dt.timedelta(days=1)
    return Period(start, end)


def quarter_of(day: dt.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    return quarter_of(quarter_period(quarter).start - dt.timedelta(days=1))


# -- the configuration --------------------------------------------------------------------------


def indicators(session: Session) -> list[IndicatorSpec]:
    """The configured indicators in order, or the defaults while admins have saved none."""
    rows = session.scalars(
        select(AssessmentIndicator).order_by(AssessmentIndicator.position, AssessmentIndicator.id)
    ).all()
    if not rows:
        return list(DEFAULT_INDICATORS)
    return [
        IndicatorSpec(
            r.code,
            r.category,
            r.name_zh,
            r.name_en,
            r.weight,
            r.target,
            r.comparison,
            r.unit,
            r.measure,
            r.active,
        )  # fmt: skip
        for r in rows
    ]


def save_indicators(
    session: Session, changes: Mapping[str, Mapping[str, str]], *, actor: Actor
) -> list[IndicatorSpec]:
    """Admins set weight, target, direction and active per indicator code (text as typed)."""
    if not can_configure_assessment(actor):
        raise PermissionDenied(N_("You are not allowed to do this."))
    current = {spec.code: spec for spec in indicators(session)}
    errors: dict[str, str] = {}
    updated: list[IndicatorSpec] = []
    for code, spec in current.items():
        change = changes.get(code, {})
        weight = _number(change.get("weight"), spec.weight)
        target = _number(change.get("target"), spec.target)
        comparison = change.get("comparison") or spec.comparison
        if weight is None or weight < 0 or weight > 100:
            errors[f"{code}-weight"] = N_("A weight between 0 and 100 points.")
        if target is None or target < 0:
            errors[f"{code}-target"] = N_("A target of 0 or more.")
        if comparison not in COMPARISONS:
            errors[f"{code}-comparison"] = N_("At least or at most.")
        active = change.get("active") == "1" if code in changes else spec.active
        if not errors:
            assert weight is not None and target is not None
            updated.append(
                IndicatorSpec(
                    spec.code,
                    spec.category,
                    spec.name_zh,
                    spec.name_en,
                    weight,
                    target,
                    comparison,
                    spec.unit,
                    spec.measure,
                    active,
                )  # fmt: skip
            )
    if errors:
        raise ValidationError(errors)
    rows = {r.code: r for r in session.scalars(select(AssessmentIndicator))}
    now = clock.now()
    for position, spec in enumerate(updated, start=1):
        row = rows.get(spec.code)
        if row is None:
            row = AssessmentIndicator(code=spec.code, category=spec.category, position=position,
                                      name_zh=spec.name_zh, name_en=spec.name_en, unit=spec.unit,
                                      measure=spec.measure)  # fmt: skip
            session.add(row)
        row.weight, row.target, row.comparison, row.active = (
            spec.weight,
            spec.target,
            spec.comparison,
            spec.active,
        )
        row.updated_at = now
        row.updated_by_id = actor.id if isinstance(actor, StaffUser) else None
    session.flush()
    return updated


def _number(raw: str | None, default: float) -> float | None:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) < 1e9 else None  # not NaN, not huge


# -- the assessor's entries ---------------------------------------------------------------------


def entries(session: Session, quarter: str) -> dict[str, AssessmentEntry]:
    rows = session.scalars(select(AssessmentEntry).where(AssessmentEntry.quarter == quarter))
    return {row.indicator_code: row for row in rows}


def enter_values(session: Session, quarter: str, values: Mapping[str, str], *, actor: Actor) -> int:
    """The assessor's values for the indicators the system does not measure; an empty field
    removes the entry. Returns how many were stored or removed."""
    if not can_assess(actor):
        raise PermissionDenied(N_("You are not allowed to do this."))
    quarter_period(quarter)
    entered = {spec.code: spec for spec in indicators(session) if spec.measure is None}
    stored = entries(session, quarter)
    errors: dict[str, str] = {}
    changed = 0
    now = clock.now()
    for code, raw in values.items():
        if code not in entered:
            raise NotFound(N_("No such indicator."))
        text = (raw or "").strip()
        row = stored.get(code)
        if not text:
            if row is not None:
                session.delete(row)
                changed += 1
            continue
        value = _number(text, 0.0)
        if value is None or value < 0:
            errors[code] = N_("A number of 0 or more.")
            continue
        if row is None:
            row = AssessmentEntry(quarter=quarter, indicator_code=code)
            session.add(row)
        row.value = value
        row.entered_at = now
        row.entered_by_id = actor.id if isinstance(actor, StaffUser) else None
        changed += 1
    if errors:
        raise ValidationError(errors)
    session.flush()
    return changed


# -- the scorecard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLine:
    spec: IndicatorSpec
    value: float | None
    measured: bool
    points: float

    @property
    def meets(self) -> bool | None:
        if self.value is None:
            return None
        if self.spec.comparison == "ge":
            return self.value >= self.spec.target
        return self.value <= self.spec.target


@dataclass(frozen=True)
class Scorecard:
    quarter: str
    period: Period
    lines: list[ScoreLine]

    @property
    def score(self) -> float:
        return sum(line.points for line in self.lines)

    @property
    def full_score(self) -> float:
        return sum(line.spec.weight for line in self.lines)

    @property
    def fee_share(self) -> float | None:
        """The share of the quarter's fee the score implies (paid in proportion to the score)."""
        return None if not self.full_score else 100.0 * self.score / self.full_score

    @property
    def missing(self) -> list[ScoreLine]:
        return [line for line in self.lines if line.value is None]

    def category_score(self, category: str) -> tuple[float, float]:
        lines = [line for line in self.lines if line.spec.category == category]
        return sum(line.points for line in lines), sum(line.spec.weight for line in lines)


def points(spec: IndicatorSpec, value: float | None) -> float:
    """The points ``value`` earns (see the module's scoring choice)."""
    if value is None:
        return 0.0
    if spec.comparison == "ge":
        if value >= spec.target:
            return spec.weight
        return spec.weight * value / spec.target if spec.target else 0.0
    if value <= spec.target:
        return spec.weight
    return spec.weight * spec.target / value if value else 0.0


def scorecard(
    session: Session,
    quarter: str,
    *,
    measure: Callable[[Session, Period], Mapping[str, float | None]] = measured_values,
) -> Scorecard:
    period = quarter_period(quarter)
    figures.no_jit(session)
    active = [spec for spec in indicators(session) if spec.active]
    measured = measure(session, period) if any(s.measure for s in active) else {}
    stored = entries(session, quarter)
    lines = []
    for spec in active:
        if spec.measure is not None:
            value = measured.get(spec.measure)
        else:
            entry = stored.get(spec.code)
            value = None if entry is None else entry.value
        lines.append(ScoreLine(spec, value, spec.measure is not None, points(spec, value)))
    return Scorecard(quarter, period, lines)
