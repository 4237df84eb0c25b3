from __future__ import annotations

import pytest

from tests.portal.citizen.helpers import form


@pytest.fixture
def faqs(db, departments):
    from knowledge.seed import seed_starter_knowledge

    seed_starter_knowledge(db)
    db.commit()
    from knowledge.models import Faq

    return db.query(Faq).filter(Faq.active.is_(True)).all()


def test_home_has_search_and_ways_in(client, faqs) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in page and "data-live-search" in page
    assert "提交诉求" in page and "查询办理进度" in page and "12345" in page
    assert "关注公众号" in page


def test_search_without_js_answers(client, faqs) -> None:
    faq = faqs[0]
    page = client.get("/search", query_string={"q": faq.question}).get_data(as_text=True)
    assert faq.question in page
    assert f"/faq/{faq.id}" in page


def test_search_with_nothing_found(client, faqs) -> None:
    page = client.get("/search", query_string={"q": "火星移民签证"}).get_data(as_text=True)
    assert "提交诉求" in page


def test_faq_by_category_and_detail(client, faqs) -> None:
    index = client.get("/faq").get_data(as_text=True)
    category = faqs[0].category
    assert category in index
    listing = client.get(f"/faq/c/{category}")
    assert listing.status_code == 200
    detail = client.get(f"/faq/{faqs[0].id}")
    assert detail.status_code == 200 and faqs[0].question in detail.get_data(as_text=True)
    assert client.get("/faq/999999").status_code == 404
    assert client.get("/faq/c/没有这个类别").status_code == 404


def test_submit_shows_matching_faqs_first_without_js(client, db, faqs) -> None:
    from tickets.models import Ticket

    question = faqs[0].question
    data = form(kind="consultation", title=question, description=question, faq_checked=None)
    first = client.post("/submit", data=data)
    assert first.status_code == 200
    page = first.get_data(as_text=True)
    assert "以下解答可能已经能帮到您" in page and question in page
    assert 'name="faq_checked" value="1"' in page
    db.rollback()
    assert db.query(Ticket).count() == 0
    second = client.post("/submit", data={**data, "faq_checked": "1"})
    assert second.status_code == 303
