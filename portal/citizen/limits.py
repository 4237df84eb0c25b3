"""Rate limits of the citizen pages and the ticket API (Flask-Limiter, per client IP).

The limits are configuration (``HOTLINE_RATELIMIT_*``); these are the defaults. The store is memory
on one machine and Redis when ``HOTLINE_REDIS_URL`` is set; ``HOTLINE_RATELIMIT_ENABLED=false``
switches every limit off (load tests).

Track failures have their own, tighter limits, counted only when a lookup fails, per IP and per
ticket number: a few wrong codes and that client (or that number) waits, so codes cannot be
guessed, while a citizen who types their code right is never slowed down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from core.web import limiter
from tickets.public import clean_number

DEFAULTS = {
    "RATELIMIT_SUBMIT": "10 per minute",
    "RATELIMIT_TRACK": "30 per minute",
    "RATELIMIT_TRACK_FAILURES": "5 per 10 minutes",
    "RATELIMIT_TRACK_FAILURES_PER_NUMBER": "10 per hour",
    "RATELIMIT_SEARCH": "60 per minute",
}


def configured(key: str) -> Callable[[], str]:
    return lambda: str(current_app.config.get(key, DEFAULTS[key]))


def mark_track_failure() -> None:
    g.track_failed = True


def _failed(_response: Any) -> bool:
    return bool(g.get("track_failed"))


def _number_key() -> str:
    number = (request.view_args or {}).get("number") or request.form.get("number")
    return "track-number:" + clean_number(number)


submit_limit = limiter.shared_limit(configured("RATELIMIT_SUBMIT"), "submit", methods=["POST"])
search_limit = limiter.shared_limit(configured("RATELIMIT_SEARCH"), "search")


def track_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """All track limits, shared by the track page and the JSON lookup."""
    view = limiter.shared_limit(configured("RATELIMIT_TRACK"), "track", methods=["POST", "GET"])(
        view
    )
    view = limiter.shared_limit(
        configured("RATELIMIT_TRACK_FAILURES"),
        "track-failures",
        key_func=get_remote_address,
        deduct_when=_failed,
    )(view)
    view = limiter.shared_limit(
        configured("RATELIMIT_TRACK_FAILURES_PER_NUMBER"),
        "track-failures-number",
        key_func=_number_key,
        deduct_when=_failed,
    )(view)
    return view
