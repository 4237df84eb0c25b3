"""The Telegram bot in a test: the app configured with a token, a webhook secret and the fake
Bot API on loopback (``fake_bot_api.py``); ``poller`` runs the real aiogram long polling against
it in a thread of its own; ``hook`` posts updates to ``/telegram/webhook`` as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Dispatcher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.telegram import runtime
from bot.telegram.adapter import PHOTO_SCHEME
from bot.telegram.channel import CHANNEL
from bot.telegram.webhook import SECRET_HEADER, close_runtime
from delivery import media as media_registry
from delivery import senders as sender_registry
from delivery.render import RenderSettings
from delivery.worker import Worker, WorkerSettings

from .fake_bot_api import TOKEN, FakeBotApi, running_fake

SECRET = "hotline-webhook-secret_0123"
CITIZEN = 5_550_001  # a private chat: its id is the user's id


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    yield from running_fake()


@pytest.fixture
def test_config(test_config: dict[str, Any], fake: FakeBotApi) -> dict[str, Any]:
    return {
        **test_config,
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": fake.url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_THREADS": 2,
        "CHAT_STAFFED_HOURS": "00:00-24:00",
    }


@pytest.fixture(autouse=True)
def _clean_registries(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test with an app: its webhook runtime stopped, its sender and fetcher gone."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        close_runtime(app)
    sender_registry.unregister_sender(CHANNEL)
    media_registry.unregister_media_fetcher(PHOTO_SCHEME)


class Poller:
    """``flask telegram poll`` in a thread: the real dispatcher, bot and aiogram polling loop."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dispatcher: Dispatcher | None = None
        self.failure: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            database = self.app.extensions["hotline_db"]
            dispatcher, hotline = runtime.new_dispatcher(database.session, self.app.config)
            self.dispatcher = dispatcher
            self._started.set()
            try:
                await runtime.run_polling(
                    database.session,
                    self.app.config,
                    dispatcher=dispatcher,
                    handle_signals=False,
                    polling_timeout=1,
                )
            finally:
                hotline.close()

        try:
            asyncio.run(main())
        except BaseException as error:  # reported by stop()
            self.failure = error
            self._started.set()

    def start(self) -> Poller:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def stop(self) -> None:
        if self.loop is not None and self.dispatcher is not None and self._thread.is_alive():
            stopping = asyncio.run_coroutine_threadsafe(self.dispatcher.stop_polling(), self.loop)
            with contextlib.suppress(RuntimeError):  # polling had not started, or stopped
                stopping.result(10)
        self._thread.join(10)
        assert not self._thread.is_alive(), "polling did not stop"
        if self.failure is not None:
            raise self.failure


@pytest.fixture
def poller(app: Flask, fake: FakeBotApi) -> Iterator[Poller]:
    running = Poller(app).start()
    fake.wait_for(lambda: bool(fake.calls_to("getMe")))  # polling has begun
    yield running
    running.stop()


class Hook:
    """Telegram's side of the webhook."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def post(self, update: Any, *, secret: str | None = SECRET) -> TestResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return self.client.post("/telegram/webhook", json=update, headers=headers)


@pytest.fixture
def hook(client: FlaskClient) -> Hook:
    return Hook(client)


@pytest.fixture
def worker(app: Flask) -> Worker:
    """A real outbox worker using the registry (create_app registered the Telegram sender)."""
    assert sender_registry.sender_for(CHANNEL) is not None
    return Worker(
        app.extensions["hotline_db"].session,
        RenderSettings(secret_key="test-secret", public_base_url="https://12345.example.test"),
        WorkerSettings(batch_size=20, lease_seconds=60, max_attempts=4, idle_seconds=0.01),
        rng=random.Random(5),
    )
