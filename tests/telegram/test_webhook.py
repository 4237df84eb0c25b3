"""The bot in webhook mode: ``POST /telegram/webhook`` with Telegram's secret-token header, the
same updates as long polling (text, command, location, photo, voice, callback query), and
``flask telegram set-webhook``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.engine.models import ChatMessage
from bot.telegram.webhook import EXTENSION, MAX_BODY, close_runtime

from .conftest import CITIZEN, SECRET, Hook
from .fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


def _rows(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(ChatMessage)) or 0


UPDATES: dict[str, tuple[Callable[[FakeBotApi], dict[str, Any]], str]] = {
    "command": (lambda f: f.text(CITIZEN, "/start"), "12345"),
    "text": (lambda f: f.text(CITIZEN, "我要投诉"), "描述"),
    "location": (lambda f: f.location(CITIZEN, 22.27, 113.57), "位置"),
    "photo": (lambda f: f.photo(CITIZEN, "AgAC-hook-photo", b"\x89PNG"), "提交工单"),
    "voice": (lambda f: f.voice(CITIZEN), "只能识别文字"),
    "callback": (lambda f: f.callback(CITIZEN, "c:人工"), "排队"),
}


@pytest.mark.parametrize("kind", sorted(UPDATES))
def test_each_kind_of_update_is_answered(
    hook: Hook, fake: FakeBotApi, db: Session, kind: str
) -> None:
    make, expected = UPDATES[kind]
    update = make(fake)
    response = hook.post(update)
    assert response.status_code == 200
    [sent] = fake.sent(CITIZEN)  # handled before the webhook answered
    assert expected in sent["text"]
    if kind == "callback":
        [answered] = fake.calls_to("answerCallbackQuery")
        assert answered.params["callback_query_id"] == update["callback_query"]["id"]
    assert fake.calls_to("getFile") == []  # a photo is never downloaded by the handler


@pytest.mark.parametrize("secret", [None, "", "not-the-secret", SECRET + "x"])
def test_without_the_right_secret_nothing_is_read(
    app: Flask, hook: Hook, fake: FakeBotApi, db: Session, secret: str | None
) -> None:
    response = hook.post(fake.text(CITIZEN, "我要投诉"), secret=secret)
    assert response.status_code == 403
    assert fake.calls == [] and _rows(db) == 0
    assert EXTENSION not in app.extensions  # aiogram not even loaded for it


def test_the_webhook_is_off_without_a_secret_or_a_token(
    app: Flask, hook: Hook, fake: FakeBotApi
) -> None:
    app.config["TELEGRAM_WEBHOOK_SECRET"] = None
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 404
    app.config["TELEGRAM_WEBHOOK_SECRET"] = SECRET
    app.config["TELEGRAM_TOKEN"] = None
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 404
    assert fake.calls == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2]", 400),
        (b'{"update_id": "many"}', 400),
        (b'{"message": {"text": "no ids"}}', 400),
        (b"{" + b" " * MAX_BODY + b"}", 413),
    ],
    ids=["not-json", "array", "bad-id", "no-ids", "too-big"],
)
def test_what_is_not_an_update_is_refused(
    hook: Hook, fake: FakeBotApi, db: Session, body: bytes, status: int
) -> None:
    response = hook.client.post(
        "/telegram/webhook",
        data=body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == status
    assert fake.sent() == [] and _rows(db) == 0


def test_a_token_aiogram_refuses_is_a_503_not_a_crash(
    app: Flask, hook: Hook, fake: FakeBotApi
) -> None:
    app.config["TELEGRAM_TOKEN"] = "not-a-token"
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 503
    assert fake.calls == [] and EXTENSION not in app.extensions


def test_a_resent_update_is_not_acted_on_twice(
    app: Flask, hook: Hook, fake: FakeBotApi, db: Session
) -> None:
    update = fake.text(CITIZEN, "我要投诉")
    assert hook.post(update).status_code == 200
    rows = _rows(db)
    assert rows == 2  # the message and the bot's reply
    # The same process: seen, neither acted on nor answered again.
    assert hook.post(update).status_code == 200
    assert len(fake.sent()) == 1 and _rows(db) == rows
    # Another process (the app restarted): the engine knows the message id; the same answer
    # again, nothing acted on.
    close_runtime(app)
    assert hook.post(update).status_code == 200
    first, again = fake.texts(CITIZEN)
    assert first == again and "描述" in again
    assert _rows(db) == rows


def test_an_error_is_answered_politely_and_the_webhook_says_200(
    hook: Hook, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.telegram import adapter

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(adapter, "handle_message", broken)
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 200
    assert "抱歉" in fake.texts(CITIZEN)[0]
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert hook.post(fake.text(CITIZEN, "你好")).status_code == 200  # nothing could be sent


def test_set_webhook_registers_the_url_the_secret_and_the_commands(
    app: Flask, fake: FakeBotApi
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://12345.example.test/"
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert "https://12345.example.test/telegram/webhook" in result.output
    assert fake.webhook["url"] == "https://12345.example.test/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET
    assert set(fake.webhook["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    assert {c.params.get("language_code") for c in fake.calls_to("setMyCommands")} == {None, "en"}
    result = app.test_cli_runner().invoke(args=["telegram", "delete-webhook"])
    assert result.exit_code == 0 and fake.webhook == {}


def test_the_commands_refuse_without_a_token_or_a_good_secret(app: Flask, fake: FakeBotApi) -> None:
    app.config["TELEGRAM_WEBHOOK_SECRET"] = "has spaces"
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code != 0 and "HOTLINE_TELEGRAM_WEBHOOK_SECRET" in result.output
    app.config["TELEGRAM_TOKEN"] = "not-a-token"
    result = app.test_cli_runner().invoke(args=["telegram", "poll"])
    assert result.exit_code != 0 and "not a bot token" in result.output
    app.config["TELEGRAM_TOKEN"] = None
    for command in (["poll"], ["set-webhook"], ["delete-webhook"]):
        result = app.test_cli_runner().invoke(args=["telegram", *command])
        assert result.exit_code != 0 and "HOTLINE_TELEGRAM_TOKEN" in result.output
    assert fake.calls == []


def test_the_app_starts_without_importing_aiogram(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from hotline.factory import create_app\n"
        "app = create_app({'TESTING': True})\n"
        "assert app.config['TELEGRAM_TOKEN']\n"
        "assert '/telegram/webhook' in {r.rule for r in app.url_map.iter_rules()}\n"
        "from delivery.senders import sender_for\n"
        "assert sender_for('telegram') is not None\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram')\n"
        "print('aiogram modules:', loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'light.db'}",
        "HOTLINE_SECRET_KEY": "light",
        "HOTLINE_TELEGRAM_TOKEN": "123:light",
        "HOTLINE_TELEGRAM_WEBHOOK_SECRET": "light-secret",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "aiogram modules: []" in done.stdout
