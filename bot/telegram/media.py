"""The media fetcher for ``telegram-file:<file_id>`` references (a photo a citizen sent).

The bot hands the engine the reference while it handles the update; the ticket domain's media
job (``tickets.media``) calls this fetcher later, outside any update or transaction: ``getFile``
for the file's path, then the download (plain HTTP, ``bot.telegram.api``). A file_id Telegram
does not know (400) or a file over the attachment limit is a permanent failure; 429, 5xx, the
token (401/404) and transport errors are temporary (the job retries with backoff).

:func:`register_media_fetchers` is called once by the composition root (``hotline.factory``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.telegram.adapter import PHOTO_SCHEME
from bot.telegram.api import BotApi, BotApiError
from delivery.media import (
    PermanentFailure,
    TemporaryFailure,
    register_media_fetcher,
    unregister_media_fetcher,
)
from tickets.attachments import MAX_BYTES

TEMPORARY = frozenset({401, 404, 429})


@dataclass(frozen=True)
class TelegramMediaFetcher:
    api: BotApi
    max_bytes: int = MAX_BYTES

    def __call__(self, file_id: str) -> tuple[bytes, str | None]:
        try:
            return self.api.download(file_id, max_bytes=self.max_bytes), None
        except BotApiError as error:
            status = error.status
            if status is None or status >= 500 or status in TEMPORARY:
                raise TemporaryFailure(str(error)) from None
            raise PermanentFailure(str(error)) from None


def register_media_fetchers(config: Mapping[str, Any]) -> bool:
    """Plug the fetcher in when a token is configured; otherwise make sure none is left from an
    earlier app in this process, so that references wait, pending."""
    if not config.get("TELEGRAM_TOKEN"):
        unregister_media_fetcher(PHOTO_SCHEME)
        return False
    register_media_fetcher(PHOTO_SCHEME, TelegramMediaFetcher(BotApi.from_config(config)))
    return True
