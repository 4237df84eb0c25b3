from __future__ import annotations

import re

from tickets import workflow

CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def _track(client, number, **data):
    return client.post("/track", data={"number": number, **data})


def test_track_by_code_shows_stage_department_due_and_timeline(client, make_ticket) -> None:
    ticket = make_ticket("handling")
    response = _track(client, ticket.number, by="code", code=ticket.query_code.lower())
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "承办部门正在办理" in page  # the stage in plain words
    assert "市城市管理和综合执法局" in page
    assert "办理期限" in page  # due date shown
    assert "已分派至市城市管理和综合执法局" in page  # the public timeline
    assert "热线发给您的消息" in page  # the web inbox
    assert "13800138000" not in page


def test_track_by_phone(client, make_ticket) -> None:
    ticket = make_ticket()
    response = _track(client, ticket.number, by="phone", phone="138-0013-8000")
    assert response.status_code == 303


def test_wrong_code_wrong_phone_and_unknown_number_look_the_same(client, make_ticket) -> None:
    ticket = make_ticket()
    answers = [
        _track(client, ticket.number, by="code", code="WRONG1"),
        _track(client, ticket.number, by="phone", phone="13999999999"),
        _track(client, "990101000001", by="code", code=ticket.query_code),
    ]
    assert {a.status_code for a in answers} == {404}
    bodies = {
        # The CSRF token is signed with the current second: two pages a second apart differ there.
        CSRF.sub(
            "", a.get_data(as_text=True).replace(ticket.number, "N").replace("990101000001", "N")
        )
        for a in answers[::2]
    }
    assert len(bodies) == 1
    assert "没有找到与这些信息相符的工单" in answers[1].get_data(as_text=True)


def test_ticket_page_needs_a_proven_lookup(client, make_ticket) -> None:
    ticket = make_ticket()
    response = client.get(f"/track/{ticket.number}")
    assert response.status_code == 302
    assert "/track?number=" in response.headers["Location"]


def test_reply_shown_after_review_and_survey_link(client, make_ticket) -> None:
    ticket = make_ticket("callback")
    response = _track(client, ticket.number, by="code", code=ticket.query_code)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已处理完毕。" in page
    assert "/survey/" in page


def test_reply_not_shown_before_review(client, make_ticket) -> None:
    ticket = make_ticket("re_review")
    response = _track(client, ticket.number, by="code", code=ticket.query_code)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已处理完毕。" not in page


def test_english_page(client, make_ticket) -> None:
    ticket = make_ticket("handling")
    client.get("/lang/en")
    response = _track(client, ticket.number, by="code", code=ticket.query_code)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The department is working on it" in page
    assert "Urban Management and Law Enforcement Bureau" in page


def test_rejected_ticket_shows_the_reason(client, db, make_ticket, staff) -> None:
    ticket = make_ticket()
    workflow.reject_ticket(db, ticket, actor=staff["operator"], reason="不属于热线受理范围")
    db.commit()
    response = _track(client, ticket.number, by="code", code=ticket.query_code)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "不属于热线受理范围" in page
