"""Staff console: the outbox's dead letters (admins list, retry and drop them)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from core.errors import DomainError
from core.i18n import N_
from core.inputs import optional_id
from core.web import current_locale, db_session
from delivery import outbox
from delivery.models import OutboxStatus
from delivery.render import RenderSettings, render_message
from directory import staff_admin
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.nav import register_nav

register_nav("staff.outbox_list", N_("Outbox"), "manage_outbox", 90)

PAGE_SIZE = 50
STATUS_LABELS = {
    OutboxStatus.DEAD: N_("Dead letters"),
    OutboxStatus.PENDING: N_("Waiting to be sent"),
    OutboxStatus.DROPPED: N_("Dropped"),
}


def _preview(message: Any) -> str:
    settings = RenderSettings(
        secret_key=str(current_app.config["SECRET_KEY"]),
        public_base_url=str(current_app.config["PUBLIC_BASE_URL"]),
    )
    try:
        return render_message(message.template, message.params, current_locale(), settings)[0]
    except Exception:  # an unknown template is exactly what a dead letter may hold
        return gettext("(cannot be shown: unknown template %(name)s)", name=message.template)


@bp.get("/outbox")
def outbox_list() -> Any:
    require_action("manage_outbox")
    status = request.args.get("status") or OutboxStatus.DEAD
    if status not in STATUS_LABELS:
        status = OutboxStatus.DEAD
    before = optional_id(request.args.get("before"))
    session = db_session()
    messages = outbox.list_messages(session, status=status, before_id=before, limit=PAGE_SIZE + 1)
    more = len(messages) > PAGE_SIZE
    messages = messages[:PAGE_SIZE]
    return render_template(
        "staff/outbox/list.html",
        messages=[(m, _preview(m)) for m in messages],
        status=status,
        status_labels=STATUS_LABELS,
        counts=outbox.count_by_status(session, (OutboxStatus.PENDING, OutboxStatus.DEAD)),
        next_before=messages[-1].id if more and messages else None,
    )


def _act(message_id: int, action: Any, done: str) -> Any:
    actor = require_action("manage_outbox")
    status = request.form.get("status") or OutboxStatus.DEAD
    if status not in STATUS_LABELS:
        status = OutboxStatus.DEAD
    try:
        action(db_session(), message_id, actor=actor)
    except DomainError as error:
        if error.http_status in (403, 404):
            raise
        db_session().rollback()
        flash(error.translated(current_locale()), "error")
        return redirect(url_for("staff.outbox_list", status=status))
    flash(gettext(done, id=message_id), "success")
    return redirect(url_for("staff.outbox_list", status=status))


@bp.post("/outbox/<int:message_id>/retry")
def outbox_retry(message_id: int) -> Any:
    return _act(message_id, staff_admin.retry_message, N_("Message %(id)s will be sent again."))


@bp.post("/outbox/<int:message_id>/drop")
def outbox_drop(message_id: int) -> Any:
    return _act(message_id, staff_admin.drop_message, N_("Message %(id)s was dropped."))
