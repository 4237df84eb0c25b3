"""Staff console: the notices the hotline sends to a department or to the supervisors
(a ticket dispatched to them, a return for re-handling, urgent tickets, yellow and red cards,
an unsatisfied citizen). They are the outbox's delivered ``staff`` messages."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

from core.i18n import N_
from core.inputs import optional_id
from core.web import current_locale, db_session
from delivery.inbox import SUPERVISORS, department_recipient, staff_inbox
from delivery.render import RenderSettings
from directory.models import Role, StaffUser
from portal.staff.auth import current_staff
from portal.staff.blueprint import bp
from portal.staff.nav import register_nav

register_nav("staff.inbox", N_("Notices"), order=85, roles=(Role.DEPARTMENT, Role.SUPERVISOR))

PAGE_SIZE = 50


def inbox_recipients(user: StaffUser) -> list[str]:
    """Whose notices this user reads: their department's, and the supervisors' for supervisors."""
    recipients = []
    if user.role == Role.DEPARTMENT and user.department_id is not None:
        recipients.append(department_recipient(user.department_id))
    if user.role == Role.SUPERVISOR:
        recipients.append(SUPERVISORS)
    return recipients


@bp.get("/inbox")
def inbox() -> Any:
    user = current_staff()
    before = optional_id(request.args.get("before"))
    recipients = inbox_recipients(user)
    settings = RenderSettings(
        secret_key=str(current_app.config["SECRET_KEY"]),
        public_base_url=str(current_app.config["PUBLIC_BASE_URL"]),
    )
    items = (
        staff_inbox(
            db_session(),
            recipients,
            locale=current_locale(),
            settings=settings,
            before_id=before,
            limit=PAGE_SIZE + 1,
        )
        if recipients
        else []
    )
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    return render_template(
        "staff/inbox/list.html",
        items=items,
        next_before=items[-1].id if more and items else None,
    )
