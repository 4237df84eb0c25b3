"""The knowledge-base admin screens and a refused ticket action, in Chromium."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from knowledge.models import Faq, GapStatus, KnowledgeGap
from knowledge.seed import seed_starter_knowledge
from tests.browser.fixtures import DESKTOP, SCREENSHOTS

ASKED = "港澳通行证签注要带什么材料"  # between two starter FAQs: only "did you mean"
UNKNOWN = "流浪猫狗救助站在哪里"


def _sign_in(new_page, live_server, username, dialogs):
    page = new_page(viewport=DESKTOP)

    def confirm(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)  # the data-confirm question before destructive actions
    page.goto(live_server + "/staff/login")
    page.fill("#username", username)
    page.fill("#password", "password123")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/**")
    return page


def _answer(page, live_server, question):
    response = page.request.get(live_server + "/api/v1/faq/search", params={"q": question})
    assert response.ok
    return response.json()


def test_admin_manages_the_knowledge_base(
    live_server, new_page, screenshot, staff, departments, db
) -> None:
    seed_starter_knowledge(db)
    db.commit()
    dialogs: list[str] = []
    admin = _sign_in(new_page, live_server, staff["admin"].username, dialogs)
    for question in (ASKED, ASKED, UNKNOWN):
        assert not _answer(admin, live_server, question)["answered"]

    admin.click("nav a:has-text('知识库')")
    admin.wait_for_url("**/staff/knowledge/faqs")
    assert admin.locator("table.faqs tbody tr").count() == 50
    screenshot(admin, "staff-knowledge-faqs")
    admin.screenshot(path=str(SCREENSHOTS / "staff-knowledge-faqs-top.png"))  # the first screen
    admin.fill("#f-q", "公积金")
    admin.click("form.filters button[type=submit]")
    admin.wait_for_load_state()
    rows = admin.locator("table.faqs tbody tr")
    assert 0 < rows.count() < 50 and "公积金" in rows.first.inner_text()

    # A new FAQ: refused without an answer, the typed text kept; then created.
    admin.goto(live_server + "/staff/knowledge/faqs/new")
    admin.fill("#faq-question", "废旧家电怎么回收？")
    admin.fill("#faq-alternatives", "旧空调旧冰箱找谁回收\n家电以旧换新，有补贴吗")
    admin.fill("#faq-answer", "   ")
    admin.fill("#faq-category", "生活服务")
    admin.select_option("#faq-department", str(departments["chengguan"].id))
    admin.fill("#faq-keywords", "家电, 回收")
    admin.click("form.faq-form button[type=submit]")
    admin.wait_for_load_state()
    assert admin.locator(".field-error").inner_text() == "请填写答案。"
    assert admin.input_value("#faq-alternatives") == "旧空调旧冰箱找谁回收\n家电以旧换新，有补贴吗"
    screenshot(admin, "staff-knowledge-faq-refused")
    admin.fill(
        "#faq-answer", "可预约本市再生资源回收企业上门回收；参加以旧换新活动的商场也可抵扣。"
    )
    admin.click("form.faq-form button[type=submit]")
    admin.wait_for_load_state()
    assert admin.locator(".flash-success").count() == 1
    screenshot(admin, "staff-knowledge-faq-edit")
    assert _answer(admin, live_server, "旧空调旧冰箱找谁回收")["answered"]

    # Deactivating asks first; the matcher stops answering with it.
    admin.click("form[data-confirm] button:has-text('停用')")
    admin.wait_for_load_state()
    assert dialogs and "停用此常见问题" in dialogs[-1]
    assert not _answer(admin, live_server, "旧空调旧冰箱找谁回收")["answered"]

    admin.click(".tabs a:has-text('同义词')")
    admin.fill("#syn-term", "老冰箱")
    admin.fill("#syn-canonical", "冰箱")
    admin.click("form.synonym-form button[type=submit]")
    admin.wait_for_load_state()
    assert admin.locator("table.synonyms td", has_text="老冰箱").count() == 1
    screenshot(admin, "staff-knowledge-synonyms")
    admin.screenshot(path=str(SCREENSHOTS / "staff-knowledge-synonyms-top.png"))
    count = admin.locator("table.synonyms tbody tr").count()
    admin.locator("table.synonyms tr", has_text="老冰箱").locator("button").click()
    admin.wait_for_load_state()
    assert "删除同义词" in dialogs[-1]
    assert admin.locator("table.synonyms tbody tr").count() == count - 1

    # The gap log: attach the most asked question to an FAQ; it is answered at once.
    admin.click(".tabs a:has-text('未解答问题')")
    admin.wait_for_url("**/staff/knowledge/gaps")
    first = admin.locator("table.gaps tbody tr").first
    assert ASKED in first.inner_text() and "2" in first.locator("td").nth(1).inner_text()
    screenshot(admin, "staff-knowledge-gaps")
    first.locator("a:has-text('并入常见问题')").click()
    admin.fill("#attach-q", "签注")
    admin.click("form.filters button[type=submit]")
    admin.wait_for_load_state()
    screenshot(admin, "staff-knowledge-attach")
    admin.locator("label.candidate", has_text="港澳签注怎么续签？").locator("input").check()
    admin.click("form.actions button[type=submit]")
    admin.wait_for_load_state()
    assert admin.locator(".flash-success").count() == 1
    target = db.scalar(select(Faq.id).where(Faq.question == "港澳签注怎么续签？"))
    answer = _answer(admin, live_server, ASKED)
    assert answer["answered"] and answer["best"]["id"] == target

    # … and write a new FAQ for the other one.
    admin.locator("table.gaps tr", has_text=UNKNOWN).locator("a:has-text('新建常见问题')").click()
    assert admin.input_value("#faq-question") == UNKNOWN
    admin.fill("#faq-answer", "可到市流浪动物收容中心咨询领养，需签订文明养犬承诺书。")
    admin.fill("#faq-category", "动物管理")
    screenshot(admin, "staff-knowledge-promote")
    admin.click("form.faq-form button[type=submit]")
    admin.wait_for_load_state()
    assert admin.locator(".flash-success").count() == 1
    assert _answer(admin, live_server, UNKNOWN)["answered"]


def test_refused_ticket_action_keeps_what_was_typed(
    live_server, new_page, screenshot, make_ticket, staff
) -> None:
    ticket = make_ticket("handling")
    dialogs: list[str] = []
    clerk = _sign_in(new_page, live_server, staff["dept"].username, dialogs)
    clerk.goto(f"{live_server}/staff/tickets/{ticket.number}")
    clerk.fill("#reply-text", "   ")  # passes the browser's "required", not the workflow
    clerk.click("#reply button[type=submit]")
    clerk.wait_for_load_state()
    assert clerk.locator("#err-reply-reply").inner_text() == "此项为必填。"
    assert clerk.locator(".flash-error").count() == 1
    assert clerk.evaluate("document.activeElement.id") == "reply-text"
    screenshot(clerk, "staff-ticket-refused-reply")
    clerk.fill("#reply-text", "已安排清运，垃圾已清理。")
    clerk.click("#reply button[type=submit]")
    clerk.wait_for_load_state()
    assert clerk.locator(".flash-success").count() == 1


def test_gap_log_next_page_and_back(live_server, new_page, screenshot, staff, db) -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for i in range(60):
        seen = start + dt.timedelta(minutes=i)
        db.add(
            KnowledgeGap(
                normalized=f"记录问题{i:02d}",
                sample=f"记录问题{i:02d}",
                count=60 - i,
                suggested_count=0,
                channels=["web"],
                status=GapStatus.OPEN,
                first_seen=seen,
                last_seen=seen,
            )
        )
    db.commit()
    admin = _sign_in(new_page, live_server, staff["admin"].username, [])
    admin.goto(f"{live_server}/staff/knowledge/gaps")
    assert admin.locator("table.gaps tbody tr").count() == 50
    admin.click("a:has-text('下一页')")
    admin.wait_for_url("**after=**")
    rows = admin.locator("table.gaps tbody tr")
    assert rows.count() == 10 and "记录问题50" in rows.first.inner_text()
    assert admin.locator("a:has-text('下一页')").count() == 0
    screenshot(admin, "staff-knowledge-gaps-page-2")
    admin.click("a:has-text('回到第一页')")
    admin.wait_for_load_state()
    assert "记录问题00" in admin.locator("table.gaps tbody tr").first.inner_text()
