"""The dispatch catalogue's administration (派单目录, ``/staff/admin/dispatch``): each category's
lead department (主办) and who may co-handle (协办), the version in force and every recorded
change. Admins only; the changes go through :mod:`tickets.catalogue`, which versions them.
The same page lists the deadline policies (时限规则, :mod:`tickets.policies`): add, deactivate."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from core.errors import DomainError, NotFound, ValidationError
from core.i18n import N_
from core.inputs import optional_id, parse_int
from core.web import db_session
from directory.models import Category, Department, StaffUser
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import flash_domain_error
from portal.staff.nav import register_nav
from tickets.catalogue import catalogue_changes, current_catalogue, set_catalogue_entry
from tickets.models import KIND_LABELS
from tickets.policies import (
    create_deadline_policy,
    deactivate_deadline_policy,
    list_deadline_policies,
)
from tickets.sla import DEFAULT_WORKING_HOURS, TOTAL_DAYS

register_nav(
    "staff.admin_dispatch", N_("Dispatch catalogue"), "manage_dispatch_catalogue", order=66
)

ACTION = "manage_dispatch_catalogue"
POLICY_ACTION = "manage_deadline_policies"


@bp.get("/admin/dispatch")
def admin_dispatch() -> Any:
    require_action(ACTION)
    session = db_session()
    departments = list(
        session.scalars(select(Department).where(Department.active).order_by(Department.id))
    )
    changes = catalogue_changes(session)
    names = {d.id: d.name for d in session.scalars(select(Department))}
    categories = {c.id: c.name for c in session.scalars(select(Category))}
    staff_ids = {c.changed_by_id for c in changes if c.changed_by_id is not None}
    staff_names = (
        {
            u.id: u.display_name or u.username
            for u in session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids)))
        }
        if staff_ids
        else {}
    )
    active_categories = list(
        session.scalars(select(Category).where(Category.active).order_by(Category.id))
    )
    return render_template(
        "staff/admin/dispatch.html",
        policies=list_deadline_policies(session),
        kinds=[(kind, KIND_LABELS[kind]) for kind in KIND_LABELS],
        active_categories=active_categories,
        default_working_hours=DEFAULT_WORKING_HOURS,
        lines=current_catalogue(session),
        departments=departments,
        changes=changes,
        department_names=names,
        category_names=categories,
        staff_names=staff_names,
    )


@bp.post("/admin/dispatch/<int:category_id>")
def admin_dispatch_set(category_id: int) -> Any:
    actor = require_action(ACTION)
    session = db_session()
    category = session.get(Category, category_id)
    if category is None or not category.active:
        raise NotFound(N_("No such category."))
    lead_id = optional_id(request.form.get("lead"))
    lead = session.get(Department, lead_id) if lead_id is not None else None
    co_handlers = []
    unknown = False
    for raw in request.form.getlist("co_handlers"):
        department_id = optional_id(raw)
        department = session.get(Department, department_id) if department_id else None
        if department is None:
            unknown = True
        else:
            co_handlers.append(department)
    try:
        if lead is None:
            raise ValidationError({"lead": N_("Choose the lead department.")})
        if unknown:
            raise ValidationError({"co_handlers": N_("Choose departments from the list.")})
        entry = set_catalogue_entry(
            session,
            category,
            lead,
            co_handlers,
            actor=actor,
            note=request.form.get("note", ""),
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(
            gettext(
                "Version %(version)s of %(category)s saved.",
                version=entry.version,
                category=category.name,
            ),
            "success",
        )
    return redirect(url_for("staff.admin_dispatch", _anchor=f"c{category.id}"), code=303)


def _days(name: str) -> int | None:
    """A count from the policy form; empty: not given (a bad number is a 400 naming it)."""
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    return parse_int(raw, default=0, maximum=999, name=name)


@bp.post("/admin/dispatch/policies")
def admin_dispatch_policy_create() -> Any:
    actor = require_action(POLICY_ACTION)
    unit = request.form.get("review_unit", "hours")
    review = _days("review")
    totals = {kind: days for kind in TOTAL_DAYS if (days := _days(f"total_{kind}")) is not None}
    try:
        policy = create_deadline_policy(
            db_session(),
            code=request.form.get("code", ""),
            name=request.form.get("name", ""),
            actor=actor,
            business_only=request.form.get("business_only") == "1",
            category_codes=request.form.getlist("categories"),
            review_hours=review if unit == "hours" else None,
            review_days=review if unit == "days" else None,
            total_days=totals,
            default_total_days=_days("default_total_days") or 0,
            working_hours=request.form.get("working_hours", "") or DEFAULT_WORKING_HOURS,
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Deadline policy %(name)s added.", name=policy.name), "success")
    return redirect(url_for("staff.admin_dispatch", _anchor="policies"), code=303)


@bp.post("/admin/dispatch/policies/<int:policy_id>/deactivate")
def admin_dispatch_policy_deactivate(policy_id: int) -> Any:
    actor = require_action(POLICY_ACTION)
    policy = deactivate_deadline_policy(db_session(), policy_id, actor=actor)
    flash(gettext("Deadline policy %(name)s deactivated.", name=policy.name), "success")
    return redirect(url_for("staff.admin_dispatch", _anchor="policies"), code=303)
