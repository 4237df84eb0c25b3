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


def test_the_charts_render(live_server: str, new_page: Any, screenshot: Any, demo: Session) -> None:
    """Chart.js, served by the app (make vendor), draws every counts table's chart under the CSP
    (no inline script): each canvas has a chart with the table's figures and is not blank."""
    page = new_page(viewport=DESKTOP)
    errors: list[str] = []  # script errors (a missing resource is in `missing`; the browser's
    # own /favicon.ico request is not a page request)
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(live_server + "/staff/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "hotline-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    page.goto(live_server + "/staff/analysis")
    page.wait_for_selector("#c-volumes[data-drawn]")
    for key in ("volumes", "channels", "kinds", "categories", "by_department"):
        canvas = page.locator(f"#c-{key}")
        assert canvas.get_attribute("data-drawn") == "1", key
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, key
        drawn = page.evaluate(
            """(id) => {
                const canvas = document.getElementById(id);
                const chart = window.Chart.getChart(canvas);
                const pixels = canvas.getContext("2d")
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
                return {total: chart.data.datasets[0].data.reduce((a, b) => a + b, 0), painted};
            }""",
            f"c-{key}",
        )
        assert drawn["painted"] > 500, key
        if key == "volumes":
            total = int(page.locator(".analysis-summary strong").first.inner_text())
            assert drawn["total"] == total > 0
    assert errors == [] and missing == [], (errors, missing)
    screenshot(page, "staff-analysis-charts")


def test_the_hot_topics_page(
    live_server: str, new_page: Any, screenshot: Any, demo: Session
) -> None:
    """A burst of 停水 from 香洲区 in the last hours is listed as a possible incident; marking it
    lists the incident."""
    from directory.citizens import get_or_create_citizen
    from tickets import workflow
    from tickets.access import CitizenActor

    now = clock.now()
    for n, title in enumerate(("小区停水", "停水两小时了", "突然停水")):
        with clock.frozen(now - dt.timedelta(minutes=30 * (3 - n))):
            citizen = get_or_create_citizen(demo, "web", f"burst-{n}")
            draft = workflow.TicketDraft(kind="complaint", title=title, description=title,
                                         address=f"香洲区凤凰路{n + 1}号", category_code="water",
                                         contact_name="赵六", phone="13800138000")  # fmt: skip
            workflow.submit_ticket(demo, draft, actor=CitizenActor(citizen.id, "web"),
                                   channel="web", citizen=citizen)  # fmt: skip
    demo.commit()
    page = new_page(viewport=DESKTOP)
    page.goto(live_server + "/staff/login")
    page.fill("#username", "supervisor")
    page.fill("#password", "hotline-demo")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    page.goto(live_server + "/staff/analysis/hot")
    cluster = page.locator("form.cluster").filter(has_text="凤凰路")
    assert cluster.locator("tbody tr").count() == 3
    screenshot(page, "staff-analysis-hot")
    cluster.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    assert page.locator("#incidents tbody tr").filter(has_text="香洲区").count() == 1
