"""Fixtures for the outbox tests: fake senders that record what they were given, and workers on
the test database with an injected random source."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from delivery.render import RenderSettings
from delivery.senders import Outgoing, PermanentFailure, TemporaryFailure
from delivery.worker import Worker, WorkerSettings

SECRET = "test-secret"
BASE_URL = "https://12345.example.test"


class FakeSender:
    """Records every message it accepts; ``fail`` decides per call (None means accept)."""

    def __init__(self, fail: Callable[[Outgoing], Exception | None] | None = None) -> None:
        self.accepted: list[Outgoing] = []
        self.calls = 0
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, message: Outgoing) -> None:
        with self._lock:
            self.calls += 1
        error = self.fail(message) if self.fail else None
        if error is not None:
            raise error
        with self._lock:
            self.accepted.append(message)

    def ids(self) -> list[int]:
        return [m.id for m in self.accepted]


def always(error: Exception) -> Callable[[Outgoing], Exception | None]:
    return lambda _message: error


@pytest.fixture
def render_settings() -> RenderSettings:
    return RenderSettings(secret_key=SECRET, public_base_url=BASE_URL)


@pytest.fixture
def make_worker(app: Flask, render_settings: RenderSettings) -> Callable[..., Worker]:
    def make(
        senders: dict[str, Any] | None = None,
        *,
        rng: random.Random | None = None,
        **settings: Any,
    ) -> Worker:
        base = {"batch_size": 20, "lease_seconds": 60, "max_attempts": 4, "idle_seconds": 0.01}
        base.update(settings)
        return Worker(
            app.extensions["hotline_db"].session,
            render_settings,
            WorkerSettings(**base),
            senders=senders if senders is not None else {"web": FakeSender()},
            rng=rng or random.Random(7),
        )

    return make


__all__ = ["FakeSender", "PermanentFailure", "TemporaryFailure", "always"]
