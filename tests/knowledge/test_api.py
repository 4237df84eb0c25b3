from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from knowledge.models import Faq


def test_search_shape(client: FlaskClient, faqs: dict[str, Faq]) -> None:
    response = client.get("/api/v1/faq/search", query_string={"q": "驾照过期了怎么换新的"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"] == "驾照过期了怎么换新的"
    assert body["answered"] is True
    assert body["best"]["id"] == faqs["licence"].id
    assert set(body["best"]) == {"id", "question", "answer", "category", "department", "score"}
    assert isinstance(body["suggestions"], list)


def test_no_answer_shape(client: FlaskClient, faqs: dict[str, Faq]) -> None:
    body = client.get("/api/v1/faq/search?q=给我讲个笑话").get_json()
    assert body["answered"] is False and body["best"] is None


def test_limit_must_be_a_number_from_1_to_10(client: FlaskClient, faqs: dict[str, Faq]) -> None:
    for limit in ("1", "10", ""):
        response = client.get("/api/v1/faq/search", query_string={"q": "护照", "limit": limit})
        assert response.status_code == 200
        assert len(response.get_json()["suggestions"]) <= 10
    for limit in ("0", "11", "-5", "99999999999999999999999", "abc", "3.5", "٣"):
        response = client.get("/api/v1/faq/search", query_string={"q": "护照", "limit": limit})
        assert response.status_code == 400 and "limit" in response.get_json()["error"], limit


def test_empty_and_long_queries_are_400_json(client: FlaskClient, db: Session) -> None:
    for query in ({}, {"q": ""}, {"q": "  "}, {"q": "问" * 501}):
        response = client.get("/api/v1/faq/search", query_string=query)
        assert response.status_code == 400
        assert response.is_json and response.get_json()["error"]


def test_search_is_rate_limited(make_app: Callable[..., Flask], faqs: dict[str, Faq]) -> None:
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SEARCH="2 per minute")
    client = app.test_client()
    codes = [client.get("/api/v1/faq/search?q=护照").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
