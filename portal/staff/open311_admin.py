"""Administration of the Open311 API keys (``/staff/admin/open311``): create one (shown once),
see when each was last used, revoke. Admins only. The keys are ``directory.api_keys``."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from core.errors import DomainError, NotFound
from core.i18n import N_
from core.web import db_session
from directory.api_keys import ApiKey, NewApiKey, create_api_key, list_api_keys, revoke_api_key
from portal.staff.auth import require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import flash_domain_error
from portal.staff.nav import register_nav

register_nav("staff.admin_open311", N_("Open311 keys"), "manage_staff", order=66)


def _page(new_key: NewApiKey | None = None) -> Any:
    body = render_template(
        "staff/admin/open311_keys.html",
        keys=list_api_keys(db_session()),
        new_key=new_key,
        default_limit=current_app.config.get("OPEN311_RATELIMIT_KEY"),
        endpoint_url=str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + "/open311/v2/",
    )
    response = current_app.make_response(body)
    if new_key is not None:
        response.headers["Cache-Control"] = "no-store"  # the key is on this page only
    return response


@bp.get("/admin/open311")
def admin_open311() -> Any:
    require_action("manage_staff")
    return _page()


@bp.post("/admin/open311/keys")
def admin_open311_key_create() -> Any:
    actor = require_action("manage_staff")
    try:
        new_key = create_api_key(
            db_session(),
            request.form.get("name", ""),
            rate_limit=request.form.get("rate_limit", ""),
            actor=actor,
        )
    except DomainError as error:
        flash_domain_error(error)
        return redirect(url_for("staff.admin_open311"), code=303)
    # shown in this answer only: no redirect, so the key never sits in a session cookie
    return _page(new_key)


@bp.post("/admin/open311/keys/<int:key_id>/revoke")
def admin_open311_key_revoke(key_id: int) -> Any:
    actor = require_action("manage_staff")
    key = db_session().get(ApiKey, key_id)
    if key is None:
        raise NotFound(N_("No such API key."))
    revoke_api_key(db_session(), key, actor=actor)
    flash(gettext("Key %(name)s revoked.", name=key.name), "success")
    return redirect(url_for("staff.admin_open311"), code=303)
