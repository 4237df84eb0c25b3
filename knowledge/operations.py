"""Changes to the knowledge base made by staff (admins) in the console, the CLI or the seed.

Every function checks access (``manage_knowledge``; the system actor of the CLI and seed may too),
writes a :class:`KnowledgeEvent`, moves the index version stamp so that every process rebuilds its
index at its next search, and flushes; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.errors import Conflict, NotFound, ValidationError
from core.i18n import N_
from directory.access import SystemActor, require
from directory.models import Department, StaffUser
from knowledge.departments import DepartmentResolver
from knowledge.models import QUESTION_MAX, Faq, GapStatus, KnowledgeEvent, KnowledgeGap, Synonym
from knowledge.normalize import normalize
from knowledge.queries import list_gaps
from knowledge.search import bump_version

__all__ = [
    "add_synonym",
    "attach_gap_to_faq",
    "create_faq",
    "list_gaps",
    "promote_gap_to_faq",
    "remove_synonym",
    "set_faq_active",
    "update_faq",
]

EDITABLE = ("question", "answer", "category", "department", "alternatives", "keywords")


def require_manage(actor: Any) -> None:
    if not isinstance(actor, SystemActor):
        require(actor, "manage_knowledge")


def actor_name(actor: Any) -> str:
    if isinstance(actor, StaffUser):
        return actor.username
    return str(getattr(actor, "name", "system"))


def _event(session: Session, action: str, faq: Faq | None, actor: Any, **detail: Any) -> None:
    session.add(
        KnowledgeEvent(
            action=action,
            faq_id=faq.id if faq is not None else None,
            actor=actor_name(actor),
            detail=detail,
            created_at=clock.now(),
        )
    )


def _clean_list(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.replace("，", "|").replace(",", "|").replace("\n", "|").split("|")
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _check(question: str, answer: str, category: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not question.strip():
        errors["question"] = N_("Please enter the question.")
    elif len(question.strip()) > QUESTION_MAX:
        errors["question"] = N_("The question is too long.")
    if not answer.strip():
        errors["answer"] = N_("Please enter the answer.")
    if not category.strip():
        errors["category"] = N_("Please choose a category.")
    elif len(category.strip()) > 100:
        errors["category"] = N_("The category is too long.")
    return errors


def _department_id(session: Session, department: Department | int | str | None) -> int | None:
    if department is None or department == "":
        return None
    if isinstance(department, Department):
        return department.id
    if isinstance(department, int):
        found = session.get(Department, department)
    else:
        found = DepartmentResolver(session.scalars(select(Department))).resolve(department)
    if found is None:
        raise ValidationError({"department": N_("Unknown department.")})
    return found.id


def _duplicate(session: Session, question: str, exclude: int | None = None) -> Faq | None:
    for faq in session.scalars(select(Faq).where(Faq.question == question.strip())):
        if faq.id != exclude:
            return faq
    return None


def create_faq(
    session: Session,
    *,
    question: str,
    answer: str,
    category: str,
    department: Department | int | str | None = None,
    alternatives: Iterable[str] | str = (),
    keywords: Iterable[str] | str = (),
    actor: Any,
) -> Faq:
    require_manage(actor)
    errors = _check(question, answer, category)
    if errors:
        raise ValidationError(errors)
    if _duplicate(session, question):
        raise ValidationError({"question": N_("An FAQ with this question already exists.")})
    now = clock.now()
    question = question.strip()
    faq = Faq(
        question=question,
        answer=answer.strip(),
        category=category.strip(),
        department_id=_department_id(session, department),
        alternatives=[a for a in _clean_list(alternatives) if a != question],
        keywords=_clean_list(keywords),
        active=True,
        hit_count=0,
        suggest_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(faq)
    session.flush()
    _event(session, "create", faq, actor, question=faq.question)
    bump_version(session)
    return faq


def update_faq(session: Session, faq: Faq, *, actor: Any, **fields: Any) -> Faq:
    """Change any of question, answer, category, department, alternatives, keywords."""
    require_manage(actor)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    question = str(fields.get("question", faq.question))
    answer = str(fields.get("answer", faq.answer))
    category = str(fields.get("category", faq.category))
    errors = _check(question, answer, category)
    if errors:
        raise ValidationError(errors)
    if "question" in fields and _duplicate(session, question, exclude=faq.id):
        raise ValidationError({"question": N_("An FAQ with this question already exists.")})
    changed = sorted(fields)
    faq.question, faq.answer, faq.category = question.strip(), answer.strip(), category.strip()
    if "department" in fields:
        faq.department_id = _department_id(session, fields["department"])
    if "alternatives" in fields:
        faq.alternatives = [a for a in _clean_list(fields["alternatives"]) if a != faq.question]
    if "keywords" in fields:
        faq.keywords = _clean_list(fields["keywords"])
    faq.updated_at = clock.now()
    session.flush()
    _event(session, "update", faq, actor, fields=changed)
    bump_version(session)
    return faq


def set_faq_active(session: Session, faq: Faq, active: bool, *, actor: Any) -> Faq:
    require_manage(actor)
    if faq.active != active:
        faq.active = active
        faq.updated_at = clock.now()
        session.flush()
        _event(session, "activate" if active else "deactivate", faq, actor)
        bump_version(session)
    return faq


def add_synonym(session: Session, term: str, canonical: str, *, actor: Any) -> Synonym:
    """Read ``term`` as ``canonical`` in questions and FAQs alike (驾照 → 驾驶证)."""
    require_manage(actor)
    term, canonical = term.strip(), canonical.strip()
    errors: dict[str, str] = {}
    if not normalize(term, fillers=False) or len(term) > 50:
        errors["term"] = N_("Please enter a word of at most 50 characters.")
    if not normalize(canonical, fillers=False) or len(canonical) > 50:
        errors["canonical"] = N_("Please enter a word of at most 50 characters.")
    if not errors and normalize(term, fillers=False) == normalize(canonical, fillers=False):
        errors["canonical"] = N_("A word cannot be a synonym of itself.")
    if errors:
        raise ValidationError(errors)
    if session.scalar(select(Synonym).where(Synonym.term == term)) is not None:
        raise Conflict(N_("The word %(term)s already has a synonym."), term=term)
    synonym = Synonym(term=term, canonical=canonical, created_at=clock.now())
    session.add(synonym)
    session.flush()
    _event(session, "add_synonym", None, actor, term=term, canonical=canonical)
    bump_version(session)
    return synonym


def remove_synonym(session: Session, synonym_id: int, *, actor: Any) -> None:
    require_manage(actor)
    synonym = session.get(Synonym, synonym_id)
    if synonym is None:
        raise NotFound(N_("This synonym does not exist."))
    _event(session, "remove_synonym", None, actor, term=synonym.term, canonical=synonym.canonical)
    session.delete(synonym)
    session.flush()
    bump_version(session)


def _open_gap(session: Session, gap_id: int) -> KnowledgeGap:
    gap = session.get(KnowledgeGap, gap_id)
    if gap is None:
        raise NotFound(N_("This logged question does not exist."))
    return gap


def attach_gap_to_faq(session: Session, gap_id: int, faq_id: int, *, actor: Any) -> Faq:
    """Add a logged question to an FAQ as another wording; the matcher uses it at once."""
    require_manage(actor)
    gap = _open_gap(session, gap_id)
    faq = session.get(Faq, faq_id)
    if faq is None:
        raise NotFound(N_("This FAQ does not exist."))
    if not faq.active:
        # No channel answers with an inactive FAQ: the question would stay unanswered while the
        # log shows it as handled.
        raise ValidationError(
            {"faq": N_("This FAQ is inactive; activate it first or choose another one.")}
        )
    wording = gap.sample.strip()
    known = {normalize(t) for t in (faq.question, *(faq.alternatives or ()))}
    if normalize(wording) not in known:
        faq.alternatives = [*(faq.alternatives or ()), wording]
        faq.updated_at = clock.now()
    gap.status, gap.faq_id = GapStatus.ATTACHED, faq.id
    session.flush()
    _event(session, "attach_gap", faq, actor, gap_id=gap.id, wording=wording)
    bump_version(session)
    return faq


def promote_gap_to_faq(
    session: Session,
    gap_id: int,
    *,
    answer: str,
    category: str,
    department: Department | int | str | None = None,
    question: str | None = None,
    actor: Any,
) -> Faq:
    """Turn a logged question into a new FAQ (its wording kept as an alternative when staff
    rewrote the question)."""
    require_manage(actor)
    gap = _open_gap(session, gap_id)
    title = (question or gap.sample).strip()
    alternatives = [gap.sample.strip()] if normalize(gap.sample) != normalize(title) else []
    faq = create_faq(
        session,
        question=title,
        answer=answer,
        category=category,
        department=department,
        alternatives=alternatives,
        actor=actor,
    )
    gap.status, gap.faq_id = GapStatus.PROMOTED, faq.id
    session.flush()
    _event(session, "promote_gap", faq, actor, gap_id=gap.id)
    return faq
