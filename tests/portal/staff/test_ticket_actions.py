"""Every ticket action through the staff console: success and refusal paths."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from delivery.models import OutboxMessage
from portal.staff.tickets_views import ACTION_FIELDS, ACTION_HANDLERS
from tickets.models import Stage, Ticket, TicketEvent


def _reload(db, ticket: Ticket) -> Ticket:
    db.rollback()  # end the read transaction: SQLite WAL would keep showing its snapshot
    db.expire_all()
    found = db.get(Ticket, ticket.id)
    assert found is not None
    return found


def test_complaint_life_cycle_through_the_console(
    make_ticket, staff, departments, login, db
) -> None:
    ticket = make_ticket("submitted")
    number = ticket.number
    chengguan = departments["chengguan"].id
    operator, clerk = login(staff["operator"]), login(staff["dept"])
    reviewer = login(staff["reviewer"])

    page = operator.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "13800138000" in page  # hotline staff see the full phone
    r = operator.post(f"/staff/tickets/{number}/dispatch", data={"department": chengguan})
    assert r.status_code == 303
    assert _reload(db, ticket).stage == Stage.DEPT_REVIEW

    page = clerk.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "13800138000" not in page and "138****8000" in page
    r = clerk.post(
        f"/staff/tickets/{number}/return_to_operator", data={"reason": "不属于本部门职责"}
    )
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/")
    assert _reload(db, ticket).stage == Stage.SUBMITTED

    operator.post(f"/staff/tickets/{number}/dispatch", data={"department": chengguan})
    clerk.post(f"/staff/tickets/{number}/accept")
    assert _reload(db, ticket).stage == Stage.HANDLING
    clerk.post(f"/staff/tickets/{number}/reply", data={"reply": "已清理。"})
    assert _reload(db, ticket).stage == Stage.RE_REVIEW

    # No default for the deadline: the form's empty choice is refused and changes nothing.
    r = reviewer.post(
        f"/staff/tickets/{number}/return_to_department",
        data={"total_days": "", "reason": "未说明时间"},
        follow_redirects=True,
    )
    assert "请选择处理期限" in r.get_data(as_text=True)
    assert _reload(db, ticket).stage == Stage.RE_REVIEW
    reviewer.post(
        f"/staff/tickets/{number}/return_to_department",
        data={"total_days": "5", "reason": "未说明时间"},
    )
    t = _reload(db, ticket)
    assert t.stage == Stage.DEPT_REVIEW and t.is_returned and t.total_days == 5

    # A returned ticket cannot go back to the operator: the page explains, the POST is refused.
    page = clerk.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "退回工单" in page
    r = clerk.post(
        f"/staff/tickets/{number}/return_to_operator", data={"reason": "x"}, follow_redirects=True
    )
    assert _reload(db, ticket).stage == Stage.DEPT_REVIEW
    clerk.post(f"/staff/tickets/{number}/accept")
    clerk.post(f"/staff/tickets/{number}/reply", data={"reply": "已清理，每日巡查。"})
    reviewer.post(f"/staff/tickets/{number}/pass_review")
    assert _reload(db, ticket).stage == Stage.CALLBACK
    r = operator.post(
        f"/staff/tickets/{number}/record_callback",
        data={"satisfaction": "satisfied", "comment": "好"},
    )
    t = _reload(db, ticket)
    assert t.stage == Stage.CLOSED and t.satisfaction == "satisfied"
    page = operator.get(f"/staff/tickets/{number}").get_data(as_text=True)
    for label in ("已分派", "退回操作员", "复核通过"):
        assert label in page, label


def test_operator_resolves_rejects_merges_and_marks_urgent(make_ticket, staff, login, db) -> None:
    operator = login(staff["operator"])
    consult = make_ticket("submitted", kind="consultation")
    r = operator.post(f"/staff/tickets/{consult.number}/resolve_directly", data={"answer": ""})
    # Refused: the page again (422), not a redirect (see test_refused_action_keeps_the_typed_text).
    assert r.status_code == 422 and _reload(db, consult).stage == Stage.SUBMITTED
    operator.post(
        f"/staff/tickets/{consult.number}/resolve_directly", data={"answer": "请带身份证办理。"}
    )
    assert _reload(db, consult).close_reason == "direct"

    bad = make_ticket("submitted")
    operator.post(f"/staff/tickets/{bad.number}/reject", data={"reason": ""})
    assert _reload(db, bad).stage == Stage.SUBMITTED
    operator.post(f"/staff/tickets/{bad.number}/reject", data={"reason": "无效内容"})
    assert _reload(db, bad).close_reason == "rejected"

    original = make_ticket("dept_review")
    duplicate = make_ticket("submitted")
    page = operator.get(f"/staff/tickets/{duplicate.number}").get_data(as_text=True)
    assert original.number in page  # suggested as a possible duplicate
    operator.post(f"/staff/tickets/{duplicate.number}/merge", data={"into": duplicate.number})
    assert _reload(db, duplicate).stage == Stage.SUBMITTED
    operator.post(f"/staff/tickets/{duplicate.number}/merge", data={"into": "nope"})
    assert _reload(db, duplicate).stage == Stage.SUBMITTED
    operator.post(f"/staff/tickets/{duplicate.number}/merge", data={"into": original.number})
    assert _reload(db, duplicate).merged_into_id == original.id

    operator.post(f"/staff/tickets/{original.number}/mark_urgent", data={"reason": "燃气泄漏"})
    assert _reload(db, original).urgent
    messages = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "department_ticket_urgent")
    ).all()
    assert len(messages) == 1
    r = operator.post(f"/staff/tickets/{original.number}/mark_urgent", follow_redirects=True)
    assert r.status_code == 200  # refused with a message, not a 500


def test_transfer_and_reopen(make_ticket, staff, departments, login, db) -> None:
    reviewer, supervisor = login(staff["reviewer"]), login(staff["supervisor"])
    ticket = make_ticket("re_review")
    reviewer.post(
        f"/staff/tickets/{ticket.number}/transfer",
        data={"department": departments["chengguan"].id, "reason": "同部门"},
    )
    assert _reload(db, ticket).stage == Stage.RE_REVIEW
    reviewer.post(
        f"/staff/tickets/{ticket.number}/transfer",
        data={"department": departments["zhujian"].id, "reason": "属住建"},
    )
    t = _reload(db, ticket)
    assert t.stage == Stage.DEPT_REVIEW and t.department_id == departments["zhujian"].id

    closed = make_ticket("callback")
    login(staff["operator"]).post(
        f"/staff/tickets/{closed.number}/record_callback", data={"satisfaction": "unsatisfied"}
    )
    assert _reload(db, closed).needs_supervisor
    assert closed.number in supervisor.get("/staff/unsatisfied").get_data(as_text=True)
    supervisor.post(f"/staff/tickets/{closed.number}/reopen", data={"reason": "答复不到位"})
    assert _reload(db, closed).stage == Stage.RE_REVIEW


def test_wrong_role_and_wrong_department_are_refused(make_ticket, staff, login, db) -> None:
    ticket = make_ticket("dept_review")
    other = login(staff["other_dept"])
    assert other.get(f"/staff/tickets/{ticket.number}").status_code == 403
    assert other.post(f"/staff/tickets/{ticket.number}/accept").status_code == 403
    assert (
        login(staff["supervisor"]).post(f"/staff/tickets/{ticket.number}/accept").status_code == 403
    )
    assert login(staff["operator"]).post(f"/staff/tickets/{ticket.number}/nope").status_code == 404
    assert login(staff["operator"]).get("/staff/tickets/none").status_code == 404
    assert _reload(db, ticket).stage == Stage.DEPT_REVIEW
    # Wrong stage: a clean message, nothing changed.
    r = login(staff["operator"]).post(
        f"/staff/tickets/{ticket.number}/reject", data={"reason": "x"}, follow_redirects=True
    )
    assert r.status_code == 200 and _reload(db, ticket).stage == Stage.DEPT_REVIEW


def test_anonymous_reporter_hidden_from_department(make_ticket, staff, login) -> None:
    ticket = make_ticket("dept_review", kind="report", anonymous=True, phone="13912345678")
    page = login(staff["dept"]).get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "张三" not in page and "1391" not in page and "5678" not in page
    csv = login(staff["dept"]).get("/staff/workbench?format=csv").get_data(as_text=True)
    assert ticket.number in csv and "张三" not in csv and "5678" not in csv
    assert "13912345678" in login(staff["operator"]).get(
        f"/staff/tickets/{ticket.number}"
    ).get_data(as_text=True)


LONG = "字" * 4001  # one over the limit: refused by the workflow, whatever the browser allows


def _field_error(page: str, action: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="err-{action}-{field}">([^<]*)</p>', page)
    assert found, f"no message by {action}/{field}"
    return html.unescape(found.group(1))


def _textarea(page: str, element_id: str) -> str:
    found = re.search(rf'<textarea id="{element_id}"[^>]*>([^<]*)</textarea>', page)
    assert found, element_id
    return html.unescape(found.group(1))


def test_every_action_names_the_fields_its_form_shows() -> None:
    assert set(ACTION_FIELDS) == set(ACTION_HANDLERS)


@pytest.mark.parametrize(
    ("stage", "kind", "who", "action", "data", "field", "message", "kept"),
    [
        (
            "submitted",
            "complaint",
            "operator",
            "reject",
            {"reason": LONG},
            "reason",
            "最多 4000 个字。",
            ("reject-reason", LONG),
        ),
        (
            "submitted",
            "consultation",
            "operator",
            "resolve_directly",
            {"answer": "  "},
            "answer",
            "此项为必填。",
            None,
        ),
        (
            "submitted",
            "consultation",
            "operator",
            "resolve_directly",
            {"answer": LONG + "<b>"},
            "answer",
            "最多 4000 个字。",
            ("resolve-answer", LONG + "<b>"),
        ),
        (
            "dept_review",
            "complaint",
            "dept",
            "return_to_operator",
            {"reason": LONG},
            "reason",
            "最多 4000 个字。",
            ("return-reason", LONG),
        ),
        (
            "handling",
            "complaint",
            "dept",
            "reply",
            {"reply": LONG},
            "reply",
            "最多 4000 个字。",
            ("reply-text", LONG),
        ),
        (
            "re_review",
            "complaint",
            "reviewer",
            "return_to_department",
            {"total_days": "", "reason": "未说明整改时间"},
            "total_days",
            "请选择处理期限",
            ("rd-reason", "未说明整改时间"),
        ),
        (
            "re_review",
            "complaint",
            "reviewer",
            "transfer",
            {"department": "", "reason": "应由住建局处理"},
            "department",
            "请选择部门。",
            ("tr-reason", "应由住建局处理"),
        ),
        (
            "callback",
            "complaint",
            "operator",
            "record_callback",
            {"satisfaction": "", "comment": "市民说还在等"},
            "satisfaction",
            "请选择满意",
            ("cb-comment", "市民说还在等"),
        ),
        (
            "callback",
            "complaint",
            "operator",
            "record_callback",
            {"satisfaction": "satisfied", "comment": LONG},
            "comment",
            "最多 4000 个字。",
            ("cb-comment", LONG),
        ),
    ],
)
def test_refused_action_keeps_the_typed_text(
    make_ticket, staff, login, db, stage, kind, who, action, data, field, message, kept
) -> None:
    ticket = make_ticket(stage, kind=kind)
    events = db.scalar(select(func.count(TicketEvent.id)))
    client = login(staff[who])
    r = client.post(f"/staff/tickets/{ticket.number}/{action}", data=data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "请修改标出的内容。" in page  # the summary at the top
    assert message in _field_error(page, action, field)
    assert f'aria-describedby="err-{action}-{field}"' in page
    if kept:
        assert _textarea(page, kept[0]) == kept[1]
    t = _reload(db, ticket)
    assert t.stage == stage and db.scalar(select(func.count(TicketEvent.id))) == events
    # Shown once: nothing is left in the session for the next page.
    again = client.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "请修改标出的内容。" not in again and "field-error" not in again


def test_refused_selects_and_radios_keep_their_choice(make_ticket, staff, login, departments):
    reviewer = login(staff["reviewer"])
    ticket = make_ticket("re_review")
    same = departments["chengguan"].id  # the ticket's own department: refused for a transfer
    r = reviewer.post(
        f"/staff/tickets/{ticket.number}/return_to_department",
        data={"total_days": "15", "reason": ""},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and '<option value="15" selected>' in page
    assert "此项为必填。" in _field_error(page, "return_to_department", "reason")
    r = reviewer.post(
        f"/staff/tickets/{ticket.number}/transfer", data={"department": same, "reason": "x"}
    )
    assert r.status_code == 422
    assert "请选择其他部门" in _field_error(r.get_data(as_text=True), "transfer", "department")

    operator = login(staff["operator"])
    callback = make_ticket("callback")
    r = operator.post(
        f"/staff/tickets/{callback.number}/record_callback",
        data={"satisfaction": "basically_satisfied", "comment": LONG},
    )
    assert r.status_code == 422
    assert 'value="basically_satisfied" required checked' in r.get_data(as_text=True)

    submitted = make_ticket("submitted")
    zhujian = departments["zhujian"].id
    r = operator.post(
        f"/staff/tickets/{submitted.number}/dispatch",
        data={"department": zhujian, "note": LONG},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and f'<option value="{zhujian}" selected>' in page
    assert _textarea(page, "dispatch-note") == LONG


def test_wrong_stage_is_still_a_flash_and_redirect(make_ticket, staff, login, db) -> None:
    ticket = make_ticket("dept_review")
    r = login(staff["operator"]).post(
        f"/staff/tickets/{ticket.number}/reject", data={"reason": "无效"}
    )
    assert r.status_code == 303
    # Someone who may not see the ticket gets no page, whatever the form held.
    r = login(staff["other_dept"]).post(
        f"/staff/tickets/{ticket.number}/dispatch", data={"department": ""}
    )
    assert r.status_code == 403


def test_co_handling_and_a_dispatch_dispute_through_the_console(
    make_ticket, staff, departments, login, db
) -> None:
    """协办: the co-handling clerk sees the shared ticket and adds its part; 派单异议: the
    department disputes, the operator decides (tickets.cohandling, tickets.disputes)."""
    ticket = make_ticket("dept_review")
    number = ticket.number
    lead, co, operator = login(staff["dept"]), login(staff["other_dept"]), login(staff["operator"])
    zhujian = departments["zhujian"].id
    page = operator.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert 'name="co_handler"' in page
    # Not in the catalogue for this (uncategorised) ticket: refused unless the operator says so.
    r = operator.post(f"/staff/tickets/{number}/assign_co_handlers", data={"co_handler": zhujian})
    assert r.status_code == 422 and "派单目录" in r.get_data(as_text=True)
    r = operator.post(
        f"/staff/tickets/{number}/assign_co_handlers",
        data={"co_handler": zhujian, "outside_catalogue": "1"},
    )
    assert r.status_code == 303
    assert [c.department_id for c in _reload(db, ticket).co_handlers] == [zhujian]
    assert (
        co.post(
            f"/staff/tickets/{number}/assign_co_handlers", data={"co_handler": zhujian}
        ).status_code
        == 403
    )

    page = co.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "协办部门" in page and 'name="part"' in page
    assert f"/staff/tickets/{number}/accept" not in page  # the lead accepts, not a co-handler
    assert 'name="part"' not in lead.get(f"/staff/tickets/{number}").get_data(as_text=True)
    r = co.post(f"/staff/tickets/{number}/co_handle", data={"part": ""}, follow_redirects=True)
    assert r.status_code == 422
    r = co.post(f"/staff/tickets/{number}/co_handle", data={"part": "住建意见：非违建。"})
    assert r.status_code == 303
    assert _reload(db, ticket).co_handlers[0].part == "住建意见：非违建。"
    assert "住建意见：非违建。" in lead.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert lead.post(f"/staff/tickets/{number}/co_handle", data={"part": "x"}).status_code == 403

    # The lead disputes; the co-handler may not.
    assert (
        co.post(f"/staff/tickets/{number}/dispute_dispatch", data={"reason": "x"}).status_code
        == 403
    )
    page = lead.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "dispute_dispatch" in page
    r = lead.post(f"/staff/tickets/{number}/dispute_dispatch", data={"reason": "属物业职责"})
    assert r.status_code == 303
    page = operator.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "属物业职责" in page and "decide_dispute" in page
    r = operator.post(
        f"/staff/tickets/{number}/decide_dispute", data={"upheld": "0"}, follow_redirects=True
    )
    assert r.status_code == 422  # a rejection says why
    r = operator.post(f"/staff/tickets/{number}/decide_dispute", data={"upheld": "1"})
    assert r.status_code == 303
    found = _reload(db, ticket)
    assert found.stage == Stage.SUBMITTED
    timeline = operator.get(f"/staff/tickets/{number}").get_data(as_text=True)
    assert "部门提出派单异议" in timeline and "派单异议成立" in timeline
