"""The ``telegram-file:`` media fetcher the app registers: getFile then the download, with
Telegram's refusals permanent and its hiccups temporary (the media job retries those)."""

from __future__ import annotations

import pytest
from flask import Flask

from bot.telegram.adapter import PHOTO_SCHEME
from bot.telegram.api import BotApi
from bot.telegram.media import TelegramMediaFetcher, register_media_fetchers
from delivery import media as registry
from delivery.media import PermanentFailure, TemporaryFailure
from tests.portal.citizen.helpers import png_bytes

from .fake_bot_api import FakeBotApi


@pytest.fixture
def fetcher(app: Flask) -> TelegramMediaFetcher:
    registered = registry.fetcher_for(PHOTO_SCHEME)
    assert isinstance(registered, TelegramMediaFetcher)
    return registered


def test_the_fetcher_downloads_through_get_file(
    fetcher: TelegramMediaFetcher, fake: FakeBotApi
) -> None:
    fake.files["AgAC-1"] = png_bytes()
    assert fetcher("AgAC-1") == (png_bytes(), None)
    assert [c.params for c in fake.calls_to("getFile")] == [{"file_id": "AgAC-1"}]
    assert fake.downloads == ["photos/AgAC-1.jpg"]


def test_it_is_registered_only_with_a_token(app: Flask) -> None:
    assert register_media_fetchers({}) is False
    assert registry.fetcher_for(PHOTO_SCHEME) is None


@pytest.mark.parametrize(
    ("status", "description", "outcome"),
    [
        (
            400,
            "Bad Request: wrong file_id or the file is temporarily unavailable",
            PermanentFailure,
        ),
        (429, "Too Many Requests: retry after 3", TemporaryFailure),
        (502, "", TemporaryFailure),
    ],
)
def test_get_file_failures(
    fetcher: TelegramMediaFetcher, fake: FakeBotApi, status: int, description: str, outcome: type
) -> None:
    fake.files["AgAC-2"] = png_bytes()
    fake.fail("getFile", status, description)
    with pytest.raises(outcome):
        fetcher("AgAC-2")
    assert fake.downloads == []


def test_a_file_over_the_limit_is_refused_before_the_download(fake: FakeBotApi) -> None:
    fake.files["BIG"] = b"x" * 2000
    small = TelegramMediaFetcher(BotApi(fake.token, api_base=fake.url), max_bytes=1000)
    with pytest.raises(PermanentFailure, match="2000 bytes"):
        small("BIG")
    assert fake.downloads == []


def test_a_file_gone_at_download_is_temporary(
    fetcher: TelegramMediaFetcher, fake: FakeBotApi
) -> None:
    # getFile answers (the fake knows no file of that id), the download finds nothing (404)
    with pytest.raises(TemporaryFailure):
        fetcher("GONE")
    assert fake.downloads == ["photos/GONE.jpg"]
