"""Reads of the knowledge base for pages and the API (writes live in :mod:`knowledge.operations`)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.i18n import N_
from knowledge.models import Faq, GapStatus, KnowledgeGap, Synonym

MAX_PAGE = 200
SEARCH_MAX = 50  # a LIKE term; longer text is cut rather than made an expensive pattern


def _page(offset: int, limit: int) -> tuple[int, int]:
    return max(int(offset), 0), max(1, min(int(limit), MAX_PAGE))


def list_categories(session: Session, *, include_inactive: bool = False) -> list[tuple[str, int]]:
    """Categories with their number of active FAQs (of all FAQs with ``include_inactive``, so that
    a category holding only inactive FAQs is listed too), largest first."""
    count = func.count(Faq.id)
    query = select(Faq.category, count).group_by(Faq.category).order_by(count.desc(), Faq.category)
    if not include_inactive:
        query = query.where(Faq.active.is_(True))
    return [(category, int(n)) for category, n in session.execute(query)]


def list_faqs(
    session: Session,
    *,
    category: str | None = None,
    offset: int = 0,
    limit: int = 20,
    include_inactive: bool = False,
) -> list[Faq]:
    offset, limit = _page(offset, limit)
    query = select(Faq).order_by(Faq.id).offset(offset).limit(limit)
    if not include_inactive:
        query = query.where(Faq.active.is_(True))
    if category:
        query = query.where(Faq.category == category)
    return list(session.scalars(query))


def count_faqs(
    session: Session,
    *,
    text: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    include_inactive: bool = False,
) -> int:
    """The number of FAQs :func:`admin_faq_page` pages through with the same filters. Without
    ``active`` and ``include_inactive`` only active FAQs are counted (as :func:`list_faqs` lists)."""
    if active is None and not include_inactive:
        active = True
    query = _faq_filters(select(func.count(Faq.id)), text=text, category=category, active=active)
    return int(session.scalar(query) or 0)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _faq_filters(
    query: Select[Any], *, text: str | None, category: str | None, active: bool | None
) -> Select[Any]:
    if active is not None:
        query = query.where(Faq.active.is_(active))
    if category:
        query = query.where(Faq.category == category)
    text = (text or "").strip()[:SEARCH_MAX]
    if text:
        pattern = _like(text)
        # Question and answer only: on SQLite the JSON columns (alternatives, keywords) hold
        # Chinese as \u escapes, so a LIKE on them would find nothing there.
        query = query.where(
            or_(Faq.question.like(pattern, escape="\\"), Faq.answer.like(pattern, escape="\\"))
        )
    return query


def admin_faq_page(
    session: Session,
    *,
    text: str | None = None,
    category: str | None = None,
    active: bool | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> tuple[list[Faq], int | None]:
    """One keyset page of FAQs by id for staff, active and inactive alike unless ``active`` says:
    ``text`` is looked for in the question and the answer (literally: ``%`` and ``_`` are plain
    characters; cut to :data:`SEARCH_MAX`). Returns the page and the id to continue after (None on
    the last page)."""
    _, limit = _page(0, limit)
    query = _faq_filters(select(Faq), text=text, category=category, active=active)
    query = query.order_by(Faq.id).limit(limit + 1)
    if after_id is not None:
        query = query.where(Faq.id > after_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def faqs_by_ids(session: Session, ids: Iterable[int | None]) -> dict[int, Faq]:
    """The FAQs with these ids (``None`` and unknown ids skipped), by id, in one query."""
    wanted = {int(i) for i in ids if i is not None}
    if not wanted:
        return {}
    return {f.id: f for f in session.scalars(select(Faq).where(Faq.id.in_(wanted)))}


def get_faq(session: Session, faq_id: int) -> Faq:
    faq = session.get(Faq, faq_id)
    if faq is None:
        raise NotFound(N_("This FAQ does not exist."))
    return faq


def top_faqs(session: Session, limit: int = 10) -> list[Faq]:
    """The most asked active FAQs (by the number of times they were given as the answer)."""
    _, limit = _page(0, limit)
    return list(
        session.scalars(
            select(Faq)
            .where(Faq.active.is_(True))
            .order_by(Faq.hit_count.desc(), Faq.id)
            .limit(limit)
        )
    )


# The gap log is read most asked first: count, then last seen, then id, all descending. A cursor
# names the last row of a page by those three values, so the next page starts right after it in
# the index whatever the page number (OFFSET would read and throw away every earlier row).
GAP_CURSOR_MAX = 200
BAD_CURSOR = N_("This page link is not valid; start again from the first page.")


def gap_cursor(gap: KnowledgeGap) -> str:
    """The opaque cursor of ``gap``: :func:`list_gaps` with ``after`` set to it continues after it."""
    raw = f"{gap.count}|{gap.last_seen.isoformat()}|{gap.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _gap_key(cursor: str) -> tuple[int, dt.datetime, int]:
    try:
        if len(cursor) > GAP_CURSOR_MAX:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        count, seen, gap_id = raw.split("|")
        last_seen = dt.datetime.fromisoformat(seen)
        if last_seen.tzinfo is None:
            raise ValueError(seen)
        return int(count), last_seen, int(gap_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValidationError({"cursor": BAD_CURSOR}) from None


def list_gaps(
    session: Session,
    *,
    offset: int = 0,
    limit: int = 50,
    status: str | None = GapStatus.OPEN,
    after: str | None = None,
) -> list[KnowledgeGap]:
    """Logged questions, most asked first (open ones by default; ``status=None`` for all).

    Page with ``after``, the :func:`gap_cursor` of the last gap of the previous page (see
    :func:`gap_page`); ``offset`` still works but reads every skipped row. A cursor that cannot
    be read raises :class:`~tickets.workflow.ValidationError` (field ``cursor``).
    """
    offset, limit = _page(offset, limit)
    return list(session.scalars(_gap_query(status, after).offset(offset).limit(limit)))


def _gap_query(status: str | None, after: str | None) -> Select[KnowledgeGap]:
    query = select(KnowledgeGap).order_by(
        KnowledgeGap.count.desc(), KnowledgeGap.last_seen.desc(), KnowledgeGap.id.desc()
    )
    if status:
        query = query.where(KnowledgeGap.status == status)
    if after:
        count, last_seen, gap_id = _gap_key(after)
        query = query.where(
            tuple_(KnowledgeGap.count, KnowledgeGap.last_seen, KnowledgeGap.id)
            < tuple_(count, last_seen, gap_id)
        )
    return query


def gap_page(
    session: Session,
    *,
    status: str | None = GapStatus.OPEN,
    after: str | None = None,
    limit: int = 50,
) -> tuple[list[KnowledgeGap], str | None]:
    """One keyset page of :func:`list_gaps` and the cursor of the next one (None on the last)."""
    _, limit = _page(0, limit)
    rows = list(session.scalars(_gap_query(status, after).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (gap_cursor(rows[-1]) if more and rows else None)


def count_gaps(session: Session, *, status: str | None = GapStatus.OPEN) -> int:
    query = select(func.count(KnowledgeGap.id))
    if status:
        query = query.where(KnowledgeGap.status == status)
    return int(session.scalar(query) or 0)


def list_synonyms(session: Session) -> list[Synonym]:
    return list(session.scalars(select(Synonym).order_by(Synonym.canonical, Synonym.term)))
