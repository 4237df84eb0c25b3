"""``/wechat/oauth/start`` and ``/wechat/oauth/callback``: 网页授权 (``snsapi_base``) for the
portal's pages opened inside WeChat (``wechat.oauth``).

``start?next=/my`` sends the browser to WeChat; the callback checks the state, exchanges the code
for the openid, keeps it in the signed session (``session["wechat_openid"]``, which the citizen
pages read) and goes on to ``next``, a local path only. Off (404) unless the AppID and AppSecret
are configured. A bad state or code gets a polite translated page (400) and stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext

from wechat import oauth
from wechat.client import WeChatError

log = logging.getLogger(__name__)

bp = Blueprint("wechat_web", __name__)

# Read by the citizen pages (portal/citizen/views.py) to know the visitor; the adapters do not
# import each other, so both spell the key.
SESSION_OPENID = "wechat_openid"
SESSION_PENDING = "wechat_oauth"


def _refused(message: str) -> Any:
    return make_response(render_template("error.html", status=400, message=message), 400)


def _require_configured() -> None:
    if not oauth.configured(current_app.config):
        abort(404)


@bp.get("/start")
def start() -> Any:
    _require_configured()
    target = request.args.get("next") or "/"
    if not oauth.local_path(target):
        log.warning("WeChat sign-in refused: next is not a local path")
        return _refused(gettext("This link cannot be opened."))
    config = current_app.config
    state, pending = oauth.new_state(str(config["SECRET_KEY"]), target)
    session[SESSION_PENDING] = pending.as_session()
    return redirect(oauth.authorize_url(config, oauth.callback_uri(config), state))


@bp.get("/callback")
def callback() -> Any:
    _require_configured()
    config = current_app.config
    pending = oauth.Pending.from_session(session.pop(SESSION_PENDING, None))
    try:
        oauth.check_state(str(config["SECRET_KEY"]), request.args.get("state"), pending)
    except oauth.StateError as error:
        log.warning("WeChat sign-in refused: %s", error)
        return _refused(
            gettext(
                "This sign-in link has expired or has already been used. Please open the page "
                "again from the official account's menu."
            )
        )
    assert pending is not None  # check_state refuses a missing one
    code = request.args.get("code")
    if not oauth.valid_code(code):
        return _refused(_not_confirmed())
    try:
        openid = oauth.exchange_code(config, str(code))
    except WeChatError as error:
        log.warning("WeChat sign-in refused by WeChat: %s", error)
        return _refused(_not_confirmed())
    session[SESSION_OPENID] = openid
    return redirect(pending.next)


def _not_confirmed() -> str:
    return gettext(
        "WeChat could not confirm who you are. Please open the page again from the official "
        "account's menu."
    )
