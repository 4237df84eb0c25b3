"""来电登记 through the staff console: the screen, every outcome, the pop, the search beside the
form, who may, and refused input that changes nothing."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import func, select

from calls.ingest import EventIn, ingest_events
from calls.models import Call, CtiSystem, EventType
from core import clock
from delivery.models import OutboxMessage
from tickets import queries
from tickets.models import CloseReason, Stage, Ticket, TicketEvent

CALLER = "13912345678"
COMPLAINT = "小区楼下烧烤摊油烟太大，每天晚上十点以后还在营业，影响休息。"


def _answered_call(db, staff_user, caller: str = CALLER, call_id: str = "c-1"):
    """A call the switchboard reports answered by ``staff_user`` (given agent code 8001)."""
    staff_user = db.merge(staff_user)
    staff_user.agent_code = staff_user.agent_code or "8001"
    system = db.scalar(select(CtiSystem)) or CtiSystem(name="avaya", created_at=clock.now())
    db.add(system)
    db.flush()
    now = clock.now()
    ingest_events(
        db,
        system,
        [
            EventIn(
                EventType.OFFERED,
                call_id,
                now - dt.timedelta(seconds=20),
                caller=caller,
                queue="综合",
            ),
            EventIn(
                EventType.ANSWERED,
                call_id,
                now - dt.timedelta(seconds=5),
                agent=staff_user.agent_code,
            ),
        ],
    )
    db.commit()
    return db.scalar(select(Call).where(Call.call_id == call_id))


def _counts(db) -> tuple[int, int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(Ticket)),
        db.scalar(select(func.count()).select_from(TicketEvent)),
        db.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def _reload(db, ticket_id: int) -> Ticket:
    db.rollback()
    db.expire_all()
    found = db.get(Ticket, ticket_id)
    assert found is not None
    return found


def _new_ticket(db) -> Ticket:
    db.rollback()
    return db.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))


def test_the_screen_shows_the_callers_tickets_with_stage_department_due_and_card(
    login, staff, make_ticket, db
) -> None:
    open_ticket = make_ticket("dept_review", phone=CALLER)
    closed = make_ticket("closed", phone=CALLER)
    stranger = make_ticket("handling", phone="13700000000")
    page = login(staff["operator"]).get(f"/staff/intake?phone={CALLER}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "来电登记" in text and CALLER in text
    assert open_ticket.number in text and closed.number in text and stranger.number not in text
    assert "职能局审核" in text and "市城市管理和综合执法局" in text  # stage and department
    assert open_ticket.due_date.isoformat() in text and "正常" in text  # due date, 监察状态
    assert "2 件" in text or "2 earlier" in text or "共 2" in text
    # Shortcuts are on screen.
    assert "Alt+1" in text and "Ctrl+Enter" in text and "Alt+D" in text


def test_only_operators_open_the_screen(login, staff) -> None:
    for role in ("reviewer", "supervisor", "admin", "dept"):
        client = login(staff[role])
        assert client.get("/staff/intake").status_code == 403
        assert client.get("/staff/api/intake/active-call").status_code == 403
        assert client.get("/staff/api/intake/search?q=社保").status_code == 403
        response = client.post("/staff/intake", data={"outcome": "ticket", "description": "x"})
        assert response.status_code == 403
    assert login(staff["operator"]).get("/staff/intake").status_code == 200


def test_the_nav_offers_the_screen_to_operators_only(login, staff) -> None:
    assert "/staff/intake" in login(staff["operator"]).get("/staff/queue").get_data(as_text=True)
    assert "/staff/intake" not in login(staff["reviewer"]).get("/staff/review").get_data(
        as_text=True
    )


def test_a_new_complaint_registered_and_dispatched_in_one_step(
    login, staff, departments, db
) -> None:
    call = _answered_call(db, staff["operator"])
    client = login(staff["operator"])
    response = client.post(
        "/staff/intake",
        data={
            "outcome": "ticket",
            "call": call.id,
            "kind": "complaint",
            "description": COMPLAINT,
            "address": "香洲区凤凰路88号",
            "phone": CALLER,
            "department": departments["chengguan"].id,
            "token": "tok-1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/intake?call={call.id}")
    ticket = _new_ticket(db)
    assert ticket.channel == "phone" and ticket.stage == Stage.DEPT_REVIEW
    assert ticket.department_id == departments["chengguan"].id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.number in page and "并派发至" in html.unescape(page)
    # The same form sent again (a double Ctrl+Enter) registers nothing more.
    client.post(
        "/staff/intake",
        data={
            "outcome": "ticket",
            "description": COMPLAINT,
            "phone": CALLER,
            "department": departments["chengguan"].id,
            "token": "tok-1",
        },
    )
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_bad_input_is_shown_again_with_what_was_typed_and_changes_nothing(
    login, staff, departments, db
) -> None:
    client = login(staff["operator"])
    before = _counts(db)
    response = client.post(
        "/staff/intake",
        data={
            "outcome": "ticket",
            "kind": "complaint",
            "description": COMPLAINT,
            "address": "凤凰路",
            "phone": "123",
            "department": departments["chengguan"].id,
        },
    )
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert COMPLAINT in text and "凤凰路" in text and 'aria-invalid="true"' in text
    assert "请输入11位中国大陆手机号码" in text
    for data in (
        {"outcome": "ticket", "description": "", "phone": CALLER},
        {"outcome": "ticket", "description": "x", "phone": CALLER, "department": "99999"},
        {"outcome": "ticket", "description": "x", "phone": CALLER, "kind": "gossip"},
        {"outcome": "resolve", "description": "社保卡怎么补办", "answer": "", "phone": CALLER},
        {"outcome": "follow_up", "ticket": "000000000000", "follow": "urge"},
        {"outcome": "transfer", "description": "打架", "phone": CALLER, "partner": "999"},
        {"outcome": "ticket", "description": "x", "phone": CALLER, "token": "no spaces allowed"},
    ):
        assert client.post("/staff/intake", data=data).status_code == 422, data
    assert _counts(db) == before


def test_answered_from_the_knowledge_base_closes_a_consultation_on_first_contact(
    login, staff, db
) -> None:
    client = login(staff["operator"])
    response = client.post(
        "/staff/intake",
        data={
            "outcome": "resolve",
            "caller": CALLER,
            "description": "社保卡丢了怎么补办？",
            "answer": "携带身份证到社保服务网点办理挂失补卡。",
            "faq_id": "3",
            "phone": CALLER,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/staff/intake?phone={CALLER}")
    ticket = _new_ticket(db)
    assert ticket.kind == "consultation" and ticket.stage == Stage.CLOSED
    assert ticket.close_reason == CloseReason.DIRECT and ticket.first_contact
    page = client.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "首次来电即解决" in page


def test_urge_twice_flags_the_ticket_for_the_department_and_supervisor(
    login, staff, make_ticket, db
) -> None:
    ticket = make_ticket("handling", phone=CALLER)
    closed = make_ticket("closed", phone=CALLER)
    client = login(staff["operator"])
    for expected in (1, 2):
        response = client.post(
            "/staff/intake",
            data={
                "outcome": "follow_up",
                "ticket": ticket.number,
                "follow": "urge",
                "follow_note": "还没人来",
            },
            follow_redirects=True,
        )
        assert f"已催办（第 {expected} 次）" in html.unescape(response.get_data(as_text=True))
    assert _reload(db, ticket.id).urge_count == 2
    # The department sees the count in its workbench and the urges in the timeline.
    clerk = login(staff["dept"])
    workbench = clerk.get("/staff/workbench").get_data(as_text=True)
    assert "催办 ×2" in workbench
    detail = html.unescape(clerk.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True))
    assert "市民催办" in detail and "还没人来" in detail
    # The supervisor's list of urged tickets.
    supervisor = login(staff["supervisor"])
    urged = supervisor.get("/staff/urged").get_data(as_text=True)
    assert ticket.number in urged and "催办 ×2" in urged
    assert login(staff["operator"]).get("/staff/urged").status_code == 403
    # A closed ticket cannot be urged: refused, shown again, nothing written.
    before = _counts(db)
    refused = client.post(
        "/staff/intake", data={"outcome": "follow_up", "ticket": closed.number, "follow": "urge"}
    )
    assert refused.status_code == 409
    assert "已办结，请登记新工单" in html.unescape(refused.get_data(as_text=True))
    assert _counts(db) == before


def test_added_information_reaches_the_department(login, staff, make_ticket, db) -> None:
    ticket = make_ticket("dept_review", phone=CALLER)
    client = login(staff["operator"])
    response = client.post(
        "/staff/intake",
        data={"outcome": "follow_up", "ticket": ticket.number, "follow": "info", "follow_note": ""},
    )
    assert response.status_code == 422  # nothing to add
    assert "follow_note" in response.get_data(as_text=True)
    response = client.post(
        "/staff/intake",
        data={
            "outcome": "follow_up",
            "ticket": ticket.number,
            "follow": "info",
            "follow_note": "门牌号是 88 号",
        },
    )
    assert response.status_code == 303
    assert _reload(db, ticket.id).urge_count == 0
    detail = login(staff["dept"]).get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "门牌号是 88 号" in detail


def test_a_transfer_to_110_is_recorded(login, staff, db) -> None:
    client = login(staff["operator"])
    response = client.post(
        "/staff/intake",
        data={
            "outcome": "transfer",
            "kind": "report",
            "description": "楼下有人持刀打架",
            "phone": CALLER,
            "partner": "110",
            "transfer_note": "已转接",
        },
        follow_redirects=True,
    )
    assert "110 报警服务台" in response.get_data(as_text=True)
    ticket = _new_ticket(db)
    assert ticket.transferred_to == "110" and ticket.close_reason == CloseReason.TRANSFERRED
    page = client.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "已转至 110" in page


def test_the_pop_returns_the_operators_answered_call_only(login, staff, db, make_staff) -> None:
    other = make_staff("operator", username="op2")
    client = login(staff["operator"])
    assert client.get("/staff/api/intake/active-call").get_json() == {"call": None}
    call = _answered_call(db, staff["operator"])
    body = client.get("/staff/api/intake/active-call").get_json()
    assert body["call"]["id"] == call.id and body["call"]["caller"] == CALLER
    assert body["call"]["url"].endswith(f"/staff/intake?call={call.id}")
    assert body["call"]["queue"] == "综合"
    assert login(other).get("/staff/api/intake/active-call").get_json() == {"call": None}
    # The popped screen has the caller's number and history; someone else's call shows no call.
    page = client.get(body["call"]["url"]).get_data(as_text=True)
    assert CALLER in page and "通话中" in page
    assert CALLER not in login(other).get(body["call"]["url"]).get_data(as_text=True)
    assert client.get("/staff/intake?call=999999").status_code == 404
    # Every page of the operator's console polls; other roles' pages do not.
    assert "call-pop.js" in client.get("/staff/queue").get_data(as_text=True)
    assert "call-pop.js" not in login(staff["reviewer"]).get("/staff/review").get_data(as_text=True)


def test_the_search_answers_as_the_operator_types_without_logging_gaps(
    login, staff, db, departments
) -> None:
    from knowledge.models import Faq, KnowledgeGap
    from knowledge.seed import seed_starter_knowledge

    seed_starter_knowledge(db)
    db.commit()
    hits_before = db.scalar(select(func.sum(Faq.hit_count)))
    client = login(staff["operator"])
    body = client.get("/staff/api/intake/search?q=社保卡丢了怎么补办").get_json()
    assert body["hits"] and "社保卡" in body["hits"][0]["question"], body
    assert body["departments"] and body["departments"][0]["name"] == "市人力资源和社会保障局"
    # Half-typed words are not questions asked: no gap is logged and no hit counted.
    client.get("/staff/api/intake/search?q=楼下烧烤油烟")
    client.get("/staff/api/intake/search?q=今天天气怎么样")
    empty = client.get("/staff/api/intake/search?q=").get_json()
    assert empty["hits"] == [] and empty["departments"] == []
    db.rollback()
    assert db.scalar(select(func.count()).select_from(KnowledgeGap)) == 0
    assert db.scalar(select(func.sum(Faq.hit_count))) == hits_before
    # The category's usual department comes first when the operator chose one.
    category = next(c for c in queries.active_categories(db) if c.department_id)
    chosen = client.get(
        "/staff/api/intake/search", query_string={"q": "油烟", "category": category.code}
    ).get_json()
    assert chosen["departments"][0]["id"] == category.department_id


@pytest.mark.parametrize("query", ["\u0000", "a" * 5000])
def test_the_search_refuses_nothing_it_cannot_read(login, staff, query) -> None:
    response = login(staff["operator"]).get("/staff/api/intake/search", query_string={"q": query})
    assert response.status_code in (200, 400)


def test_the_suggestion_learned_from_history_names_similar_past_tickets(
    login, staff, db, departments, make_ticket
) -> None:
    """Both screens where the operator chooses a department show the routing model's ranking
    with its reason once one is trained (tickets.routing)."""
    from tickets import routing
    from tickets.access import SYSTEM
    from tickets.history import import_history

    day = (clock.today("Asia/Shanghai") - dt.timedelta(days=30)).isoformat()
    rows = ["title,description,category,department,created_at"]
    for i, text in enumerate(("路边占道经营摆摊", "小区垃圾无人清运", "楼顶违章搭建")):
        rows.append(f"城管{i},{text},,chengguan,{day}")
    for i, text in enumerate(("工厂偷排污水", "化工厂排放废气", "河道油污死鱼")):
        rows.append(f"环保{i},{text},,shengtai,{day}")
    assert import_history(db, "\n".join(rows) + "\n", actor=SYSTEM).ok
    assert routing.train_model(db) is not None
    db.commit()
    past = {t.title: t.number for t in db.scalars(select(Ticket))}
    ticket = make_ticket("submitted", description="工厂往河里偷排污水，河水发黑")
    client = login(staff["operator"])
    body = client.get("/staff/api/intake/search?q=工厂往河里偷排污水").get_json()
    first = body["departments"][0]
    assert first["name"] == departments["shengtai"].name
    assert "model" in first["reasons"] and past["环保0"] in first["similar"]
    assert first["reason"].startswith("相似历史工单：")
    # The operator review of a submitted ticket.
    page = client.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "相似历史工单：" in page and past["环保0"] in page
    # An imported ticket's timeline says where it came from.
    imported = client.get(f"/staff/tickets/{past['环保0']}").get_data(as_text=True)
    assert "从原系统导入" in imported and "imported_history" not in imported
