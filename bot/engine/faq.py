"""The engine's view of the knowledge base (``knowledge.search.answer_question``) and of which queue
a question belongs to (专席 for social security and employment, 综合 for the rest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.models import Queue
from core.errors import DomainError
from directory.models import Department
from knowledge.search import answer_question

# Words that mark a social-security or employment (人社) question when no FAQ names the department.
SPECIALIST_KEYWORDS = (
    "人社",
    "社保",
    "社会保险",
    "养老保险",
    "养老金",
    "失业",
    "工伤",
    "生育保险",
    "就业",
    "招聘",
    "劳动合同",
    "劳动仲裁",
    "劳动关系",
    "拖欠工资",
    "欠薪",
    "工资",
    "退休",
    "社保卡",
    "职称",
)


@dataclass(frozen=True)
class ChatAnswer:
    """An FAQ as a conversation keeps it between turns (``knowledge.search.FaqHit`` reduced to
    what the chat shows, stored in the conversation's data)."""

    question: str
    answer: str
    department_code: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"q": self.question, "a": self.answer, "d": self.department_code}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatAnswer:
        return cls(str(data["q"]), str(data["a"]), data.get("d"))


@dataclass(frozen=True)
class FaqResult:
    best: ChatAnswer | None  # a confident answer
    suggestions: list[ChatAnswer]  # "did you mean" candidates (the best one excluded)


def _hit(raw: Any) -> ChatAnswer:
    return ChatAnswer(
        question=str(raw.question),
        answer=str(raw.answer),
        department_code=getattr(raw, "department_code", None),
    )


def knowledge_search() -> Callable[..., Any]:
    """The knowledge base's search, looked up per call: the seam tests replace with a fake."""
    return answer_question


def search(session: Session, query: str, *, channel: str) -> FaqResult:
    """Ask the knowledge base for a confident answer and "did you mean" suggestions."""
    try:
        result = knowledge_search()(session, query, limit=3, channel=channel)
    except DomainError:  # e.g. a question too long or too short to search: nothing found
        return FaqResult(None, [])
    best = _hit(result.best) if result.answered and result.best is not None else None
    suggestions = [_hit(s) for s in result.suggestions]
    if best is not None:
        suggestions = [s for s in suggestions if s.question != best.question]
    elif not suggestions and result.best is not None:
        suggestions = [_hit(result.best)]
    return FaqResult(best, suggestions[:3])


def queue_for(session: Session, text: str, department_code: str | None) -> Queue:
    """专席 when the topic's department is a specialist seat (人社) or the words say so."""
    if department_code:
        specialist = session.scalar(
            select(Department.is_specialist).where(Department.code == department_code)
        )
        if specialist:
            return Queue.SPECIALIST
    if any(word in text for word in SPECIALIST_KEYWORDS):
        return Queue.SPECIALIST
    return Queue.GENERAL
