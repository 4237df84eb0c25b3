"""Quality inspection (工单质检): the week's sample, the checklist, the inspection rate."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from core.errors import DomainError
from core.i18n import N_
from core.web import db_session
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import flash_domain_error
from portal.staff.nav import register_nav
from tickets import quality
from tickets.calendar import local_today

register_nav("staff.quality", N_("Quality inspection"), "inspect_quality", order=50)


def _week(raw: str | None) -> dt.date:
    """The week asked for, or the last complete week."""
    try:
        return quality.week_start_of(dt.date.fromisoformat(raw or ""))
    except ValueError:
        return quality.week_start_of(local_today(db_session())) - dt.timedelta(days=7)


@bp.get("/quality")
def quality_page() -> Any:
    require_action("inspect_quality")
    session = db_session()
    week = _week(request.args.get("week"))
    return render_template(
        "staff/quality.html",
        week=week,
        previous_week=week - dt.timedelta(days=7),
        next_week=week + dt.timedelta(days=7),
        summary=quality.quality_summary(session, week),
        inspections=quality.list_inspections(session, week),
        share_percent=round(quality.get_sample_share(session) * 100, 2),
        checklist=quality.CHECKLIST_LABELS,
    )


def _back(week: dt.date) -> Any:
    return redirect(url_for("staff.quality_page", week=week.isoformat()), code=303)


@bp.post("/quality/share")
def quality_share() -> Any:
    actor = require_action("inspect_quality")
    week = _week(request.form.get("week"))
    raw = (request.form.get("share") or "").strip()
    try:
        percent = float(raw) if raw else None
    except ValueError:
        percent = None
    try:
        quality.set_sample_share(db_session(), percent, actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("The sample share was saved."), "success")
    return _back(week)


@bp.post("/quality/sample")
def quality_sample() -> Any:
    actor = require_action("inspect_quality")
    week = _week(request.form.get("week"))
    try:
        created = quality.sample_week(db_session(), week, actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("%(count)s departments sampled.", count=len(created)), "success")
    return _back(week)


@bp.post("/quality/<int:inspection_id>/score")
def quality_score(inspection_id: int) -> Any:
    actor = require_action("inspect_quality")
    week = _week(request.form.get("week"))
    checks = {item: request.form.get(item) == "1" for item in quality.CHECKLIST}
    try:
        inspection = quality.score_inspection(
            db_session(),
            inspection_id,
            checks=checks,
            comment=request.form.get("comment"),
            actor=actor,
        )
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("Scored %(score)s.", score=inspection.score), "success")
    return _back(week)
