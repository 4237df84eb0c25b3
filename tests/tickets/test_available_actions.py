"""``workflow.available_actions``: what the staff console offers is exactly what the workflow
accepts (stage and access together), so a template never re-derives a stage rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from core.errors import DomainError
from directory.models import StaffUser
from tickets import workflow
from tickets.models import Ticket


def test_each_stage_offers_its_transitions(
    make_ticket: Callable[..., Ticket], staff: dict[str, StaffUser]
) -> None:
    op, rv, dept = staff["operator"], staff["reviewer"], staff["dept"]
    submitted = make_ticket("submitted")
    assert workflow.available_actions(op, submitted) == {
        "dispatch",
        "reject",
        "merge",
        "mark_urgent",
        "mark_business_request",
    }
    consultation = make_ticket("submitted", kind="consultation")
    assert "resolve_directly" in workflow.available_actions(op, consultation)
    assert workflow.available_actions(dept, submitted) == set()
    assert workflow.available_actions(dept, make_ticket("dept_review")) == {
        "accept",
        "return_to_operator",
    }
    assert workflow.available_actions(staff["other_dept"], make_ticket("dept_review")) == set()
    assert workflow.available_actions(dept, make_ticket("handling")) == {"reply"}
    assert workflow.available_actions(rv, make_ticket("re_review")) == {
        "pass_review",
        "transfer",
        "return_to_department",
    }
    assert workflow.available_actions(op, make_ticket("callback")) == {
        "record_callback",
        "mark_urgent",
    }


def test_reopen_only_after_a_department_and_a_survey(
    db: Session, make_ticket: Callable[..., Ticket], staff: dict[str, StaffUser]
) -> None:
    sv, op = staff["supervisor"], staff["operator"]
    handled = make_ticket("callback")
    workflow.record_callback(db, handled, actor=op, satisfaction="unsatisfied")
    assert workflow.available_actions(sv, handled) == {"reopen"}
    direct = make_ticket("submitted", kind="consultation")
    workflow.resolve_directly(db, direct, actor=op, answer="请携带身份证到窗口办理。")
    assert workflow.available_actions(sv, direct) == set()
    with pytest.raises(DomainError):
        workflow.reopen_ticket(db, direct, actor=sv, reason="再看看")


def test_urgent_is_offered_once(
    db: Session, make_ticket: Callable[..., Ticket], staff: dict[str, StaffUser]
) -> None:
    ticket = make_ticket("handling")
    assert "mark_urgent" in workflow.available_actions(staff["supervisor"], ticket)
    workflow.mark_urgent(db, ticket, actor=staff["supervisor"])
    assert "mark_urgent" not in workflow.available_actions(staff["supervisor"], ticket)
