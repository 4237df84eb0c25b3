"""API keys: stored hashed, created and revoked by admins (command line and staff console),
required to post, limited per key."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from directory.access import SYSTEM
from directory.api_keys import ApiKey, create_api_key, hash_key
from directory.models import StaffUser
from tests.open311.conftest import BASE, VALID_FORM
from tickets.models import Ticket


def _login(app: Flask, user: StaffUser) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302
    return client


def test_keys_are_stored_hashed(db: Any) -> None:
    new = create_api_key(db, "城市 App", rate_limit="10 per  Minute", actor=SYSTEM)
    db.commit()
    row = db.scalars(select(ApiKey)).one()
    assert new.key.startswith("o311_") and len(new.key) > 40
    assert row.key_hash == hash_key(new.key) and new.key not in (row.prefix, row.key_hash)
    assert new.key.startswith(row.prefix) and row.rate_limit == "10 per minute"


def test_the_command_line_creates_lists_and_revokes(
    runner: Any, client: FlaskClient, db: Any, departments: Any
) -> None:
    created = runner.invoke(
        args=["open311", "keys", "create", "FixMyStreet", "--rate-limit", "5 per minute"]
    )
    assert created.exit_code == 0, created.output
    key = re.search(r"(o311_\S+)", created.output).group(1)  # type: ignore[union-attr]
    listed = runner.invoke(args=["open311", "keys", "list"])
    assert "FixMyStreet" in listed.output and "5 per minute" in listed.output
    assert key not in listed.output and key[:13] in listed.output
    posted = client.post(f"{BASE}/requests.json", data={**VALID_FORM, "api_key": key})
    assert posted.status_code == 201
    db.rollback()
    number = db.scalars(select(ApiKey.id)).one()
    revoked = runner.invoke(args=["open311", "keys", "revoke", str(number)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    refused = client.post(f"{BASE}/requests.xml", data={**VALID_FORM, "api_key": key})
    assert refused.status_code == 403 and b"<code>403</code>" in refused.get_data()
    assert "revoked" in runner.invoke(args=["open311", "keys", "list"]).output
    bad = runner.invoke(args=["open311", "keys", "create", "x", "--rate-limit", "lots"])
    assert bad.exit_code != 0 and "rate_limit" in bad.output
    assert runner.invoke(args=["open311", "keys", "revoke", "999"]).exit_code != 0


def test_post_needs_a_valid_key_and_get_refuses_a_wrong_one(
    client: FlaskClient, db: Any, departments: Any
) -> None:
    for form in (
        VALID_FORM,
        {**VALID_FORM, "api_key": "o311_not-a-key"},
        {**VALID_FORM, "api_key": "x"},
    ):
        response = client.post(f"{BASE}/requests.json", data=form)
        assert response.status_code == 403
        (error,) = response.get_json()
        assert error["code"] == 403
    wrong = client.get(f"{BASE}/services.json?api_key=o311_wrong")
    assert wrong.status_code == 403
    assert client.get(f"{BASE}/services.json").status_code == 200
    assert db.scalar(select(func.count()).select_from(Ticket)) == 0


def test_only_admins_manage_keys_in_the_console(app: Flask, staff: Any) -> None:
    for role in ("operator", "supervisor", "reviewer", "dept"):
        user = _login(app, staff[role])
        assert user.get("/staff/admin/open311").status_code == 403
        assert user.post("/staff/admin/open311/keys", data={"name": "x"}).status_code == 403
    admin = _login(app, staff["admin"])
    page = admin.get("/staff/admin/open311")
    assert page.status_code == 200 and "Open311 密钥" in page.get_data(as_text=True)
    home = admin.get("/staff/", follow_redirects=True).get_data(as_text=True)
    assert "/staff/admin/open311" in home  # in the navigation


def test_an_admin_creates_a_key_sees_it_once_and_revokes_it(
    app: Flask, staff: Any, client: FlaskClient, departments: Any, db: Any
) -> None:
    admin = _login(app, staff["admin"])
    created = admin.post(
        "/staff/admin/open311/keys", data={"name": "区政务 App", "rate_limit": "30 per minute"}
    )
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    key = re.search(r'<code id="new-api-key">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    later = admin.get("/staff/admin/open311").get_data(as_text=True)
    assert "区政务 App" in later and key not in later and "30 per minute" in later
    assert (
        client.post(f"{BASE}/requests.json", data={**VALID_FORM, "api_key": key}).status_code == 201
    )
    db.rollback()
    row = db.scalars(select(ApiKey)).one()
    assert row.created_by_id == staff["admin"].id
    revoked = admin.post(f"/staff/admin/open311/keys/{row.id}/revoke")
    assert revoked.status_code == 303
    form = {**VALID_FORM, "api_key": key, "description": "另一件"}
    assert client.post(f"{BASE}/requests.json", data=form).status_code == 403
    refused = admin.post("/staff/admin/open311/keys", data={"name": "x", "rate_limit": "fast"})
    assert refused.status_code == 303
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_each_key_has_its_own_rate_limit(
    make_app: Callable[..., Flask], app: Flask, db: Any, departments: Any
) -> None:
    limited = make_app(RATELIMIT_ENABLED=True, OPEN311_RATELIMIT_READ="3 per minute")
    slow = create_api_key(db, "slow", rate_limit="2 per minute", actor=SYSTEM).key
    fast = create_api_key(db, "fast", actor=SYSTEM).key
    db.commit()
    client = limited.test_client()
    answers = [client.get(f"{BASE}/services.json?api_key={slow}").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    too_many = client.get(f"{BASE}/services.xml?api_key={slow}")
    assert too_many.status_code == 429 and b"<code>429</code>" in too_many.get_data()
    # another key has its own budget (the default, 60 per minute); without a key, per IP
    assert all(
        client.get(f"{BASE}/services.json?api_key={fast}").status_code == 200 for _ in range(5)
    )
    anonymous = [client.get(f"{BASE}/services.json").status_code for _ in range(4)]
    assert anonymous == [200, 200, 200, 429]
    posted = client.post(f"{BASE}/requests.json", data={**VALID_FORM, "api_key": slow})
    assert posted.status_code == 429  # one budget for every endpoint of a key
