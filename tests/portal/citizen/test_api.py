from __future__ import annotations

from tickets.models import Ticket

BODY = {
    "kind": "consultation",
    "title": "社保卡补办",
    "description": "社保卡丢了，怎么补办？",
    "address": "香洲区",
    "contact_name": "王五",
    "phone": "13700001111",
}


def test_create_and_read(client, db, departments) -> None:
    response = client.post("/api/v1/tickets", json={**BODY, "category": "social_security"})
    assert response.status_code == 201
    data = response.get_json()
    assert data["status"] == "submitted" and len(data["query_code"]) == 6
    found = client.get(f"/api/v1/tickets/{data['number']}?code={data['query_code']}")
    assert found.status_code == 200
    body = found.get_json()
    assert body["status"] == "submitted" and body["department"] is None
    assert body["timeline"][0]["action"] == "submit"
    assert body["timeline"][0]["text"] == "诉求已受理"


def test_idempotency_key(client, db, departments) -> None:
    headers = {"Idempotency-Key": "retry-123"}
    first = client.post("/api/v1/tickets", json=BODY, headers=headers).get_json()
    second = client.post("/api/v1/tickets", json=BODY, headers=headers).get_json()
    assert first["number"] == second["number"]
    db.rollback()
    assert db.query(Ticket).count() == 1


def test_validation_errors_are_json(client, db, departments) -> None:
    response = client.post(
        "/api/v1/tickets", json={**BODY, "phone": "123", "description": "x" * 4001}
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"phone", "description"}
    assert "4000" in fields["description"] or "4,000" in fields["description"]
    bad_types = client.post("/api/v1/tickets", json={**BODY, "title": 5, "anonymous": "yes"})
    assert bad_types.status_code == 422
    assert set(bad_types.get_json()["fields"]) == {"title", "anonymous"}
    assert client.post("/api/v1/tickets", data="not json").status_code == 400
    assert client.post("/api/v1/tickets", json=[1, 2]).status_code == 400
    unknown = client.post("/api/v1/tickets", json={**BODY, "category": "nope"})
    assert unknown.status_code == 422 and "category" in unknown.get_json()["fields"]
    db.rollback()
    assert db.query(Ticket).count() == 0


def test_anonymous_report_without_phone(client, db, departments, staff) -> None:
    from tickets.access import visible_contact

    body = {**BODY, "kind": "report", "anonymous": True, "phone": None, "contact_name": None}
    response = client.post("/api/v1/tickets", json=body)
    assert response.status_code == 201
    db.rollback()
    ticket = db.query(Ticket).one()
    assert ticket.anonymous and visible_contact(staff["dept"], ticket) == (None, None)
    not_anonymous = client.post("/api/v1/tickets", json={**BODY, "phone": None})
    assert not_anonymous.status_code == 422


def test_wrong_code_is_like_unknown_number(client, make_ticket) -> None:
    ticket = make_ticket()
    wrong = client.get(f"/api/v1/tickets/{ticket.number}?code=AAAAAA")
    unknown = client.get(f"/api/v1/tickets/990101000001?code={ticket.query_code}")
    missing = client.get(f"/api/v1/tickets/{ticket.number}")
    assert wrong.status_code == unknown.status_code == missing.status_code == 404
    assert wrong.get_json() == unknown.get_json() == missing.get_json()


def test_department_and_due_date_when_dispatched(client, make_ticket) -> None:
    ticket = make_ticket("handling")
    body = client.get(f"/api/v1/tickets/{ticket.number}?code={ticket.query_code}").get_json()
    assert body["department"] == "市城市管理和综合执法局"
    assert body["due_date"] == ticket.handling_due.isoformat()
    assert "13800138000" not in str(body)
