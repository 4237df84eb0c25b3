"""The bot in long-polling mode, through the real aiogram client against the fake Bot API: the
command menu at start-up, every kind of update answered, choices as inline keyboards, callback
queries answered, errors answered politely, repeated updates not acted on twice."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from aiogram import Dispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage, Conversation
from bot.telegram import adapter
from bot.telegram.routers import build_routers

from .conftest import CITIZEN, Poller
from .fake_bot_api import FakeBotApi


def _buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def _inbound_count(db: Session) -> int:
    db.rollback()
    return (
        db.scalar(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.sender == "citizen")
        )
        or 0
    )


def test_start_up_sets_the_command_menu_in_chinese_and_english(
    poller: Poller, fake: FakeBotApi
) -> None:
    menus = {c.params.get("language_code"): c.params for c in fake.calls_to("setMyCommands")}
    assert set(menus) == {None, "en"}
    chinese = {c["command"]: c["description"] for c in menus[None]["commands"]}
    english = {c["command"]: c["description"] for c in menus["en"]["commands"]}
    assert list(chinese) == ["start", "help", "new", "status", "human"] == list(english)
    assert "工单" in chinese["new"] and "人工" in chinese["human"]
    assert english["human"] == "Talk to a person"
    assert menus[None]["scope"] == {"type": "default"}
    assert fake.calls_to("deleteWebhook"), "a webhook left behind would block getUpdates"


def test_start_answers_with_help_and_the_menu_as_buttons(poller: Poller, fake: FakeBotApi) -> None:
    fake.push(fake.text(CITIZEN, "/start"))
    fake.wait_sent(1)
    [sent] = fake.sent(CITIZEN)
    assert "12345" in sent["text"] and "人工" in sent["text"]
    assert _buttons(sent) == [
        ("提交工单", "c:提交工单"),
        ("我的工单", "c:我的工单"),
        ("转人工", "c:人工"),
    ]


def test_a_button_press_is_answered_and_reaches_the_engine(
    poller: Poller, fake: FakeBotApi, db: Session
) -> None:
    press = fake.callback(CITIZEN, "c:提交工单")
    fake.push(press)
    fake.wait_sent(1)
    answered = fake.calls_to("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in answered] == [press["callback_query"]["id"]]
    [sent] = fake.sent(CITIZEN)
    assert "请回复数字" in sent["text"] or "类型" in sent["text"]
    assert [data for _, data in _buttons(sent)] == ["c:1", "c:2", "c:3", "c:4", "c:5"]
    db.rollback()
    conversation = db.scalars(select(Conversation)).one()
    assert conversation.channel == "telegram" and conversation.user_id == str(CITIZEN)
    assert conversation.state == "wizard_kind"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda f: f.voice(CITIZEN), "只能识别文字"),
        (lambda f: f.sticker(CITIZEN), "无法识别这类消息"),
        (lambda f: f.text(CITIZEN, "/nosuchcommand"), "/help"),
        (lambda f: f.edited(f.text(CITIZEN, "路灯坏了"), "路灯坏了三天"), "新消息"),
    ],
    ids=["voice", "sticker", "unknown-command", "edited"],
)
def test_what_the_engine_cannot_read_gets_a_polite_answer(
    poller: Poller, fake: FakeBotApi, db: Session, make: Any, expected: str
) -> None:
    fake.push(make(fake))
    fake.wait_sent(1)
    assert expected in fake.texts(CITIZEN)[0]
    assert _inbound_count(db) == 0  # nothing for the engine


def test_english_speakers_get_english(poller: Poller, fake: FakeBotApi) -> None:
    fake.push(fake.text(CITIZEN, "/help", language_code="en"), fake.voice(CITIZEN))
    texts = fake.wait_sent(2)
    assert "12345 citizen service hotline" in texts[0]
    assert texts[1] == adapter.ONLY_TEXT  # the conversation's language since /help


def test_a_group_is_asked_to_write_privately(poller: Poller, fake: FakeBotApi) -> None:
    fake.push(fake.text(CITIZEN, "/start", chat_type="supergroup"))
    fake.wait_sent(1)
    assert "私聊" in fake.texts()[0]


def test_a_repeated_update_is_not_acted_on_twice(
    poller: Poller, fake: FakeBotApi, db: Session
) -> None:
    update = fake.text(CITIZEN, "我要投诉")
    fake.push(update)
    fake.wait_sent(1)
    fake.resend(update)  # served again below the offset, as after a lost confirmation
    fake.push(fake.text(CITIZEN, "吉大路口的路灯坏了一个星期"))
    texts = fake.wait_sent(2)
    assert fake.served.count(update["update_id"]) == 2
    assert "描述" in texts[0] and "地点" in texts[1]
    assert len(texts) == 2  # the repeat was neither acted on nor answered twice
    assert _inbound_count(db) == 2


def test_an_engine_failure_is_logged_answered_politely_and_the_bot_goes_on(
    poller: Poller,
    fake: FakeBotApi,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = {"n": 0}
    real = adapter.handle_message

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(adapter, "handle_message", flaky)
    caplog.set_level(logging.ERROR, logger="bot.telegram")
    fake.push(fake.text(CITIZEN, "我要投诉"))
    fake.wait_sent(1)
    fake.push(fake.text(CITIZEN, "我要投诉"))
    texts = fake.wait_sent(2)
    assert "抱歉" in texts[0] and "12345" in texts[0]
    assert "描述" in texts[1]
    assert any("database went away" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


def test_a_reply_that_cannot_be_sent_is_followed_by_an_apology(
    poller: Poller, fake: FakeBotApi, db: Session
) -> None:
    fake.fail("sendMessage", 500, "Internal Server Error")
    fake.push(fake.text(CITIZEN, "我要投诉"))
    fake.wait_sent(2)
    refused, apology = fake.texts(CITIZEN)
    assert "描述" in refused and "抱歉" in apology
    fake.push(fake.text(CITIZEN, "吉大路口的路灯坏了一个星期"))  # and the bot goes on
    assert "地点" in fake.wait_sent(3)[2]


def test_the_engine_runs_in_the_thread_pool_not_on_the_event_loop(
    poller: Poller, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = adapter.handle_message

    def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(adapter, "handle_message", recorded)
    fake.push(fake.text(CITIZEN, "/start"), fake.callback(CITIZEN, "c:人工"))
    fake.wait_sent(2)
    assert len(threads) == 2 and all(name.startswith("telegram-engine") for name in threads)


def test_a_button_the_bot_does_not_know_is_answered_too(poller: Poller, fake: FakeBotApi) -> None:
    press = fake.callback(CITIZEN, "x:from-an-old-version")
    fake.push(press)
    fake.wait_for(lambda: bool(fake.calls_to("answerCallbackQuery")))
    [answered] = fake.calls_to("answerCallbackQuery")
    assert answered.params["callback_query_id"] == press["callback_query"]["id"]
    assert "按钮已失效" in answered.params["text"]


def test_routers_are_fresh_for_every_dispatcher_with_the_catch_all_last() -> None:
    first, second = build_routers(), build_routers()
    assert [r.name for r in first][-1] == "catch-all"
    assert {"start-help", "questions", "intake", "status", "survey", "handoff"} <= {
        r.name for r in first
    }
    assert not {id(r) for r in first} & {id(r) for r in second}
    Dispatcher().include_routers(*first)
    Dispatcher().include_routers(*second)  # a router attaches to one dispatcher only
