"""Phone calls registered by an operator (tickets.intake and the workflow's follow-ups): every
outcome, who may, and refusals that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.config import DEFAULTS
from core.errors import DomainError, PermissionDenied, ValidationError
from delivery.models import OutboxMessage
from delivery.render import RenderSettings, render_message
from directory.models import Citizen
from tickets import intake, queries, workflow
from tickets.access import CitizenActor
from tickets.models import CloseReason, Kind, Stage, Ticket, TicketEvent
from tickets.workflow import StageError, TicketDraft

PARTNERS = intake.transfer_partners(DEFAULTS)
CALLER = "13912345678"


def _draft(**kw) -> TicketDraft:
    values = {
        "kind": "complaint",
        "description": "小区楼下烧烤摊油烟太大，每天晚上十点以后还在营业。",
        "address": "香洲区凤凰路88号",
        "phone": CALLER,
    }
    values.update(kw)
    return TicketDraft(**values)


def _counts(db) -> tuple[int, int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(Ticket)),
        db.scalar(select(func.count()).select_from(TicketEvent)),
        db.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def _messages(db, ticket: Ticket, template: str) -> list[OutboxMessage]:
    return list(
        db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.ticket_id == ticket.id, OutboxMessage.template == template
            )
        )
    )


def test_a_new_ticket_from_a_call_is_a_phone_ticket_dispatched_in_the_same_step(
    db, staff, departments
) -> None:
    ticket = intake.register_call_ticket(
        db, _draft(), actor=staff["operator"], department=departments["chengguan"], call_id=7
    )
    assert ticket.channel == "phone"
    assert ticket.stage == Stage.DEPT_REVIEW and ticket.department_id == departments["chengguan"].id
    assert ticket.review_due is not None and ticket.contact_phone == CALLER
    citizen = db.get(Citizen, ticket.citizen_id)
    assert citizen is not None and citizen.phone == CALLER
    actions = [
        e.action for e in db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    ]
    assert actions == ["submit", "dispatch"]
    # The department hears of it; the caller gets the number by SMS (a phone channel cannot push).
    assert _messages(db, ticket, "department_ticket_assigned")
    received = _messages(db, ticket, "ticket_received")
    assert [m.channel for m in received] == ["sms"] and received[0].recipient == CALLER


def test_without_a_department_the_ticket_waits_for_operator_review(db, staff) -> None:
    ticket = intake.register_call_ticket(db, _draft(), actor=staff["operator"])
    assert ticket.stage == Stage.SUBMITTED and ticket.department_id is None


def test_the_same_form_sent_twice_registers_one_ticket(db, staff, departments) -> None:
    first = intake.register_call_ticket(
        db, _draft(), actor=staff["operator"], department=departments["chengguan"], token="abc123"
    )
    again = intake.register_call_ticket(
        db, _draft(), actor=staff["operator"], department=departments["chengguan"], token="abc123"
    )
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1
    with pytest.raises(ValidationError):
        intake.register_call_ticket(db, _draft(), actor=staff["operator"], token="bad token!")


@pytest.mark.parametrize("role", ["reviewer", "supervisor", "admin", "dept"])
def test_only_operators_register_calls(db, staff, departments, role) -> None:
    before = _counts(db)
    with pytest.raises(PermissionDenied):
        intake.register_call_ticket(db, _draft(), actor=staff[role])
    with pytest.raises(PermissionDenied):
        intake.resolve_on_call(db, actor=staff[role], question="问", answer="答", phone=CALLER)
    with pytest.raises(PermissionDenied):
        intake.transfer_call(
            db,
            actor=staff[role],
            partner="110",
            partners=PARTNERS,
            kind="complaint",
            description="有人打架",
            phone=CALLER,
        )
    assert _counts(db) == before


def test_a_citizen_cannot_use_the_call_functions(db, make_ticket) -> None:
    ticket = make_ticket("dept_review")
    citizen = CitizenActor(ticket.citizen_id, "web")
    with pytest.raises(PermissionDenied):
        intake.register_call_ticket(db, _draft(), actor=citizen)
    with pytest.raises(PermissionDenied):
        workflow.urge_ticket(db, ticket, actor=citizen)
    with pytest.raises(PermissionDenied):
        workflow.add_information(db, ticket, actor=citizen, note="x")


def test_bad_input_registers_nothing(db, staff, departments) -> None:
    before = _counts(db)
    for draft in (
        _draft(description=""),
        _draft(kind="gossip"),
        _draft(phone="12345"),
        _draft(category_code="no-such-category"),
    ):
        with pytest.raises(ValidationError):
            intake.register_call_ticket(
                db, draft, actor=staff["operator"], department=departments["chengguan"]
            )
        db.rollback()
    assert _counts(db) == before


def test_answered_on_the_call_is_a_closed_consultation_resolved_on_first_contact(db, staff) -> None:
    ticket = intake.resolve_on_call(
        db,
        actor=staff["operator"],
        question="社保卡丢了怎么补办？",
        answer="携带身份证到就近社保服务网点办理挂失补卡。",
        phone=CALLER,
        faq_id=12,
        call_id=3,
    )
    assert ticket.kind == Kind.CONSULTATION and ticket.channel == "phone"
    assert ticket.stage == Stage.CLOSED and ticket.close_reason == CloseReason.DIRECT
    assert ticket.first_contact is True and ticket.reply.startswith("携带身份证")
    event = db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "resolve_directly"
        )
    )
    assert event.data == {"call_id": 3, "faq_id": 12, "first_contact": True}
    # Analysis counts first-contact resolutions by the flag; an operator's later direct answer
    # to a web consultation is not one.
    web = workflow.submit_ticket(
        db,
        TicketDraft(kind="consultation", description="咨询", phone=CALLER),
        actor=staff["operator"],
        channel="web",
    )
    workflow.resolve_directly(db, web, actor=staff["operator"], answer="答复")
    counted = db.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.first_contact.is_(True))
    )
    assert counted == 1


def test_an_answer_is_required_to_resolve_on_the_call(db, staff) -> None:
    before = _counts(db)
    with pytest.raises(ValidationError) as refused:
        intake.resolve_on_call(
            db, actor=staff["operator"], question="问题", answer=" ", phone=CALLER
        )
    assert "answer" in refused.value.fields
    assert _counts(db) == before


def test_urges_are_counted_and_the_second_flags_the_ticket(db, staff, make_ticket) -> None:
    ticket = make_ticket("handling")
    first = workflow.urge_ticket(db, ticket, actor=staff["operator"], note="已经一周了")
    assert ticket.urge_count == 1 and not ticket.urged_flag
    assert first.data == {"count": 1} and first.public is False
    urged = _messages(db, ticket, "department_ticket_urged")
    assert len(urged) == 1 and urged[0].recipient == f"department:{ticket.department_id}"
    assert not _messages(db, ticket, "supervisor_ticket_urged")
    text, _ = render_message(
        "department_ticket_urged", urged[0].params, "zh_CN", RenderSettings("k", "http://h")
    )
    assert ticket.number in text and "已经一周了" in text

    intake.follow_up(db, ticket, actor=staff["operator"], urge=True, note=None, call_id=9)
    assert ticket.urge_count == 2 and ticket.urged_flag
    supervisors = _messages(db, ticket, "supervisor_ticket_urged")
    assert len(supervisors) == 1 and supervisors[0].recipient == "supervisors"
    assert len(_messages(db, ticket, "department_ticket_urged")) == 2
    db.commit()
    # The supervisors' list shows it; a ticket urged once is not on it.
    once = make_ticket("handling")
    workflow.urge_ticket(db, once, actor=staff["operator"])
    db.commit()
    assert [t.id for t in queries.list_urged(db).items] == [ticket.id]


def test_a_closed_ticket_cannot_be_urged_or_added_to(db, staff, make_ticket) -> None:
    ticket = make_ticket("closed")
    before = _counts(db)
    with pytest.raises(StageError):
        workflow.urge_ticket(db, ticket, actor=staff["operator"])
    db.rollback()
    with pytest.raises(StageError):
        workflow.add_information(db, ticket, actor=staff["operator"], note="补充")
    assert _counts(db) == before
    db.refresh(ticket)
    assert ticket.urge_count == 0


def test_added_information_is_in_the_timeline_and_told_to_the_department(
    db, staff, make_ticket
) -> None:
    ticket = make_ticket("dept_review")
    with pytest.raises(ValidationError):
        workflow.add_information(db, ticket, actor=staff["operator"], note="  ")
    db.rollback()
    event = intake.follow_up(
        db,
        ticket,
        actor=staff["operator"],
        urge=False,
        note="门牌号是 88 号，不是 86 号",
        call_id=4,
    )
    assert event.action == "add_information" and event.note.startswith("门牌号")
    assert event.data == {"call_id": 4}
    assert ticket.urge_count == 0
    (message,) = _messages(db, ticket, "department_ticket_information")
    assert message.params["note"].startswith("门牌号")


def test_a_transfer_is_recorded_on_a_closed_ticket(db, staff) -> None:
    ticket = intake.transfer_call(
        db,
        actor=staff["operator"],
        partner="110",
        partners=PARTNERS,
        kind="report",
        description="楼下有人持刀打架",
        phone=CALLER,
        note="已转 110",
        call_id=5,
    )
    assert ticket.stage == Stage.CLOSED and ticket.close_reason == CloseReason.TRANSFERRED
    assert ticket.transferred_to == "110"
    event = db.scalar(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "transfer_out"
        )
    )
    assert event.data == {"call_id": 5, "partner": "110"} and event.note == "已转 110"


def test_an_unknown_partner_is_refused(db, staff) -> None:
    before = _counts(db)
    with pytest.raises(ValidationError) as refused:
        intake.transfer_call(
            db,
            actor=staff["operator"],
            partner="999",
            partners=PARTNERS,
            kind="complaint",
            description="x",
            phone=CALLER,
        )
    assert "partner" in refused.value.fields
    assert _counts(db) == before


def test_partners_come_from_the_configuration() -> None:
    partners = intake.transfer_partners(
        {"TRANSFER_PARTNERS": {"96333": {"name": "96333 电梯应急", "phone": "96333"}, "x": "X台"}}
    )
    assert list(partners) == ["96333", "x"]
    assert partners["96333"].name_en == "96333 电梯应急" and partners["x"].name == "X台"
    assert "110" in PARTNERS and PARTNERS["110"].phone == "110"


def test_the_callers_history_finds_tickets_by_number_and_by_citizen(db, staff, make_ticket) -> None:
    web = make_ticket("handling", phone=CALLER)  # a web ticket with the number as contact
    called = intake.register_call_ticket(db, _draft(), actor=staff["operator"])
    closed = make_ticket("closed", phone=CALLER)
    other = make_ticket("handling", phone="13700000000")
    # A citizen with that number whose ticket left another contact number.
    citizen = db.get(Citizen, called.citizen_id)
    by_citizen = workflow.submit_ticket(
        db,
        TicketDraft(kind="suggestion", description="建议增设公交站", phone="13600000000"),
        actor=staff["operator"],
        channel="phone",
        citizen=citizen,
    )
    db.commit()
    history = intake.caller_history(db, "+86 139-1234-5678", actor=staff["operator"])
    assert history.phone == CALLER
    assert {t.id for t in history.open} == {web.id, called.id, by_citizen.id}
    assert [t.id for t in history.recent] == [closed.id]
    assert history.total == 4 and other.id not in {t.id for t in history.open}
    assert intake.caller_history(db, "", actor=staff["operator"]).total == 0
    assert intake.caller_history(db, "abc", actor=staff["operator"]).phone is None
    with pytest.raises(PermissionDenied):
        intake.caller_history(db, CALLER, actor=staff["dept"])


def test_department_suggestion_for_what_is_typed(db, departments) -> None:
    category = next(c for c in queries.active_categories(db) if c.department_id)
    found = intake.suggest_departments(db, "油烟扰民", category_code=category.code)
    assert found and found[0].department_id == category.department_id
    assert intake.suggest_departments(db, "") == []
    # The probe ticket is never added to the session.
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert not any(isinstance(o, Ticket) for o in db.new)


def test_refusals_are_domain_errors_with_messages(db, staff, make_ticket) -> None:
    ticket = make_ticket("closed")
    with pytest.raises(DomainError) as refused:
        workflow.urge_ticket(db, ticket, actor=staff["operator"])
    assert ticket.number in refused.value.translated("zh_CN")
