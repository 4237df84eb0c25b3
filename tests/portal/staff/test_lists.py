"""List screens: constant query counts (no N+1), CSV export, scoped to the reader."""

from __future__ import annotations

from tests.statements import recorded
from tickets import workflow


def count_queries(app):
    return recorded(app.extensions["hotline_db"].engine)


LIST_PAGES = {
    "operator": ["/staff/queue", "/staff/tickets", "/staff/callbacks"],
    "reviewer": ["/staff/review"],
    "supervisor": ["/staff/overdue", "/staff/unsatisfied"],
    "dept": ["/staff/workbench"],
}


def _counts(app, login, staff):
    found = {}
    for role, urls in LIST_PAGES.items():
        client = login(staff[role])
        for url in urls:
            with count_queries(app) as statements:
                response = client.get(url)
            assert response.status_code == 200, url
            found[url] = len(statements)
    return found


def test_list_pages_do_not_grow_queries_with_rows(app, make_ticket, login, staff, db) -> None:
    for stage in ("submitted", "dept_review", "handling", "re_review", "callback"):
        make_ticket(stage)
    few = _counts(app, login, staff)
    for stage in ("submitted", "dept_review", "handling", "re_review", "callback") * 4:
        make_ticket(stage, kind="consultation", channel="wechat")
    many = _counts(app, login, staff)
    assert few == many
    assert max(many.values()) <= 8, many


def test_ticket_page_query_count_is_bounded(app, make_ticket, login, staff) -> None:
    ticket = make_ticket("closed")
    client = login(staff["operator"])
    with count_queries(app) as statements:
        assert client.get(f"/staff/tickets/{ticket.number}").status_code == 200
    assert len(statements) <= 12, statements


def test_csv_export_streams_visible_rows(make_ticket, login, staff) -> None:
    for _ in range(3):
        make_ticket("dept_review")
    make_ticket("dept_review", department="zhujian")
    response = login(staff["dept"]).get("/staff/workbench?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 1 + 3
    assert "138****8000" in lines[1] and "13800138000" not in "".join(lines)
    full = login(staff["operator"]).get("/staff/tickets?format=csv").get_data(as_text=True)
    assert full.count("13800138000") == 4


def test_csv_neutralises_formulas(make_ticket, login, staff, db) -> None:
    ticket = make_ticket()
    ticket.title = "=HYPERLINK(1)"
    db.commit()
    text = login(staff["operator"]).get("/staff/queue?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in text


def test_queue_pagination_links(make_ticket, login, staff, monkeypatch) -> None:
    from tickets import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    numbers = [make_ticket().number for _ in range(3)]
    client = login(staff["operator"])
    first = client.get("/staff/queue").get_data(as_text=True)
    assert numbers[2] in first and numbers[0] not in first
    import re

    next_url = re.search(r'href="(/staff/queue\?after=[^"]+)"', first).group(1)
    second = client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
    assert numbers[0] in second and numbers[2] not in second


def test_urgent_sorts_first_in_the_workbench(make_ticket, login, staff, db) -> None:
    plain = make_ticket("dept_review")
    urgent = make_ticket("dept_review")
    workflow.mark_urgent(db, urgent, actor=staff["operator"])
    db.commit()
    page = login(staff["dept"]).get("/staff/workbench").get_data(as_text=True)
    assert page.index(urgent.number) < page.index(plain.number)
