"""``/open311/v2/``: the GeoReport v2 endpoints, each as ``.json`` and ``.xml``.

- ``discovery``, ``services``, ``services/<code>``: the categories as services, the kind as the
  definition's attribute.
- ``POST requests``: form-encoded, ``api_key`` required; the ticket enters the same queue as any
  other, channel ``open311``. A repeat is the same request: with an ``Idempotency-Key`` header,
  the key (per API key, for good; the same key with another form is refused); without one, the
  same form from the same API key within 24 hours.
- ``tokens/<token>``: the token is the ``Idempotency-Key`` a client sent; it finds the request
  that POST created (a client that lost the answer need not post again).
- ``GET requests`` (filters; by default the last 90 days, at most 1,000, newest first) and
  ``requests/<id>``.

Errors are the spec's (``[{"code", "description"}]`` / ``<errors>``): 403 for a missing (POST)
or wrong ``api_key``, 404 for an unknown service, request, token or address, 429 over a rate
limit, 400 for anything else. Requests with a key are limited per key (its own limit, else
``OPEN311_RATELIMIT_KEY``), requests without one per IP (``OPEN311_RATELIMIT_READ``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, request
from flask_babel import gettext
from sqlalchemy import ColumnElement, or_, select
from werkzeug.exceptions import HTTPException

from core import clock
from core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from core.i18n import N_
from core.inputs import BadInput
from core.web import current_locale, db_session, limiter
from directory.api_keys import ApiKey, authenticate_api_key
from directory.citizens import submitting_citizen
from directory.models import Category
from open311 import mapping
from open311.channel import CHANNEL
from open311.formats import render, render_errors
from open311.intake import error_descriptions, read_filing
from open311.models import Open311Request
from tickets.access import CitizenActor
from tickets.calendar import local_today
from tickets.models import Ticket
from tickets.workflow import normalize_phone, submit_ticket

log = logging.getLogger(__name__)

bp = Blueprint("open311", __name__)

FMT = "<any(json, xml):fmt>"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+08:00"  # when this interface last changed
WINDOW = dt.timedelta(days=90)
LIMIT = 1000
MAX_TOKEN = 150
MAX_LIST = 1000
REPEAT_WINDOW = dt.timedelta(hours=24)
_W3 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2}))?"
)


# -- the API key and the rate limits --------------------------------------------------------------


def current_key() -> ApiKey | None:
    """The active key the request carries (``api_key``), once per request; None without one or
    with a wrong one (:func:`_gate` refuses the latter)."""
    if "open311_key_given" not in g:
        raw = request.values.get("api_key", "")
        g.open311_key_given = bool(raw.strip())
        g.open311_key = authenticate_api_key(db_session(), raw) if g.open311_key_given else None
    key: ApiKey | None = g.open311_key
    return key


def _key_limit() -> str:
    key = current_key()
    if key is not None and key.rate_limit:
        return key.rate_limit
    return str(current_app.config.get("OPEN311_RATELIMIT_KEY") or "60 per minute")


def _key_scope() -> str:
    key = current_key()
    return f"open311-key:{key.id if key is not None else 0}"


def _read_limit() -> str:
    return str(current_app.config.get("OPEN311_RATELIMIT_READ") or "120 per minute")


def limited(view: Any) -> Any:
    """Per key when the request carries one, else per IP."""
    view = limiter.shared_limit(
        _key_limit,
        "open311-key",
        key_func=_key_scope,
        exempt_when=lambda: current_key() is None,
        methods=["GET", "POST"],
    )(view)
    view = limiter.shared_limit(
        _read_limit,
        "open311-read",
        exempt_when=lambda: current_key() is not None,
        methods=["GET", "POST"],
    )(view)
    return view


# -- errors in the spec's form ---------------------------------------------------------------------


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in ("json", "xml"):
        return str(fmt)
    return "json" if request.path.endswith(".json") else "xml"


@bp.errorhandler(ValidationError)
def _invalid(error: ValidationError) -> Any:
    return render_errors(_fmt(), 400, *error_descriptions(error, gettext))


@bp.errorhandler(DomainError)
def _refused(error: DomainError) -> Any:
    status = error.http_status if error.http_status in (403, 404) else 400
    return render_errors(_fmt(), status, error.translated(current_locale()))


@bp.errorhandler(HTTPException)
def _http(error: HTTPException) -> Any:
    messages = {
        404: gettext("There is no such resource."),
        405: gettext("This resource does not accept that method."),
        413: gettext("The request is too large."),
        429: gettext("Too many requests. Please wait a moment and try again."),
    }
    status = error.code if error.code in messages else 400
    return render_errors(_fmt(), status, messages.get(status, gettext("The request is invalid.")))


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Any:
    log.exception("unhandled error on %s", request.path)
    if current_app.config.get("TESTING") and current_app.config.get("PROPAGATE_UNEXPECTED", True):
        raise error
    return render_errors(
        _fmt(), 500, gettext("Something went wrong on our side. Please try again.")
    )


@bp.before_request
def _gate() -> None:
    served = str(current_app.config.get("OPEN311_JURISDICTION_ID") or "")
    asked = request.values.get("jurisdiction_id", "").strip()
    if served and asked and asked != served:
        raise NotFound(N_("jurisdiction_id %(id)s was not found."), id=asked[:100])
    if current_key() is None and g.open311_key_given:
        raise PermissionDenied(N_("Invalid api_key: it is unknown or was revoked."))


# -- discovery and services ------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(str(current_app.config["TIMEZONE"]))


def _base_url() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + "/open311/v2"


@bp.get(f"/discovery.{FMT}")
@limited
def discovery(fmt: str) -> Any:
    locale = current_locale()
    name = current_app.config["HOTLINE_NAME" if locale.startswith("zh") else "HOTLINE_NAME_EN"]
    body = {
        "changeset": CHANGESET,
        "contact": gettext(
            "%(name)s, telephone %(phone)s", name=name, phone=current_app.config["HOTLINE_PHONE"]
        ),
        "key_service": gettext(
            "API keys for posting requests are issued by the hotline's administrators."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(fmt, "discovery", body)


@bp.get(f"/services.{FMT}")
@limited
def services(fmt: str) -> Any:
    return render(fmt, "services", mapping.services(db_session(), current_locale()))


@bp.get(f"/services/<code>.{FMT}")
@limited
def service_definition(code: str, fmt: str) -> Any:
    category = mapping.find_service(db_session(), code[:40])
    if category is None:
        raise NotFound(N_("service_code %(code)s was not found."), code=code[:40])
    return render(fmt, "service_definition", mapping.definition(category))


# -- POST requests ---------------------------------------------------------------------------------


def _answer(fmt: str, ticket: Ticket, status: int) -> Any:
    body = [
        {
            "service_request_id": ticket.number,
            "service_notice": mapping.service_notice(ticket.kind),
            "account_id": None,
        }
    ]
    return render(fmt, "service_requests", body, status)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _earlier(key: ApiKey, token: str | None, fingerprint: str, today: dt.date) -> list[str]:
    """The ticket idempotency keys a repeat of this POST would carry, this one first."""
    if token:
        return [f"open311:{key.id}:t:{_digest(token)}"]
    yesterday = today - dt.timedelta(days=1)
    return [
        f"open311:{key.id}:f:{fingerprint[:40]}:{day.isoformat()}" for day in (today, yesterday)
    ]


def _repeat(filed: Open311Request, fingerprint: str, token: str | None) -> bool:
    """Whether an earlier filing is this one again; a token reused for another form is refused."""
    if token and filed.fingerprint != fingerprint:
        raise ValidationError(
            {"Idempotency-Key": N_("This Idempotency-Key was already used for another request.")}
        )
    return bool(token) or clock.now() - filed.created_at <= REPEAT_WINDOW


@bp.post(f"/requests.{FMT}")
@limited
def post_request(fmt: str) -> Any:
    key = current_key()
    if key is None:
        raise PermissionDenied(N_("api_key is required to post a service request."))
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise BadInput(N_("Send the request form-encoded (application/x-www-form-urlencoded)."))
    token = (request.headers.get("Idempotency-Key") or "").strip() or None
    if token is not None and len(token) > MAX_TOKEN:
        raise BadInput(N_("The Idempotency-Key header is too long."))
    session = db_session()
    if not request.form.get("service_code", "").strip():
        raise ValidationError({"service_code": N_("service_code is required.")})
    if mapping.find_service(session, request.form["service_code"].strip()[:40]) is None:
        raise NotFound(
            N_("service_code %(code)s was not found."), code=request.form["service_code"][:40]
        )
    filing = read_filing(request.form)
    idempotency = _earlier(key, token, filing.fingerprint, local_today(session))
    for earlier in idempotency:
        filed = session.scalar(
            select(Open311Request)
            .join(Ticket, Ticket.id == Open311Request.ticket_id)
            .where(Ticket.idempotency_key == earlier)
        )
        if filed is not None and _repeat(filed, filing.fingerprint, token):
            return _answer(fmt, filed.ticket, 200)
    draft = filing.draft
    phone = normalize_phone(draft.phone)
    citizen = submitting_citizen(session, CHANNEL, phone=phone, name=draft.contact_name)
    ticket = submit_ticket(
        session,
        draft,
        actor=CitizenActor(citizen.id if citizen else None, CHANNEL),
        channel=CHANNEL,
        citizen=citizen,
        idempotency_key=idempotency[0],
    )
    raced = session.scalar(select(Open311Request).where(Open311Request.ticket_id == ticket.id))
    if raced is not None:  # a concurrent repeat created it first
        return _answer(fmt, ticket, 200)
    session.add(
        Open311Request(
            ticket_id=ticket.id,
            api_key_id=key.id,
            fingerprint=filing.fingerprint,
            token=token,
            media_url=filing.media_url,
            created_at=clock.now(),
        )
    )
    session.flush()
    return _answer(fmt, ticket, 201)


# -- tokens and GET requests -----------------------------------------------------------------------


@bp.get(f"/tokens/<token>.{FMT}")
@limited
def token_lookup(token: str, fmt: str) -> Any:
    key = current_key()
    query = (
        select(Open311Request, Ticket)
        .join(Ticket, Ticket.id == Open311Request.ticket_id)
        .where(Open311Request.token == token[:MAX_TOKEN])
        .order_by(Open311Request.id)
    )
    if key is not None:
        query = query.where(Open311Request.api_key_id == key.id)
    rows = [
        {"service_request_id": ticket.number, "token": filed.token}
        for filed, ticket in db_session().execute(query).all()
        if not ticket.anonymous or (key is not None and filed.api_key_id == key.id)
    ]
    if not rows:
        raise NotFound(N_("token %(token)s was not found."), token=token[:MAX_TOKEN])
    return render(fmt, "service_requests", rows)


def _w3(name: str, *, end: bool) -> dt.datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    text = re.sub(r" ([0-9]{2}:[0-9]{2})$", r"+\1", raw)  # a "+" sent unencoded reads as " "
    if not _W3.fullmatch(text):
        raise BadInput(
            N_("%(name)s must be a w3 datetime such as 2010-01-01T00:00:00Z."), name=name
        )
    try:
        if "T" in text:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=_zone())
    except ValueError:
        raise BadInput(
            N_("%(name)s must be a w3 datetime such as 2010-01-01T00:00:00Z."), name=name
        ) from None
    if not 1970 <= moment.year <= 2999:
        raise BadInput(N_("%(name)s must be between the years 1970 and 2999."), name=name)
    return moment


def _listed(name: str, *, allowed: tuple[str, ...] | None = None) -> list[str]:
    values = [v.strip() for v in request.args.get(name, "").split(",") if v.strip()]
    if len(values) > MAX_LIST:
        raise BadInput(N_("%(name)s may list at most 1,000 values."), name=name)
    if allowed is not None:
        for value in values:
            if value not in allowed:
                raise BadInput(
                    N_("%(name)s must be one of: %(allowed)s."),
                    name=name,
                    allowed=", ".join(allowed),
                )
    return values


def _window() -> tuple[dt.datetime, dt.datetime]:
    start, end = _w3("start_date", end=False), _w3("end_date", end=True)
    if start is None and end is None:
        end = clock.now()
    if start is None:
        assert end is not None
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start:
        raise BadInput(N_("end_date must not be before start_date."))
    if end - start > WINDOW:
        raise BadInput(N_("start_date and end_date may not span more than 90 days."))
    return start, end


@bp.get(f"/requests.{FMT}")
@limited
def list_requests(fmt: str) -> Any:
    numbers = [n[:20] for n in _listed("service_request_id")]
    query = mapping.listed().where(Ticket.anonymous.is_(False))
    if numbers:  # overrides every other argument
        query = query.where(Ticket.number.in_(numbers))
    else:
        statuses = set(_listed("status", allowed=("open", "closed")))
        codes = [c[:40] for c in _listed("service_code")]
        start, end = _window()
        query = query.where(Ticket.created_at >= start, Ticket.created_at <= end)
        if statuses == {"open"}:
            query = query.where(Ticket.stage != "closed")
        elif statuses == {"closed"}:
            query = query.where(Ticket.stage == "closed")
        if codes:
            condition: ColumnElement[bool] = Category.code.in_(codes)
            if mapping.OTHER in codes:
                condition = or_(condition, Ticket.category_id.is_(None))
            query = query.where(condition)
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(LIMIT)
    rows = db_session().execute(query)
    body = mapping.service_requests(rows, locale=current_locale(), zone=_zone())
    return render(fmt, "service_requests", body)


@bp.get(f"/requests/<number>.{FMT}")
@limited
def get_request(number: str, fmt: str) -> Any:
    query = mapping.listed().where(Ticket.number == number[:20], Ticket.anonymous.is_(False))
    row = db_session().execute(query).first()
    if row is None:
        raise NotFound(N_("service_request_id %(id)s was not found."), id=number[:20])
    body = mapping.service_requests([row], locale=current_locale(), zone=_zone())
    return render(fmt, "service_requests", body)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Any:
    """Anything else under /open311/v2/: the spec's 404 (405 for a known resource)."""
    adapter = current_app.url_map.bind("")
    for method in ("GET", "POST"):
        if method == request.method:
            continue
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            return render_errors(_fmt(), 405, gettext("This resource does not accept that method."))
    return render_errors(_fmt(), 404, gettext("There is no such resource."))
