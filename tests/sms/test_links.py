"""The survey SMS's short signed link: it opens the ticket's web survey, and a forged, unknown,
malformed or expired code gets a clear translated page that changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from delivery.worker import Worker
from sms.links import MAC_LENGTH, code_matches, make_survey_code, survey_id_of
from tickets.models import Survey, Ticket

from .conftest import LINK, TEMPLATE_IDS
from .fake_provider import FakeTencentSms


def _survey_sms_link(fake: FakeTencentSms) -> str:
    (sms,) = [s for s in fake.sent if s.template_id == TEMPLATE_IDS["ticket_answered"]]
    match = LINK.search(sms.text)
    assert match is not None, sms.text
    return match.group(1)


def test_the_link_in_the_survey_sms_opens_the_survey_page(
    make_ticket: Callable[..., Ticket], worker: Worker, fake: FakeTencentSms, client: FlaskClient
) -> None:
    ticket = make_ticket("callback", channel="phone")
    worker.drain()
    path = _survey_sms_link(fake)
    redirect = client.get(path)
    assert redirect.status_code == 302
    assert re.match(r"^/survey/[\w.-]+$", redirect.headers["Location"])
    page = client.get(redirect.headers["Location"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ticket.number in html and "满意" in html
    # answered there, through the web survey, as any survey link would
    done = client.post(redirect.headers["Location"], data={"satisfaction": "satisfied"})
    assert done.status_code == 303
    # the link still opens the page, which now says it was answered
    assert client.get(path).status_code == 302


def test_codes_round_trip_and_refuse_another_ticket() -> None:
    code = make_survey_code("k", 12345, "260310000001")
    assert survey_id_of(code) == 12345
    assert survey_id_of(code.upper()) == 12345
    assert len(code) == len("9ix") + MAC_LENGTH
    assert code_matches("k", code, 12345, "260310000001")
    assert not code_matches("k", code, 12345, "260310000002")
    assert not code_matches("other", code, 12345, "260310000001")
    for bad in ("", "abc", "x" * 40, "../../etc", "0" * 11, "zzzzzzzzzzzzzzzzz"):
        assert survey_id_of(bad) is None


@pytest.fixture
def survey(make_ticket: Callable[..., Ticket], db: Session) -> Survey:
    ticket = make_ticket("callback", channel="phone")
    found = db.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    assert found is not None
    return found


def test_a_forged_or_unknown_code_is_a_translated_404(
    survey: Survey, client: FlaskClient, app: Flask
) -> None:
    good = make_survey_code(app.config["SECRET_KEY"], survey.id, survey.ticket.number)
    forged = good[:-1] + ("a" if good[-1] != "a" else "b")
    other = make_survey_code(app.config["SECRET_KEY"], survey.id + 1, survey.ticket.number)
    for code in (forged, other, "abc", "ZZZZZZZZZZZZZZZZZZZZZZZZ"):
        page = client.get(f"/s/{code}")
        assert page.status_code == 404, code
        assert "此链接无效" in page.get_data(as_text=True)
    assert client.get(f"/s/{good}").status_code == 302
    english = client.get(f"/s/{forged}?lang=en")
    assert "This link is not valid" in english.get_data(as_text=True)


def test_an_expired_code_is_a_translated_410(
    survey: Survey, client: FlaskClient, app: Flask
) -> None:
    code = make_survey_code(app.config["SECRET_KEY"], survey.id, survey.ticket.number)
    with clock.frozen(survey.sent_at + dt.timedelta(days=29, hours=23)):
        assert client.get(f"/s/{code}").status_code == 302
    with clock.frozen(survey.sent_at + dt.timedelta(days=30, minutes=1)):
        page = client.get(f"/s/{code}")
    assert page.status_code == 410
    assert "此评价链接已过期" in page.get_data(as_text=True)
    assert "12345" in page.get_data(as_text=True)
