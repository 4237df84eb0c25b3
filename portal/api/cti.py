"""Switchboard (CTI) events: ``POST /api/v1/cti/events``.

Signed by the switchboard's key (``calls.keys``: X-CTI-Key-Id, X-CTI-Timestamp, X-CTI-Nonce,
X-CTI-Signature = hex HMAC-SHA256(secret, timestamp + "." + nonce + "." + raw body)); the body is
one event
or ``{"events": [...]}`` (``calls.ingest``). Answers JSON: 200 with what became of each event
(accepted or duplicate), 401 unsigned / bad signature / stale timestamp / unknown or revoked
key, 409 replay, 400 unreadable JSON, 413 too large, 422 bad events (nothing is stored).
The blueprint is CSRF-exempt: the signature is the protection.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, jsonify, request

from calls.ingest import MAX_BODY, NOT_JSON, TOO_LARGE, TooLarge, ingest_events, parse_events
from calls.keys import HEADERS, authenticate, nonce_store_for
from core.inputs import BadInput, check_text
from core.web import db_session
from portal.api.blueprint import bp


@bp.post("/cti/events")
def cti_events() -> Any:
    if (request.content_length or 0) > MAX_BODY:
        raise TooLarge(TOO_LARGE)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY:
        raise TooLarge(TOO_LARGE)
    session = db_session()
    key = authenticate(
        session,
        {name: request.headers.get(name) for name in HEADERS},
        raw,
        pepper=current_app.config["SECRET_KEY"],
        nonces=nonce_store_for(current_app.config, session),
    )
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadInput(NOT_JSON) from None
    check_text(body)
    events, batch = parse_events(body)
    results = ingest_events(session, key.system, events, batch=batch)
    accepted = sum(1 for r in results if r.status == "accepted")
    return jsonify(
        {
            "batch": batch,
            "accepted": accepted,
            "duplicates": len(results) - accepted,
            # call_status: the call's status after the whole request
            "results": [
                {
                    "call_id": r.call_id,
                    "type": r.type,
                    "status": r.status,
                    "call_status": r.call.status,
                }
                for r in results
            ],
        }
    )
