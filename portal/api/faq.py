"""FAQ search for every channel: ``GET /api/v1/faq/search?q=TEXT&limit=N&channel=C``.

``limit`` is 1 to 10 (default 3) and ``channel`` one of ``knowledge.search.SEARCH_CHANNELS``
(default ``web``); anything else is a 400.

The response is ``{"query", "answered", "best", "suggestions"}`` (see knowledge.search). An empty
or over-long question is a 400 with a JSON error (the domain's translated message)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request

from core.inputs import parse_choice, parse_int
from core.web import db_session, limiter
from knowledge.search import MAX_LIMIT, SEARCH_CHANNELS, answer_question
from portal.api.blueprint import bp


@bp.get("/faq/search")
@limiter.limit(lambda: current_app.config.get("RATELIMIT_SEARCH", "60 per minute"))
def faq_search() -> Any:
    session = db_session()
    limit = parse_int(
        request.args.get("limit"), default=3, minimum=1, maximum=MAX_LIMIT, name="limit"
    )
    result = answer_question(
        session,
        request.args.get("q", ""),
        limit=limit,
        channel=parse_choice(
            request.args.get("channel"), SEARCH_CHANNELS, default="web", name="channel"
        ),
    )
    return jsonify(result.as_dict())
