"""A stand-in knowledge base for dialog scripts: the FAQs a script lists, matched by keyword, so
that scripts pin the dialog's behaviour whatever the real knowledge base answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.engine import faq


@dataclass
class FakeHit:
    id: int
    question: str
    answer: str
    category: str | None = None
    department: str | None = None
    department_code: str | None = None
    score: float = 0.0


@dataclass
class FakeResult:
    answered: bool
    best: FakeHit | None
    suggestions: list[FakeHit] = field(default_factory=list)


class FakeKnowledge:
    """``answer`` entries answer when any keyword is in the question; ``suggest`` entries are
    offered as did-you-mean when theirs is."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    def answer_question(
        self, session: Any, query: str, *, limit: int = 3, channel: str | None = None
    ) -> FakeResult:
        hits = []
        for n, entry in enumerate(self.entries, start=1):
            if any(word in query for word in entry["keywords"]):
                hit = FakeHit(
                    id=n,
                    question=entry["question"],
                    answer=entry["answer"],
                    department_code=entry.get("department_code"),
                    score=0.9 if entry.get("confident", True) else 0.5,
                )
                hits.append(hit)
        confident = [h for h in hits if h.score >= 0.8]
        best = confident[0] if confident else (hits[0] if hits else None)
        return FakeResult(bool(confident), best, hits[:limit])


@pytest.fixture
def fake_knowledge(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(entries: list[dict[str, Any]]) -> FakeKnowledge:
        knowledge = FakeKnowledge(entries)
        monkeypatch.setattr(faq, "knowledge_search", lambda: knowledge.answer_question)
        return knowledge

    return install
