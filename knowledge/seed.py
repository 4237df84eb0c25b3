"""The starter knowledge base shipped with the product (``knowledge/data``): FAQs for a Chinese
city hotline and the default synonym table. Safe to run twice: an existing FAQ (same question)
or synonym is left as staff may have edited it.

The evaluation set and the lab that measures and tunes the matcher are not shipped: they are in
``lab/knowledge``, outside the installed packages."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.access import SYSTEM
from knowledge.csvio import import_faqs
from knowledge.models import Faq, Synonym
from knowledge.search import bump_version

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_FAQS = DATA / "faqs.csv"
SHIPPED_SYNONYMS = DATA / "synonyms.csv"


def load_synonyms_file(path: Path | str = SHIPPED_SYNONYMS) -> dict[str, str]:
    """A synonyms CSV (``term,canonical``) as a dict."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {r["term"].strip(): r["canonical"].strip() for r in csv.DictReader(handle)}


def seed_synonyms(session: Session) -> int:
    from core import clock

    known = set(session.scalars(select(Synonym.term)))
    added = 0
    for term, canonical in load_synonyms_file().items():
        if term and canonical and term not in known:
            session.add(Synonym(term=term, canonical=canonical, created_at=clock.now()))
            known.add(term)
            added += 1
    if added:
        session.flush()
        bump_version(session)
    return added


def seed_starter_knowledge(session: Session) -> list[str]:
    synonyms = seed_synonyms(session)
    existing = session.scalar(select(func.count(Faq.id))) or 0
    if existing:
        return [f"knowledge: {existing} FAQs already present; {synonyms} synonyms added"]
    report = import_faqs(session, SHIPPED_FAQS.read_text(encoding="utf-8"), actor=SYSTEM)
    lines = [f"knowledge: {report.created} starter FAQs, {synonyms} synonyms"]
    lines += [f"knowledge: {line}" for line in report.lines()[1:]]
    return lines
