"""The knowledge base as the citizen pages use it.

The FAQ store is its own package (``knowledge``); these wrappers keep the pages working, without
FAQ answers, in a checkout where that package is not there yet.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def search(session: Session, query: str, *, limit: int = 3, log_gap: bool = True) -> Any | None:
    """Search the FAQs; ``log_gap=False`` for a ticket's text, which is not a question asked."""
    query = (query or "").strip()
    if not query:
        return None
    try:
        from knowledge.models import QUERY_MAX
        from knowledge.search import search_faq
    except ImportError:
        return None
    return search_faq(session, query[:QUERY_MAX], limit=limit, channel="web", log_gap=log_gap)


def hits(result: Any | None) -> list[Any]:
    """The best answer first, then the other suggestions, without repeats."""
    if result is None:
        return []
    found: list[Any] = []
    best = getattr(result, "best", None)
    if best is not None:
        found.append(best)
    for hit in getattr(result, "suggestions", None) or []:
        if all(getattr(hit, "id", None) != getattr(f, "id", None) for f in found):
            found.append(hit)
    return found


def top_faqs(session: Session, limit: int = 8) -> list[Any]:
    try:
        from knowledge.queries import top_faqs as top
    except ImportError:
        return []
    return list(top(session, limit=limit))


def categories(session: Session) -> list[tuple[Any, int]]:
    try:
        from knowledge.queries import list_categories
    except ImportError:
        return []
    return list(list_categories(session))


def faqs(session: Session, *, category: str | None, offset: int, limit: int) -> list[Any]:
    try:
        from knowledge.queries import list_faqs
    except ImportError:
        return []
    return list(list_faqs(session, category=category, offset=offset, limit=limit))


def faq(session: Session, faq_id: int) -> Any | None:
    try:
        from knowledge.queries import get_faq
    except ImportError:
        return None
    return get_faq(session, faq_id)
