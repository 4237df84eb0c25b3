"""The analysis screen in Chromium, on the demo data plus three simulated days of calls and some
chat hand-offs, at desktop width: the screenshot is for people to look at."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from calls.ingest import ingest_events, parse_events
from calls.models import CtiSystem
from calls.simulate import day_events, simulate_calls
from core import clock
from hotline.demo import seed_demo
from tests.analysis.test_figures import _conversation, _handoff
from tests.browser.fixtures import DESKTOP
from tests.conftest import at

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app: Flask, db: Session) -> Session:
    seed_demo(db, app.config)
    system = CtiSystem(name="demo", created_at=clock.now())
    db.add(system)
    db.flush()
    today = clock.today("Asia/Shanghai")
    with clock.frozen(at(today.year, today.month, today.day, 23)):
        for back in (3, 2, 1):
            day = today - dt.timedelta(days=back)
            events, _ = parse_events(
                {"events": day_events(simulate_calls(day, calls=120, seed=back))}
            )
            ingest_events(db, system, events)
    morning = at(today.year, today.month, today.day, 9)
    for n in range(8):
        conversation = _conversation(db, f"demo-chat-{n}", morning)
        if n < 5:
            _handoff(db, conversation, "specialist" if n < 2 else "general", morning, 8.0 + 9 * n)
    db.commit()
    return db


def test_the_dashboard_at_desktop_width(
    live_server: str, new_page: Any, screenshot: Any, demo: Session
) -> None:
    page = new_page(viewport=DESKTOP)
    page.goto(live_server + "/staff/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "hotline-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    page.goto(live_server + "/staff/analysis")
    assert page.locator("h1").inner_text() == "信息汇总分析"
    assert page.locator("#t-contact tbody tr").count() >= 3  # calls per queue + all, chats
    header = page.locator("#t-departments th[title]").first
    assert header.get_attribute("title")
    screenshot(page, "staff-analysis-dashboard")
    page.goto(live_server + "/staff/analysis/definitions")
    screenshot(page, "staff-analysis-definitions")


def test_the_scorecard_at_desktop_width_and_printed(
    live_server: str, new_page: Any, screenshot: Any, demo: Session
) -> None:
    page = new_page(viewport=DESKTOP)
    page.goto(live_server + "/staff/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "hotline-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    page.goto(live_server + "/staff/analysis/assessment")
    page.fill("#v-availability", "99.95")
    page.fill("#v-fault_repair", "90")
    page.click("#assessor button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    screenshot(page, "staff-analysis-assessment")
    page.emulate_media(media="print")
    assert not page.locator("#assessor").is_visible()  # the print stylesheet hides the form
    assert page.locator(".score-total").is_visible()
    screenshot(page, "staff-analysis-assessment-print")


def test_the_roster_at_desktop_width(
    live_server: str, new_page: Any, screenshot: Any, demo: Session
) -> None:
    page = new_page(viewport=DESKTOP)
    page.goto(live_server + "/staff/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "hotline-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    page.goto(live_server + "/staff/analysis/staffing")
    assert page.locator("#roster td.busy").count() > 0  # the simulated days' calls need seats
    screenshot(page, "staff-analysis-roster")
