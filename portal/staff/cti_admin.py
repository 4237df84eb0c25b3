"""Administration of the switchboard (CTI): its signing keys (created, shown once, revoked)
and the agent codes (工号) that map switchboard agents to console users. Admins only."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from calls.keys import HEADERS, NewKey, create_key, list_keys, revoke_key
from calls.models import CtiKey
from calls.service import set_agent_code
from core.errors import DomainError, NotFound
from core.i18n import N_
from core.web import db_session
from directory.models import ROLE_LABELS, Role, StaffUser
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import flash_domain_error
from portal.staff.nav import register_nav

register_nav("staff.admin_cti", N_("Switchboard"), "manage_staff", order=65)

# who takes calls: the roles whose agent code is worth setting (others may still get one)
AGENT_ROLES = (Role.OPERATOR, Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN)


def _page(new_key: NewKey | None = None, status: int = 200) -> Any:
    session = db_session()
    users = session.scalars(
        select(StaffUser)
        .where(StaffUser.role.in_([r.value for r in AGENT_ROLES]))
        .order_by(StaffUser.agent_code.is_(None), StaffUser.agent_code, StaffUser.username)
    ).all()
    body = render_template(
        "staff/admin/cti.html",
        keys=list_keys(session),
        users=users,
        role_labels=ROLE_LABELS,
        new_key=new_key,
        headers=HEADERS,
        events_url=url_for("api.cti_events", _external=True),
    )
    response = current_app.make_response((body, status))
    if new_key is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret is on this page only
    return response


@bp.get("/admin/cti")
def admin_cti() -> Any:
    require_action("manage_staff")
    return _page()


@bp.post("/admin/cti/keys")
def admin_cti_key_create() -> Any:
    actor = require_action("manage_staff")
    try:
        new_key = create_key(
            db_session(),
            request.form.get("name", ""),
            pepper=current_app.config["SECRET_KEY"],
            actor=actor,
        )
    except DomainError as error:
        flash_domain_error(error)
        return redirect(url_for("staff.admin_cti"), code=303)
    # shown in this answer only: no redirect, so the secret never sits in a session cookie
    return _page(new_key)


@bp.post("/admin/cti/keys/<int:key_id>/revoke")
def admin_cti_key_revoke(key_id: int) -> Any:
    actor = require_action("manage_staff")
    key = db_session().get(CtiKey, key_id)
    if key is None:
        raise NotFound(N_("No such switchboard key."))
    revoke_key(db_session(), key, actor=actor)
    flash(gettext("Key %(key)s revoked.", key=key.key_id), "success")
    return redirect(url_for("staff.admin_cti"), code=303)


@bp.post("/admin/cti/agents/<int:user_id>")
def admin_cti_agent(user_id: int) -> Any:
    actor = require_action("manage_staff")
    user = db_session().get(StaffUser, user_id)
    if user is None:
        raise NotFound(N_("No such account."))
    try:
        set_agent_code(db_session(), user, request.form.get("agent_code", ""), actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Agent code of %(username)s saved.", username=user.username), "success")
    return redirect(url_for("staff.admin_cti"), code=303)
