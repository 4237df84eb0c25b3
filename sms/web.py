"""The SMS adapter's web routes.

- ``GET /s/<code>``: the short survey link of an SMS (:mod:`sms.links`) redirects to the ticket's
  web survey (``/survey/<signed token>``). A malformed, forged or unknown code gets a translated
  404 page, an expired one a translated 410; nothing is written.
- ``POST /sms/replies/<token>``: Tencent Cloud's reply callback (回复短信, :mod:`sms.replies`).
  Tencent signs nothing, so the URL carries a secret (``SMS_REPLY_TOKEN``, compared in constant
  time) and, when ``SMS_REPLY_ALLOWED_IPS`` lists networks, the request must come from one of
  them. Off (404) while no token is configured; a wrong token or source is a 403, a body that is
  not the callback's JSON a 400 (or 413 when too large), and none of them changes anything. An
  accepted reply is answered ``{"result": 0, "errmsg": "OK"}``, as Tencent expects, whatever it
  did (a duplicate is answered the same way and does nothing).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, request, url_for

from core import clock
from core.errors import DomainError
from core.i18n import N_
from core.inputs import BadInput, check_text
from core.web import db_session, limiter
from sms.links import code_matches, expired, survey_id_of
from sms.replies import BadReply, handle_reply, parse_reply
from tickets.models import Survey
from tickets.survey_links import make_survey_token

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)

MAX_BODY = 16 * 1024


class ShortLinkInvalid(DomainError):
    http_status = 404


class ShortLinkExpired(DomainError):
    http_status = 410


@bp.get("/s/<code>")
def survey_link(code: str) -> Any:
    survey_id = survey_id_of(code)
    survey = db_session().get(Survey, survey_id) if survey_id is not None else None
    secret = str(current_app.config["SECRET_KEY"])
    if survey is None or not code_matches(secret, code, survey.id, survey.ticket.number):
        raise ShortLinkInvalid(
            N_("This link is not valid. Please check that it was copied completely from the SMS.")
        )
    if expired(survey.sent_at, clock.now()):
        raise ShortLinkExpired(
            N_(
                "This survey link has expired. Please call %(phone)s to tell us whether you are "
                "satisfied."
            ),
            phone=str(current_app.config.get("HOTLINE_PHONE") or "12345"),
        )
    token = make_survey_token(secret, survey.ticket.number, survey.id)
    return redirect(url_for("citizen.survey", token=token), code=302)


def _answer(status: int, result: int, message: str) -> Any:
    response = jsonify({"result": result, "errmsg": message})
    response.status_code = status
    return response


def _source_allowed(allowed: Any) -> bool:
    raw = allowed.split(",") if isinstance(allowed, str) else list(allowed or ())
    entries = [str(entry).strip() for entry in raw if str(entry).strip()]
    if not entries:  # no allowlist: the token alone decides
        return True
    try:
        networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        log.error("SMS reply refused: SMS_REPLY_ALLOWED_IPS or the remote address is not valid")
        return False
    return any(address in network for network in networks)


@bp.post("/sms/replies/<token>")
@limiter.exempt
def replies(token: str) -> Any:
    config = current_app.config
    expected = str(config.get("SMS_REPLY_TOKEN") or "")
    if not expected:
        abort(404)
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode("utf-8")):
        log.warning("SMS reply refused: wrong token")
        return _answer(403, 403, "forbidden")
    if not _source_allowed(config.get("SMS_REPLY_ALLOWED_IPS")):
        log.warning("SMS reply refused: %s is not an allowed source", request.remote_addr)
        return _answer(403, 403, "forbidden")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, 413, "body too large")
    raw = request.get_data(cache=True)  # the input policy may have read it already
    if len(raw) > MAX_BODY:
        return _answer(413, 413, "body too large")
    try:
        payload = json.loads(raw.decode("utf-8"))
        check_text(payload)  # whatever the Content-Type said, no NUL or lone surrogate
        reply = parse_reply(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _answer(400, 400, "the body is not JSON")
    except (BadReply, BadInput) as error:
        return _answer(400, 400, error.translated("en"))
    outcome, number = handle_reply(db_session(), reply)
    log.info("SMS reply from %s…: %s %s", reply.user[:3], outcome.value, number or "")
    return _answer(200, 0, "OK")
