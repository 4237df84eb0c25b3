"""Every staff URL, GET and POST, as every role and as nobody.

The routes are read from the app's URL map, so a new staff page is covered the day it is added.
Path parameters are filled with real rows (a ticket of 城管 and its number; other ids 1), so the
views run for real. What must hold:

- nobody (no session) is sent to the sign-in page (or gets a JSON 401) and changes nothing;
- no role ever gets a 5xx;
- the administration area (``/staff/admin/…``) answers a non-admin with 403 (or 404);
- department staff never see an anonymous reporter's name or number, on any page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from core.db import Base
from directory.models import StaffUser
from tickets.models import Ticket

ANONYMOUS_NAME = "匿名举报人李四"
ANONYMOUS_PHONE = "13912345678"
OPEN = {"staff.login", "staff.logout", "staff.static"}


def _staff_rules(app: Flask) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff") and rule.endpoint not in OPEN
        ),
        key=lambda r: r.rule,
    )


def _url(rule: Rule, ticket: Ticket) -> str:
    """The rule's path with every parameter filled: the ticket's id or number, else 1 / "x"."""
    path = rule.rule
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", path):
        pattern = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?" + name + ">")
        if converter in ("int", ""):
            value = str(ticket.id) if "ticket" in name or name == "id" else "1"
        else:
            value = ticket.number if "number" in name else "x"
        if converter == "" and "number" in name:
            value = ticket.number
        path = pattern.sub(value, path, count=1)
    return path


def _counts(db: Session) -> dict[str, int]:
    db.rollback()
    return {
        table.name: int(db.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


@pytest.fixture
def ticket(make_ticket: Callable[..., Ticket], db: Session) -> Ticket:
    made = make_ticket("dept_review", department="chengguan")
    db.commit()
    return made


@pytest.fixture
def anonymous(make_ticket: Callable[..., Ticket], db: Session) -> Iterator[Ticket]:
    """An anonymous report at 城管, its reporter's name and number on the row."""
    made = make_ticket(
        "dept_review", kind="report", department="chengguan", anonymous=True, phone=ANONYMOUS_PHONE
    )
    db.execute(
        text("UPDATE tickets SET contact_name = :name WHERE id = :id"),
        {"name": ANONYMOUS_NAME, "id": made.id},
    )
    db.commit()
    yield made


def _signed_in(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_nobody_is_sent_to_sign_in_and_changes_nothing(
    app: Flask, client: FlaskClient, db: Session, ticket: Ticket
) -> None:
    rules = _staff_rules(app)
    assert len(rules) > 20  # the console is all here
    before = _counts(db)
    for rule in rules:
        url = _url(rule, ticket)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={"note": "x", "reply": "x"})
            where = f"{method} {url}"
            if response.status_code == 401:
                assert response.is_json, where
                continue
            assert response.status_code == 302, f"{where}: {response.status_code}"
            assert response.headers["Location"].startswith("/staff/login"), where
    assert _counts(db) == before


@pytest.mark.parametrize("role", ["operator", "reviewer", "supervisor", "admin", "dept"])
def test_every_role_gets_no_server_error_and_the_admin_area_only_as_admin(
    app: Flask, db: Session, staff: dict[str, StaffUser], ticket: Ticket, role: str
) -> None:
    client = _signed_in(app, staff[role])
    seen: dict[int, int] = {}
    for rule in _staff_rules(app):
        url = _url(rule, ticket)
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = client.open(url, method=method, data={})
            where = f"{role} {method} {url}"
            status = response.status_code
            seen[status] = seen.get(status, 0) + 1
            assert status < 500, f"{where}: {status}\n{response.get_data(as_text=True)[:500]}"
            if rule.rule.startswith("/staff/admin") and role != "admin" and method == "GET":
                assert status in (403, 404), f"{where}: {status}"
    assert seen.get(200, 0) > 0  # the role's own pages answered


def test_department_staff_never_see_an_anonymous_reporter(
    app: Flask, staff: dict[str, StaffUser], ticket: Ticket, anonymous: Ticket
) -> None:
    client = _signed_in(app, staff["dept"])
    pages = 0
    for rule in _staff_rules(app):
        if "GET" not in rule.methods:
            continue
        for target in (ticket, anonymous):
            response = client.get(_url(rule, target))
            if response.status_code != 200:
                continue
            pages += 1
            body = response.get_data(as_text=True)
            where = f"GET {_url(rule, target)}"
            assert ANONYMOUS_NAME not in body, where
            assert ANONYMOUS_PHONE not in body, where
    own = client.get(f"/staff/tickets/{anonymous.number}")
    assert own.status_code == 200  # the department does see the matter itself
    assert pages > 5
