"""Knowledge-base administration (admins): the FAQ list and editor, the synonym table and the gap
log of questions the matcher could not answer. Every write is one function of
:mod:`knowledge.operations`; it bumps the index version, so the next search anywhere answers with
the change.

A refused form (a :class:`~tickets.workflow.ValidationError`) is shown again with the message next
to its field and what the admin typed kept (422); other refusals are flashed on the list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext

from core.errors import DomainError, NotFound, ValidationError
from core.i18n import N_
from core.inputs import optional_id
from core.web import db_session
from knowledge import operations, queries
from knowledge.embeddings import semantic_status
from knowledge.models import GAP_STATUS_LABELS, Faq, KnowledgeGap
from knowledge.refit import stored_fit
from knowledge.usage import flush_pending_usage
from portal.staff.auth import guard_area, require_action
from portal.staff.blueprint import bp
from portal.staff.helpers import (
    CHANNEL_LABELS,
    EXPORT_MAX_ROWS,
    csv_response,
    department_name,
    flash_domain_error,
    int_arg,
    local_time,
    wants_csv,
)
from portal.staff.nav import register_nav
from tickets.queries import active_departments

register_nav("staff.knowledge_faqs", N_("Knowledge base"), "manage_knowledge", order=63)

PAGE_SIZE = 50
GAP_PAGE_SIZE = 50
SEARCH_MAX = queries.SEARCH_MAX
ACTIVE_FILTERS = {"1": True, "0": False}
GAP_TABS = ("open", "attached", "promoted", "all")


guard_area("staff.knowledge_", "manage_knowledge")  # every knowledge screen, in the one gate


@dataclass(frozen=True)
class FaqFilters:
    text: str | None = None
    category: str | None = None
    active: bool | None = None


def _faq_page(
    filters: FaqFilters, *, after: int | None, limit: int
) -> tuple[list[Faq], int | None]:
    return queries.admin_faq_page(
        db_session(),
        text=filters.text,
        category=filters.category,
        active=filters.active,
        after_id=after,
        limit=limit,
    )


def _faq_count(filters: FaqFilters) -> int:
    return queries.count_faqs(
        db_session(),
        text=filters.text,
        category=filters.category,
        active=filters.active,
        include_inactive=True,
    )


# -- form parsing --------------------------------------------------------------------------------


def _filters_from_args() -> FaqFilters:
    text = (request.args.get("q") or "").strip()[:SEARCH_MAX] or None  # as the domain cuts it
    return FaqFilters(
        text=text,
        category=(request.args.get("category") or "").strip() or None,
        active=ACTIVE_FILTERS.get(request.args.get("active") or ""),
    )


def _lines(raw: str | None) -> list[str]:
    """One alternative wording per line. Passed on as a list: a wording may contain a comma."""
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


def _department_value(raw: str | None) -> int | str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() and len(raw) < 12 else raw  # the domain refuses unknown ones


def _faq_fields(form: Mapping[str, str]) -> dict[str, Any]:
    return {
        "question": form.get("question", ""),
        "answer": form.get("answer", ""),
        "category": form.get("category", ""),
        "department": _department_value(form.get("department")),
        "alternatives": _lines(form.get("alternatives")),
        "keywords": form.get("keywords", ""),
    }


def _values_of(faq: Faq) -> dict[str, str]:
    return {
        "question": faq.question,
        "answer": faq.answer,
        "category": faq.category,
        "department": str(faq.department_id or ""),
        "alternatives": "\n".join(faq.alternatives or ()),
        "keywords": ", ".join(faq.keywords or ()),
    }


def _field_errors(error: ValidationError) -> dict[str, str]:
    return {name: gettext(message) for name, message in error.fields.items()}


def _refused() -> None:
    db_session().rollback()  # the domain changes nothing before it refuses; be sure anyway


def _form_page(
    *,
    title: str,
    action: str,
    values: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    faq: Faq | None = None,
    gap: KnowledgeGap | None = None,
    status: int = 200,
) -> Any:
    session = db_session()
    return (
        render_template(
            "staff/knowledge/faq_form.html",
            title=title,
            action=action,
            values=values,
            errors=errors or {},
            faq=faq,
            gap=gap,
            categories=queries.list_categories(session),
            departments=active_departments(session),
            faq_department=faq.department if faq is not None else None,
        ),
        status,
    )


# -- FAQ list ------------------------------------------------------------------------------------


def _faq_csv_header() -> list[str]:
    return [
        gettext("ID"),
        gettext("Question"),
        gettext("Alternative wordings"),
        gettext("Answer"),
        gettext("Category"),
        gettext("Department"),
        gettext("Keywords"),
        gettext("In use"),
        gettext("Times answered"),
        gettext("Times suggested"),
        gettext("Last changed"),
    ]


def _faq_csv_rows(filters: FaqFilters) -> Iterator[list[str]]:
    yes, no = gettext("Yes"), gettext("No")  # once, not per row
    after: int | None = None
    sent = 0
    while sent < EXPORT_MAX_ROWS:
        rows, after = _faq_page(filters, after=after, limit=min(500, EXPORT_MAX_ROWS - sent))
        for faq in rows:
            yield [
                str(faq.id),
                faq.question,
                " | ".join(faq.alternatives or ()),
                faq.answer,
                faq.category,
                department_name(faq.department),
                " | ".join(faq.keywords or ()),
                yes if faq.active else no,
                str(faq.hit_count),
                str(faq.suggest_count),
                local_time(faq.updated_at),
            ]
        sent += len(rows)
        if after is None:
            return


@bp.get("/knowledge/faqs")
def knowledge_faqs() -> Any:
    filters = _filters_from_args()
    if wants_csv():
        return csv_response("faqs.csv", _faq_csv_header(), lambda: _faq_csv_rows(filters))
    after = int_arg("after")
    faqs, next_after = _faq_page(filters, after=after, limit=PAGE_SIZE)
    # dict[str, Any]: url_for's keyword parameters are typed, a plain str dict is not accepted.
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("after", "format")}
    return render_template(
        "staff/knowledge/faqs.html",
        faqs=faqs,
        total=_faq_count(filters),
        categories=queries.list_categories(db_session(), include_inactive=True),
        filters=filters,
        active_arg=request.args.get("active") or "",
        next_url=url_for("staff.knowledge_faqs", **args, after=next_after) if next_after else None,
        first_url=url_for("staff.knowledge_faqs", **args) if after is not None else None,
        csv_url=url_for("staff.knowledge_faqs", **args, format="csv"),
        open_gaps=queries.count_gaps(db_session()),
        fit=stored_fit(db_session()),
        semantic=semantic_status(db_session()),
    )


# -- one FAQ -------------------------------------------------------------------------------------


@bp.get("/knowledge/faqs/new")
def knowledge_faq_new() -> Any:
    return _form_page(
        title=gettext("New FAQ"),
        action=url_for("staff.knowledge_faq_create"),
        values={"category": request.args.get("category", "")},
    )


@bp.post("/knowledge/faqs")
def knowledge_faq_create() -> Any:
    actor = require_action("manage_knowledge")
    try:
        faq = operations.create_faq(db_session(), **_faq_fields(request.form), actor=actor)
    except ValidationError as error:
        _refused()
        return _form_page(
            title=gettext("New FAQ"),
            action=url_for("staff.knowledge_faq_create"),
            values=request.form,
            errors=_field_errors(error),
            status=422,
        )
    flash(gettext("FAQ %(id)s created; the matcher uses it now.", id=faq.id), "success")
    return redirect(url_for("staff.knowledge_faq_edit", faq_id=faq.id), code=303)


@bp.get("/knowledge/faqs/<int:faq_id>")
def knowledge_faq_edit(faq_id: int) -> Any:
    faq = queries.get_faq(db_session(), faq_id)
    return _form_page(
        title=gettext("FAQ %(id)s", id=faq.id),
        action=url_for("staff.knowledge_faq_update", faq_id=faq.id),
        values=_values_of(faq),
        faq=faq,
    )


@bp.post("/knowledge/faqs/<int:faq_id>")
def knowledge_faq_update(faq_id: int) -> Any:
    actor = require_action("manage_knowledge")
    session = db_session()
    faq = queries.get_faq(session, faq_id)
    try:
        operations.update_faq(session, faq, **_faq_fields(request.form), actor=actor)
    except ValidationError as error:
        _refused()
        faq = queries.get_faq(session, faq_id)
        return _form_page(
            title=gettext("FAQ %(id)s", id=faq.id),
            action=url_for("staff.knowledge_faq_update", faq_id=faq.id),
            values=request.form,
            errors=_field_errors(error),
            faq=faq,
            status=422,
        )
    flash(gettext("FAQ %(id)s saved; the matcher uses it now.", id=faq.id), "success")
    return redirect(url_for("staff.knowledge_faq_edit", faq_id=faq.id), code=303)


@bp.post("/knowledge/faqs/<int:faq_id>/active")
def knowledge_faq_active(faq_id: int) -> Any:
    actor = require_action("manage_knowledge")
    session = db_session()
    faq = queries.get_faq(session, faq_id)
    active = request.form.get("active") == "1"
    operations.set_faq_active(session, faq, active, actor=actor)
    if active:
        flash(gettext("FAQ %(id)s is active: citizens get this answer.", id=faq.id), "success")
    else:
        flash(gettext("FAQ %(id)s is inactive: no channel answers with it.", id=faq.id), "success")
    target = request.form.get("next") or ""
    if not target.startswith("/staff/") or target.startswith("//"):
        target = url_for("staff.knowledge_faq_edit", faq_id=faq.id)
    return redirect(target, code=303)


# -- synonyms ------------------------------------------------------------------------------------


def _synonyms_page(
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    return (
        render_template(
            "staff/knowledge/synonyms.html",
            synonyms=queries.list_synonyms(db_session()),
            values=values or {},
            errors=errors or {},
        ),
        status,
    )


@bp.get("/knowledge/synonyms")
def knowledge_synonyms() -> Any:
    return _synonyms_page()


@bp.post("/knowledge/synonyms")
def knowledge_synonym_add() -> Any:
    actor = require_action("manage_knowledge")
    form = request.form
    try:
        synonym = operations.add_synonym(
            db_session(), form.get("term", ""), form.get("canonical", ""), actor=actor
        )
    except ValidationError as error:
        _refused()
        return _synonyms_page(form, _field_errors(error), 422)
    except DomainError as error:  # the word already has a synonym
        _refused()
        return _synonyms_page(form, {"term": error.translated()}, 409)
    flash(
        gettext(
            "“%(term)s” is now read as “%(canonical)s”.",
            term=synonym.term,
            canonical=synonym.canonical,
        ),
        "success",
    )
    return redirect(url_for("staff.knowledge_synonyms"), code=303)


@bp.post("/knowledge/synonyms/<int:synonym_id>/remove")
def knowledge_synonym_remove(synonym_id: int) -> Any:
    actor = require_action("manage_knowledge")
    try:
        operations.remove_synonym(db_session(), synonym_id, actor=actor)
    except DomainError as error:
        flash_domain_error(error)
    else:
        flash(gettext("The synonym was removed."), "success")
    return redirect(url_for("staff.knowledge_synonyms"), code=303)


# -- gap log -------------------------------------------------------------------------------------


def _gap_status() -> str:
    tab = request.args.get("status") or "open"
    return tab if tab in GAP_TABS else "open"


@bp.get("/knowledge/gaps")
def knowledge_gaps() -> Any:
    session = db_session()
    # Searches count their gaps in memory (knowledge.usage); this process's are written first so
    # the page is up to date here (other processes' within their flush interval).
    flush_pending_usage(session)
    tab = _gap_status()
    status = None if tab == "all" else tab
    after = (request.args.get("after") or "").strip() or None
    try:
        gaps, next_after = queries.gap_page(
            session, status=status, after=after, limit=GAP_PAGE_SIZE
        )
    except ValidationError as error:  # a mangled or outdated page link: back to the first page
        flash(gettext(error.fields.get("cursor", error.message)), "error")
        gaps, next_after = queries.gap_page(session, status=status, limit=GAP_PAGE_SIZE)
        after = None
    faqs = queries.faqs_by_ids(session, [g.best_faq_id for g in gaps] + [g.faq_id for g in gaps])
    return render_template(
        "staff/knowledge/gaps.html",
        gaps=gaps,
        faqs=faqs,
        tab=tab,
        tabs=GAP_TABS,
        total=queries.count_gaps(session, status=status),
        gap_status_labels=GAP_STATUS_LABELS,
        channel_name=_channel_name,
        next_url=url_for("staff.knowledge_gaps", status=tab, after=next_after)
        if next_after
        else None,
        first_url=url_for("staff.knowledge_gaps", status=tab) if after else None,
    )


def _channel_name(channel: str) -> str:
    label = CHANNEL_LABELS.get(channel)  # type: ignore[call-overload]
    if label:
        return gettext(label)
    return {"webchat": gettext("Web chat"), "staff": gettext("Staff console")}.get(channel, channel)


def _gap(gap_id: int) -> KnowledgeGap:
    gap = db_session().get(KnowledgeGap, gap_id)
    if gap is None:
        raise NotFound(N_("This logged question does not exist."))
    return gap


def _attach_page(
    gap: KnowledgeGap, errors: Mapping[str, str] | None = None, status: int = 200
) -> Any:
    term = (request.values.get("q") or "").strip()[:SEARCH_MAX]
    found: list[Faq] = []
    if term:
        found, _ = _faq_page(FaqFilters(text=term, active=True), after=None, limit=20)
    best = queries.faqs_by_ids(db_session(), [gap.best_faq_id]).get(gap.best_faq_id or 0)
    if best is not None and not best.active:
        best = None  # deactivated since it was the best guess: a gap cannot be attached to it
    candidates = ([best] if best is not None else []) + [f for f in found if f is not best]
    chosen = request.values.get("faq") or (str(best.id) if best is not None else "")
    return (
        render_template(
            "staff/knowledge/attach.html",
            gap=gap,
            best=best,
            candidates=candidates,
            term=term,
            chosen=chosen,
            errors=errors or {},
        ),
        status,
    )


@bp.get("/knowledge/gaps/<int:gap_id>/attach")
def knowledge_gap_attach_form(gap_id: int) -> Any:
    return _attach_page(_gap(gap_id))


@bp.post("/knowledge/gaps/<int:gap_id>/attach")
def knowledge_gap_attach(gap_id: int) -> Any:
    actor = require_action("manage_knowledge")
    gap = _gap(gap_id)
    faq_id = optional_id(request.form.get("faq"))
    if faq_id is None:
        return _attach_page(gap, {"faq": gettext("Choose the FAQ this question belongs to.")}, 422)
    try:
        faq = operations.attach_gap_to_faq(db_session(), gap.id, faq_id, actor=actor)
    except ValidationError as error:  # the FAQ is inactive
        _refused()
        return _attach_page(_gap(gap_id), _field_errors(error), 422)
    except DomainError as error:  # the FAQ was deleted or never existed
        _refused()
        return _attach_page(_gap(gap_id), {"faq": error.translated()}, 422)
    flash(
        gettext(
            "“%(question)s” is now another wording of FAQ %(id)s and is answered at once.",
            question=gap.sample,
            id=faq.id,
        ),
        "success",
    )
    return redirect(url_for("staff.knowledge_gaps"), code=303)


def _promote_page(
    gap: KnowledgeGap, values: Mapping[str, str], errors: Mapping[str, str] | None, status: int
) -> Any:
    return _form_page(
        title=gettext("New FAQ from a logged question"),
        action=url_for("staff.knowledge_gap_promote", gap_id=gap.id),
        values=values,
        errors=errors,
        gap=gap,
        status=status,
    )


@bp.get("/knowledge/gaps/<int:gap_id>/promote")
def knowledge_gap_promote_form(gap_id: int) -> Any:
    gap = _gap(gap_id)
    # Only the question: the best guess was not good enough to answer, so its category and
    # department are no safer a filing than an empty choice.
    return _promote_page(gap, {"question": gap.sample}, None, 200)


@bp.post("/knowledge/gaps/<int:gap_id>/promote")
def knowledge_gap_promote(gap_id: int) -> Any:
    actor = require_action("manage_knowledge")
    gap = _gap(gap_id)
    fields = _faq_fields(request.form)
    try:
        faq = operations.promote_gap_to_faq(
            db_session(),
            gap.id,
            question=fields["question"],
            answer=fields["answer"],
            category=fields["category"],
            department=fields["department"],
            actor=actor,
        )
        # The form also takes wordings and keywords, which promotion does not: add them after,
        # keeping the logged wording promotion may have stored as an alternative.
        extra: dict[str, Any] = {}
        if fields["alternatives"]:
            extra["alternatives"] = [*(faq.alternatives or ()), *fields["alternatives"]]
        if fields["keywords"]:
            extra["keywords"] = fields["keywords"]
        if extra:
            operations.update_faq(db_session(), faq, **extra, actor=actor)
    except ValidationError as error:
        _refused()
        return _promote_page(_gap(gap_id), request.form, _field_errors(error), 422)
    flash(gettext("FAQ %(id)s created; the matcher uses it now.", id=faq.id), "success")
    return redirect(url_for("staff.knowledge_gaps"), code=303)
