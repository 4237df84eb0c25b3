"""A co-handling department's list of its shares (/staff/co-handling), overdue first, linked
from its workbench."""

from __future__ import annotations

from tests.conftest import workdays_ago
from tickets import cohandling


def test_the_co_handler_sees_its_shares_overdue_first(
    login, staff, departments, db, make_ticket
) -> None:
    fresh = make_ticket("handling")
    late = make_ticket("handling", when=workdays_ago(20))
    not_shared = make_ticket("handling")
    for ticket in (fresh, late):
        cohandling.assign_co_handlers(
            db, ticket, [departments["zhujian"]], actor=staff["operator"], outside_catalogue=True
        )
    db.commit()
    client = login(staff["other_dept"])
    workbench = client.get("/staff/workbench").get_data(as_text=True)
    assert 'href="/staff/co-handling"' in workbench
    response = client.get("/staff/co-handling")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert late.number in html and fresh.number in html and not_shared.number not in html
    assert html.index(late.number) < html.index(fresh.number)
    assert "1 项逾期" in html
    assert f'href="/staff/tickets/{late.number}"' in html
    assert late.contact_phone not in html  # no contact details on the list


def test_a_part_given_is_not_overdue_and_others_see_nothing(
    login, staff, departments, db, make_ticket
) -> None:
    late = make_ticket("handling", when=workdays_ago(20))
    cohandling.assign_co_handlers(
        db, late, [departments["zhujian"]], actor=staff["operator"], outside_catalogue=True
    )
    cohandling.add_co_handler_part(db, late, actor=staff["other_dept"], text="已提供意见")
    db.commit()
    html = login(staff["other_dept"]).get("/staff/co-handling").get_data(as_text=True)
    assert late.number in html and "已逾期" not in html and "项逾期" not in html
    lead = login(staff["dept"]).get("/staff/co-handling").get_data(as_text=True)
    assert late.number not in lead  # the lead is no co-handler of its own ticket
    for role in ("operator", "reviewer", "supervisor", "admin"):
        assert login(staff[role]).get("/staff/co-handling").status_code == 403, role
