"""Ticket screens of the staff console: the queues of every role, the ticket page and its
actions. Routes parse the form, call one workflow function and redirect (POST/redirect/GET)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from sqlalchemy import select

from core.errors import DomainError, NotFound, PermissionDenied
from core.i18n import N_
from core.inputs import optional_id
from core.web import current_locale, db_session
from directory.models import Department, Role, StaffUser
from knowledge.search import answer_question
from portal.staff.auth import current_staff, require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import (
    EXPORT_MAX_ROWS,
    csv_response,
    filters_from_args,
    flash_domain_error,
    int_arg,
    ticket_csv_header,
    ticket_csv_row,
    wants_csv,
)
from portal.staff.nav import register_nav
from tickets import cohandling, disputes, queries, workflow
from tickets.access import can, visible_contact
from tickets.canned import list_canned_replies
from tickets.models import Attachment, Stage, Ticket
from tickets.sla import RETURN_TOTAL_CHOICES

HOTLINE = (Role.OPERATOR.value, Role.REVIEWER.value, Role.SUPERVISOR.value, Role.ADMIN.value)

register_nav("staff.workbench", N_("Department workbench"), order=10, roles=(Role.DEPARTMENT,))
register_nav("staff.queue", N_("Operator queue"), order=10, roles=(Role.OPERATOR,))
register_nav("staff.review", N_("Re-review"), "pass_review", order=20)
register_nav("staff.callbacks", N_("Callbacks"), order=30, roles=(Role.OPERATOR, Role.REVIEWER))
register_nav("staff.overdue", N_("Overdue board"), "overdue_board", order=40)
register_nav("staff.unsatisfied", N_("Unsatisfied"), "reopen", order=45)
register_nav("staff.all_tickets", N_("All tickets"), order=80, roles=HOTLINE)


def _require_hotline() -> StaffUser:
    """Hotline staff (not a department): "view" without a ticket is exactly that."""
    return require_action("view")


def _list_page(
    *,
    title: str,
    fetch: Callable[..., queries.Page],
    export_name: str,
    columns: tuple[str, ...],
    filters_shown: tuple[str, ...] = ("kind", "channel", "category", "q"),
    extra: dict[str, Any] | None = None,
) -> Any:
    """One list screen: the filters, one keyset page, or the whole list as CSV."""
    user = current_staff()
    if wants_csv():
        require_action("export")
        user_id = user.id

        def rows() -> Iterable[list[str]]:
            # Streaming runs after the request's session closed: read the user again.
            reader = db_session().get(StaffUser, user_id)
            assert reader is not None
            for ticket in queries.iter_pages(fetch, cap=EXPORT_MAX_ROWS):
                yield ticket_csv_row(reader, ticket)

        return csv_response(f"{export_name}.csv", ticket_csv_header(), rows)
    page = fetch(cursor=request.args.get("after"), limit=queries.PAGE_SIZE)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("after", "format")}
    return render_template(
        "staff/ticket_list.html",
        title=title,
        page=page,
        columns=columns,
        filters_shown=filters_shown,
        categories=queries.active_categories(db_session()) if "category" in filters_shown else [],
        departments=queries.active_departments(db_session())
        if "department" in filters_shown
        else [],
        contacts={t.id: visible_contact(user, t) for t in page.items},
        next_url=url_for(request.endpoint or "staff.home", **args, after=page.next_cursor)
        if page.next_cursor
        else None,
        csv_url=url_for(request.endpoint or "staff.home", **args, format="csv"),
        first_url=url_for(request.endpoint or "staff.home", **args)
        if request.args.get("after")
        else None,
        **(extra or {}),
    )


BASE_COLUMNS = ("number", "created", "kind", "channel", "category", "title")


@bp.get("/queue")
def queue() -> Any:
    _require_hotline()
    filters = filters_from_args(stage=None, department_id=None, supervision=None)
    return _list_page(
        title=gettext("Operator queue: submitted tickets"),
        fetch=lambda **kw: queries.list_stage_queue(
            db_session(), Stage.SUBMITTED.value, filters=filters, **kw
        ),
        export_name="operator-queue",
        columns=(*BASE_COLUMNS, "contact"),
    )


@bp.get("/review")
def review() -> Any:
    require_action("pass_review")
    filters = filters_from_args(stage=None, supervision=None)
    return _list_page(
        title=gettext("Awaiting re-review"),
        fetch=lambda **kw: queries.list_stage_queue(
            db_session(), Stage.RE_REVIEW.value, filters=filters, **kw
        ),
        export_name="re-review",
        columns=(*BASE_COLUMNS, "department", "replied"),
        filters_shown=("kind", "channel", "department", "q"),
    )


@bp.get("/callbacks")
def callbacks() -> Any:
    _require_hotline()
    filters = filters_from_args(stage=None, supervision=None)
    surveys: dict[int, Any] = {}

    def fetch(**kw: Any) -> queries.Page:
        page = queries.list_stage_queue(db_session(), Stage.CALLBACK.value, filters=filters, **kw)
        surveys.update(queries.latest_surveys(db_session(), [t.id for t in page.items]))
        return page

    return _list_page(
        title=gettext("Awaiting callback"),
        fetch=fetch,
        export_name="callbacks",
        columns=(*BASE_COLUMNS, "department", "survey"),
        filters_shown=("kind", "channel", "department", "q"),
        extra={"surveys": surveys},
    )


@bp.get("/unsatisfied")
def unsatisfied() -> Any:
    require_action("reopen")
    return _list_page(
        title=gettext("Marked unsatisfied: to review"),
        fetch=lambda **kw: queries.list_unsatisfied(db_session(), **kw),
        export_name="unsatisfied",
        columns=(*BASE_COLUMNS, "department", "closed"),
        filters_shown=(),
    )


@bp.get("/tickets")
def all_tickets() -> Any:
    _require_hotline()
    filters = filters_from_args()
    return _list_page(
        title=gettext("All tickets"),
        fetch=lambda **kw: queries.list_all_tickets(db_session(), filters=filters, **kw),
        export_name="tickets",
        columns=(*BASE_COLUMNS, "stage", "department", "supervision"),
        filters_shown=("kind", "channel", "category", "stage", "department", "q"),
    )


@bp.get("/workbench")
def workbench() -> Any:
    user = current_staff()
    if user.role != Role.DEPARTMENT or user.department_id is None:
        raise PermissionDenied(N_("You are not allowed to do this."))
    stage = request.args.get("stage")
    filters = filters_from_args(stage=None, department_id=None, supervision=None)
    department_id = user.department_id
    return _list_page(
        title=gettext("Department workbench"),
        fetch=lambda **kw: queries.list_department_workbench(
            db_session(), department_id, stage=stage, filters=filters, **kw
        ),
        export_name="workbench",
        columns=("supervision", "number", "created", "kind", "stage", "title", "contact"),
        filters_shown=("kind", "q"),
        extra={"stage_tabs": True, "current_stage": stage},
    )


@bp.get("/overdue")
def overdue() -> Any:
    require_action("overdue_board")
    department_id = int_arg("department")
    level = request.args.get("level")
    board = queries.overdue_board(db_session())
    return _list_page(
        title=gettext("Overdue board"),
        fetch=lambda **kw: queries.list_overdue(
            db_session(), department_id=department_id, level=level, **kw
        ),
        export_name="overdue",
        columns=("supervision", "number", "created", "kind", "stage", "department", "title"),
        filters_shown=(),
        extra={"board": board, "board_department": department_id, "board_level": level},
    )


# -- one ticket ---------------------------------------------------------------------------------


def _ticket(number: str) -> Ticket:
    ticket = workflow.get_ticket_by_number(db_session(), number)
    if ticket is None:
        raise NotFound(N_("No ticket has that number."))
    return ticket


def _faq_hits(ticket: Ticket) -> list[Any]:
    """FAQ entries matching the ticket (the best answer first)."""
    query = f"{ticket.title} {ticket.description}"[:200]
    try:
        result = answer_question(db_session(), query, limit=3, channel="staff", log_gap=False)
    except DomainError:  # an unusable question is no reason to fail the ticket page
        return []
    hits = [result.best] if result.best is not None else []
    return hits + [hit for hit in result.suggestions if hit not in hits]


@dataclass(frozen=True)
class FailedAction:
    """A refused action's form, shown again: what was typed, and a message per field."""

    action: str
    values: dict[str, str]
    errors: dict[str, str]  # field name → translated message
    message: str
    # Messages of fields the action's form does not show (listed at the top instead).
    unplaced: tuple[str, ...] = ()


# The fields each action's form shows on the ticket page (see staff/ticket.html). Actions are
# spelled as the workflow and ``access`` spell them: /staff/tickets/<number>/<action>.
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "assign_co_handlers": ("co_handler", "co_handlers"),
    "co_handle": ("part",),
    "dispute_dispatch": ("reason",),
    "decide_dispute": ("note",),
    "dispatch": ("department", "note"),
    "resolve_directly": ("answer",),
    "reject": ("reason",),
    "merge": ("into",),
    "mark_urgent": ("reason",),
    "accept": (),
    "return_to_operator": ("reason",),
    "reply": ("reply",),
    "pass_review": (),
    "transfer": ("department", "reason"),
    "return_to_department": ("total_days", "reason"),
    "record_callback": ("satisfaction", "comment"),
    "reopen": ("reason",),
    "mark_business_request": ("business_request",),
}


@bp.get("/tickets/<number>")
def ticket_detail(number: str) -> Any:
    return _render_ticket(_ticket(number))


def _render_ticket(ticket: Ticket, failed: FailedAction | None = None, status: int = 200) -> Any:
    user = require_action("view", ticket)
    session = db_session()
    detail = queries.load_ticket_detail(session, ticket)
    actions = workflow.available_actions(user, ticket)
    context: dict[str, Any] = {}
    if "dispatch" in actions:
        similar = queries.similar_tickets(session, ticket)
        hits = _faq_hits(ticket)
        context["similar"] = similar
        context["faq_hits"] = hits
        context["suggestions"] = queries.dispatch_suggestions(
            session, ticket, similar=similar, faq_hits=hits
        )
        chosen = int_arg("faq")
        context["prefill_answer"] = next((h.answer for h in hits if h.id == chosen), "")
    if ticket.stage in (Stage.SUBMITTED, Stage.RE_REVIEW):
        context["departments"] = queries.active_departments(session)
    if "reply" in actions:
        context["canned"] = list_canned_replies(session, scope="reply")
    if ticket.stage == Stage.CALLBACK:
        context["canned_callback"] = list_canned_replies(session, scope="callback")
    # 协办 and 派单异议 (tickets.cohandling, tickets.disputes)
    shared_stage = ticket.stage in cohandling.SHARED_STAGES
    mine = next((c for c in ticket.co_handlers if c.department_id == user.department_id), None)
    context["may_co_handle"] = (
        shared_stage and mine is not None and mine.part is None and can(user, "co_handle", ticket)
    )
    dispute = disputes.open_dispute(session, ticket)
    context["open_dispute"] = dispute
    context["may_dispute"] = (
        ticket.stage == Stage.DEPT_REVIEW
        and dispute is None
        and can(user, "dispute_dispatch", ticket)
    )
    context["may_decide_dispute"] = dispute is not None and can(user, "decide_dispute", ticket)
    if shared_stage and can(user, "assign_co_handlers", ticket):
        taken = {c.department_id for c in ticket.co_handlers} | {ticket.department_id}
        context["co_handler_choices"] = [
            d for d in queries.active_departments(session) if d.id not in taken
        ]
    contact_name, contact_phone = visible_contact(user, ticket)
    return (
        render_template(
            "staff/ticket.html",
            ticket=ticket,
            detail=detail,
            actions=actions,
            contact_name=contact_name,
            contact_phone=contact_phone,
            return_choices=RETURN_TOTAL_CHOICES,
            failed=failed,
            **context,
        ),
        status,
    )


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int) -> Any:
    item = db_session().get(Attachment, attachment_id)
    if item is None:
        abort(404)
    require_action("view", item.ticket)
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    path = (root / item.storage_key).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype=item.content_type,
        download_name=item.filename,
        as_attachment=not item.content_type.startswith("image/"),
    )


def _department_from_form() -> Department:
    department_id = optional_id(request.form.get("department"))
    department = db_session().get(Department, department_id) if department_id else None
    if department is None:
        raise workflow.ValidationError({"department": N_("Choose a department.")})
    return department


def _total_days_from_form() -> int | None:
    return optional_id(request.form.get("total_days"))


def _co_handlers_from_form() -> list[Department]:
    session = db_session()
    found = []
    for raw in request.form.getlist("co_handler")[:20]:
        dept_id = optional_id(raw)
        dept = session.get(Department, dept_id) if dept_id else None
        if dept is None:
            raise workflow.ValidationError({"co_handler": N_("Choose a department.")})
        found.append(dept)
    return found


def _merge_target(ticket: Ticket) -> Ticket:
    number = (request.form.get("into") or "").strip()
    into = workflow.get_ticket_by_number(db_session(), number) if number else None
    if into is None:
        raise workflow.ValidationError({"into": N_("Enter the number of an existing ticket.")})
    return into


ACTION_HANDLERS: dict[str, tuple[Callable[[Any, Ticket, StaffUser], Any], str]] = {
    "dispatch": (
        lambda s, t, u: workflow.dispatch_ticket(
            s, t, _department_from_form(), actor=u, note=request.form.get("note")
        ),
        N_("Ticket %(number)s was dispatched."),
    ),
    "resolve_directly": (
        lambda s, t, u: workflow.resolve_directly(
            s, t, actor=u, answer=request.form.get("answer", "")
        ),
        N_("Ticket %(number)s was answered and closed."),
    ),
    "reject": (
        lambda s, t, u: workflow.reject_ticket(
            s, t, actor=u, reason=request.form.get("reason", "")
        ),
        N_("Ticket %(number)s was rejected."),
    ),
    "merge": (
        lambda s, t, u: workflow.merge_ticket(
            s, t, _merge_target(t), actor=u, note=request.form.get("note")
        ),
        N_("Ticket %(number)s was merged."),
    ),
    "mark_urgent": (
        lambda s, t, u: workflow.mark_urgent(s, t, actor=u, reason=request.form.get("reason")),
        N_("Ticket %(number)s is marked urgent; the department has been notified."),
    ),
    "accept": (
        lambda s, t, u: workflow.accept_ticket(s, t, actor=u, note=request.form.get("note")),
        N_("Ticket %(number)s was accepted."),
    ),
    "return_to_operator": (
        lambda s, t, u: workflow.return_to_operator(
            s, t, actor=u, reason=request.form.get("reason", "")
        ),
        N_("Ticket %(number)s was returned to the operator."),
    ),
    "reply": (
        lambda s, t, u: workflow.reply_ticket(s, t, actor=u, reply=request.form.get("reply", "")),
        N_("The reply to ticket %(number)s was sent for re-review."),
    ),
    "pass_review": (
        lambda s, t, u: workflow.pass_review(s, t, actor=u, note=request.form.get("note")),
        N_("Ticket %(number)s passed re-review; the callback survey was sent."),
    ),
    "transfer": (
        lambda s, t, u: workflow.transfer_ticket(
            s, t, _department_from_form(), actor=u, reason=request.form.get("reason", "")
        ),
        N_("Ticket %(number)s was transferred."),
    ),
    "return_to_department": (
        lambda s, t, u: workflow.return_to_department(
            s,
            t,
            actor=u,
            total_days=_total_days_from_form(),
            reason=request.form.get("reason", ""),
        ),
        N_("Ticket %(number)s was returned to the department."),
    ),
    "record_callback": (
        lambda s, t, u: workflow.record_callback(
            s,
            t,
            actor=u,
            satisfaction=request.form.get("satisfaction", ""),
            comment=request.form.get("comment"),
        ),
        N_("The callback for ticket %(number)s was recorded; the ticket is closed."),
    ),
    "assign_co_handlers": (
        lambda s, t, u: cohandling.assign_co_handlers(
            s,
            t,
            _co_handlers_from_form(),
            actor=u,
            outside_catalogue=request.form.get("outside_catalogue") == "1",
        ),
        N_("Ticket %(number)s was shared with the co-handling departments."),
    ),
    "co_handle": (
        lambda s, t, u: cohandling.add_co_handler_part(
            s, t, actor=u, text=request.form.get("part", "")
        ),
        N_("Your department's part was added to ticket %(number)s."),
    ),
    "dispute_dispatch": (
        lambda s, t, u: disputes.raise_dispute(
            s, t, actor=u, reason=request.form.get("reason", "")
        ),
        N_("Your dispatch dispute of ticket %(number)s was sent to the hotline."),
    ),
    "decide_dispute": (
        lambda s, t, u: disputes.decide_dispute(
            s,
            t,
            actor=u,
            upheld=request.form.get("upheld") == "1",
            note=request.form.get("note"),
        ),
        N_("The dispatch dispute of ticket %(number)s was decided."),
    ),
    "reopen": (
        lambda s, t, u: workflow.reopen_ticket(
            s, t, actor=u, reason=request.form.get("reason", "")
        ),
        N_("Ticket %(number)s was reopened for re-review."),
    ),
    # 企业诉求 (tickets.policies): the deadline policy is chosen at dispatch
    "mark_business_request": (
        lambda s, t, u: workflow.set_business_request(
            s, t, request.form.get("business_request") == "1", actor=u
        ),
        N_("The business request (企业诉求) mark of ticket %(number)s was saved."),
    ),
}


@bp.post("/tickets/<number>/<action>")
def ticket_action(number: str, action: str) -> Any:
    if action not in ACTION_HANDLERS:
        abort(404)
    ticket = _ticket(number)
    user = current_staff()
    handler, done = ACTION_HANDLERS[action]
    try:
        handler(db_session(), ticket, user)
    except PermissionDenied:
        raise
    except workflow.ValidationError as error:
        # Show the page again with the message next to its field and the typed text kept: a
        # redirect would lose what the user wrote (a long reply, a reason).
        db_session().rollback()  # the domain changes nothing before it refuses; be sure anyway
        return _render_ticket(_ticket(number), _failed(action, error), 422)
    except DomainError as error:
        flash_domain_error(error)
        return redirect(url_for("staff.ticket_detail", number=number), code=303)
    flash(gettext(done, number=ticket.number), "success")
    if can(user, "view", ticket):
        return redirect(url_for("staff.ticket_detail", number=number), code=303)
    return redirect(url_for("staff.home"), code=303)


def _failed(action: str, error: workflow.ValidationError) -> FailedAction:
    errors = {name: gettext(message) for name, message in error.fields.items()}
    shown = ACTION_FIELDS.get(action, ())
    return FailedAction(
        action=action,
        values={key: value for key, value in request.form.items() if key != "csrf_token"},
        errors=errors,
        message=error.translated(current_locale()),
        unplaced=tuple(message for name, message in errors.items() if name not in shown),
    )


def departments_by_id() -> dict[int, Department]:
    return {d.id: d for d in db_session().scalars(select(Department))}
