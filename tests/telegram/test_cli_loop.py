"""The Telegram commands run their coroutine whether or not this thread already runs an event
loop (in the full suite, Playwright's sync API leaves one running in the main thread)."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.cli import run_coroutine


def test_without_a_running_loop() -> None:
    assert run_coroutine(asyncio.sleep(0, result=42)) == 42


def test_inside_a_running_loop_and_errors_come_back() -> None:
    async def host() -> int:
        return run_coroutine(asyncio.sleep(0, result=7))

    assert asyncio.run(host()) == 7

    async def failing() -> None:
        raise LookupError("from the coroutine")

    async def host_failing() -> None:
        run_coroutine(failing())

    with pytest.raises(LookupError, match="from the coroutine"):
        asyncio.run(host_failing())
