"""What a Telegram update means to the engine, and the engine's choices as inline keyboards
(no aiogram in these: ``bot.telegram.adapter`` and ``bot.telegram.keyboards``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine import Choice
from bot.engine.models import ChatMessage
from bot.telegram import keyboards
from bot.telegram.adapter import Hotline, Incoming, command_text, inbound, locale_for

from .conftest import CITIZEN


@pytest.mark.parametrize(
    ("command", "args", "text"),
    [
        ("start", None, "/start"),
        ("help", "", "/help"),
        ("new", None, "提交工单"),
        ("status", None, "我的工单"),
        ("status", " 261207000001  ABC234 ", "查询 261207000001  ABC234"),
        ("human", None, "/human"),
        ("cancel", None, "/cancel"),
        ("HUMAN", None, "/human"),
    ],
)
def test_commands_are_the_engines_words(command: str, args: str | None, text: str) -> None:
    assert command_text(command, args) == text


@pytest.mark.parametrize(
    ("code", "locale"),
    [("zh-hans", "zh_CN"), ("zh-hant", "zh_CN"), ("en", "en"), ("en-GB", "en"), ("ru", None)],
)
def test_the_users_language_picks_the_locale(code: str, locale: str | None) -> None:
    assert locale_for(code) == locale
    assert inbound(Incoming("1", "m1", language_code=code)).locale == locale


def test_a_photo_becomes_a_media_reference() -> None:
    message = inbound(Incoming("42", "m7", text="路灯", photo="AgAC-xyz"))
    assert (message.channel, message.user_id, message.message_id) == ("telegram", "42", "m7")
    assert message.image == "telegram-file:AgAC-xyz" and message.text == "路灯"


def test_choices_become_buttons_short_ones_in_rows_of_three() -> None:
    short = [Choice(str(n), f"{n} 项") for n in range(1, 6)]
    markup = keyboards.choice_markup(short)
    assert markup is not None
    assert [[b["callback_data"] for b in row] for row in markup["inline_keyboard"]] == [
        ["c:1", "c:2", "c:3"],
        ["c:4", "c:5"],
    ]
    long = [Choice("是", "是的，这个回答解决了我的问题"), Choice("否", "否")]
    markup = keyboards.choice_markup(long)
    assert markup is not None and len(markup["inline_keyboard"]) == 2


def test_a_value_too_long_for_callback_data_gets_no_button() -> None:
    too_long = Choice("查" * 30, "查询")  # 90 bytes of UTF-8: over Telegram's 64
    assert keyboards.choice_markup([too_long]) is None
    markup = keyboards.choice_markup([too_long, Choice("取消", "取消")])
    assert markup == {"inline_keyboard": [[{"text": "取消", "callback_data": "c:取消"}]]}


@pytest.mark.parametrize(
    ("data", "choice", "rating"),
    [
        ("c:确认", "确认", None),
        ("c:", None, None),
        ("r:satisfied", None, "满意"),
        ("r:unsatisfied", None, "不满意"),
        ("r:excellent", None, None),
        ("x:1", None, None),
        (None, None, None),
    ],
)
def test_callback_data_is_read_back(
    data: str | None, choice: str | None, rating: str | None
) -> None:
    assert keyboards.choice_value(data) == choice
    assert keyboards.rating_word(data) == rating


def test_a_refused_text_is_answered_with_the_reason_and_stores_nothing(
    app: Flask, db: Session
) -> None:
    hotline = Hotline(app.extensions["hotline_db"].session, app.config, threads=1)
    try:
        [reply] = hotline.handle(Incoming(str(CITIZEN), "m1", text="你好\x00"))
        assert "无法接受" in reply.text or "NUL" in reply.text
        [reply] = hotline.handle(Incoming(str(CITIZEN), "m2", text="hi\x00", language_code="en"))
        assert "cannot be accepted" in reply.text
    finally:
        hotline.close()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ChatMessage)) == 0


def test_one_transaction_per_update_a_failure_leaves_nothing(
    app: Flask, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.telegram import adapter

    def fails_after_writing(session: Any, *args: Any, **kwargs: Any) -> Any:
        adapter_handle(session, *args, **kwargs)  # the engine wrote and flushed
        raise RuntimeError("after the engine")

    adapter_handle = adapter.handle_message
    monkeypatch.setattr(adapter, "handle_message", fails_after_writing)
    hotline = Hotline(app.extensions["hotline_db"].session, app.config, threads=1)
    try:
        with pytest.raises(RuntimeError):
            hotline.handle(Incoming(str(CITIZEN), "m1", text="我要投诉"))
    finally:
        hotline.close()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(ChatMessage)) == 0
