"""One complaint from submission to closing through the staff console, in Chromium."""

from __future__ import annotations

from tests.browser.fixtures import DESKTOP
from tests.conftest import workdays_ago
from tickets.supervision import refresh_supervision


def _sign_in(new_page, live_server, username):
    page = new_page(viewport=DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before each action
    page.goto(live_server + "/staff/login")
    page.fill("#username", username)
    page.fill("#password", "password123")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    return page


def _act(page, section, fields=None):
    for selector, value in (fields or {}).items():
        if selector.startswith("select"):
            page.select_option(selector.split(" ", 1)[1], value)
        else:
            page.fill(selector, value)
    page.click(f"#{section} button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1, page.locator(".flash").all_inner_texts()


def test_complaint_from_submission_to_closing(
    live_server, new_page, screenshot, make_ticket, staff, departments, db
) -> None:
    overdue = make_ticket("handling", when=workdays_ago(25))
    refresh_supervision(db, full=True)
    db.commit()
    ticket = make_ticket(
        "submitted", description="小区门口垃圾堆放多日无人清理，气味很大。请尽快处理。"
    )
    url = f"{live_server}/staff/tickets/{ticket.number}"
    chengguan = str(departments["chengguan"].id)

    operator = _sign_in(new_page, live_server, staff["operator"].username)
    assert ticket.number in operator.content()  # lands on the operator queue
    screenshot(operator, "staff-operator-queue")
    operator.goto(url)
    screenshot(operator, "staff-ticket-submitted")
    _act(operator, "dispatch", {"select #dispatch-department": chengguan})

    clerk = _sign_in(new_page, live_server, staff["dept"].username)
    screenshot(clerk, "staff-department-workbench")
    assert "红牌" in clerk.content()  # the seeded overdue ticket's 监察状态 badge
    red = clerk.locator("tr", has_text=overdue.number).locator(".badge-red")
    assert red.count() == 1 and "截止" in clerk.locator("tr", has_text=overdue.number).inner_text()
    clerk.goto(url)
    assert "138****8000" in clerk.content() and "13800138000" not in clerk.content()
    clerk.fill("#return-reason", "不属于本部门职责")
    clerk.click("#accept form:nth-of-type(2) button[type=submit]")
    clerk.wait_for_load_state()
    assert "已退回操作员审核" in clerk.content()

    operator.goto(url)
    _act(operator, "dispatch", {"select #dispatch-department": chengguan})
    clerk.goto(url)
    _act(clerk, "accept")
    _act(clerk, "reply", {"#reply-text": "已安排清运，垃圾已清理。"})

    reviewer = _sign_in(new_page, live_server, staff["reviewer"].username)
    reviewer.goto(url)
    # The deadline has no default: the form starts on 请选择.
    assert reviewer.locator("#rd-days").input_value() == ""
    screenshot(reviewer, "staff-re-review")
    reviewer.select_option("#rd-days", "5")
    reviewer.fill("#rd-reason", "答复未说明后续防范措施。")
    reviewer.click("#review .two-col form:first-child button[type=submit]")
    reviewer.wait_for_load_state()
    assert "退回工单" in reviewer.content() and "5 个工作日" in reviewer.content()

    clerk.goto(url)
    assert "不能再退回操作员审核" in clerk.content()
    _act(clerk, "accept")
    _act(clerk, "reply", {"#reply-text": "已清理，并安排每日巡查。"})
    reviewer.goto(url)
    reviewer.click("#review > form button[type=submit]")
    reviewer.wait_for_load_state()
    assert "复核通过" in reviewer.content()

    operator.goto(f"{live_server}/staff/callbacks")
    assert ticket.number in operator.content()
    operator.goto(url)
    operator.check("input[name=satisfaction][value=satisfied]")
    _act(operator, "callback", {"#cb-comment": "处理及时。"})
    assert "办结" in operator.locator(".ticket-badges").inner_text()
    screenshot(operator, "staff-ticket-closed")

    supervisor = _sign_in(new_page, live_server, staff["supervisor"].username)
    supervisor.goto(f"{live_server}/staff/overdue")
    assert supervisor.locator(".board .badge-red").count() >= 1
    screenshot(supervisor, "staff-overdue-board")
