"""Citizen pages: home and search, submit, confirmation, track, survey and FAQ browsing.

Everything works without JavaScript (plain forms, redirect after post); ``static/citizen.js`` only
adds live FAQ answers while typing and the "use my location" button.

Who submits is decided by ``directory.citizens.submitting_citizen`` (a mobile number, else this
browser's visitor id kept in the signed session cookie).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from core.errors import ValidationError
from core.i18n import N_
from core.inputs import parse_int
from core.web import current_locale, db_session
from delivery.inbox import web_inbox
from delivery.render import RenderSettings
from directory.citizens import submitting_citizen
from directory.models import Category
from portal.citizen import knowledge_bridge as kb
from portal.citizen.blueprint import bp
from portal.citizen.limits import mark_track_failure, search_limit, submit_limit, track_limits
from tickets import attachments, public
from tickets.access import CitizenActor
from tickets.models import (
    KIND_LABELS,
    SATISFACTION_LABELS,
    Kind,
    Satisfaction,
    Stage,
    Survey,
    Ticket,
)
from tickets.sla import TOTAL_DAYS
from tickets.survey_links import SurveyLinkError, make_survey_token, read_survey_token
from tickets.workflow import (
    TicketDraft,
    answer_survey,
    current_survey,
    get_ticket_by_number,
    normalize_phone,
    submit_ticket,
    survey_is_open,
)

KIND_HINTS = {
    Kind.CONSULTATION: N_("Ask how something works: a policy, a procedure, where to go."),
    Kind.COMPLAINT: N_("Something went wrong and you want it put right."),
    Kind.SUGGESTION: N_("An idea to make a public service better."),
    Kind.PRAISE: N_("Thank a department or a civil servant for good work."),
    Kind.REPORT: N_("Report a violation of the law; you may stay anonymous."),
}
FAQ_PAGE_SIZE = 20
MAX_PAGE = 10_000  # deeper pages of one category are not browsed; a larger number is a 400
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
SESSION_TICKETS = "tracked_tickets"
# The openid WeChat's 网页授权 proved for this browser (kept by wechat/web.py after
# /wechat/oauth/callback): the citizen's own tickets open without their query code.
SESSION_WECHAT_OPENID = "wechat_openid"
WECHAT_CHANNEL = "wechat"
KEPT_SALT = "hotline.kept-uploads.v1"


# -- helpers --------------------------------------------------------------------------------------


def _remember_ticket(number: str) -> None:
    """The numbers this browser has proven it may read (after a lookup or its own submission)."""
    numbers = [n for n in session.get(SESSION_TICKETS, []) if n != number]
    session[SESSION_TICKETS] = [*numbers[-9:], number]


def _may_read(number: str) -> bool:
    return number in session.get(SESSION_TICKETS, [])


def _wechat_openid() -> str | None:
    value = session.get(SESSION_WECHAT_OPENID)
    return value if isinstance(value, str) and value else None


def _owns(ticket: Ticket) -> bool:
    """This browser's WeChat citizen submitted the ticket (``tickets.public.identity_owns``)."""
    openid = _wechat_openid()
    return openid is not None and public.identity_owns(db_session(), ticket, WECHAT_CHANNEL, openid)


def _wechat_sign_in_available() -> bool:
    config = current_app.config
    return bool(config.get("WECHAT_APP_ID") and config.get("WECHAT_APP_SECRET"))


def _kinds() -> list[dict[str, Any]]:
    return [
        {
            "value": kind.value,
            "label": KIND_LABELS[kind],
            "hint": KIND_HINTS[kind],
            "days": TOTAL_DAYS[kind.value],
        }
        for kind in Kind
    ]


def _categories() -> list[Category]:
    return list(
        db_session().scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.id)
        )
    )


def category_label(category: Category | None) -> str:
    if category is None:
        return ""
    if not current_locale().startswith("zh") and category.name_en:
        return category.name_en
    return category.name


def _kept_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=KEPT_SALT)


def _load_kept(raw: str | None) -> list[attachments.StoredFile]:
    """Files stored on an earlier try of the form (a signed list, so it cannot name other files)."""
    if not raw:
        return []
    try:
        rows = _kept_serializer().loads(raw)
    except BadSignature:
        return []
    kept = []
    for row in rows[: attachments.MAX_FILES]:
        kept.append(attachments.StoredFile(**row))
    return kept


def _dump_kept(files: list[attachments.StoredFile]) -> str:
    if not files:
        return ""
    return str(_kept_serializer().dumps([f.__dict__ for f in files]))


def _translated_errors(error: ValidationError) -> dict[str, str]:
    params = getattr(error, "field_params", {})
    return {
        field: gettext(message, **params.get(field, {})) for field, message in error.fields.items()
    }


def _visitor_id() -> str:
    """A random id kept in the signed session cookie: this browser, for a citizen without a
    phone number (``directory.citizens.submitting_citizen``)."""
    web_id = session.get("web_id")
    if not isinstance(web_id, str) or not TOKEN_RE.match(web_id):
        web_id = secrets.token_hex(16)
        session["web_id"] = web_id
    return web_id


def _float_or_none(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return float("nan")  # refused by the draft's range check


# -- home, search, FAQ ----------------------------------------------------------------------------


@bp.get("/")
def home() -> str:
    return render_template(
        "citizen/home.html",
        top=kb.top_faqs(db_session(), limit=8),
        kinds=_kinds(),
        chat_url=_chat_url(),
        wechat_name=current_app.config.get("WECHAT_ACCOUNT_NAME"),
        wechat_qr=current_app.config.get("WECHAT_QR_URL"),
        telegram_bot=current_app.config.get("TELEGRAM_BOT_USERNAME"),
    )


def _chat_url() -> str | None:
    for rule in current_app.url_map.iter_rules():
        gettable = "GET" in (rule.methods or ())
        if rule.endpoint.startswith("webchat.") and gettable and not rule.arguments:
            return url_for(rule.endpoint)
    return None


@bp.get("/search")
@search_limit
def search() -> str:
    query = (request.args.get("q") or "").strip()[:200]
    result = kb.search(db_session(), query, limit=5) if query else None
    return render_template(
        "citizen/search.html",
        query=query,
        result=result,
        hits=kb.hits(result),
        answered=bool(result is not None and getattr(result, "answered", False)),
    )


@bp.get("/faq")
def faq_index() -> str:
    return render_template(
        "citizen/faq_index.html",
        categories=kb.categories(db_session()),
        top=kb.top_faqs(db_session(), limit=10),
    )


@bp.get("/faq/c/<path:category>")
def faq_category(category: str) -> str:
    page = parse_int(request.args.get("page"), default=1, minimum=1, maximum=MAX_PAGE, name="page")
    rows = kb.faqs(
        db_session(),
        category=category,
        offset=(page - 1) * FAQ_PAGE_SIZE,
        limit=FAQ_PAGE_SIZE + 1,
    )
    if not rows and page == 1:
        abort(404)
    return render_template(
        "citizen/faq_category.html",
        category=category,
        faqs=rows[:FAQ_PAGE_SIZE],
        page=page,
        has_next=len(rows) > FAQ_PAGE_SIZE,
    )


@bp.get("/faq/<int:faq_id>")
def faq_detail(faq_id: int) -> str:
    item = kb.faq(db_session(), faq_id)
    if item is None or not getattr(item, "active", True):
        abort(404)
    return render_template("citizen/faq_detail.html", faq=item)


# -- submit ---------------------------------------------------------------------------------------


def _render_submit(
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    kept: list[attachments.StoredFile] | None = None,
    faq_hits: list[Any] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return (
        render_template(
            "citizen/submit.html",
            values=values,
            errors=errors or {},
            kinds=_kinds(),
            categories=_categories(),
            category_label=category_label,
            kept=kept or [],
            kept_token=_dump_kept(kept or []),
            faq_hits=faq_hits or [],
            max_files=attachments.MAX_FILES,
        ),
        status,
    )


@bp.get("/submit")
def submit_form() -> tuple[str, int]:
    kind = request.args.get("kind", "")
    return _render_submit(
        {
            "kind": kind if kind in {k.value for k in Kind} else "",
            "form_token": secrets.token_hex(16),
        }
    )


@bp.post("/submit")
@submit_limit
def submit() -> Any:
    form = request.form
    values: dict[str, Any] = {
        key: (form.get(key) or "").strip()
        for key in (
            "kind",
            "category",
            "title",
            "description",
            "address",
            "latitude",
            "longitude",
            "contact_name",
            "phone",
            "form_token",
        )
    }
    values["anonymous"] = form.get("anonymous") == "1"
    if not TOKEN_RE.match(values["form_token"]):
        values["form_token"] = secrets.token_hex(16)
    draft = TicketDraft(
        kind=values["kind"],
        description=values["description"],
        title=values["title"] or None,
        address=values["address"] or None,
        contact_name=values["contact_name"] or None,
        phone=values["phone"] or None,
        anonymous=values["anonymous"],
        category_code=values["category"] or None,
        latitude=_float_or_none(values["latitude"]),
        longitude=_float_or_none(values["longitude"]),
    )
    errors: dict[str, str] = {}
    try:
        draft.validated()
    except ValidationError as error:
        errors.update(_translated_errors(error))

    kept = _load_kept(form.get("kept_files"))
    files = request.files.getlist("attachments")
    uploads = [attachments.Upload(f.filename or "", f.stream) for f in files]
    try:
        kept += attachments.store_uploads(
            uploads, upload_dir=current_app.config["UPLOAD_DIR"], already=len(kept)
        )
    except ValidationError as error:
        errors.update(_translated_errors(error))
    finally:
        for file in files:  # large parts are temporary files: free them now
            file.close()
    if errors:
        return _render_submit(values, errors=errors, kept=kept, status=422)

    if form.get("faq_checked") != "1":
        text = f"{values['title']} {values['description']}"
        hits = kb.hits(kb.search(db_session(), text, log_gap=False))
        if hits:
            return _render_submit(values, kept=kept, faq_hits=hits)

    phone = normalize_phone(values["phone"])
    citizen = submitting_citizen(
        db_session(),
        "web",
        phone=phone,
        name=values["contact_name"] or None,
        visitor_id=None if phone else _visitor_id(),
    )
    actor = CitizenActor(citizen.id if citizen else None, "web")
    try:
        ticket = submit_ticket(
            db_session(),
            draft,
            actor=actor,
            channel="web",
            citizen=citizen,
            idempotency_key=f"web:{values['form_token']}",
        )
        attachments.attach_files(db_session(), ticket, kept, actor=actor)
    except ValidationError as error:
        return _render_submit(values, errors=_translated_errors(error), kept=kept, status=422)
    _remember_ticket(ticket.number)
    return redirect(url_for("citizen.submitted", number=ticket.number), code=303)


@bp.get("/submitted/<number>")
def submitted(number: str) -> Any:
    if not _may_read(number):
        return redirect(url_for("citizen.track_form", number=number))
    ticket = get_ticket_by_number(db_session(), number)
    if ticket is None:
        abort(404)
    return render_template(
        "citizen/submitted.html",
        ticket=ticket,
        kind_label=KIND_LABELS[ticket.kind_enum],
        days=TOTAL_DAYS[ticket.kind],
        wechat_name=current_app.config.get("WECHAT_ACCOUNT_NAME"),
        telegram_bot=current_app.config.get("TELEGRAM_BOT_USERNAME"),
    )


# -- track ----------------------------------------------------------------------------------------


@bp.get("/track")
def track_form() -> str:
    return render_template(
        "citizen/track.html",
        values={"number": public.clean_number(request.args.get("number")), "by": "code"},
        failed=False,
    )


@bp.post("/track")
@track_limits
def track() -> Any:
    form = request.form
    by = "phone" if form.get("by") == "phone" else "code"
    number = public.clean_number(form.get("number"))
    ticket = public.find_ticket_for_citizen(
        db_session(),
        number,
        code=form.get("code") if by == "code" else None,
        phone=form.get("phone") if by == "phone" else None,
    )
    if ticket is None:
        mark_track_failure()
        values = {"number": number, "by": by, "phone": form.get("phone", "")[:20]}
        return render_template("citizen/track.html", values=values, failed=True), 404
    _remember_ticket(ticket.number)
    return redirect(url_for("citizen.ticket", number=ticket.number), code=303)


@bp.get("/my")
def my_tickets() -> Any:
    """我的工单: the tickets of the citizen WeChat's 网页授权 named, without number or code."""
    openid = _wechat_openid()
    if openid is None:
        if _wechat_sign_in_available():
            return redirect(url_for("wechat_web.start", next=url_for("citizen.my_tickets")))
        return render_template("citizen/my_tickets.html", page=None)
    page = public.identity_tickets(
        db_session(), WECHAT_CHANNEL, openid, before=request.args.get("before")
    )
    return render_template(
        "citizen/my_tickets.html",
        page=page,
        stages={t.id: public.plain_stage(t) for t in page.items},
    )


@bp.get("/track/<number>")
def ticket(number: str) -> Any:
    db = db_session()
    found = get_ticket_by_number(db, number)
    mine = found is not None and _owns(found)
    if not (_may_read(number) or mine):
        return redirect(url_for("citizen.track_form", number=number))
    if found is None:
        abort(404)
    survey = current_survey(db, found) if found.stage == Stage.CALLBACK else None
    survey_url = (
        url_for(
            "citizen.survey",
            token=make_survey_token(current_app.config["SECRET_KEY"], found.number, survey.id),
        )
        if survey
        else None
    )
    return render_template(
        "citizen/ticket.html",
        ticket=found,
        mine=mine,
        kind_label=KIND_LABELS[found.kind_enum],
        stage_text=public.plain_stage(found),
        department=public.department_name(found.department, current_locale()),
        category=category_label(found.category),
        timeline=public.public_timeline(db, found, locale=current_locale()),
        messages=web_inbox(
            db,
            found.id,
            locale=current_locale(),
            settings=RenderSettings(
                current_app.config["SECRET_KEY"], current_app.config["PUBLIC_BASE_URL"]
            ),
        ),
        show_reply=public.reply_visible(found),
        survey_url=survey_url,
        satisfaction_label=(
            SATISFACTION_LABELS.get(Satisfaction(found.satisfaction))
            if found.satisfaction
            else None
        ),
    )


# -- survey ---------------------------------------------------------------------------------------


def _survey_target(token: str) -> tuple[Ticket, Survey]:
    number, survey_id = read_survey_token(current_app.config["SECRET_KEY"], token)
    db = db_session()
    found = get_ticket_by_number(db, number)
    survey = db.get(Survey, survey_id)
    if found is None or survey is None or survey.ticket_id != found.id:
        raise SurveyLinkError(N_("This survey link is not valid."))
    return found, survey


def _render_survey(
    found: Ticket, survey: Survey, token: str, *, values: dict[str, str], errors: dict[str, str]
) -> str:
    return render_template(
        "citizen/survey.html",
        ticket=found,
        survey=survey,
        token=token,
        is_open=survey_is_open(db_session(), found, survey),
        show_reply=public.reply_visible(found),
        department=public.department_name(found.department, current_locale()),
        choices=[(s.value, SATISFACTION_LABELS[s]) for s in Satisfaction],
        values=values,
        errors=errors,
        answered_label=(
            SATISFACTION_LABELS.get(Satisfaction(survey.satisfaction))
            if survey.satisfaction
            else None
        ),
    )


@bp.get("/survey/<token>")
def survey(token: str) -> str:
    found, row = _survey_target(token)
    return _render_survey(found, row, token, values={}, errors={})


@bp.post("/survey/<token>")
def survey_answer(token: str) -> Any:
    found, row = _survey_target(token)
    values = {
        "satisfaction": request.form.get("satisfaction", ""),
        "comment": request.form.get("comment", "")[:4000],
    }
    if not survey_is_open(db_session(), found, row):
        return _render_survey(found, row, token, values=values, errors={}), 409
    try:
        answer_survey(
            db_session(),
            found,
            actor=CitizenActor(found.citizen_id, "web"),
            satisfaction=values["satisfaction"],
            comment=values["comment"] or None,
        )
    except ValidationError as error:
        errors = _translated_errors(error)
        return _render_survey(found, row, token, values=values, errors=errors), 422
    _remember_ticket(found.number)
    return redirect(url_for("citizen.survey", token=token, done=1), code=303)
