"""The console's read side: keyset pages, filters, urgency order, overdue board, duplicates."""

from __future__ import annotations

import datetime as dt

import pytest

from core import clock
from tests.conftest import workdays_ago
from tickets import queries, workflow
from tickets.models import Stage, Supervision
from tickets.queries import TicketFilters

pytestmark = pytest.mark.date_matrix  # urgency order and the overdue board follow deadlines


def _walk(fetch, **kw):
    seen, cursor, pages = [], None, 0
    while True:
        page = fetch(cursor=cursor, limit=3, **kw)
        seen += [t.number for t in page.items]
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


def test_stage_queue_keyset_pages_urgent_first_then_newest(db, make_ticket, staff) -> None:
    base = clock.now() - dt.timedelta(days=1)
    tickets = [make_ticket(when=base + dt.timedelta(minutes=i)) for i in range(8)]
    workflow.mark_urgent(db, tickets[2], actor=staff["operator"])
    db.commit()
    seen, pages = _walk(lambda **kw: queries.list_stage_queue(db, Stage.SUBMITTED, **kw))
    expected = [tickets[2].number] + [t.number for t in reversed(tickets) if t is not tickets[2]]
    assert seen == expected and pages == 3


def test_filters(db, make_ticket) -> None:
    a = make_ticket(kind="consultation", channel="wechat", description="灵活就业 养老保险 怎么交")
    b = make_ticket(kind="complaint", channel="web", description="噪音扰民 100%_严重")
    page = queries.list_stage_queue(db, "submitted", filters=TicketFilters(kind="consultation"))
    assert [t.id for t in page.items] == [a.id]
    page = queries.list_stage_queue(db, "submitted", filters=TicketFilters(channel="web"))
    assert [t.id for t in page.items] == [b.id]
    page = queries.list_stage_queue(db, "submitted", filters=TicketFilters(keyword="养老"))
    assert [t.id for t in page.items] == [a.id]
    # LIKE wildcards in the keyword are literal characters.
    page = queries.list_stage_queue(db, "submitted", filters=TicketFilters(keyword="%_"))
    assert [t.id for t in page.items] == [b.id]
    page = queries.list_stage_queue(db, "submitted", filters=TicketFilters(keyword=b.number))
    assert [t.id for t in page.items] == [b.id]


def test_tampered_cursor_gives_the_first_page(db, make_ticket) -> None:
    make_ticket()
    for cursor in ("garbage", "WyJ4Il0", "", "W3RydWUsIjIwMjYtMDEtMDEiLDFd"):
        assert len(queries.list_stage_queue(db, "submitted", cursor=cursor).items) == 1


def test_workbench_by_urgency_and_scope(db, make_ticket, departments, staff) -> None:
    old = make_ticket("handling", when=workdays_ago(20))  # past its 15 working days
    new = make_ticket("dept_review")
    urgent = make_ticket("dept_review")
    workflow.mark_urgent(db, urgent, actor=staff["operator"])
    elsewhere = make_ticket("dept_review", department="zhujian")
    db.commit()
    chengguan = departments["chengguan"].id
    seen, _ = _walk(lambda **kw: queries.list_department_workbench(db, chengguan, **kw))
    assert seen == [urgent.number, old.number, new.number]
    assert elsewhere.number not in seen
    page = queries.list_department_workbench(db, chengguan, stage="handling")
    assert [t.id for t in page.items] == [old.id]


def test_overdue_board_counts_yellow_and_red(db, make_ticket, departments) -> None:
    from tickets.supervision import refresh_supervision

    long_ago = workdays_ago(25)  # red in review (3 days) and in handling (15 days)
    make_ticket("handling", when=long_ago)
    make_ticket("dept_review", when=long_ago, department="zhujian")
    make_ticket("dept_review")
    refresh_supervision(db, full=True)
    db.commit()
    board = {row.department_id: row for row in queries.overdue_board(db)}
    assert board[departments["chengguan"].id].red == 1
    assert board[departments["zhujian"].id].red == 1
    page = queries.list_overdue(db, department_id=departments["zhujian"].id)
    assert len(page.items) == 1 and page.items[0].supervision == Supervision.RED


def test_similar_tickets_and_dispatch_suggestions(db, make_ticket, departments) -> None:
    first = make_ticket("dept_review", description="吉大路小区门口垃圾堆放多日无人清理，气味很大。")
    make_ticket(description="我想咨询护照办理需要什么材料")
    probe = make_ticket(description="吉大路小区门口的垃圾堆了好多天没人清理，很臭。")
    similar = queries.similar_tickets(db, probe)
    assert similar and similar[0].id == first.id
    suggestions = queries.dispatch_suggestions(db, probe, similar=similar)
    assert suggestions[0].department_id == departments["chengguan"].id
    assert "similar" in suggestions[0].reasons


def test_unsatisfied_list(db, make_ticket, staff) -> None:
    ticket = make_ticket("callback")
    workflow.record_callback(db, ticket, actor=staff["operator"], satisfaction="unsatisfied")
    make_ticket("closed")
    db.commit()
    assert [t.id for t in queries.list_unsatisfied(db).items] == [ticket.id]
