from __future__ import annotations

from tickets.models import Survey, Ticket
from tickets.survey_links import make_survey_token


def _link(db, ticket) -> str:
    survey = db.query(Survey).filter_by(ticket_id=ticket.id).one()
    return "/survey/" + make_survey_token("test-secret", ticket.number, survey.id)


def test_answer_once(client, db, make_ticket) -> None:
    ticket = make_ticket("callback")
    link = _link(db, ticket)
    page = client.get(link).get_data(as_text=True)
    assert "基本满意" in page and 'name="satisfaction"' in page
    response = client.post(link, data={"satisfaction": "basically_satisfied", "comment": "谢谢"})
    assert response.status_code == 303
    db.rollback()
    answered = db.get(Ticket, ticket.id)
    assert answered.stage == "closed" and answered.satisfaction == "basically_satisfied"
    page = client.get(link).get_data(as_text=True)
    assert "感谢您的评价" in page and 'name="satisfaction"' not in page
    again = client.post(link, data={"satisfaction": "unsatisfied"})
    assert again.status_code == 409
    db.rollback()
    assert db.get(Ticket, ticket.id).satisfaction == "basically_satisfied"


def test_missing_choice_is_a_field_error(client, db, make_ticket) -> None:
    ticket = make_ticket("callback")
    response = client.post(_link(db, ticket), data={"satisfaction": ""})
    assert response.status_code == 422
    assert 'id="satisfaction-error"' in response.get_data(as_text=True)


def test_bad_links(client, db, make_ticket) -> None:
    ticket = make_ticket("callback")
    assert client.get("/survey/not-a-token").status_code == 400
    other = make_survey_token("another-secret", ticket.number, 1)
    assert client.get("/survey/" + other).status_code == 400
    # a valid signature for a survey of another ticket
    wrong = make_survey_token("test-secret", "990101000001", 1)
    assert "回访链接无效" in client.get("/survey/" + wrong).get_data(as_text=True)
