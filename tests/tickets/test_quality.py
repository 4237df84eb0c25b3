"""Weekly quality inspection: sampling share, idempotent draw, checklist scores, the rate."""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from core.errors import Conflict, PermissionDenied, ValidationError
from tests.conftest import at
from tickets import quality
from tickets.access import SYSTEM


def _closed_tickets(make_ticket, n, department="chengguan"):
    return [make_ticket("closed", department=department, when=at(2026, 11, 17)) for _ in range(n)]


def test_sample_share_score_and_summary(db, make_ticket, staff, departments) -> None:
    _closed_tickets(make_ticket, 10)
    _closed_tickets(make_ticket, 1, department="zhujian")
    week = dt.date(2026, 11, 16)
    with clock.frozen(at(2026, 11, 24)):
        quality.set_sample_share(db, 20, actor=staff["supervisor"])
        weeks = quality.sample_week(db, week, actor=staff["supervisor"])
        assert {w.department.code: w.sampled_count for w in weeks} == {"chengguan": 2, "zhujian": 1}
        assert quality.sample_week(db, week, actor=SYSTEM) == []  # safe to run twice
        inspections = quality.list_inspections(db, week)
        assert len(inspections) == 3
        first, second = inspections[0], inspections[1]
        quality.score_inspection(
            db,
            first.id,
            checks=dict.fromkeys(quality.CHECKLIST, True),
            comment=None,
            actor=staff["supervisor"],
        )
        with pytest.raises(ValidationError):  # an unmet item needs a comment
            quality.score_inspection(
                db, second.id, checks={"on_time": True}, comment="", actor=staff["supervisor"]
            )
        quality.score_inspection(
            db, second.id, checks={"on_time": True}, comment="答非所问", actor=staff["supervisor"]
        )
        with pytest.raises(Conflict):
            quality.score_inspection(
                db, first.id, checks={}, comment="x", actor=staff["supervisor"]
            )
    summary = {row.department_name: row for row in quality.quality_summary(db, week)}
    row = (
        summary[departments["chengguan"].name]
        if first.department_id == departments["chengguan"].id
        else None
    )
    rows = list(summary.values())
    assert sum(r.scored for r in rows) == 2
    assert sum(r.closed for r in rows) == 11
    if row is not None:
        assert row.inspection_rate > 0


def test_only_supervisors_inspect_and_share_is_validated(db, staff) -> None:
    with pytest.raises(PermissionDenied):
        quality.sample_week(db, dt.date(2026, 11, 16), actor=staff["operator"])
    with pytest.raises(ValidationError):
        quality.set_sample_share(db, 0, actor=staff["supervisor"])
    with pytest.raises(ValidationError):
        quality.set_sample_share(db, None, actor=staff["supervisor"])
    assert quality.get_sample_share(db) == quality.DEFAULT_SHARE


def test_future_week_is_refused(db, staff) -> None:
    with clock.frozen(at(2026, 11, 24)), pytest.raises(ValidationError):
        quality.sample_week(db, dt.date(2026, 12, 7), actor=staff["supervisor"])


def test_the_scheduler_draws_last_weeks_sample_once(db, make_ticket) -> None:
    from hotline.jobs import default_jobs, quality_sample_job

    assert "quality_sample" in {job.name for job in default_jobs({})}
    _closed_tickets(make_ticket, 10)
    with clock.frozen(at(2026, 11, 25)):  # Wednesday of the next week
        assert quality_sample_job(db) == 1
        db.commit()
        assert quality_sample_job(db) == 0
    assert len(quality.list_inspections(db, dt.date(2026, 11, 16))) == 1  # 10% of 10
