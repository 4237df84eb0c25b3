"""The quarterly service assessment: the default indicators against the seed, the scoring rule,
the measured values from the data, the assessor's entries and the admins' configuration."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from analysis import assessment
from analysis.assessment import DEFAULT_INDICATORS, IndicatorSpec, points, scorecard
from analysis.periods import Period
from core import clock
from core.errors import NotFound, PermissionDenied, ValidationError
from tests.conftest import at
from tickets import workflow

Q1 = "2026Q1"


def test_the_defaults_follow_the_seed() -> None:
    assert len(DEFAULT_INDICATORS) == 19
    weights: dict[str, float] = {}
    for spec in DEFAULT_INDICATORS:
        weights[spec.category] = weights.get(spec.category, 0) + spec.weight
    assert weights == {"platform": 30, "manual": 50, "after_sales": 20}
    assert sum(1 for s in DEFAULT_INDICATORS if s.category == "manual") == 13
    named = {s.code: (s.target, s.comparison) for s in DEFAULT_INDICATORS}
    assert named["answer_rate"] == (85, "ge")  # 人工接通率 ≥ 85%
    assert named["queue_time"] == (25, "le")  # 平均排队时间 ≤ 25 秒
    assert named["satisfaction"] == (90, "ge")  # 最终客户满意率 ≥ 90%
    assert {"inspection_rate", "callback_rate"} <= set(named)  # 工单质检率, 工单回访率
    assert all(s.measure is None or s.measure in assessment.MEASURES for s in DEFAULT_INDICATORS)


def test_quarters() -> None:
    assert assessment.quarter_period("2026Q1") == Period(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert assessment.quarter_period("2026Q4") == Period(
        dt.date(2026, 10, 1), dt.date(2026, 12, 31)
    )
    assert assessment.quarter_of(dt.date(2026, 8, 15)) == "2026Q3"
    assert assessment.previous_quarter("2026Q1") == "2025Q4"
    for bad in ("2026Q5", "2026-1", "", "x"):
        with pytest.raises(ValidationError):
            assessment.quarter_period(bad)


def _spec(target: float, comparison: str, weight: float = 10) -> IndicatorSpec:
    return IndicatorSpec("x", "manual", "x", "x", weight, target, comparison, "percent")


def test_points() -> None:
    assert points(_spec(85, "ge"), 90) == 10
    assert points(_spec(85, "ge"), 85) == 10
    assert points(_spec(80, "ge"), 60) == 7.5
    assert points(_spec(25, "le"), 20) == 10
    assert points(_spec(25, "le"), 50) == 5
    assert points(_spec(0, "le"), 0) == 10
    assert points(_spec(0, "le"), 2) == 0
    assert points(_spec(85, "ge"), None) == 0


def _meeting_everything(session: Session, period: Period) -> dict[str, float | None]:
    values: dict[str, float | None] = {
        s.measure: s.target for s in DEFAULT_INDICATORS if s.measure is not None
    }
    values["call_answer_rate"] = 80.0  # misses 85: 6 × 80/85
    values["call_avg_wait"] = 30.0  # misses 25: 6 × 25/30 = 5
    return values


def test_a_hand_checked_scorecard(db: Session, staff: Any) -> None:
    entered = {s.code: str(s.target) for s in DEFAULT_INDICATORS if s.measure is None}
    entered["agent_complaints"] = "2"  # at most 0: no points
    entered["fault_repair"] = ""  # not entered: no points, listed as missing
    assessment.enter_values(db, Q1, entered, actor=staff["supervisor"])
    card = scorecard(db, Q1, measure=_meeting_everything)
    assert card.full_score == 100
    assert round(card.score, 3) == round(100 - (6 - 6 * 80 / 85) - 1 - 2 - 10, 3)  # 86.647
    assert card.fee_share is not None and round(card.fee_share, 2) == 86.65
    assert [line.spec.code for line in card.missing] == ["fault_repair"]
    assert card.category_score("after_sales") == (10, 20)
    line = next(line for line in card.lines if line.spec.code == "queue_time")
    assert (line.value, line.measured, line.points, line.meets) == (30.0, True, 5.0, False)


def test_the_scorecard_measures_the_quarter_from_the_data(
    db: Session, make_ticket: Any, step: Any, staff: Any
) -> None:
    answered = make_ticket("callback", when=at(2026, 2, 2, 10))
    step(at(2026, 2, 3, 10), workflow.record_callback, answered, actor=staff["operator"],
         satisfaction="basically_satisfied")  # fmt: skip
    unhappy = make_ticket("callback", when=at(2026, 2, 2, 11))
    step(at(2026, 2, 3, 11), workflow.record_callback, unhappy, actor=staff["operator"],
         satisfaction="unsatisfied")  # fmt: skip
    later = make_ticket("callback", when=at(2026, 4, 1, 10))  # the next quarter
    step(at(2026, 4, 2, 10), workflow.record_callback, later, actor=staff["operator"],
         satisfaction="satisfied")  # fmt: skip
    values = assessment.measured_values(db, assessment.quarter_period(Q1))
    assert values["satisfaction"] == 50.0
    assert values["callback_rate"] == 100.0
    assert values["call_answer_rate"] is None  # no calls: nothing measured, no points
    card = scorecard(db, Q1)
    line = next(line for line in card.lines if line.spec.code == "satisfaction")
    assert (line.value, line.points) == (50.0, 6 * 50 / 90)
    assert "answer_rate" in [line.spec.code for line in card.missing]


def test_the_assessor_enters_values(db: Session, staff: Any) -> None:
    with pytest.raises(PermissionDenied):
        assessment.enter_values(db, Q1, {"availability": "99.95"}, actor=staff["operator"])
    with pytest.raises(PermissionDenied):
        assessment.enter_values(db, Q1, {"availability": "99.95"}, actor=staff["dept"])
    assert assessment.enter_values(db, Q1, {"availability": "99.95"}, actor=staff["admin"]) == 1
    assert assessment.entries(db, Q1)["availability"].value == 99.95
    assert assessment.entries(db, "2026Q2") == {}
    with pytest.raises(ValidationError) as error:
        assessment.enter_values(db, Q1, {"recording": "many"}, actor=staff["supervisor"])
    assert "recording" in error.value.fields
    with pytest.raises(NotFound):  # measured, not entered
        assessment.enter_values(db, Q1, {"answer_rate": "90"}, actor=staff["supervisor"])
    assessment.enter_values(db, Q1, {"availability": ""}, actor=staff["supervisor"])
    assert assessment.entries(db, Q1) == {}


def test_admins_configure_weights_and_thresholds(db: Session, staff: Any) -> None:
    with pytest.raises(PermissionDenied):
        assessment.save_indicators(db, {}, actor=staff["supervisor"])
    with clock.frozen(at(2026, 3, 10, 10)):
        assessment.save_indicators(
            db,
            {
                "answer_rate": {"weight": "10", "target": "90", "comparison": "ge", "active": "1"},
                "attendance": {"weight": "3", "target": "98", "comparison": "ge"},  # unticked
            },
            actor=staff["admin"],
        )
    specs = {s.code: s for s in assessment.indicators(db)}
    assert len(specs) == 19
    assert (specs["answer_rate"].weight, specs["answer_rate"].target) == (10, 90)
    assert specs["attendance"].active is False
    card = scorecard(db, Q1, measure=_meeting_everything)
    assert card.full_score == 100 + 4 - 3
    assert "attendance" not in [line.spec.code for line in card.lines]
    with pytest.raises(ValidationError) as error:
        assessment.save_indicators(
            db,
            {"queue_time": {"weight": "-1", "target": "x", "comparison": "lt"}},
            actor=staff["admin"],
        )
    assert set(error.value.fields) == {
        "queue_time-weight",
        "queue_time-target",
        "queue_time-comparison",
    }
