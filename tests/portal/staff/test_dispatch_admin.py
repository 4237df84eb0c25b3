"""The dispatch catalogue's admin page (/staff/admin/dispatch): admin only, the version in
force and the change history, lead and co-handlers edited through tickets.catalogue."""

from __future__ import annotations

from sqlalchemy import select

from directory.models import Category
from tickets.catalogue import catalogue_history, current_catalogue
from tickets.models import DispatchCatalogueEntry


def _category(db) -> Category:
    category = db.scalars(select(Category).where(Category.active).order_by(Category.id)).first()
    assert category is not None
    return category


def test_only_admins_see_and_change_the_catalogue(login, staff, departments, db) -> None:
    category = _category(db)
    url = f"/staff/admin/dispatch/{category.id}"
    data = {"lead": str(departments["zhujian"].id)}
    for role in ("operator", "reviewer", "supervisor", "dept"):
        client = login(staff[role])
        assert client.get("/staff/admin/dispatch").status_code == 403, role
        assert client.post(url, data=data).status_code == 403, role
    assert db.scalar(select(DispatchCatalogueEntry.id)) is None
    page = login(staff["admin"]).get("/staff/admin/dispatch")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "派单目录" in html and category.name in html
    assert "尚无变更记录" in html
    assert 'href="/staff/admin/dispatch"' in html  # the nav entry


def test_admin_sets_lead_and_co_handlers_and_sees_the_history(
    login, staff, departments, db
) -> None:
    category = _category(db)
    admin = login(staff["admin"])
    lead, co = departments["zhujian"], departments["chengguan"]
    response = admin.post(
        f"/staff/admin/dispatch/{category.id}",
        data={"lead": str(lead.id), "co_handlers": [str(co.id)], "note": "职责调整"},
    )
    assert response.status_code == 303
    db.rollback()
    line = next(x for x in current_catalogue(db) if x.category.id == category.id)
    assert (line.lead.id, [d.id for d in line.co_handlers], line.version) == (lead.id, [co.id], 1)
    admin.post(f"/staff/admin/dispatch/{category.id}", data={"lead": str(co.id)})
    db.rollback()
    history = catalogue_history(db, category)
    assert [(e.version, e.lead_department_id) for e in history] == [(2, co.id), (1, lead.id)]
    html = admin.get("/staff/admin/dispatch").get_data(as_text=True)
    assert "职责调整" in html and "第 2 版" in html and "第 1 版" in html
    assert staff["admin"].display_name in html


def test_refused_changes_change_nothing(login, staff, departments, db) -> None:
    category = _category(db)
    admin = login(staff["admin"])
    lead = departments["zhujian"]
    for data in (
        {},  # no lead
        {"lead": "abc"},
        {"lead": "999999"},
        {"lead": str(lead.id), "co_handlers": [str(lead.id)]},  # lead also co-handles
        {"lead": str(lead.id), "co_handlers": ["999999"]},
        {"lead": str(lead.id), "note": "长" * 501},
    ):
        response = admin.post(f"/staff/admin/dispatch/{category.id}", data=data)
        assert response.status_code == 303, data
        follow = admin.get(response.headers["Location"]).get_data(as_text=True)
        assert 'class="flash flash-error"' in follow, data
        assert 'class="flash flash-success"' not in follow, data
    db.rollback()
    assert db.scalar(select(DispatchCatalogueEntry.id)) is None
    assert admin.post("/staff/admin/dispatch/999999", data={"lead": "1"}).status_code == 404


def test_the_operator_marks_a_business_request_on_the_ticket_page(
    login, staff, departments, db, make_ticket
) -> None:
    from tickets.policies import create_deadline_policy

    create_deadline_policy(
        db,
        code="business",
        name="企业诉求",
        actor=staff["admin"],
        business_only=True,
        review_hours=1,
        total_days={"consultation": 2},
        default_total_days=4,
    )
    ticket = make_ticket("submitted")
    db.commit()
    url = f"/staff/tickets/{ticket.number}"
    assert 'id="business-request"' not in login(staff["dept"]).get(url).get_data(as_text=True)
    operator = login(staff["operator"])
    assert 'id="business-request"' in operator.get(url).get_data(as_text=True)
    clerk = login(staff["reviewer"])
    assert (
        clerk.post(f"{url}/mark_business_request", data={"business_request": "1"}).status_code
        == 403
    )
    response = operator.post(f"{url}/mark_business_request", data={"business_request": "1"})
    assert response.status_code == 303
    db.rollback()
    db.refresh(ticket)
    assert ticket.business_request is True
    html = operator.get(url).get_data(as_text=True)
    assert "标记为企业诉求" in html  # the timeline names the event
    operator.post(f"{url}/dispatch", data={"department": str(departments["chengguan"].id)})
    db.rollback()
    db.refresh(ticket)
    assert ticket.stage == "dept_review"
    assert ticket.deadline_policy_id is not None and ticket.review_due_at is not None


def test_admin_adds_and_deactivates_a_deadline_policy(login, staff, departments, db) -> None:
    from tickets.models import DeadlinePolicy

    form = {
        "code": "business",
        "name": "企业诉求",
        "business_only": "1",
        "review": "1",
        "review_unit": "hours",
        "total_consultation": "2",
        "default_total_days": "4",
        "working_hours": "08:30-12:00,14:30-17:30",
    }
    url = "/staff/admin/dispatch/policies"
    assert login(staff["operator"]).post(url, data=form).status_code == 403
    admin = login(staff["admin"])
    bad = admin.post(url, data={**form, "business_only": ""})  # no condition at all
    assert 'class="flash flash-error"' in admin.get(bad.headers["Location"]).get_data(as_text=True)
    assert admin.post(url, data=form).status_code == 303
    db.rollback()
    policy = db.scalar(select(DeadlinePolicy))
    assert policy is not None and policy.business_only
    assert (policy.review_hours, policy.review_days) == (1, None)
    assert policy.total_days == {"consultation": 2} and policy.default_total_days == 4
    html = admin.get("/staff/admin/dispatch").get_data(as_text=True)
    assert "企业诉求" in html and "1 个工作小时" in html
    deactivate = f"/staff/admin/dispatch/policies/{policy.id}/deactivate"
    assert login(staff["supervisor"]).post(deactivate).status_code == 403
    assert admin.post(deactivate).status_code == 303
    db.rollback()
    db.refresh(policy)
    assert policy.active is False
