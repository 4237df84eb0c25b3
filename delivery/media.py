"""The media fetcher registry: how a media reference a channel handed over becomes bytes.

A channel adapter that receives pictures it cannot download during the request (WeChat's
``MediaId``) hands the conversation a reference ``<scheme>:<id>`` (``wechat-media:…``) and
registers, at start-up, a fetcher for its scheme. The ticket domain's background job
(``tickets.media``) asks the fetcher for the reference's bytes; the fetcher returns
``(content, content_type)`` (the type is a hint only: the domain sniffs the content) or raises
:class:`TemporaryFailure` (try again later with backoff) or :class:`PermanentFailure` (never).
Any other exception counts as temporary. References whose scheme has no fetcher wait, pending.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from delivery.senders import PermanentFailure, TemporaryFailure

__all__ = [
    "MediaFetcher",
    "PermanentFailure",
    "TemporaryFailure",
    "fetcher_for",
    "register_media_fetcher",
    "registered_schemes",
    "split_reference",
    "unregister_media_fetcher",
]

MAX_REFERENCE = 300
_REFERENCE = re.compile(r"^([a-z][a-z0-9+.-]{0,30}):(\S+)$")

# Gets the part of the reference after ``<scheme>:``; returns (bytes, content type or None).
MediaFetcher = Callable[[str], tuple[bytes, str | None]]

_lock = threading.Lock()
_FETCHERS: dict[str, MediaFetcher] = {}


def split_reference(reference: str) -> tuple[str, str] | None:
    """``"wechat-media:abc"`` → ``("wechat-media", "abc")``; None if it is not a reference."""
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE:
        return None
    match = _REFERENCE.match(reference)
    return (match.group(1), match.group(2)) if match else None


def register_media_fetcher(scheme: str, fetch: MediaFetcher) -> None:
    """Plug in (or replace) the fetcher of a scheme. Channel adapters call this at start-up."""
    with _lock:
        _FETCHERS[scheme] = fetch


def unregister_media_fetcher(scheme: str) -> None:
    with _lock:
        _FETCHERS.pop(scheme, None)


def fetcher_for(scheme: str) -> MediaFetcher | None:
    return _FETCHERS.get(scheme)


def registered_schemes() -> list[str]:
    return sorted(_FETCHERS)
