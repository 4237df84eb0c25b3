from __future__ import annotations

from tickets import public, workflow
from tickets.models import Stage


def test_lookup_by_code_or_phone(db, make_ticket) -> None:
    ticket = make_ticket()
    assert public.find_ticket_for_citizen(db, ticket.number, code=ticket.query_code) is ticket
    assert (
        public.find_ticket_for_citizen(db, ticket.number, code=ticket.query_code.lower()) is ticket
    )
    assert (
        public.find_ticket_for_citizen(db, f" {ticket.number} ", code=ticket.query_code) is ticket
    )
    assert public.find_ticket_for_citizen(db, ticket.number, phone="138 0013 8000") is ticket
    assert public.find_ticket_for_citizen(db, ticket.number, phone="+8613800138000") is ticket


def test_wrong_combinations_look_like_unknown_numbers(db, make_ticket) -> None:
    ticket = make_ticket()
    assert public.find_ticket_for_citizen(db, ticket.number, code="AAAAAA") is None
    assert public.find_ticket_for_citizen(db, ticket.number, phone="13900000000") is None
    assert public.find_ticket_for_citizen(db, "999999999999", code=ticket.query_code) is None
    assert public.find_ticket_for_citizen(db, ticket.number) is None
    assert public.find_ticket_for_citizen(db, ticket.number, code="") is None
    assert public.find_ticket_for_citizen(db, "", code="x" * 10_000) is None


def test_anonymous_report_without_phone_cannot_be_found_by_phone(db, make_ticket) -> None:
    ticket = make_ticket(kind="report", anonymous=True, phone=None)
    assert public.find_ticket_for_citizen(db, ticket.number, phone="\x00" * 16) is None
    assert public.find_ticket_for_citizen(db, ticket.number, code=ticket.query_code) is ticket


def test_plain_stage_for_every_stage() -> None:
    assert set(public.PLAIN_STAGES) == set(Stage)


def test_public_timeline_hides_internal_events(db, make_ticket, staff) -> None:
    ticket = make_ticket("callback")
    workflow.mark_urgent(db, ticket, actor=staff["supervisor"], reason="internal")
    actions = [e.action for e in public.public_timeline(db, ticket)]
    assert actions == ["submit", "dispatch", "accept", "reply"]  # pass_review is internal
    dispatch = public.public_timeline(db, ticket, locale="en")[1]
    assert dispatch.params["department"] == "Urban Management and Law Enforcement Bureau"
    zh = public.public_timeline(db, ticket, locale="zh_CN")[1]
    assert zh.params["department"] == "市城市管理和综合执法局"
    assert all(e.note is None for e in public.public_timeline(db, ticket))
    assert public.reply_visible(ticket)


def test_reply_hidden_until_reviewed_and_reject_reason_shown(db, make_ticket, staff) -> None:
    ticket = make_ticket("re_review")
    assert not public.reply_visible(ticket)
    other = make_ticket()
    workflow.reject_ticket(db, other, actor=staff["operator"], reason="重复提交")
    [_, reject] = public.public_timeline(db, other)
    assert reject.note == "重复提交"
