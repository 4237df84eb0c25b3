"""The department's and the supervisors' notices in the console."""

from __future__ import annotations

from delivery.render import RenderSettings
from delivery.worker import Worker
from tickets import workflow


def _login(client, user) -> None:
    response = client.post(
        "/staff/login", data={"username": user.username, "password": "password123"}
    )
    assert response.status_code == 302


def _deliver(app) -> None:
    settings = RenderSettings(secret_key="test-secret", public_base_url="http://localhost")
    Worker(app.extensions["hotline_db"].session, settings).drain()


def test_department_sees_its_notices_only(app, client, db, make_ticket, staff) -> None:
    mine = make_ticket("dept_review", department="chengguan")
    workflow.mark_urgent(db, mine, actor=staff["operator"], reason="燃气泄漏")
    others = make_ticket("dept_review", department="zhujian")
    db.commit()
    _deliver(app)
    _login(client, staff["dept"])
    page = client.get("/staff/inbox")
    assert page.status_code == 200
    assert mine.number in page.text and others.number not in page.text
    assert "紧急" in page.text


def test_supervisors_read_the_supervisors_inbox_and_others_have_no_entry(
    app, client, staff
) -> None:
    _login(client, staff["supervisor"])
    assert client.get("/staff/inbox").status_code == 200
    assert "/staff/inbox" in client.get("/staff/overdue").text
    client.post("/staff/logout")
    _login(client, staff["operator"])
    assert "/staff/inbox" not in client.get("/staff/queue").text
