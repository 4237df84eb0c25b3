"""Tickets as JSON: ``POST /api/v1/tickets`` and ``GET /api/v1/tickets/<number>?code=``.

The same rules as the web form (tickets.workflow validates); errors are JSON
``{"error": ..., "fields": {...}}`` with translated messages, never a 500. An ``Idempotency-Key``
header makes a retried POST return the first ticket. A lookup with a wrong code answers exactly
like an unknown number, and repeated failures are rate limited (portal.citizen.limits).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, make_response, request
from flask_babel import gettext

from core.errors import ValidationError
from core.web import current_locale, db_session
from directory.citizens import submitting_citizen
from portal.api.blueprint import bp
from portal.citizen.limits import mark_track_failure, submit_limit, track_limits
from tickets import public
from tickets.access import CitizenActor
from tickets.workflow import TicketDraft, normalize_phone, submit_ticket

STRING_FIELDS = ("kind", "title", "description", "address", "contact_name", "phone", "category")
MAX_KEY = 150


def _error(status: int, message: str, fields: dict[str, str] | None = None) -> Any:
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return make_response(jsonify(body), status)


@bp.post("/tickets")
@submit_limit
def create_ticket() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, gettext("Send a JSON object in the request body."))
    wrong = {
        name: gettext("This field must be text.")
        for name in STRING_FIELDS
        if body.get(name) is not None and not isinstance(body.get(name), str)
    }
    anonymous = body.get("anonymous", False)
    if not isinstance(anonymous, bool):
        wrong["anonymous"] = gettext("This field must be true or false.")
    if wrong:
        return _error(422, gettext("Please correct the marked fields."), wrong)
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if len(key) > MAX_KEY:
        return _error(400, gettext("The Idempotency-Key header is too long."))
    draft = TicketDraft(
        kind=body.get("kind") or "",
        description=body.get("description") or "",
        title=body.get("title"),
        address=body.get("address"),
        contact_name=body.get("contact_name"),
        phone=body.get("phone"),
        anonymous=anonymous,
        category_code=body.get("category"),
    )
    try:
        clean = draft.validated()
    except ValidationError as error:
        fields = {k: gettext(v) for k, v in error.fields.items()}
        return _error(422, error.translated(current_locale()), fields)
    session = db_session()
    phone = normalize_phone(clean.phone)
    # an API client has no browser session: without a phone the ticket has no citizen
    citizen = submitting_citizen(session, "web", phone=phone, name=clean.contact_name)
    ticket = submit_ticket(
        session,
        draft,
        actor=CitizenActor(citizen.id if citizen else None, "web"),
        channel="web",
        citizen=citizen,
        idempotency_key=f"api:{key}" if key else None,
    )
    response = jsonify(
        {
            "number": ticket.number,
            "query_code": ticket.query_code,
            "status": ticket.stage,
            "track_url": current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/track",
        }
    )
    response.status_code = 201
    return response


@bp.get("/tickets/<number>")
@track_limits
def get_ticket(number: str) -> Any:
    session = db_session()
    ticket = public.find_ticket_for_citizen(
        session, number, code=request.args.get("code"), phone=request.args.get("phone")
    )
    if ticket is None:
        mark_track_failure()
        return _error(
            404,
            gettext("We could not find a request with this number and code."),
        )
    locale = current_locale()
    return jsonify(
        {
            "number": ticket.number,
            "kind": ticket.kind,
            "title": ticket.title,
            "status": ticket.stage,
            "status_text": gettext(public.plain_stage(ticket)),
            "department": public.department_name(ticket.department, locale),
            "due_date": ticket.handling_due.isoformat()
            if ticket.handling_due and ticket.stage in ("dept_review", "handling")
            else None,
            "created_at": ticket.created_at.isoformat(),
            "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
            "reply": ticket.reply if public.reply_visible(ticket) else None,
            "timeline": [
                {
                    "at": event.at.isoformat(),
                    "action": event.action,
                    "text": gettext(event.label, **event.params),
                    "note": event.note,
                }
                for event in public.public_timeline(session, ticket, locale=locale)
            ],
        }
    )
