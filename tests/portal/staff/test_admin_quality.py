"""Admin screens (staff, departments, calendar, canned replies) and the quality screen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core import clock
from directory.models import Department, StaffUser
from tests.conftest import at
from tickets.console_models import CannedReply, QualityInspection
from tickets.models import HolidayOverride


def test_admin_pages_render_and_are_admin_only(login, staff) -> None:
    admin = login(staff["admin"])
    for url in (
        "/staff/admin/staff",
        "/staff/admin/departments",
        "/staff/admin/calendar",
        "/staff/admin/canned",
    ):
        assert admin.get(url).status_code == 200, url
        assert login(staff["operator"]).get(url).status_code == 403, url
        assert login(staff["operator"]).post(url, data={}).status_code == 403, url


def test_admin_creates_and_edits_staff(login, staff, departments, db) -> None:
    admin = login(staff["admin"])
    admin.post(
        "/staff/admin/staff",
        data={"username": "new", "display_name": "新人", "password": "short", "role": "operator"},
    )
    assert db.scalar(select(StaffUser).where(StaffUser.username == "new")) is None
    admin.post(
        "/staff/admin/staff",
        data={
            "username": "new",
            "display_name": "新人",
            "password": "longenough",
            "role": "department",
            "department": departments["zhujian"].id,
        },
    )
    db.rollback()
    user = db.scalar(select(StaffUser).where(StaffUser.username == "new"))
    assert user is not None and user.department_id == departments["zhujian"].id
    admin.post(
        f"/staff/admin/staff/{user.id}",
        data={"display_name": "x", "role": "reviewer", "active": "0"},
    )
    db.rollback()
    db.expire_all()
    user = db.get(StaffUser, user.id)
    assert user.role == "reviewer" and not user.active and user.department_id is None
    # An admin cannot lock themselves out.
    me = staff["admin"]
    admin.post(
        f"/staff/admin/staff/{me.id}", data={"display_name": "x", "role": "admin", "active": "0"}
    )
    db.rollback()
    db.expire_all()
    assert db.get(StaffUser, me.id).active


def test_admin_departments_calendar_canned(login, staff, db) -> None:
    admin = login(staff["admin"])
    admin.post("/staff/admin/departments", data={"code": "new_dept", "name": "新部门"})
    db.rollback()
    assert db.scalar(select(Department).where(Department.code == "new_dept")) is not None
    r = admin.post(
        "/staff/admin/departments", data={"code": "bad code!", "name": "x"}, follow_redirects=True
    )
    assert r.status_code == 200
    day = dt.date(2027, 2, 8)
    admin.post(
        "/staff/admin/calendar", data={"day": day.isoformat(), "is_workday": "0", "note": "春节"}
    )
    db.rollback()
    assert db.get(HolidayOverride, day) is not None
    assert (
        admin.post("/staff/admin/calendar", data={"day": "nope", "is_workday": "0"}).status_code
        == 303
    )
    page = admin.get("/staff/admin/calendar").get_data(as_text=True)
    assert page.count('class="day') == 60
    admin.post("/staff/admin/calendar/remove", data={"day": day.isoformat()})
    db.rollback()
    db.expire_all()
    assert db.get(HolidayOverride, day) is None
    admin.post(
        "/staff/admin/canned", data={"scope": "reply", "title": "已处理", "body": "您好，已处理。"}
    )
    db.rollback()
    reply = db.scalar(select(CannedReply))
    assert reply is not None and reply.scope == "reply"


def test_canned_reply_offered_to_the_department(login, staff, make_ticket) -> None:
    login(staff["admin"]).post(
        "/staff/admin/canned", data={"scope": "reply", "title": "模板A", "body": "您好，已处理。"}
    )
    ticket = make_ticket("handling")
    page = login(staff["dept"]).get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "模板A" in page and 'data-text="您好，已处理。"' in page


def test_quality_screen_samples_and_scores(login, staff, make_ticket, db) -> None:
    make_ticket("closed", when=at(2026, 11, 17))
    with clock.frozen(at(2026, 11, 24)):  # the Monday after the sampled week
        supervisor = login(staff["supervisor"])
        assert supervisor.get("/staff/quality").status_code == 200
        supervisor.post("/staff/quality/sample", data={"week": "2026-11-16"})
        db.rollback()
        inspection = db.scalar(select(QualityInspection))
        assert inspection is not None
        page = supervisor.get("/staff/quality?week=2026-11-16").get_data(as_text=True)
        assert inspection.ticket.number in page
        supervisor.post(
            f"/staff/quality/{inspection.id}/score",
            data={
                "week": "2026-11-16",
                "right_department": "1",
                "answers_question": "1",
                "on_time": "1",
                "polite_clear": "1",
            },
        )
    db.rollback()
    db.expire_all()
    assert db.get(QualityInspection, inspection.id).score == 100
    assert login(staff["operator"]).get("/staff/quality").status_code == 403
