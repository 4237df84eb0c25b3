"""Knowledge-base models: FAQ entries, the staff-editable synonym table, the gap log of questions
the matcher could not answer, and an append-only audit of every change staff made."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, JSONType
from core.i18n import N_
from directory.models import Department

QUESTION_MAX = 300
QUERY_MAX = 500


class Faq(Base):
    __tablename__ = "faqs"
    __table_args__ = (Index("ix_faqs_active_category", "active", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(QUESTION_MAX))
    # Other wordings of the same question; the matcher treats each like the question itself.
    alternatives: Mapped[list[str]] = mapped_column(JSONType, default=list)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Times given as the answer, and times offered as a did-you-mean suggestion.
    hit_count: Mapped[int] = mapped_column(Integer, default=0, index=True)
    suggest_count: Mapped[int] = mapped_column(Integer, default=0)
    last_hit_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    department: Mapped[Department | None] = relationship(lazy="joined")


class Synonym(Base):
    """``term`` is read as ``canonical`` on both sides of a match (驾照 → 驾驶证)."""

    __tablename__ = "faq_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(50), unique=True)
    canonical: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[dt.datetime]


class GapStatus(StrEnum):
    OPEN = "open"
    ATTACHED = "attached"  # became an alternative phrasing of an FAQ
    PROMOTED = "promoted"  # became a new FAQ


GAP_STATUS_LABELS = {
    GapStatus.OPEN: N_("Open"),
    GapStatus.ATTACHED: N_("Attached to an FAQ"),
    GapStatus.PROMOTED: N_("Turned into an FAQ"),
}


class KnowledgeGap(Base):
    """A question the knowledge base did not answer outright, counted by its normalised text."""

    __tablename__ = "faq_gaps"
    __table_args__ = (
        # The gap log's order (count, last_seen, id, all descending) within a status and over
        # all statuses: knowledge.queries.list_gaps pages through them by keyset.
        Index("ix_faq_gaps_status_rank", "status", "count", "last_seen", "id"),
        Index("ix_faq_gaps_rank", "count", "last_seen", "id"),
        Index("ix_faq_gaps_status_last_seen", "status", "last_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    normalized: Mapped[str] = mapped_column(String(QUERY_MAX), unique=True)
    sample: Mapped[str] = mapped_column(String(QUERY_MAX))  # one original wording, as typed
    count: Mapped[int] = mapped_column(Integer, default=1)
    suggested_count: Mapped[int] = mapped_column(Integer, default=0)  # of which did-you-mean
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    best_faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    best_score: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(20), default=GapStatus.OPEN)
    faq_id: Mapped[int | None] = mapped_column(ForeignKey("faqs.id", ondelete="SET NULL"))
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]


class KnowledgeEvent(Base):
    """Who changed what in the knowledge base, and when (append-only)."""

    __tablename__ = "faq_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    faq_id: Mapped[int | None] = mapped_column(
        ForeignKey("faqs.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class FaqEmbedding(Base):
    """An FAQ's vector from the optional semantic model (:mod:`knowledge.semantic`): computed once
    per text and model, outside any search, and loaded with the index."""

    __tablename__ = "faq_embeddings"

    faq_id: Mapped[int] = mapped_column(ForeignKey("faqs.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(60))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the text the vector is of
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32, L2-normalised
    created_at: Mapped[dt.datetime]
