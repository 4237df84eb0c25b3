"""Administration screens: staff accounts, departments, the working-day calendar, canned
replies. Each POST calls one domain function and redirects back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from core.errors import DomainError, NotFound, ValidationError
from core.i18n import N_
from core.inputs import optional_id
from core.web import db_session
from directory import staff_admin
from directory.models import Department, Role, StaffUser
from directory.staff import create_staff_user
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import flash_domain_error
from portal.staff.nav import register_nav
from tickets import canned
from tickets.calendar import (
    load_calendar,
    local_today,
    remove_calendar_override,
    set_calendar_override,
)
from tickets.models import HolidayOverride

register_nav("staff.admin_staff", N_("Staff"), "manage_staff", order=60)
register_nav("staff.admin_departments", N_("Departments"), "manage_departments", order=61)
register_nav("staff.admin_calendar", N_("Calendar"), "manage_calendar", order=62)
register_nav("staff.admin_canned", N_("Canned replies"), "manage_knowledge", order=64)
CALENDAR_DAYS = 60


def _department_or_none(raw: str | None) -> Department | None:
    department_id = optional_id(raw)
    return db_session().get(Department, department_id) if department_id is not None else None


def _back(endpoint: str) -> Any:
    return redirect(url_for(endpoint), code=303)


@bp.get("/admin/staff")
def admin_staff() -> Any:
    require_action("manage_staff")
    session = db_session()
    users = session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.username)).all()
    departments = session.scalars(select(Department).order_by(Department.id)).all()
    return render_template(
        "staff/admin/staff.html", users=users, departments=departments, roles=list(Role)
    )


@bp.post("/admin/staff")
def admin_staff_create() -> Any:
    actor = require_action("manage_staff")
    form = request.form
    try:
        user = create_staff_user(
            db_session(),
            username=form.get("username", ""),
            display_name=form.get("display_name", ""),
            password=form.get("password", ""),
            role=form.get("role", ""),
            department=_department_or_none(form.get("department")),
            actor=actor,
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Account %(username)s created.", username=user.username), "success")
    return _back("staff.admin_staff")


@bp.post("/admin/staff/<int:user_id>")
def admin_staff_update(user_id: int) -> Any:
    actor = require_action("manage_staff")
    user = db_session().get(StaffUser, user_id)
    if user is None:
        raise NotFound(N_("No such account."))
    form = request.form
    try:
        staff_admin.update_staff_user(
            db_session(),
            user,
            display_name=form.get("display_name", ""),
            role=form.get("role", ""),
            department=_department_or_none(form.get("department")),
            active=form.get("active") == "1",
            actor=actor,
        )
        if form.get("password"):
            staff_admin.set_staff_password(db_session(), user, form["password"], actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Account %(username)s saved.", username=user.username), "success")
    return _back("staff.admin_staff")


@bp.get("/admin/departments")
def admin_departments() -> Any:
    require_action("manage_departments")
    departments = db_session().scalars(select(Department).order_by(Department.id)).all()
    return render_template("staff/admin/departments.html", departments=departments)


@bp.post("/admin/departments")
@bp.post("/admin/departments/<int:department_id>")
def admin_department_save(department_id: int | None = None) -> Any:
    actor = require_action("manage_departments")
    department = None
    if department_id is not None:
        department = db_session().get(Department, department_id)
        if department is None:
            raise NotFound(N_("No such department."))
    form = request.form
    try:
        saved = staff_admin.save_department(
            db_session(),
            department,
            code=form.get("code", ""),
            name=form.get("name", ""),
            name_en=form.get("name_en", ""),
            hotline_phone=form.get("hotline_phone"),
            active=form.get("active", "1") == "1",
            actor=actor,
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Department %(name)s saved.", name=saved.name), "success")
    return _back("staff.admin_departments")


@bp.get("/admin/calendar")
def admin_calendar() -> Any:
    require_action("manage_calendar")
    session = db_session()
    today = local_today(session)
    calendar = load_calendar(session)
    overrides = {
        o.day: o
        for o in session.scalars(
            select(HolidayOverride).where(HolidayOverride.day >= today - dt.timedelta(days=30))
        )
    }
    days = [today + dt.timedelta(days=i) for i in range(CALENDAR_DAYS)]
    # Leading blanks so that the grid's columns are Monday … Sunday.
    cells: list[Any] = [None] * today.weekday()
    cells += [
        {"day": d, "workday": calendar.is_workday(d), "override": overrides.get(d)} for d in days
    ]
    return render_template(
        "staff/admin/calendar.html",
        cells=cells,
        overrides=sorted(overrides.values(), key=lambda o: o.day),
        today=today,
        known=calendar.knows_year(today.year + 1),
        next_year=today.year + 1,
    )


def _date_from_form() -> dt.date:
    try:
        return dt.date.fromisoformat((request.form.get("day") or "").strip())
    except ValueError:
        raise ValidationError({"day": N_("Enter a date as YYYY-MM-DD.")}) from None


@bp.post("/admin/calendar")
def admin_calendar_set() -> Any:
    actor = require_action("manage_calendar")
    try:
        day = _date_from_form()
        kind = request.form.get("is_workday")
        if kind not in ("0", "1"):
            raise ValidationError({"is_workday": N_("Choose working day or holiday.")})
        note = (request.form.get("note") or "").strip()[:200] or None
        set_calendar_override(db_session(), day, kind == "1", actor=actor, note=note)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("%(day)s saved.", day=day.isoformat()), "success")
    return _back("staff.admin_calendar")


@bp.post("/admin/calendar/remove")
def admin_calendar_remove() -> Any:
    actor = require_action("manage_calendar")
    try:
        day = _date_from_form()
        remove_calendar_override(db_session(), day, actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(
            gettext("%(day)s follows the official calendar again.", day=day.isoformat()), "success"
        )
    return _back("staff.admin_calendar")


@bp.get("/admin/canned")
def admin_canned() -> Any:
    require_action("manage_knowledge")
    replies = canned.list_canned_replies(db_session(), include_inactive=True)
    return render_template("staff/admin/canned.html", replies=replies, scopes=canned.SCOPE_LABELS)


@bp.post("/admin/canned")
@bp.post("/admin/canned/<int:reply_id>")
def admin_canned_save(reply_id: int | None = None) -> Any:
    actor = require_action("manage_knowledge")
    form = request.form
    try:
        if reply_id is None:
            canned.create_canned_reply(
                db_session(),
                scope=form.get("scope", ""),
                title=form.get("title", ""),
                body=form.get("body", ""),
                actor=actor,
            )
        else:
            canned.update_canned_reply(
                db_session(),
                reply_id,
                scope=form.get("scope", ""),
                title=form.get("title", ""),
                body=form.get("body", ""),
                active=form.get("active", "1") == "1",
                actor=actor,
            )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Canned reply saved."), "success")
    return _back("staff.admin_canned")
