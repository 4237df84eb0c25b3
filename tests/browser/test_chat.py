"""A citizen asks for a person in the web chat on a phone; a staff member in a second browser
context picks the chat up and replies; the citizen sees the reply without reloading."""

from __future__ import annotations

from typing import Any

from flask import Flask

from directory.models import StaffUser
from tests.browser.fixtures import DESKTOP, PHONE


def test_citizen_hand_off_and_staff_reply(
    app: Flask,
    live_server: str,
    new_page: Any,
    screenshot: Any,
    staff: dict[str, StaffUser],
) -> None:
    app.config["CHAT_STAFFED_HOURS"] = "00:00-24:00"
    citizen = new_page(viewport=PHONE)
    citizen.goto(live_server + "/chat/")
    citizen.get_by_text("您好，这里是12345市民服务热线").wait_for()
    citizen.get_by_role("button", name="转人工").click()
    citizen.get_by_text("正在为您转接综合人工客服").wait_for()
    citizen.fill("#chat-input", "我想反映小区噪音问题")
    citizen.press("#chat-input", "Enter")
    citizen.get_by_text("您的消息已保留").wait_for()
    screenshot(citizen, "chat-citizen-waiting-phone")

    clerk = new_page(viewport=DESKTOP)
    clerk.goto(live_server + "/staff/login")
    clerk.fill("#username", staff["operator"].username)
    clerk.fill("#password", "password123")
    clerk.get_by_role("button", name="登录").click()
    clerk.goto(live_server + "/staff/chat/")
    row = clerk.locator("#chat-queue tbody tr[data-id]").first
    row.wait_for()
    assert "综合" in row.inner_text()
    screenshot(clerk, "chat-staff-queue")
    row.get_by_role("button", name="接起").click()
    clerk.get_by_text("我想反映小区噪音问题").first.wait_for()
    clerk.fill("#reply-text", "您好，我是热线客服，请说说具体位置。")
    clerk.get_by_role("button", name="发送").click()
    clerk.locator(".chat-msg.staff", has_text="请说说具体位置").wait_for()

    reply = citizen.locator(".chat-msg.staff", has_text="您好，我是热线客服，请说说具体位置。")
    reply.wait_for(timeout=10_000)
    citizen.get_by_text("您正在与热线客服对话").wait_for()
    citizen.fill("#chat-input", "在香洲区吉大路1号")
    citizen.press("#chat-input", "Enter")
    clerk.locator(".chat-msg.citizen", has_text="在香洲区吉大路1号").wait_for(timeout=10_000)
    screenshot(citizen, "chat-citizen-staff-reply-phone")
    screenshot(clerk, "chat-staff-conversation")
