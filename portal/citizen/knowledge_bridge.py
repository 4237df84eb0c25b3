"""The knowledge base as the citizen pages read it: search with the web channel's limits, and the
FAQ listings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from knowledge import queries
from knowledge.models import QUERY_MAX
from knowledge.search import answer_question


def search(session: Session, query: str, *, limit: int = 3, log_gap: bool = True) -> Any | None:
    """Search the FAQs; ``log_gap=False`` for a ticket's text, which is not a question asked."""
    query = (query or "").strip()
    if not query:
        return None
    return answer_question(session, query[:QUERY_MAX], limit=limit, channel="web", log_gap=log_gap)


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
    return list(queries.top_faqs(session, limit=limit))


def categories(session: Session) -> list[tuple[Any, int]]:
    return list(queries.list_categories(session))


def faqs(session: Session, *, category: str | None, offset: int, limit: int) -> list[Any]:
    return list(queries.list_faqs(session, category=category, offset=offset, limit=limit))


def faq(session: Session, faq_id: int) -> Any | None:
    return queries.get_faq(session, faq_id)
