"""Sign-in and the one gate in front of the whole /staff area."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from core import clock
from core.errors import DomainError
from core.web import db_session, limiter
from directory.models import StaffUser
from directory.staff import authenticate
from portal.staff.blueprint import bp
from portal.staff.nav import nav_for
from tickets.access import require
from tickets.models import Ticket

OPEN_ENDPOINTS = {"staff.login", "staff.static"}


def current_staff() -> StaffUser:
    """The signed-in staff member (the gate guarantees one inside /staff)."""
    user: StaffUser = g.staff
    return user


def require_action(action: str, ticket: Ticket | None = None) -> StaffUser:
    user = current_staff()
    require(user, action, ticket)
    return user


# endpoint prefix → the action every screen of that area needs; checked by the one gate below,
# after sign-in, whatever order the area modules were imported in (see :func:`guard_area`).
AREA_ACTIONS: dict[str, str] = {}


def guard_area(endpoint_prefix: str, action: str) -> None:
    """Every endpoint starting with ``endpoint_prefix`` requires ``action``."""
    AREA_ACTIONS[endpoint_prefix] = action


@bp.before_request
def gate() -> Any:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    staff_id = session.get("staff_id")
    last_seen = session.get("staff_seen")
    now = clock.now().timestamp()
    lifetime = int(current_app.config["SESSION_LIFETIME_MINUTES"]) * 60
    user = db_session().get(StaffUser, staff_id) if staff_id else None
    if user is None or not user.active or last_seen is None or now - float(last_seen) > lifetime:
        session.pop("staff_id", None)
        if request.path.startswith("/staff/api/"):
            return {"error": gettext("Please sign in again.")}, 401
        return redirect(url_for("staff.login", next=request.full_path))
    session["staff_seen"] = now
    g.staff = user
    endpoint = request.endpoint or ""
    for prefix, action in AREA_ACTIONS.items():
        if endpoint.startswith(prefix):
            require(user, action)
    return None


@bp.app_context_processor
def _staff_context() -> dict[str, Any]:
    user = g.get("staff")
    return {"staff_user": user, "staff_nav": nav_for(user) if user else []}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login() -> Any:
    error = None
    username = request.form.get("username", "")
    if request.method == "POST":
        try:
            user = authenticate(db_session(), username, request.form.get("password", ""))
        except DomainError as failure:
            g.commit_on_error = True  # keep the failed-login count
            error = gettext(failure.message)
            return render_template("staff/login.html", error=error, username=username), 401
        session.clear()
        session.permanent = True
        session["staff_id"] = user.id
        session["staff_seen"] = clock.now().timestamp()
        target = request.args.get("next") or ""
        if not target.startswith("/staff") or target.startswith("//"):
            target = url_for("staff.home")
        return redirect(target)
    return render_template("staff/login.html", error=error, username=username)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("staff.login"))


@bp.get("/")
def home() -> Any:
    """Each role lands on its own first screen."""
    for entry in nav_for(current_staff()):
        return redirect(url_for(entry.endpoint))
    return render_template("staff/home.html")
