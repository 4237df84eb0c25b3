"""Sign-in, the gate, session expiry, lockout and logout."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core import clock
from directory.models import Role

pytestmark = pytest.mark.date_matrix  # session expiry and lockout run on the clock


def test_gate_sends_anonymous_users_to_login(client) -> None:
    response = client.get("/staff/queue")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_each_role_lands_on_its_screen(login, staff) -> None:
    landing = {
        "operator": "/staff/queue",
        "reviewer": "/staff/review",
        "supervisor": "/staff/review",
        "dept": "/staff/workbench",
    }
    for role, path in landing.items():
        response = login(staff[role]).get("/staff/")
        assert response.headers["Location"].endswith(path), role


def test_session_expires_after_inactivity(app, login, staff) -> None:
    client = login(staff["operator"])
    assert client.get("/staff/queue").status_code == 200
    minutes = app.config["SESSION_LIFETIME_MINUTES"]
    with clock.frozen(clock.now() + dt.timedelta(minutes=minutes + 1)):
        response = client.get("/staff/queue")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    assert client.get("/staff/queue").status_code == 302  # and stays signed out


def test_activity_keeps_the_session_alive(app, login, staff) -> None:
    client = login(staff["operator"])
    minutes = app.config["SESSION_LIFETIME_MINUTES"]
    start = clock.now()
    for step in (1, 2, 3):
        with clock.frozen(start + dt.timedelta(minutes=(minutes - 5) * step)):
            assert client.get("/staff/queue").status_code == 200


def test_lockout_after_five_failures(app, make_staff, db) -> None:
    user = make_staff(Role.OPERATOR, username="lock")
    client = app.test_client()
    for _ in range(5):
        response = client.post("/staff/login", data={"username": "lock", "password": "wrong"})
        assert response.status_code == 401
    response = client.post("/staff/login", data={"username": "lock", "password": "password123"})
    assert response.status_code == 401
    assert "15" in response.get_data(as_text=True)  # locked for 15 minutes
    with clock.frozen(clock.now() + dt.timedelta(minutes=16)):
        response = client.post("/staff/login", data={"username": "lock", "password": "password123"})
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert db.get(type(user), user.id).failed_logins == 0


def test_unknown_user_and_wrong_password_read_the_same(app, make_staff) -> None:
    make_staff(Role.OPERATOR, username="known")
    client = app.test_client()
    a = client.post("/staff/login", data={"username": "known", "password": "bad"})
    b = client.post("/staff/login", data={"username": "nobody", "password": "bad"})
    assert a.status_code == b.status_code == 401
    # The CSRF token is signed with the current second: two pages a second apart differ there.
    csrf = re.compile(r'name="csrf_token"[^>]*value="[^"]*"')
    page_a = csrf.sub("", a.get_data(as_text=True).replace("known", ""))
    page_b = csrf.sub("", b.get_data(as_text=True).replace("nobody", ""))
    assert page_a == page_b


def test_deactivated_user_is_signed_out(login, staff, db) -> None:
    client = login(staff["operator"])
    staff["operator"].active = False
    db.commit()
    assert client.get("/staff/queue").status_code == 302


def test_logout_and_open_redirect(app, login, staff) -> None:
    client = login(staff["operator"])
    assert client.post("/staff/logout").status_code == 302
    assert client.get("/staff/queue").status_code == 302
    response = app.test_client().post(
        "/staff/login?next=//evil.example/staff",
        data={"username": staff["operator"].username, "password": "password123"},
    )
    assert response.headers["Location"].endswith("/staff/")
