"""Every allowed and every forbidden transition of shared/spec/workflow.md."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import clock
from core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from delivery.models import OutboxMessage
from tests.conftest import at
from tickets import workflow
from tickets.access import SYSTEM, CitizenActor
from tickets.models import Stage, Survey, Ticket, TicketEvent
from tickets.workflow import StageError, TicketDraft


def _event_count(db, ticket: Ticket) -> int:
    return db.scalar(
        select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
    )


def _snapshot(db, ticket: Ticket) -> tuple:
    db.refresh(ticket)
    return (
        ticket.stage,
        ticket.department_id,
        ticket.review_due,
        ticket.handling_due,
        ticket.is_returned,
        ticket.close_reason,
        _event_count(db, ticket),
    )


def assert_refused(db, ticket, call, error=DomainError):
    before = _snapshot(db, ticket)
    with pytest.raises(error):
        call()
    db.rollback()
    assert _snapshot(db, ticket) == before


# -- the happy path and its deadlines ---------------------------------------------------------


def test_complaint_from_submission_to_close(db, make_ticket, departments, staff) -> None:
    ticket = make_ticket("submitted", when=at(2026, 11, 20, 9))
    assert ticket.stage == Stage.SUBMITTED
    assert len(ticket.number) == 12 and ticket.number.startswith("261120")
    assert len(ticket.query_code) == 6

    with clock.frozen(at(2026, 11, 20, 14)):  # Friday afternoon, the spec's example
        workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    assert ticket.stage == Stage.DEPT_REVIEW
    assert ticket.review_due == dt.date(2026, 11, 25)
    assert ticket.handling_due == dt.date(2026, 12, 11)
    assert ticket.due_date == ticket.review_due
    assert ticket.supervision == "normal"

    with clock.frozen(at(2026, 11, 23)):
        workflow.accept_ticket(db, ticket, actor=staff["dept"])
    assert ticket.stage == Stage.HANDLING and ticket.due_date == dt.date(2026, 12, 11)

    with clock.frozen(at(2026, 11, 24)):
        workflow.reply_ticket(db, ticket, actor=staff["dept"], reply="已清理完毕。")
        workflow.pass_review(db, ticket, actor=staff["reviewer"])
    assert ticket.stage == Stage.CALLBACK and ticket.due_date is None and ticket.supervision is None
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey is not None and survey.answered_at is None

    with clock.frozen(at(2026, 11, 25)):
        workflow.record_callback(
            db, ticket, actor=staff["operator"], satisfaction="basically_satisfied", comment="还行"
        )
    assert ticket.stage == Stage.CLOSED and ticket.close_reason == "surveyed"
    assert ticket.satisfaction == "basically_satisfied" and not ticket.needs_supervisor
    actions = [
        e.action
        for e in db.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
    ]
    assert actions == ["submit", "dispatch", "accept", "reply", "pass_review", "record_callback"]
    first, last = ticket.events[0], ticket.events[-1]
    assert first.actor_type == "citizen" and first.to_stage == "submitted"
    assert last.actor_type == "staff" and last.actor_id == staff["operator"].id
    assert last.from_stage == "callback" and last.to_stage == "closed"


def test_department_return_then_redispatch_restarts_normal_deadlines(
    db, make_ticket, departments, staff
) -> None:
    ticket = make_ticket("dept_review", when=at(2026, 11, 20))
    workflow.return_to_operator(db, ticket, actor=staff["dept"], reason="不属于本部门职责")
    assert (
        ticket.stage == Stage.SUBMITTED and ticket.department_id is None and ticket.due_date is None
    )
    event = ticket.events[-1]
    assert (
        event.action == "return_to_operator" and event.department_id == departments["chengguan"].id
    )
    with clock.frozen(at(2026, 11, 24)):
        workflow.dispatch_ticket(db, ticket, departments["zhujian"], actor=staff["operator"])
    assert ticket.review_due == dt.date(2026, 11, 27)
    assert ticket.handling_due == dt.date(2026, 12, 15)
    assert not ticket.is_returned


def test_transfer_to_another_department_is_a_normal_ticket(
    db, make_ticket, departments, staff
) -> None:
    ticket = make_ticket("re_review")
    with clock.frozen(at(2026, 11, 23)):
        workflow.transfer_ticket(
            db, ticket, departments["zhujian"], actor=staff["reviewer"], reason="应由住建局处理"
        )
    assert ticket.stage == Stage.DEPT_REVIEW and ticket.department_id == departments["zhujian"].id
    assert ticket.review_due == dt.date(2026, 11, 26) and ticket.handling_due == dt.date(
        2026, 12, 14
    )
    assert not ticket.is_returned
    # a normal ticket can be returned to the operator
    workflow.return_to_operator(db, ticket, actor=staff["other_dept"], reason="不属于本部门")
    assert ticket.stage == Stage.SUBMITTED


@pytest.mark.parametrize(
    ("total", "handling"), [(5, dt.date(2026, 11, 30)), (15, dt.date(2026, 12, 14))]
)
def test_return_to_department_with_chosen_deadline(db, make_ticket, staff, total, handling) -> None:
    ticket = make_ticket("re_review", kind="report")
    with clock.frozen(at(2026, 11, 23)):
        workflow.return_to_department(
            db, ticket, actor=staff["reviewer"], total_days=total, reason="答复不完整"
        )
    assert ticket.stage == Stage.DEPT_REVIEW and ticket.is_returned
    assert ticket.review_due == dt.date(2026, 11, 26)
    assert ticket.handling_due == handling
    assert ticket.total_days == total


def test_returned_ticket_cannot_go_back_to_the_operator(db, make_ticket, staff) -> None:
    ticket = make_ticket("re_review")
    workflow.return_to_department(
        db, ticket, actor=staff["reviewer"], total_days=5, reason="补充答复"
    )
    db.commit()
    assert_refused(
        db,
        ticket,
        lambda: workflow.return_to_operator(db, ticket, actor=staff["dept"], reason="不是我们的"),
        StageError,
    )
    # the department can still accept and reply again, and the reviewer pass it
    workflow.accept_ticket(db, ticket, actor=staff["dept"])
    workflow.reply_ticket(db, ticket, actor=staff["dept"], reply="已补充。")
    workflow.pass_review(db, ticket, actor=staff["reviewer"])
    assert ticket.stage == Stage.CALLBACK


@pytest.mark.parametrize("total", [None, 0, 3, 10, 30])
def test_return_to_department_requires_5_or_15(db, make_ticket, staff, total) -> None:
    ticket = make_ticket("re_review")
    assert_refused(
        db,
        ticket,
        lambda: workflow.return_to_department(
            db, ticket, actor=staff["reviewer"], total_days=total, reason="补充"
        ),
        ValidationError,
    )


def test_operator_resolves_a_consultation_directly(db, make_ticket, staff) -> None:
    ticket = make_ticket("submitted", kind="consultation")
    workflow.resolve_directly(
        db, ticket, actor=staff["operator"], answer="可在社保网上服务大厅办理。"
    )
    assert ticket.stage == Stage.CLOSED and ticket.close_reason == "direct" and ticket.reply


def test_only_a_consultation_can_be_resolved_directly(db, make_ticket, staff) -> None:
    ticket = make_ticket("submitted", kind="complaint")
    assert_refused(
        db,
        ticket,
        lambda: workflow.resolve_directly(db, ticket, actor=staff["operator"], answer="x"),
        StageError,
    )


def test_reject_and_merge(db, make_ticket, staff) -> None:
    invalid = make_ticket("submitted")
    workflow.reject_ticket(db, invalid, actor=staff["operator"], reason="内容无效")
    assert invalid.close_reason == "rejected"
    original = make_ticket("dept_review")
    duplicate = make_ticket("submitted")
    workflow.merge_ticket(db, duplicate, original, actor=staff["operator"])
    assert duplicate.close_reason == "merged" and duplicate.merged_into_id == original.id
    other = make_ticket("submitted")
    db.commit()
    assert_refused(
        db,
        other,
        lambda: workflow.merge_ticket(db, other, other, actor=staff["operator"]),
        ValidationError,
    )
    assert_refused(
        db,
        other,
        lambda: workflow.merge_ticket(db, other, duplicate, actor=staff["operator"]),
        ValidationError,
    )
    assert_refused(
        db,
        other,
        lambda: workflow.reject_ticket(db, other, actor=staff["operator"], reason="  "),
        ValidationError,
    )


def test_unsatisfied_answer_flags_for_supervisor_who_reopens(
    db, make_ticket, departments, staff
) -> None:
    ticket = make_ticket("callback")
    citizen = CitizenActor(ticket.citizen_id, ticket.channel)
    workflow.answer_survey(
        db, ticket, actor=citizen, satisfaction="unsatisfied", comment="垃圾又堆起来了"
    )
    assert ticket.stage == Stage.CLOSED and ticket.needs_supervisor
    db.commit()
    # answered once: a second answer is refused
    assert_refused(
        db,
        ticket,
        lambda: workflow.answer_survey(db, ticket, actor=citizen, satisfaction="satisfied"),
        Conflict,
    )
    workflow.reopen_ticket(db, ticket, actor=staff["supervisor"], reason="市民不满意，重新处理")
    assert (
        ticket.stage == Stage.RE_REVIEW and not ticket.needs_supervisor and ticket.closed_at is None
    )
    workflow.return_to_department(
        db, ticket, actor=staff["supervisor"], total_days=15, reason="重新处理"
    )
    assert ticket.stage == Stage.DEPT_REVIEW and ticket.is_returned


def test_unanswered_survey_closes_as_no_response(db, make_ticket) -> None:
    ticket = make_ticket("callback")
    workflow.close_without_response(db, ticket, actor=SYSTEM)
    assert ticket.stage == Stage.CLOSED and ticket.close_reason == "no_response"
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey.method == "no_response"


def test_mark_urgent_notifies_department(db, make_ticket, staff) -> None:
    ticket = make_ticket("dept_review")
    workflow.mark_urgent(db, ticket, actor=staff["operator"], reason="燃气泄漏")
    assert ticket.urgent
    keys = set(
        db.scalars(select(OutboxMessage.template).where(OutboxMessage.ticket_id == ticket.id))
    )
    assert "department_ticket_urgent" in keys
    db.commit()
    assert_refused(
        db, ticket, lambda: workflow.mark_urgent(db, ticket, actor=staff["operator"]), Conflict
    )


# -- forbidden: wrong stage ----------------------------------------------------------------------

ALL_STAGES = ["submitted", "dept_review", "handling", "re_review", "callback", "closed"]


def _actions(departments, staff, other):
    return {
        "dispatch": (
            ["submitted"],
            lambda db, t: workflow.dispatch_ticket(
                db, t, departments["chengguan"], actor=staff["operator"]
            ),
        ),
        "resolve_directly": (
            ["submitted"],
            lambda db, t: workflow.resolve_directly(db, t, actor=staff["operator"], answer="答复"),
        ),
        "reject": (
            ["submitted"],
            lambda db, t: workflow.reject_ticket(db, t, actor=staff["operator"], reason="无效"),
        ),
        "merge": (
            ["submitted"],
            lambda db, t: workflow.merge_ticket(db, t, other, actor=staff["operator"]),
        ),
        "accept": (
            ["dept_review"],
            lambda db, t: workflow.accept_ticket(db, t, actor=staff["dept"]),
        ),
        "return_to_operator": (
            ["dept_review"],
            lambda db, t: workflow.return_to_operator(
                db, t, actor=staff["dept"], reason="非本部门"
            ),
        ),
        "reply": (
            ["handling"],
            lambda db, t: workflow.reply_ticket(db, t, actor=staff["dept"], reply="已处理"),
        ),
        "pass_review": (
            ["re_review"],
            lambda db, t: workflow.pass_review(db, t, actor=staff["reviewer"]),
        ),
        "transfer": (
            ["re_review"],
            lambda db, t: workflow.transfer_ticket(
                db, t, departments["zhujian"], actor=staff["reviewer"], reason="转住建"
            ),
        ),
        "return_to_department": (
            ["re_review"],
            lambda db, t: workflow.return_to_department(
                db, t, actor=staff["reviewer"], total_days=5, reason="补充"
            ),
        ),
        "record_callback": (
            ["callback"],
            lambda db, t: workflow.record_callback(
                db, t, actor=staff["operator"], satisfaction="satisfied"
            ),
        ),
        "close_no_response": (
            ["callback"],
            lambda db, t: workflow.close_without_response(db, t, actor=SYSTEM),
        ),
        "reopen": (
            ["closed"],
            lambda db, t: workflow.reopen_ticket(db, t, actor=staff["supervisor"], reason="重办"),
        ),
    }


DEPT_ACTIONS = {"accept", "return_to_operator", "reply"}


@pytest.mark.parametrize("stage", ALL_STAGES)
def test_each_action_only_at_its_stage(db, make_ticket, departments, staff, stage) -> None:
    other = make_ticket("dept_review")
    for name, (allowed, call) in _actions(departments, staff, other).items():
        ticket = make_ticket(stage, kind="consultation")
        if stage in allowed:
            call(db, ticket)
            db.commit()
        else:
            # A department clerk has no right to a ticket not (or no longer) at their
            # department: that refusal comes first. Everything else is refused for its stage.
            expected = (
                PermissionDenied
                if ticket.department_id is None and name in DEPT_ACTIONS
                else StageError
            )
            assert_refused(db, ticket, lambda call=call, ticket=ticket: call(db, ticket), expected)


# -- forbidden: wrong role -----------------------------------------------------------------------

ROLE_OF = {
    "dispatch": {"operator"},
    "resolve_directly": {"operator"},
    "reject": {"operator"},
    "merge": {"operator"},
    "accept": {"dept"},
    "return_to_operator": {"dept"},
    "reply": {"dept"},
    "pass_review": {"reviewer", "supervisor"},
    "transfer": {"reviewer", "supervisor"},
    "return_to_department": {"reviewer", "supervisor"},
    "record_callback": {"operator", "reviewer"},
    "reopen": {"supervisor"},
}
STAGE_OF = {
    "dispatch": "submitted",
    "resolve_directly": "submitted",
    "reject": "submitted",
    "merge": "submitted",
    "accept": "dept_review",
    "return_to_operator": "dept_review",
    "reply": "handling",
    "pass_review": "re_review",
    "transfer": "re_review",
    "return_to_department": "re_review",
    "record_callback": "callback",
    "reopen": "closed",
}


def _call_as(name, db, ticket, actor, departments, other):
    calls = {
        "dispatch": lambda: workflow.dispatch_ticket(
            db, ticket, departments["chengguan"], actor=actor
        ),
        "resolve_directly": lambda: workflow.resolve_directly(
            db, ticket, actor=actor, answer="答复"
        ),
        "reject": lambda: workflow.reject_ticket(db, ticket, actor=actor, reason="无效"),
        "merge": lambda: workflow.merge_ticket(db, ticket, other, actor=actor),
        "accept": lambda: workflow.accept_ticket(db, ticket, actor=actor),
        "return_to_operator": lambda: workflow.return_to_operator(
            db, ticket, actor=actor, reason="非本部门"
        ),
        "reply": lambda: workflow.reply_ticket(db, ticket, actor=actor, reply="已处理"),
        "pass_review": lambda: workflow.pass_review(db, ticket, actor=actor),
        "transfer": lambda: workflow.transfer_ticket(
            db, ticket, departments["zhujian"], actor=actor, reason="转"
        ),
        "return_to_department": lambda: workflow.return_to_department(
            db, ticket, actor=actor, total_days=15, reason="补充"
        ),
        "record_callback": lambda: workflow.record_callback(
            db, ticket, actor=actor, satisfaction="satisfied"
        ),
        "reopen": lambda: workflow.reopen_ticket(db, ticket, actor=actor, reason="重办"),
    }
    return calls[name]()


@pytest.mark.parametrize("action", sorted(ROLE_OF))
def test_each_action_only_by_its_roles(db, make_ticket, departments, staff, action) -> None:
    other = make_ticket("dept_review")
    actors = {**staff, "citizen": CitizenActor(None, "web"), "system": SYSTEM}
    for who, actor in actors.items():
        ticket = make_ticket(STAGE_OF[action], kind="consultation")
        if who in ROLE_OF[action]:
            _call_as(action, db, ticket, actor, departments, other)
            db.commit()
        else:
            assert_refused(
                db,
                ticket,
                lambda ticket=ticket, actor=actor: _call_as(
                    action, db, ticket, actor, departments, other
                ),
                PermissionDenied,
            )


def test_department_cannot_act_on_another_departments_ticket(db, make_ticket, staff) -> None:
    ticket = make_ticket("dept_review", department="chengguan")
    assert_refused(
        db,
        ticket,
        lambda: workflow.accept_ticket(db, ticket, actor=staff["other_dept"]),
        PermissionDenied,
    )


def test_inactive_staff_can_do_nothing(db, make_ticket, departments, staff) -> None:
    ticket = make_ticket("submitted")
    staff["operator"].active = False
    db.commit()
    assert_refused(
        db,
        ticket,
        lambda: workflow.dispatch_ticket(
            db, ticket, departments["chengguan"], actor=staff["operator"]
        ),
        PermissionDenied,
    )


# -- submission ----------------------------------------------------------------------------------


def _draft(**kw) -> TicketDraft:
    values = {"kind": "complaint", "description": "路灯不亮", "phone": "13800138000"}
    values.update(kw)
    return TicketDraft(**values)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"description": "   "}, "description"),
        ({"description": "长" * 4001}, "description"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "23800138000"}, "phone"),
        ({"phone": None}, "phone"),
        ({"anonymous": True}, "anonymous"),  # only a report may be anonymous
        ({"title": "题" * 201}, "title"),
        ({"latitude": 123.0}, "location"),
    ],
)
def test_submission_validation(db, departments, fields, bad) -> None:
    with pytest.raises(ValidationError) as error:
        workflow.submit_ticket(db, _draft(**fields), actor=CitizenActor(None, "web"), channel="web")
    assert bad in error.value.fields
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_anonymous_report_needs_no_phone_and_phone_formats_normalise(db, departments) -> None:
    report = workflow.submit_ticket(
        db,
        _draft(kind="report", anonymous=True, phone=None),
        actor=CitizenActor(None, "web"),
        channel="web",
    )
    assert report.anonymous and report.contact_phone is None
    spaced = workflow.submit_ticket(
        db, _draft(phone="+86 138-0013-8000"), actor=CitizenActor(None, "web"), channel="web"
    )
    assert spaced.contact_phone == "13800138000"


def test_idempotent_submission(db, departments) -> None:
    first = workflow.submit_ticket(
        db, _draft(), actor=CitizenActor(None, "web"), channel="web", idempotency_key="k-1"
    )
    db.commit()
    again = workflow.submit_ticket(
        db, _draft(), actor=CitizenActor(None, "web"), channel="web", idempotency_key="k-1"
    )
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1
    received = db.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.template == "ticket_received")
    )
    assert received == 1


def test_unknown_category_is_refused(db, departments) -> None:
    with pytest.raises(ValidationError) as error:
        workflow.submit_ticket(
            db, _draft(category_code="nope"), actor=CitizenActor(None, "web"), channel="web"
        )
    assert "category" in error.value.fields


def test_every_transition_writes_an_immutable_event_and_one_message_per_change(
    db, make_ticket
) -> None:
    ticket = make_ticket("closed")
    events = db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    assert len(events) == 6
    keys = db.scalars(
        select(OutboxMessage.idempotency_key).where(OutboxMessage.ticket_id == ticket.id)
    ).all()
    assert len(keys) == len(set(keys))
    templates = db.scalars(
        select(OutboxMessage.template)
        .where(OutboxMessage.audience == "citizen", OutboxMessage.ticket_id == ticket.id)
        .order_by(OutboxMessage.id)
    ).all()
    assert templates == ["ticket_received", "ticket_dispatched", "ticket_answered", "ticket_closed"]


def test_error_messages_are_translated(db, make_ticket, staff) -> None:
    ticket = make_ticket("submitted", kind="complaint")
    with pytest.raises(StageError) as error:
        workflow.resolve_directly(db, ticket, actor=staff["operator"], answer="x")
    assert error.value.translated("zh_CN") != error.value.translated("en")
    assert "咨询" in error.value.translated("zh_CN")


def test_a_comment_can_follow_a_channel_rating_once(db, make_ticket) -> None:
    ticket = make_ticket("callback")
    citizen = CitizenActor(ticket.citizen_id, ticket.channel)
    workflow.answer_survey(db, ticket, actor=citizen, satisfaction="satisfied")
    workflow.add_survey_comment(db, ticket, actor=citizen, comment="办得很快")
    survey = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert survey.comment == "办得很快" and survey.satisfaction == "satisfied"
    db.commit()
    assert_refused(
        db,
        ticket,
        lambda: workflow.add_survey_comment(db, ticket, actor=citizen, comment="再说一句"),
        Conflict,
    )
