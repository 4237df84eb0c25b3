"""来电登记: the operator's call intake screen, its four outcomes, the knowledge search beside the
form, and the pop of the screen when the switchboard reports an answered call.

The page works without JavaScript (every outcome has its own submit button); with it
(``static/staff/intake.js``) the form is driven from the keyboard, searched as it is typed and
kept as a draft per call in ``sessionStorage``. The pop is polled (``static/staff/call-pop.js``,
every 500 ms on every page of an operator's console): see README, "Phone calls".

Routes parse the form, call one ``tickets.intake`` function and redirect (POST/redirect/GET); a
refused form is shown again with what was typed and a message by each field (422).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from calls.models import Call
from calls.service import active_call_for_staff, get_call
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.inputs import optional_id
from core.web import current_locale, db_session
from directory.models import Department, Role, StaffUser
from knowledge.search import FaqHit, QueryError, clean_query, get_matcher, thresholds_for
from portal.staff.auth import current_staff, require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import department_name
from portal.staff.nav import register_nav
from portal.staff.tickets_views import _list_page
from tickets import intake, queries, workflow
from tickets.access import can
from tickets.models import KIND_LABELS, Kind, Ticket
from tickets.workflow import TicketDraft

register_nav("staff.intake", N_("Call intake"), order=12, roles=(Role.OPERATOR,))
register_nav("staff.urged", N_("Urged tickets"), order=42, roles=(Role.SUPERVISOR,))

OUTCOMES = ("resolve", "ticket", "follow_up", "transfer")
# (outcome, the domain's field name) → the form's field, where the two differ.
_FIELD_OF = {("follow_up", "note"): "follow_note", ("transfer", "note"): "transfer_note"}
POLL_MS = 500  # the pop: an answered call shows within a second (poll + one page load)
SEARCH_LIMIT = 5


def _operator() -> StaffUser:
    """Operators register calls (``submit`` for staff is the operator's)."""
    return require_action("submit")


def _partners() -> dict[str, intake.TransferPartner]:
    return intake.transfer_partners(current_app.config)


def _partner_name(partner: intake.TransferPartner) -> str:
    return partner.name if current_locale().startswith("zh") else partner.name_en


def _own_call(user: StaffUser, call_id: int | None) -> Call | None:
    """A call the operator answered (a link to someone else's call shows no call)."""
    if call_id is None:
        return None
    call = get_call(db_session(), call_id)
    if call is None:
        raise NotFound(N_("No call has that id."))
    return call if call.staff_id in (None, user.id) else None


def _call_json(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "caller": call.caller_number or "",
        "queue": call.queue or "",
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "url": url_for("staff.intake", call=call.id),
    }


def call_pop_url() -> str | None:
    """For the layout: where an operator's pages poll for an answered call."""
    user = current_staff()
    if isinstance(user, StaffUser) and can(user, "submit"):
        return url_for("staff.intake_active_call")
    return None


@bp.app_context_processor
def _pop_context() -> dict[str, Any]:
    user = g.get("staff")
    url = call_pop_url() if user is not None else None
    return {"call_pop_url": url, "call_pop_ms": POLL_MS}


# -- the screen ---------------------------------------------------------------------------------


def _empty_form(caller: str | None) -> dict[str, str]:
    phone = intake.caller_phone(caller) or ""
    return {
        "outcome": "ticket",
        "kind": Kind.COMPLAINT.value,
        "phone": phone if workflow.is_valid_mobile(phone) else "",
        "follow": "urge",
    }


def _render(
    user: StaffUser,
    *,
    call: Call | None,
    caller: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Any:
    session = db_session()
    history = intake.caller_history(session, caller, actor=user)
    values = form if form is not None else _empty_form(caller)
    partners = _partners()
    return (
        render_template(
            "staff/intake.html",
            call=call,
            caller=caller or "",
            history=history,
            form=values,
            errors=errors or {},
            message=message,
            restore=form is None,
            token=secrets.token_urlsafe(16),
            kinds=[(k.value, KIND_LABELS[k]) for k in Kind],
            categories=queries.active_categories(session),
            departments=queries.active_departments(session),
            partners=[(p.code, _partner_name(p)) for p in partners.values()],
            outcomes=OUTCOMES,
            draft_key=f"call:{call.id}" if call else f"phone:{history.phone or caller or ''}",
            search_url=url_for("staff.intake_search"),
        ),
        status,
    )


@bp.get("/intake", endpoint="intake")
def intake_screen() -> Any:
    user = _operator()
    call = _own_call(user, optional_id(request.args.get("call")))
    caller = call.caller_number if call is not None else request.args.get("phone", "")[:32]
    return _render(user, call=call, caller=(caller or "").strip() or None)


def _field(name: str, limit: int = 4000) -> str:
    return (request.form.get(name) or "")[:limit].strip()


def _form_values() -> dict[str, str]:
    names = (
        "outcome", "kind", "category", "title", "description", "address", "contact_name",
        "phone", "department", "note", "answer", "faq_id", "ticket", "follow", "follow_note",
        "partner", "transfer_note",
    )  # fmt: skip
    return {name: _field(name) for name in names}


def _department(raw: str) -> Department | None:
    department_id = optional_id(raw)
    if department_id is None:
        if raw:
            raise ValidationError({"department": N_("Choose a department.")})
        return None
    department = db_session().get(Department, department_id)
    if department is None:
        raise ValidationError({"department": N_("Choose a department.")})
    return department


def _existing_ticket(number: str) -> Ticket:
    ticket = workflow.get_ticket_by_number(db_session(), number) if number else None
    if ticket is None:
        raise ValidationError({"ticket": N_("Enter the number of an existing ticket.")})
    return ticket


def _register(user: StaffUser, values: dict[str, str], call: Call | None) -> tuple[str, str]:
    """Carry out the chosen outcome; returns the flash message and the ticket number."""
    session = db_session()
    outcome = values["outcome"]
    call_id = call.id if call is not None else None
    token = request.form.get("token")
    if outcome == "resolve":
        ticket = intake.resolve_on_call(
            session,
            actor=user,
            question=values["description"],
            answer=values["answer"],
            phone=values["phone"] or None,
            contact_name=values["contact_name"] or None,
            faq_id=optional_id(values["faq_id"]),
            call_id=call_id,
            token=token,
        )
        return gettext(
            "Ticket %(number)s: answered on the call and closed.", number=ticket.number
        ), ticket.number
    if outcome == "ticket":
        department = _department(values["department"])
        draft = TicketDraft(
            kind=values["kind"],
            description=values["description"],
            title=values["title"] or None,
            address=values["address"] or None,
            contact_name=values["contact_name"] or None,
            phone=values["phone"] or None,
            category_code=values["category"] or None,
        )
        ticket = intake.register_call_ticket(
            session,
            draft,
            actor=user,
            department=department,
            note=values["note"] or None,
            call_id=call_id,
            token=token,
        )
        if department is not None:
            text = gettext(
                "Ticket %(number)s was registered and dispatched to %(department)s.",
                number=ticket.number,
                department=department_name(department),
            )
        else:
            text = gettext(
                "Ticket %(number)s was registered for operator review.", number=ticket.number
            )
        return text, ticket.number
    if outcome == "follow_up":
        ticket = _existing_ticket(values["ticket"])
        urge = values["follow"] != "info"
        intake.follow_up(
            session,
            ticket,
            actor=user,
            urge=urge,
            note=values["follow_note"] or None,
            call_id=call_id,
        )
        if urge:
            text = gettext(
                "Ticket %(number)s was urged (%(count)s time(s)).",
                number=ticket.number,
                count=ticket.urge_count,
            )
        else:
            text = gettext("The information was added to ticket %(number)s.", number=ticket.number)
        return text, ticket.number
    partners = _partners()
    ticket = intake.transfer_call(
        session,
        actor=user,
        partner=values["partner"],
        partners=partners,
        kind=values["kind"],
        description=values["description"],
        phone=values["phone"] or None,
        contact_name=values["contact_name"] or None,
        address=values["address"] or None,
        note=values["transfer_note"] or None,
        call_id=call_id,
        token=token,
    )
    partner = partners[values["partner"]]
    return gettext(
        "Ticket %(number)s: the call was transferred to %(partner)s.",
        number=ticket.number,
        partner=_partner_name(partner),
    ), ticket.number


@bp.post("/intake")
def intake_submit() -> Any:
    user = _operator()
    call = _own_call(user, optional_id(request.form.get("call")))
    caller = call.caller_number if call is not None else _field("caller", 32)
    values = _form_values()
    if values["outcome"] not in OUTCOMES:
        values["outcome"] = "ticket"
    try:
        text, _number = _register(user, values, call)
    except PermissionDenied:
        raise
    except ValidationError as error:
        db_session().rollback()  # the domain changes nothing before it refuses; be sure anyway
        errors = {
            _FIELD_OF.get((values["outcome"], name), name): gettext(message)
            for name, message in error.fields.items()
        }
        return _render(
            user,
            call=call,
            caller=caller,
            form=values,
            errors=errors,
            message=error.translated(current_locale()),
            status=422,
        )
    except DomainError as error:
        db_session().rollback()
        return _render(
            user,
            call=call,
            caller=caller,
            form=values,
            message=error.translated(current_locale()),
            status=error.http_status if 400 <= error.http_status < 500 else 409,
        )
    flash(text, "success")
    if call is not None:
        return redirect(url_for("staff.intake", call=call.id), code=303)
    return redirect(url_for("staff.intake", phone=caller or ""), code=303)


# -- the pop and the search as the operator types -----------------------------------------------


@bp.get("/api/intake/active-call")
def intake_active_call() -> Any:
    user = _operator()
    call = active_call_for_staff(db_session(), user.id)
    return jsonify({"call": _call_json(call) if call is not None else None})


def _hit_json(hit: FaqHit) -> dict[str, Any]:
    return {**hit.as_dict(), "score": round(hit.score, 3)}


@bp.get("/api/intake/search")
def intake_search() -> Any:
    """Knowledge-base entries for what the operator types, best first, and the departments the
    console suggests. A read: the FAQ search's own index and thresholds (``knowledge.search``),
    without counting hits or logging gaps for every half-typed word (the public FAQ API does
    both, and is rate-limited per address: a call centre shares one)."""
    _operator()
    session = db_session()
    raw = request.args.get("q", "")[: intake.MAX_QUESTION]
    category = (request.args.get("category") or "")[:40] or None
    try:
        text = clean_query(raw)
    except QueryError:
        text = ""
    hits: list[FaqHit] = []
    if text:
        low = thresholds_for(session).low
        hits = [
            FaqHit.from_match(match)
            for match in get_matcher(session).search(text, limit=SEARCH_LIMIT)
            if match.score >= low
        ]
    suggestions = intake.suggest_departments(session, text, category_code=category, faq_hits=hits)
    return jsonify(
        {
            "query": text,
            "hits": [_hit_json(hit) for hit in hits],
            "departments": [
                {
                    "id": s.department_id,
                    "name": s.department_name,
                    "reasons": s.reasons,
                    "similar": s.similar_numbers,
                    "reason": gettext(
                        "similar past tickets: %(numbers)s", numbers="、".join(s.similar_numbers)
                    )
                    if s.similar_numbers
                    else "",
                }
                for s in suggestions
            ],
        }
    )


# -- the supervisors' list of urged tickets -----------------------------------------------------


@bp.get("/urged")
def urged() -> Any:
    user = current_staff()
    if user.role != Role.SUPERVISOR:
        raise PermissionDenied(N_("You are not allowed to do this."))
    return _list_page(
        title=gettext("Urged tickets (多次催办)"),
        fetch=lambda **kw: queries.list_urged(db_session(), **kw),
        export_name="urged",
        columns=("supervision", "number", "created", "kind", "stage", "department", "title"),
        filters_shown=(),
    )
