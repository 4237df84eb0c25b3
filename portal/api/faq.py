"""FAQ search for every channel: ``GET /api/v1/faq/search?q=TEXT&limit=N``.

The response is ``{"query", "answered", "best", "suggestions"}`` (see knowledge.search). An empty
or over-long question is a 400 with a JSON error (the domain's translated message)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from hotline.web import db_session, limiter
from knowledge.search import MAX_LIMIT, search_faq
from portal.api import bp


def _limit() -> int:
    raw = request.args.get("limit", "3")
    try:
        value = int(raw)
    except ValueError:
        value = 3
    return max(1, min(value, MAX_LIMIT))


@bp.get("/faq/search")
@limiter.limit(lambda: current_app.config.get("RATELIMIT_SEARCH", "60 per minute"))
def faq_search() -> Any:
    session = db_session()
    result = search_faq(
        session,
        request.args.get("q", ""),
        limit=_limit(),
        channel=request.args.get("channel", "web")[:20] or "web",
    )
    return jsonify(result.as_dict())
