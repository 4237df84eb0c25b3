"""Hot topics and emergency clusters (analysis.hot) on hand-made tickets: what rises this week,
which tickets group into a possible incident and which do not, and marking an incident (access,
audit row, one staff-inbox message per department concerned)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import hot
from analysis.models import Incident, IncidentEvent, IncidentTicket
from core import clock
from core.errors import Conflict, PermissionDenied, ValidationError
from delivery.inbox import department_recipient
from delivery.models import OutboxMessage
from delivery.render import RenderSettings, render_message
from directory.citizens import get_or_create_citizen
from directory.models import Department, StaffUser
from tests.conftest import at
from tickets import workflow
from tickets.access import CitizenActor
from tickets.calendar import local_today
from tickets.models import Ticket

NOW = at(2026, 3, 10, 10)


@pytest.fixture
def submit(db: Session, departments: dict[str, Department]) -> Callable[..., Ticket]:
    counter = iter(range(1, 10_000))

    def make(
        when: dt.datetime,
        title: str,
        *,
        description: str = "",
        address: str | None = None,
        category: str | None = None,
        point: tuple[float, float] | None = None,
    ) -> Ticket:
        with clock.frozen(when):
            citizen = get_or_create_citizen(db, "web", f"web-{next(counter)}")
            ticket = workflow.submit_ticket(
                db,
                workflow.TicketDraft(
                    kind="complaint",
                    title=title,
                    description=description or title,
                    address=address,
                    contact_name="王五",
                    phone="13800138000",
                    category_code=category,
                    latitude=point[0] if point else None,
                    longitude=point[1] if point else None,
                ),
                actor=CitizenActor(citizen.id, "web"),
                channel="web",
                citizen=citizen,
            )
        db.commit()
        return ticket

    return make


def test_district_and_distance() -> None:
    assert hot.district("珠海市香洲区吉大路1号") == "香洲区"
    assert hot.district("斗门区井岸镇") == "斗门区"
    assert hot.district("吉大路1号") is None
    assert hot.district(None) is None
    # 0.01° of latitude is about 1.11 km
    assert hot.distance_km((22.27, 113.57), (22.28, 113.57)) == pytest.approx(1.112, abs=0.01)


def test_rising_categories_and_words(db: Session, submit: Callable[..., Ticket]) -> None:
    today = local_today(db)
    assert today == dt.date(2026, 3, 10)
    # the four weeks before (2026-02-10 .. 03-03): one 停水 a week, three 燃气 a week
    for week in range(1, 5):
        day = NOW - dt.timedelta(days=7 * week)
        submit(day, "小区停水", address="香洲区翠香路", category="water")
        for n in range(3):
            submit(day + dt.timedelta(hours=n), "燃气价格咨询", category="gas")
    # this week (03-04 .. 03-10): four 停水, three 燃气
    for n in range(4):
        submit(NOW - dt.timedelta(days=n, hours=1), "小区停水", category="water")
    for n in range(3):
        submit(NOW - dt.timedelta(days=n, hours=2), "燃气价格咨询", category="gas")
    # 8 days ago: the baseline, not this week
    submit(NOW - dt.timedelta(days=8), "路灯不亮", category="power")

    topics = hot.hot_topics(db, today)
    assert topics.week.start == dt.date(2026, 3, 4)
    assert topics.baseline.start == dt.date(2026, 2, 4)
    assert topics.baseline.end == dt.date(2026, 3, 3)
    assert [(t.label, t.current, t.baseline) for t in topics.categories] == [("供水排水", 4, 1.0)]
    assert topics.categories[0].rise == 4.0
    words = {t.label: (t.current, t.baseline) for t in topics.words}
    assert words["停水"] == (4, 1.0)
    assert "燃气" not in words  # as many as before: not rising
    assert "小区" in words  # it recurs in the 停水 tickets
    assert "路灯" not in words


def test_a_new_topic_rises_from_nothing(db: Session, submit: Callable[..., Ticket]) -> None:
    for n in range(3):
        submit(NOW - dt.timedelta(hours=n), "燃气泄漏", category="gas")
    submit(NOW - dt.timedelta(hours=3), "噪音扰民")
    topics = hot.hot_topics(db, local_today(db))
    assert [(t.label, t.current, t.rise) for t in topics.categories] == [("燃气", 3, None)]
    assert {t.label for t in topics.words} == {"燃气", "泄漏"}  # 噪音 only once


def _cluster_data(submit: Callable[..., Ticket]) -> dict[str, Any]:
    t = NOW - dt.timedelta(hours=5)
    water = [
        submit(t, "停水了", address="香洲区吉大路1号", category="water"),
        submit(
            t + dt.timedelta(minutes=40),
            "家里没水",
            address="珠海市香洲区吉大路8号",
            category="water",
        ),
        submit(t + dt.timedelta(hours=3, minutes=30), "停水", address="香洲区景山路"),  # keyword
    ]
    gas = [  # no district in the text: map points within 2 km, the keyword 燃气
        submit(t, "燃气泄漏", address="吉大路", point=(22.270, 113.570)),
        submit(t + dt.timedelta(hours=1), "闻到燃气味", point=(22.275, 113.575)),
        submit(t + dt.timedelta(hours=2), "燃气报警", point=(22.280, 113.570)),
    ]
    others = [
        submit(t, "停水", address="斗门区井岸镇", category="water"),  # another district
        submit(
            t - dt.timedelta(hours=12), "停水", address="香洲区吉大路", category="water"
        ),  # hours before
        submit(t + dt.timedelta(minutes=5), "噪音扰民", address="香洲区吉大路"),  # another topic
        submit(t, "燃气泄漏", point=(22.40, 113.57)),  # 14 km away
        submit(NOW - dt.timedelta(hours=30), "停水", address="香洲区吉大路", category="water"),
    ]
    return {"water": water, "gas": gas, "others": others}


def test_clusters(db: Session, submit: Callable[..., Ticket]) -> None:
    data = _cluster_data(submit)
    with clock.frozen(NOW):
        found = hot.clusters(db)
    assert [c.ticket_ids for c in found] == [  # as large: the latest last ticket first
        [t.id for t in data["water"]],
        [t.id for t in data["gas"]],
    ]
    by_first = {c.ticket_ids[0]: c for c in found}
    water = by_first[data["water"][0].id]
    assert water.area == "香洲区"
    assert water.categories == ["供水排水"]
    assert "停水" in water.keywords
    assert water.title() == "香洲区停水"
    gas = by_first[data["gas"][0].id]
    assert gas.area is None
    assert gas.keywords == ["燃气"]
    assert gas.title() == "燃气"


def test_a_pair_is_not_a_cluster(db: Session, submit: Callable[..., Ticket]) -> None:
    submit(NOW - dt.timedelta(hours=2), "停水", address="香洲区吉大路", category="water")
    submit(NOW - dt.timedelta(hours=1), "停水", address="香洲区吉大路", category="water")
    with clock.frozen(NOW):
        assert hot.clusters(db) == []
    submit(NOW - dt.timedelta(minutes=10), "停水", address="香洲区吉大路", category="water")
    with clock.frozen(NOW):
        assert len(hot.clusters(db)) == 1


def test_mark_incident(
    db: Session,
    submit: Callable[..., Ticket],
    staff: dict[str, StaffUser],
    departments: dict[str, Department],
) -> None:
    data = _cluster_data(submit)
    ids = [t.id for t in data["water"]]
    for role in ("operator", "reviewer", "dept"):
        with pytest.raises(PermissionDenied):
            hot.mark_incident(db, ids, title="停水", actor=staff[role])
    with pytest.raises(ValidationError) as invalid:
        hot.mark_incident(db, ids[:1], title=" ", actor=staff["supervisor"])
    assert set(invalid.value.fields) == {"title", "tickets"}

    with clock.frozen(NOW):
        incident = hot.mark_incident(db, ids, title="香洲区停水", actor=staff["supervisor"])
    db.commit()
    assert (incident.title, incident.area, incident.created_by_id) == (
        "香洲区停水",
        "香洲区",
        staff["supervisor"].id,
    )
    assert sorted(db.scalars(select(IncidentTicket.ticket_id))) == sorted(ids)
    event = db.scalars(select(IncidentEvent)).one()
    water = departments["water"].id
    assert (event.action, event.actor_id, event.data) == (
        "mark",
        staff["supervisor"].id,
        {"tickets": sorted(ids), "departments": [water]},
    )
    # the third ticket has no category: only the water bureau is concerned, once
    messages = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "department_incident")
    ).all()
    assert [(m.recipient, m.channel, m.audience) for m in messages] == [
        (department_recipient(water), "staff", "department")
    ]
    text, _ = render_message(
        messages[0].template,
        messages[0].params,
        "zh_CN",
        RenderSettings("secret", "https://12345.example"),
    )
    assert "香洲区" in text and "香洲区停水" in text and data["water"][2].number in text

    with clock.frozen(NOW):
        remaining = hot.clusters(db)
    assert [c.ticket_ids for c in remaining] == [[t.id for t in data["gas"]]]
    with pytest.raises(Conflict):
        hot.mark_incident(db, ids[1:] + [data["gas"][0].id], title="再次", actor=staff["admin"])
    assert [(i.id, [t.id for t in ts]) for i, ts in hot.incidents(db)] == [(incident.id, ids)]


def test_departments_of_dispatched_tickets_are_notified(
    db: Session,
    submit: Callable[..., Ticket],
    staff: dict[str, StaffUser],
    departments: dict[str, Department],
) -> None:
    tickets = [submit(NOW - dt.timedelta(hours=n), "燃气泄漏", category="gas") for n in range(3)]
    workflow.dispatch_ticket(db, tickets[0], departments["xiangzhou"], actor=staff["operator"])
    db.commit()
    hot.mark_incident(db, [t.id for t in tickets], title="燃气泄漏", actor=staff["admin"])
    recipients = db.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.template == "department_incident")
    ).all()
    assert sorted(recipients) == sorted(
        department_recipient(departments[code].id) for code in ("gas", "xiangzhou")
    )
    assert db.scalar(select(Incident.area)) is None


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def test_the_screen(app: Flask, db: Session, submit: Callable[..., Ticket], staff: Any) -> None:
    data = _cluster_data(submit)
    for role in ("operator", "reviewer", "dept"):
        client = _login(app, staff[role])
        assert client.get("/staff/analysis/hot").status_code == 403
        assert client.post("/staff/analysis/incidents", data={}).status_code in (400, 403)
    with clock.frozen(NOW):
        client = _login(app, staff["supervisor"])
        page = client.get("/staff/analysis/hot")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'href="/staff/analysis/hot"' in html  # the nav entry
        for ticket in data["water"] + data["gas"]:
            assert ticket.number in html
        assert data["others"][0].number not in html
        form = {"ticket": [str(t.id) for t in data["water"]], "title": "香洲区停水"}
        response = client.post("/staff/analysis/incidents", data=form)
        assert response.status_code == 303
        page = client.get("/staff/analysis/hot").get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(Incident.title)) == "香洲区停水"
    assert sorted(db.scalars(select(IncidentTicket.ticket_id))) == sorted(
        t.id for t in data["water"]
    )
    assert "香洲区停水" in page
