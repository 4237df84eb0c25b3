"""The Telegram commands run their coroutine whether or not this thread already runs an event
loop (in the full suite, Playwright's sync API leaves one running in the main thread)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from bot.telegram.cli import run_coroutine

_T = TypeVar("_T")


def test_without_a_running_loop() -> None:
    assert run_coroutine(asyncio.sleep(0, result=42)) == 42


def _on_a_fresh_thread(work: Callable[[], _T]) -> _T:
    """``work()`` on a thread with no event loop yet (this one may have Playwright's)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised below, in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def test_inside_a_running_loop_and_errors_come_back() -> None:
    async def host() -> int:
        return run_coroutine(asyncio.sleep(0, result=7))

    assert _on_a_fresh_thread(lambda: asyncio.run(host())) == 7

    async def failing() -> None:
        raise LookupError("from the coroutine")

    async def host_failing() -> None:
        run_coroutine(failing())

    with pytest.raises(LookupError, match="from the coroutine"):
        _on_a_fresh_thread(lambda: asyncio.run(host_failing()))
