"""The admin's dead-letter screen in a real browser: list, retry."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from delivery.outbox import enqueue_message
from directory.models import StaffUser
from tests.browser.fixtures import DESKTOP, PHONE


def _dead_letters(db: Session) -> None:
    for n, error in (
        (1, "permanent: number unreachable"),
        (2, "gave up after 8 attempts: timeout"),
    ):
        message = enqueue_message(
            db,
            idempotency_key=f"browser-dead-{n}",
            audience="citizen",
            channel="sms",
            recipient=f"1380013800{n}",
            template="ticket_dispatched",
            params={"number": f"20261123000{n}", "department": "市城管局", "stage": "dept_review"},
        )
        message.status = "dead"
        message.attempts = 8
        message.last_error = error
    db.commit()


def _sign_in(page: Any, live_server: str) -> None:
    page.goto(live_server + "/staff/login")
    page.fill("input[name=username]", "ad")
    page.fill("input[name=password]", "password123")
    page.click("button[type=submit]")


def test_admin_retries_a_dead_letter(
    live_server: str, new_page: Any, screenshot: Any, db: Session, staff: dict[str, StaffUser]
) -> None:
    _dead_letters(db)
    page = new_page(viewport=DESKTOP)
    _sign_in(page, live_server)
    page.goto(live_server + "/staff/outbox")
    assert "number unreachable" in page.content()
    screenshot(page, "delivery-outbox-desktop")
    page.locator("form[action$='/retry'] button").first.click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    screenshot(page, "delivery-outbox-retried")
    phone = new_page(viewport=PHONE)
    _sign_in(phone, live_server)
    phone.goto(live_server + "/staff/outbox")
    screenshot(phone, "delivery-outbox-phone")
