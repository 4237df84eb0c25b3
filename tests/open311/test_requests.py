"""POST requests and GET requests / requests/<id> / tokens/<token>: the mapping from tickets,
the queue, idempotency, anonymity, the 90-day window and the 1,000 limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from core import clock
from delivery.models import OutboxMessage
from directory.access import SYSTEM
from directory.api_keys import create_api_key
from directory.models import Category
from open311.models import Open311Request
from tests.conftest import at
from tests.open311.conftest import BASE, VALID_FORM
from tests.statements import recorded
from tickets.models import Ticket, TicketEvent


def _count(db: Any, model: Any) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(model)))


def test_a_posted_request_enters_the_queue_on_the_open311_channel(
    post: Any, db: Any, departments: Any
) -> None:
    response = post("json")
    assert response.status_code == 201
    (answer,) = response.get_json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert answer["service_request_id"] == ticket.number
    assert ticket.channel == "open311" and ticket.stage == "submitted"
    assert ticket.kind == "complaint" and ticket.category.code == "city_management"
    assert ticket.contact_name == "李小明" and ticket.contact_phone == "13912345678"
    assert (ticket.latitude, ticket.longitude) == (22.2711, 113.5767)
    assert ticket.citizen is not None and ticket.citizen.phone == "13912345678"
    assert db.scalars(select(TicketEvent.action)).all() == ["submit"]
    filed = db.scalars(select(Open311Request)).one()
    assert filed.media_url == VALID_FORM["media_url"] and filed.ticket_id == ticket.id
    # the channel cannot push: the citizen hears by SMS
    (message,) = db.scalars(select(OutboxMessage)).all()
    assert (message.channel, message.recipient) == ("sms", "13912345678")


def test_a_posted_request_in_xml(post: Any, db: Any, departments: Any) -> None:
    from xml.etree import ElementTree

    response = post("xml", **{"attribute[kind]": "consultation", "address_string": None})
    assert response.status_code == 201
    assert response.content_type == "text/xml; charset=utf-8"
    tree = ElementTree.fromstring(response.get_data())
    assert tree.tag == "service_requests"
    number = tree.find("request/service_request_id").text
    db.rollback()
    assert db.scalars(select(Ticket.number)).one() == number
    assert tree.find("request/account_id").text is None


def test_the_request_reads_back_by_the_schemas_and_in_both_formats(
    post: Any, both: Any, validate: Any, departments: Any
) -> None:
    number = post().get_json()[0]["service_request_id"]
    status, body = both(f"requests/{number}", root="service_requests")
    assert status == 200
    validate("requests.json", body)
    (item,) = body
    validate("request.json", item)
    assert item["service_request_id"] == number
    assert item["status"] == "open" and item["status_notes"] is None
    assert item["service_code"] == "city_management"
    assert item["description"] == VALID_FORM["description"]
    assert item["media_url"] == VALID_FORM["media_url"]
    assert item["requested_datetime"] == "2026-03-10T10:00:00+08:00"
    assert item["agency_responsible"] is None and item["expected_datetime"] is None
    status, listed = both("requests", root="service_requests")
    validate("requests.json", listed)
    assert [r["service_request_id"] for r in listed] == [number]


@pytest.mark.parametrize("stage", ["dept_review", "handling", "re_review", "callback", "closed"])
def test_status_notes_agency_and_deadline_follow_the_ticket(
    make_ticket: Any, both: Any, validate: Any, departments: Any, stage: str
) -> None:
    ticket = make_ticket(stage)
    status, body = both(f"requests/{ticket.number}")
    validate("requests.json", body)
    (item,) = body
    assert item["status"] == ("closed" if stage == "closed" else "open")
    assert item["agency_responsible"] == departments["chengguan"].name
    # the department's reply only once the hotline's reviewer passed it
    reviewed = stage in ("callback", "closed")
    assert item["status_notes"] == ("已处理完毕。" if reviewed else None)
    if stage in ("dept_review", "handling"):
        assert item["expected_datetime"] == f"{ticket.handling_due.isoformat()}T23:59:59+08:00"
    else:
        assert item["expected_datetime"] is None
    for name in ("requested_datetime", "updated_datetime"):
        moment = dt.datetime.fromisoformat(item[name])
        assert moment.utcoffset() == dt.timedelta(hours=8)
    if stage == "closed":
        assert dt.datetime.fromisoformat(item["updated_datetime"]) == ticket.closed_at.replace(
            microsecond=0
        )


def test_anonymous_reports_and_contact_data_are_never_shown(
    make_ticket: Any, client: Any, post: Any, db: Any, departments: Any
) -> None:
    anonymous = make_ticket("handling", kind="report", anonymous=True, phone="13700001111")
    named = make_ticket(
        "closed", description="请联系张三，电话13800138000，他知道情况。", phone="13800138000"
    )
    posted = post(description="我是李小明，手机13912345678，路灯坏了。").get_json()
    texts = []
    for fmt in ("json", "xml"):
        for path in (
            "requests",
            f"requests/{named.number}",
            f"requests/{posted[0]['service_request_id']}",
        ):
            response = client.get(f"{BASE}/{path}.{fmt}")
            assert response.status_code == 200
            texts.append(response.get_data(as_text=True))
        missing = client.get(f"{BASE}/requests/{anonymous.number}.{fmt}")
        assert missing.status_code == 404
    listed = client.get(f"{BASE}/requests.json").get_json()
    assert anonymous.number not in {r["service_request_id"] for r in listed}
    assert len(listed) == 2
    for text in texts:
        for secret in ("13800138000", "13912345678", "13700001111", "张三", "李小明", "li@example"):
            assert secret not in text
        assert anonymous.number not in text
    detail = client.get(f"{BASE}/requests/{named.number}.json").get_json()[0]
    assert detail["description"] == "请联系**，电话***********，他知道情况。"


def test_repeating_the_same_post_gives_the_same_request(
    post: Any, db: Any, departments: Any
) -> None:
    first = post()
    again = post()
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert _count(db, Ticket) == 1 and _count(db, Open311Request) == 1
    other = post(description="另一件事：井盖丢了。")
    assert other.status_code == 201
    assert _count(db, Ticket) == 2


def test_the_same_form_a_day_later_is_a_new_request(post: Any, db: Any, departments: Any) -> None:
    with clock.frozen(at(2026, 3, 10, 23)):
        first = post().get_json()[0]["service_request_id"]
    with clock.frozen(at(2026, 3, 11, 8)):  # the next local day, within 24 hours: a repeat
        assert post().get_json()[0]["service_request_id"] == first
    with clock.frozen(at(2026, 3, 12, 8)):
        later = post()
    assert later.status_code == 201 and later.get_json()[0]["service_request_id"] != first
    assert _count(db, Ticket) == 2


def test_a_client_idempotency_key_is_the_token(
    post: Any, client: Any, db: Any, departments: Any
) -> None:
    headers = {"Idempotency-Key": "app-42"}
    first = post(headers=headers)
    again = post(headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    number = first.get_json()[0]["service_request_id"]
    assert again.get_json()[0]["service_request_id"] == number
    reused = post(headers=headers, description="别的内容")
    assert reused.status_code == 400
    assert reused.get_json()[0]["code"] == 400
    assert _count(db, Ticket) == 1
    for fmt in ("json", "xml"):
        answer = client.get(f"{BASE}/tokens/app-42.{fmt}")
        assert answer.status_code == 200
    assert client.get(f"{BASE}/tokens/app-42.json").get_json() == [
        {"service_request_id": number, "token": "app-42"}
    ]
    unknown = client.get(f"{BASE}/tokens/nope.json")
    assert unknown.status_code == 404 and unknown.get_json()[0]["code"] == 404


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"service_code": None}, "service_code"),
        ({"attribute[kind]": None}, "attribute[kind]"),
        ({"attribute[kind]": "rant"}, "attribute[kind]"),
        ({"attribute[colour]": "red"}, "attribute[colour]"),
        ({"lat": None, "long": None, "address_string": None}, "lat/long"),
        ({"lat": None, "long": None, "address_string": None, "address_id": "7"}, "address_id"),
        ({"lat": "91", "address_string": None}, "lat/long"),
        ({"long": "east"}, "lat/long"),
        ({"description": None}, "description"),
        ({"description": "长" * 4001}, "description"),
        ({"phone": None}, "phone"),
        ({"phone": "12345"}, "phone"),
        ({"attribute[anonymous]": "true"}, "attribute[anonymous]"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
    ],
)
def test_refused_posts_name_the_parameter_and_write_nothing(
    post: Any, db: Any, departments: Any, fields: dict[str, Any], parameter: str
) -> None:
    response = post(**fields)
    assert response.status_code == 400
    errors = response.get_json()
    assert all(e["code"] == 400 for e in errors)
    assert any(e["description"].startswith(f"{parameter}:") for e in errors), errors
    assert _count(db, Ticket) == 0


def test_an_anonymous_report_needs_no_phone_and_is_not_listed(
    post: Any, client: Any, db: Any, departments: Any
) -> None:
    fields = {"attribute[kind]": "report", "attribute[anonymous]": "true", "phone": None}
    response = post(**fields, first_name=None, last_name=None)
    assert response.status_code == 201
    number = response.get_json()[0]["service_request_id"]
    db.rollback()
    assert db.scalars(select(Ticket.anonymous)).one() is True
    assert client.get(f"{BASE}/requests/{number}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json").get_json() == []


def test_unknown_service_code_is_404(post: Any, db: Any, departments: Any) -> None:
    response = post(service_code="no-such")
    assert response.status_code == 404
    assert response.get_json()[0]["code"] == 404
    assert _count(db, Ticket) == 0


def test_posts_must_be_form_encoded(client: Any, api_key: str, departments: Any) -> None:
    response = client.post(f"{BASE}/requests.json", json={**VALID_FORM, "api_key": api_key})
    assert response.status_code == 403  # the key is read from the form (or query) only
    response = client.post(f"{BASE}/requests.json?api_key={api_key}", json=VALID_FORM)
    assert response.status_code == 400


def test_the_default_window_is_the_last_90_days(
    make_ticket: Any, both: Any, validate: Any, departments: Any
) -> None:
    old = make_ticket("closed", when=at(2025, 12, 1))  # 99 days before the pinned day
    recent = make_ticket("handling", when=at(2026, 2, 1))
    status, body = both("requests")
    validate("requests.json", body)
    assert [r["service_request_id"] for r in body] == [recent.number]
    status, body = both("requests", "start_date=2025-11-20T00:00:00Z&end_date=2026-01-01T00:00:00Z")
    assert [r["service_request_id"] for r in body] == [old.number]
    status, body = both("requests", "start_date=2025-11-20T00:00:00%2B08:00")  # + 90 days
    assert [r["service_request_id"] for r in body] == [recent.number, old.number]
    status, body = both("requests", "end_date=2026-01-10")  # the 90 days before
    assert [r["service_request_id"] for r in body] == [old.number]
    status, body = both("requests", "start_date=2025-11-01&end_date=2026-03-01")
    assert status == 400 and "90 天" in body[0]["description"]


def test_filters_status_service_code_and_ids(
    make_ticket: Any, client: Any, departments: Any
) -> None:
    closed = make_ticket("closed")
    handling = make_ticket("handling")

    def numbers(query: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [r["service_request_id"] for r in response.get_json()]

    assert numbers("status=open") == [handling.number]
    assert numbers("status=closed") == [closed.number]
    assert set(numbers("status=open,closed")) == {closed.number, handling.number}
    assert set(numbers("service_code=other")) == {closed.number, handling.number}  # no category
    assert numbers("service_code=housing") == []
    assert numbers(f"service_request_id={closed.number}&status=open") == [closed.number]
    bad = client.get(f"{BASE}/requests.xml?status=pending")
    assert bad.status_code == 400 and b"<errors>" in bad.get_data()
    assert client.get(f"{BASE}/requests.json?start_date=yesterday").status_code == 400
    assert client.get(f"{BASE}/requests.json?start_date=2026-13-45").status_code == 400
    later_first = client.get(
        f"{BASE}/requests.json?start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z"
    )
    assert later_first.status_code == 400


def test_at_most_1000_requests_newest_first(client: Any, db: Any, departments: Any) -> None:
    now = clock.now()
    rows = [
        {
            "number": f"2603{n:08d}",
            "query_code": "ABCDEF",
            "kind": "consultation",
            "title": "t",
            "description": f"第{n}件",
            "channel": "web",
            "anonymous": False,
            "urgent": False,
            "stage": "submitted",
            "is_returned": False,
            "needs_supervisor": False,
            "created_at": now - dt.timedelta(minutes=n),
            "updated_at": now - dt.timedelta(minutes=n),
        }
        for n in range(1, 1006)
    ]
    db.execute(insert(Ticket), rows)
    db.commit()
    body = client.get(f"{BASE}/requests.json").get_json()
    assert len(body) == 1000
    assert body[0]["service_request_id"] == "260300000001"
    assert body[-1]["service_request_id"] == "260300001000"


def test_a_submitted_ticket_from_another_door_is_listed(make_ticket: Any, client: Any) -> None:
    ticket = make_ticket("submitted", channel="wechat")
    body = client.get(f"{BASE}/requests/{ticket.number}.json").get_json()
    assert body[0]["status"] == "open" and body[0]["media_url"] is None
    assert body[0]["service_code"] == "other" and body[0]["agency_responsible"] is None


def test_tokens_are_per_key_and_hide_anonymous_reports_from_others(
    post: Any, client: Any, db: Any, departments: Any, api_key: str
) -> None:
    other = create_api_key(db, "other app", actor=SYSTEM).key
    db.commit()
    headers = {"Idempotency-Key": "same-token"}
    mine = post(headers=headers).get_json()[0]["service_request_id"]
    anonymous = {"attribute[kind]": "report", "attribute[anonymous]": "true", "phone": None}
    theirs = post(key=other, headers=headers, **anonymous).get_json()[0]["service_request_id"]
    assert mine != theirs  # the same token of two keys is two requests

    def found(query: str) -> list[str]:
        response = client.get(f"{BASE}/tokens/same-token.json{query}")
        return [r["service_request_id"] for r in response.get_json() if "token" in r]

    assert found("") == [mine]  # the anonymous report is not shown without its own key
    assert found(f"?api_key={api_key}") == [mine]
    assert found(f"?api_key={other}") == [theirs]


def _statements(app: Any, client: Any, url: str) -> tuple[int, Any]:
    with recorded(app.extensions["hotline_db"].engine) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return len(statements), response.get_json()


def test_lists_read_in_as_many_statements_for_fifty_tickets_as_for_two(
    app: Any, make_ticket: Any, client: Any, db: Any, departments: Any
) -> None:
    """Category, department and photo come joined (no query per ticket, as in the list of a
    thousand); each ticket keeps its own service, agency and notice."""
    gas = db.scalar(select(Category).where(Category.code == "gas"))
    assert gas is not None
    handler = departments["chengguan"]  # make_ticket's department, not the category's usual one
    for n in range(2):
        ticket = make_ticket("handling", kind="complaint" if n else "consultation")
        ticket.category_id = gas.id
    db.commit()
    few, listed = _statements(app, client, f"{BASE}/requests.json?service_code=gas")
    assert len(listed) == 2
    assert {r["service_name"] for r in listed} == {gas.name}
    assert {r["agency_responsible"] for r in listed} == {handler.name}
    assert len({r["service_notice"] for r in listed}) == 2  # one per kind
    for _ in range(48):
        make_ticket("submitted").category_id = gas.id
    db.commit()
    many, listed = _statements(app, client, f"{BASE}/requests.json?service_code=gas")
    assert len(listed) == 50 and many == few
    english, listed = _statements(app, client, f"{BASE}/requests.json?service_code=gas&lang=en")
    assert english == few
    assert {r["service_name"] for r in listed} == {gas.name_en or gas.name}
    agencies = {r["agency_responsible"] for r in listed}
    assert agencies == {handler.name_en or handler.name, None}  # submitted: not dispatched yet


def test_services_read_their_departments_with_them(app: Any, client: Any, departments: Any) -> None:
    count, services = _statements(app, client, f"{BASE}/services.json")
    assert len(services) > 10 and count <= 2
    assert all(s["group"] for s in services if s["service_code"] != "other")
