"""The staff console's switchboard page: keys created (secret shown once), revoked, agent codes."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from calls.keys import signed_headers
from calls.models import CtiKey
from core import clock
from directory.models import StaffUser
from tests.calls.conftest import URL, fresh


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def test_only_admins_see_the_page(app: Flask, staff) -> None:
    for role in ("operator", "supervisor", "reviewer", "dept"):
        client = _login(app, staff[role])
        assert client.get("/staff/admin/cti").status_code == 403
        assert client.post("/staff/admin/cti/keys", data={"name": "x"}).status_code == 403
        assert "/staff/admin/cti" not in client.get("/staff/", follow_redirects=True).get_data(
            as_text=True
        )
    admin = _login(app, staff["admin"])
    page = admin.get("/staff/admin/cti")
    assert page.status_code == 200
    assert "/staff/admin/cti" in admin.get("/staff/", follow_redirects=True).get_data(
        as_text=True
    )  # in the nav


def test_an_admin_creates_a_key_sees_the_secret_once_and_the_switchboard_can_sign(
    app: Flask, staff, db: Session, client: FlaskClient
) -> None:
    admin = _login(app, staff["admin"])
    created = admin.post("/staff/admin/cti/keys", data={"name": "华为 CTI"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    key_id = re.search(r"<code>(cti_[0-9a-f]{16})</code>", html).group(1)  # type: ignore[union-attr]
    secret = re.search(r'<code id="new-secret">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    # the page shown later lists the key, never the secret
    later = admin.get("/staff/admin/cti").get_data(as_text=True)
    assert key_id in later and secret not in later and "华为 CTI" in later
    body = json.dumps(
        {"type": "offered", "call_id": "A1", "at": clock.now().isoformat(), "queue": "综合"}
    ).encode()
    headers = signed_headers(key_id, secret, body, now=clock.now())
    assert client.post(URL, data=body, headers=headers).status_code == 200
    # revoke it: the next request is refused
    key = db.scalars(select(CtiKey)).one()
    revoked = admin.post(f"/staff/admin/cti/keys/{key.id}/revoke")
    assert revoked.status_code == 303
    fresh(db)
    assert db.get(CtiKey, key.id).revoked_at is not None  # type: ignore[union-attr]
    again = signed_headers(key_id, secret, body, now=clock.now())
    assert client.post(URL, data=body, headers=again).status_code == 401
    page = admin.get("/staff/admin/cti").get_data(as_text=True)
    assert "已吊销" in page or "Revoked" in page


def test_a_key_needs_a_name(app: Flask, staff, db: Session) -> None:
    admin = _login(app, staff["admin"])
    response = admin.post("/staff/admin/cti/keys", data={"name": "  "}, follow_redirects=True)
    assert response.status_code == 200
    assert db.scalars(select(CtiKey)).all() == []


def test_revoking_an_unknown_key_is_404(app: Flask, staff) -> None:
    admin = _login(app, staff["admin"])
    assert admin.post("/staff/admin/cti/keys/999/revoke").status_code == 404
    assert admin.post("/staff/admin/cti/agents/999", data={"agent_code": "1"}).status_code == 404


def test_an_admin_maps_agent_codes(app: Flask, staff, db: Session) -> None:
    admin = _login(app, staff["admin"])
    operator = staff["operator"]
    saved = admin.post(f"/staff/admin/cti/agents/{operator.id}", data={"agent_code": "8001"})
    assert saved.status_code == 303
    fresh(db)
    assert db.get(StaffUser, operator.id).agent_code == "8001"  # type: ignore[union-attr]
    # the same code for someone else is refused and changes nothing
    taken = admin.post(
        f"/staff/admin/cti/agents/{staff['reviewer'].id}",
        data={"agent_code": "8001"},
        follow_redirects=True,
    )
    assert "另一位" in taken.get_data(as_text=True) or "another staff" in taken.get_data(
        as_text=True
    )
    fresh(db)
    assert db.get(StaffUser, staff["reviewer"].id).agent_code is None  # type: ignore[union-attr]
    page = admin.get("/staff/admin/cti").get_data(as_text=True)
    assert 'value="8001"' in page
    cleared = admin.post(f"/staff/admin/cti/agents/{operator.id}", data={"agent_code": ""})
    assert cleared.status_code == 303
    fresh(db)
    assert db.get(StaffUser, operator.id).agent_code is None  # type: ignore[union-attr]
