"""A citizen's whole journey in Chromium, at phone and desktop widths, with screenshots."""

from __future__ import annotations

import pytest

from tests.browser.fixtures import DESKTOP, PHONE
from tests.portal.citizen.helpers import png_bytes
from tickets import workflow
from tickets.models import Ticket

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_submit_track_switch_language_and_answer_survey(
    width, live_server, new_page, screenshot, db, departments, staff, tmp_path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(8, 8))
    page = new_page(viewport=VIEWPORTS[width])

    page.goto(live_server + "/")
    assert "我们能为您做些什么" in page.content()
    screenshot(page, f"citizen-home-{width}")

    page.click("text=提交诉求")
    page.check("input[name=kind][value=complaint]")
    page.select_option("#category", "social_security")
    page.fill("#title", "路灯不亮")
    page.fill("#description", "吉大路口的路灯已经坏了一个星期，晚上很危险。")
    page.fill("#address", "香洲区吉大路口")
    page.fill("#contact_name", "李四")
    page.fill("#phone", "139 1234 5678")
    page.set_input_files("#attachments", str(photo))
    screenshot(page, f"citizen-submit-{width}")
    page.click("form.ticket-form button[type=submit]")

    # Without a knowledge base match the ticket is created straight away; with one the page
    # shows the FAQs first and the citizen submits again.
    if page.locator("[data-ticket-number]").count() == 0:
        screenshot(page, f"citizen-submit-faq-{width}")
        page.click("form.ticket-form button[type=submit]")
    number = page.inner_text("[data-ticket-number]").strip()
    code = page.inner_text("[data-query-code]").strip()
    screenshot(page, f"citizen-submitted-{width}")
    ticket = db.query(Ticket).filter_by(number=number).one()
    assert ticket.query_code == code
    assert [a.content_type for a in ticket.attachments] == ["image/png"]

    # A wrong code first, then the right one, in a fresh browser (no session).
    other = new_page(viewport=VIEWPORTS[width])
    other.goto(live_server + "/track")
    other.fill("#number", number)
    other.fill("#code", "WRONG1")
    other.click("form.track-form button[type=submit]")
    assert "没有找到" in other.content()
    screenshot(other, f"citizen-track-failed-{width}")
    other.fill("#code", code.lower())
    other.click("form.track-form button[type=submit]")
    assert "热线正在审核您的诉求" in other.content()
    screenshot(other, f"citizen-track-{width}")

    # The hotline and the department work on it; the citizen sees the reply in English.
    workflow.dispatch_ticket(db, ticket, departments["chengguan"], actor=staff["operator"])
    workflow.accept_ticket(db, ticket, actor=staff["dept"])
    workflow.reply_ticket(db, ticket, actor=staff["dept"], reply="路灯已于今日修复。")
    workflow.pass_review(db, ticket, actor=staff["reviewer"])
    db.commit()
    other.click("a.lang")
    content = other.content()
    assert "Answered: please tell us whether you are satisfied" in content
    assert "路灯已于今日修复。" in content
    screenshot(other, f"citizen-track-english-{width}")

    other.click("text=Tell us if you are satisfied")
    other.check("input[name=satisfaction][value=satisfied]")
    other.fill("#comment", "Fixed quickly, thank you.")
    screenshot(other, f"citizen-survey-{width}")
    other.click("form.survey-form button[type=submit]")
    assert "Thank you for your feedback." in other.content()
    screenshot(other, f"citizen-survey-done-{width}")
    db.expire_all()
    db.rollback()
    assert db.get(Ticket, ticket.id).satisfaction == "satisfied"


def test_validation_errors_and_keyboard(live_server, new_page, screenshot, departments) -> None:
    page = new_page(viewport=PHONE)
    page.goto(live_server + "/submit")
    page.click("form.ticket-form button[type=submit]")
    assert page.locator("#kind-error").is_visible()
    assert page.locator("#description-error").is_visible()
    assert page.locator("#phone-error").is_visible()
    screenshot(page, "citizen-submit-errors-phone")
    # the skip link is the first stop for keyboard users
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
