"""The media fetcher for ``wechat-media:<MediaId>`` references (a photo a citizen sent).

The adapter hands the engine the reference during the request; the ticket domain's media job
(``tickets.media``) calls this fetcher later, outside any request, which downloads the file
through the media API (``/cgi-bin/media/get``, :meth:`WeChatApi.download_media`). WeChat keeps
temporary media for 3 days: an unknown or expired MediaId (40007) and the other "never" codes
are permanent failures; rate limits, "system busy", transport errors and an access token that
another process is still fetching are temporary (the job retries with backoff).

:func:`register_media_fetchers` is called once by the composition root (``hotline.factory``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from delivery.media import (
    PermanentFailure,
    TemporaryFailure,
    register_media_fetcher,
    unregister_media_fetcher,
)
from wechat.client import WeChatApi, WeChatError
from wechat.token import TokenUnavailable

SCHEME = "wechat-media"
NEVER = frozenset(
    {
        40004,  # invalid media type
        40007,  # invalid (or expired) media_id
        40013,  # invalid appid
    }
)


@dataclass(frozen=True)
class WeChatMediaFetcher:
    api: WeChatApi

    def __call__(self, media_id: str) -> tuple[bytes, str | None]:
        try:
            return self.api.download_media(media_id), None
        except WeChatError as error:
            if error.errcode in NEVER:
                raise PermanentFailure(str(error)) from None
            raise TemporaryFailure(str(error)) from None
        except TokenUnavailable as error:
            raise TemporaryFailure(str(error)) from None


def register_media_fetchers(
    config: Mapping[str, Any], session_factory: Callable[[], Session]
) -> bool:
    """Plug the fetcher in when the account is configured (app id and secret); otherwise make
    sure none is left from an earlier app in this process, so that references wait, pending."""
    if not (config.get("WECHAT_APP_ID") and config.get("WECHAT_APP_SECRET")):
        unregister_media_fetcher(SCHEME)
        return False
    register_media_fetcher(
        SCHEME, WeChatMediaFetcher(WeChatApi.from_config(config, session_factory))
    )
    return True
