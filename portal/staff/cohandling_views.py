"""A co-handling department's list of its shares (协办, ``/staff/co-handling``): the open
tickets another department leads and shared with it, overdue parts first
(:func:`tickets.cohandling.co_handler_items`). Linked from the department's workbench."""

from __future__ import annotations

from typing import Any

from flask import render_template

from core.errors import PermissionDenied
from core.i18n import N_
from core.web import db_session
from directory.models import Role
from portal.staff.auth import current_staff
from portal.staff.blueprint import bp
from portal.staff.nav import register_nav
from tickets.cohandling import co_handler_items

register_nav("staff.co_handling", N_("Co-handling (协办)"), order=11, roles=(Role.DEPARTMENT,))


@bp.get("/co-handling")
def co_handling() -> Any:
    user = current_staff()
    if user.role != Role.DEPARTMENT or user.department_id is None or not user.active:
        raise PermissionDenied(N_("You are not allowed to do this."))
    items = co_handler_items(db_session(), user.department_id)
    return render_template(
        "staff/co_handling.html",
        items=items,
        overdue_count=sum(1 for item in items if item.overdue),
    )
