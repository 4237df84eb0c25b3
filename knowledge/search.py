"""Answering a citizen's question: the in-memory index, the two thresholds, and the gap log.

``answer_question`` is what every channel calls. Scores are floats from 0 to 1 (see
:mod:`knowledge.matcher`). With the best score at or above ``high`` (and clearly ahead of the
runner-up) the answer is given; between ``low`` and ``high`` the caller shows "您是不是想问" with
the numbered suggestions; below ``low`` there is no answer and the caller offers a ticket or a
human. Every question that was not answered outright goes to the gap log.

The index is built once per process and database and kept in memory. Every change to the
knowledge base writes a new random stamp to ``system_state['knowledge.version']`` in the same
transaction; a search reads that one row — at most once every ``VERSION_CHECK_SECONDS`` per
process and engine, so that most searches touch no database at all (on SQLite every transaction
takes the write lock) — and rebuilds only when the stamp differs from the one the index was built
for. A change made in this process is seen at its next search; one made by another process
(another app server, the CLI) within ``VERSION_CHECK_SECONDS``. A search otherwise never rebuilds.
"""

from __future__ import annotations

import gc
import json
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clock
from core.config import load_config
from core.db import StateEntry
from core.errors import DomainError
from core.i18n import N_
from knowledge import semantic
from knowledge.matcher import RESULT_CACHE, Entry, Match, Matcher
from knowledge.models import QUERY_MAX, Faq, GapStatus, KnowledgeGap, Synonym
from knowledge.negatives import shipped_negatives
from knowledge.normalize import normalize
from knowledge.semantic import SemanticIndex
from knowledge.usage import GapSighting, PendingUsage, pending_usage, session_engine

VERSION_KEY = "knowledge.version"
MAX_LIMIT = 10
# Where a question can come from; the gap log keeps the channel, so nothing else is stored.
SEARCH_CHANNELS = ("web", "wechat", "telegram", "phone", "sms", "staff")


@dataclass(frozen=True)
class Thresholds:
    """Chosen on the dev half of ``lab/knowledge/data/eval.csv`` plus the "tune" half of the
    out-of-scope questions (``lab/knowledge/evaluation.py: cross_validated_tune`` on
    ``tuning_groups``; see docs/knowledge.md).

    Override with ``HOTLINE_KNOWLEDGE_HIGH``, ``HOTLINE_KNOWLEDGE_LOW``,
    ``HOTLINE_KNOWLEDGE_MARGIN`` and ``HOTLINE_KNOWLEDGE_FLOOR`` (or ``create_app`` overrides
    ``KNOWLEDGE_HIGH`` …): read once when the app starts, into every session's
    ``session.info["knowledge.thresholds"]``.
    """

    high: float = 0.68
    low: float = 0.2
    # The answer is given only when the best is this far ahead of the runner-up; otherwise the
    # two are close enough that a did-you-mean is safer than a possibly wrong answer.
    margin: float = 0.22
    # The answer also needs this much lexical evidence (``signals["lexical"]``): the calibrated
    # score alone can trust a lone candidate that shares one accidental word with the question
    # (结婚纪念日送什么礼物 → 结婚登记), and on a small knowledge base more so. Tuned with the rest.
    floor: float = 0.3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        default = cls()
        return cls(
            high=float(config.get("KNOWLEDGE_HIGH", default.high)),
            low=float(config.get("KNOWLEDGE_LOW", default.low)),
            margin=float(config.get("KNOWLEDGE_MARGIN", default.margin)),
            floor=float(config.get("KNOWLEDGE_FLOOR", default.floor)),
        )

    @classmethod
    def from_environment(cls) -> Thresholds:
        """For tools outside the app (the lab's benchmark)."""
        return cls.from_config(load_config())


DEFAULT_THRESHOLDS = Thresholds()


class QueryError(DomainError):
    pass


@dataclass(frozen=True)
class FaqHit:
    id: int
    question: str
    answer: str
    category: str
    department: str | None
    department_code: str | None
    score: float  # 0..1

    @classmethod
    def from_match(cls, match: Match) -> FaqHit:
        e = match.entry
        return cls(
            e.id, e.question, e.answer, e.category, e.department, e.department_code, match.score
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "category": self.category,
            "department": self.department,
            "score": self.score,
        }


@dataclass
class SearchResult:
    query: str
    answered: bool
    best: FaqHit | None = None
    suggestions: list[FaqHit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "answered": self.answered,
            "best": self.best.as_dict() if self.best else None,
            "suggestions": [hit.as_dict() for hit in self.suggestions],
        }


@dataclass(frozen=True)
class Decision:
    answered: bool
    best: Match | None
    suggestions: list[Match]


def decide(matches: list[Match], thresholds: Thresholds, limit: int) -> Decision:
    """Turn ranked matches into answer / did-you-mean / nothing (pure: the eval uses it too)."""
    if not matches or matches[0].score < thresholds.low:
        return Decision(False, None, [])
    top = matches[0]
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    if (
        top.score >= thresholds.high
        and top.score - runner_up >= thresholds.margin
        and top.signals.get("lexical", 1.0) >= thresholds.floor
    ):
        rest = [m for m in matches[1 : limit + 1] if m.score >= thresholds.low]
        return Decision(True, top, rest)
    return Decision(False, None, [m for m in matches[:limit] if m.score >= thresholds.low])


# ---------------------------------------------------------------------------------------------
# The in-memory index


@dataclass(frozen=True)
class _Cached:
    version: str
    matcher: Matcher
    semantic: SemanticIndex | None = None  # the optional model's FAQ vectors (knowledge.semantic)


_cache: dict[str, _Cached] = {}
_build_lock = threading.Lock()
VERSION_CHECK_SECONDS = 1.0
# engine → (the stamp read, time.monotonic() when read): per engine, so a new app on the same URL
# (each test's) reads the stamp at its first search.
_checked: weakref.WeakKeyDictionary[Engine, tuple[str, float]] = weakref.WeakKeyDictionary()
_generation = [0]  # moved by every change made in this process


def _cache_key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def current_version(session: Session) -> str:
    entry = session.get(StateEntry, VERSION_KEY)
    return entry.value if entry is not None else ""


FIT_KEY = "knowledge.fit"  # thresholds refitted on the loaded base (knowledge.refit)
# engine → the refitted thresholds, read with the version stamp (None: no fit stored)
_fitted: weakref.WeakKeyDictionary[Engine, Thresholds | None] = weakref.WeakKeyDictionary()


def _read_state(session: Session) -> tuple[str, Thresholds | None]:
    """The version stamp and the stored fit, in one query."""
    rows = {
        e.key: e.value
        for e in session.scalars(
            select(StateEntry).where(StateEntry.key.in_((VERSION_KEY, FIT_KEY)))
        )
    }
    return rows.get(VERSION_KEY, ""), fitted_thresholds(rows.get(FIT_KEY))


def fitted_thresholds(value: str | None) -> Thresholds | None:
    """The thresholds of a stored fit (``knowledge.refit.store_fit``), or None."""
    if not value:
        return None
    try:
        data = json.loads(value)
        return Thresholds(
            high=float(data["high"]),
            low=float(data["low"]),
            margin=float(data["margin"]),
            floor=float(data["floor"]),
        )
    except (TypeError, ValueError, KeyError):
        return None


def bump_version(session: Session) -> str:
    """Mark the knowledge base changed (same transaction as the change). A random stamp, not a
    counter: a rolled-back change must never share a stamp with a later committed one."""
    stamp = uuid.uuid4().hex
    entry = session.get(StateEntry, VERSION_KEY)
    if entry is None:
        session.add(StateEntry(key=VERSION_KEY, value=stamp, updated_at=clock.now()))
    else:
        entry.value, entry.updated_at = stamp, clock.now()
    session.flush()
    note_state_change(session)
    return stamp


def note_state_change(session: Session) -> None:
    """The knowledge state rows (stamp, fit) changed in this session: this session's next search
    reads them again, and every session of this process once the change is committed."""
    _invalidate(session_engine(session))
    session.info[_BUMPED] = True
    if not session.info.get(_BUMP_LISTENER):
        session.info[_BUMP_LISTENER] = True
        event.listen(session, "after_commit", _after_commit)


_BUMPED = "knowledge.version_bumped"
_BUMP_LISTENER = "knowledge.version_listener"


def _after_commit(session: Session) -> None:
    if session.info.pop(_BUMPED, False):
        _invalidate(session_engine(session))


def load_entries(session: Session) -> list[Entry]:
    faqs = session.scalars(select(Faq).where(Faq.active.is_(True)).order_by(Faq.id))
    return [
        Entry(
            id=f.id,
            question=f.question,
            answer=f.answer,
            category=f.category,
            alternatives=tuple(f.alternatives or ()),
            keywords=tuple(f.keywords or ()),
            department=f.department.name if f.department else None,
            department_code=f.department.code if f.department else None,
        )
        for f in faqs
    ]


def load_synonyms(session: Session) -> dict[str, str]:
    return {s.term: s.canonical for s in session.scalars(select(Synonym))}


def get_matcher(session: Session) -> Matcher:
    """The process's index for this database, rebuilt only when the version stamp moved."""
    key = _cache_key(session)
    engine = session_engine(session)
    cached = _cache.get(key)
    seen = _checked.get(engine)
    if (
        cached is not None
        and seen is not None
        and seen[0] == cached.version
        and time.monotonic() - seen[1] < VERSION_CHECK_SECONDS
    ):
        return cached.matcher
    generation = _generation[0]
    version, fitted = _read_state(session)
    _fitted[engine] = fitted
    if cached is not None and cached.version == version:
        _mark_checked(engine, version, generation)
        return cached.matcher
    with _build_lock:
        cached = _cache.get(key)
        if cached is not None and cached.version == version:
            _mark_checked(engine, version, generation)
            return cached.matcher
        entries = load_entries(session)
        matcher = Matcher(
            entries,
            load_synonyms(session),
            negatives=shipped_negatives(),
            result_cache=session.info.get("knowledge.search_cache", RESULT_CACHE),
        )
        _cache[key] = _Cached(version, matcher, semantic.load_index(session, entries))
        # From the end of the build: a build longer than the check interval is not re-checked
        # at once by the next search.
        _mark_checked(engine, version, generation)
        # The index and jieba's dictionary are hundreds of thousands of long-lived objects; a full
        # collection walking them costs tens of milliseconds in the middle of some search. Frozen
        # objects are skipped by the collector (reference counting still frees them).
        gc.freeze()
        return matcher


def semantic_enabled(session: Session) -> bool:
    """``HOTLINE_KNOWLEDGE_SEMANTIC`` is not ``off`` (read at app start into the session)."""
    return bool(session.info.get("knowledge.semantic", True))


def get_semantic(session: Session, *, even_if_off: bool = False) -> SemanticIndex | None:
    """The semantic model's FAQ vectors of the index :func:`get_matcher` returned (None: no model
    installed, none embedded, or switched off with ``HOTLINE_KNOWLEDGE_SEMANTIC=off``)."""
    if not even_if_off and not semantic_enabled(session):
        return None
    cached = _cache.get(_cache_key(session))
    return cached.semantic if cached is not None else None


def _mark_checked(engine: Engine, version: str, generation: int) -> None:
    """Remember the stamp just read, unless a change in this process moved it meanwhile."""
    if _generation[0] == generation:
        _checked[engine] = (version, time.monotonic())


def _invalidate(engine: Engine) -> None:
    _generation[0] += 1
    _checked.pop(engine, None)


def warm_index(session: Session) -> int:
    """Build the index ahead of the first question (app start, after an import)."""
    return len(get_matcher(session))


def forget_indexes() -> None:
    _cache.clear()
    _checked.clear()
    _fitted.clear()


# ---------------------------------------------------------------------------------------------
# Searching


def thresholds_for(session: Session) -> Thresholds:
    """Configured thresholds (``HOTLINE_KNOWLEDGE_*``) when they differ from the defaults; else
    those refitted on the loaded base (``knowledge.refit``), read with the index's version
    stamp; else the defaults (fitted on the starter base)."""
    configured = session.info.get("knowledge.thresholds")
    if isinstance(configured, Thresholds) and configured != DEFAULT_THRESHOLDS:
        return configured
    engine = session_engine(session)
    if engine not in _fitted:  # not read yet in this process (no search so far)
        _fitted[engine] = _read_state(session)[1]
    fitted = _fitted[engine]
    return fitted if fitted is not None else DEFAULT_THRESHOLDS


def clean_query(query: str | None) -> str:
    text = (query or "").strip()
    if not text:
        raise QueryError(N_("Please type a question."))
    if len(text) > QUERY_MAX:
        raise QueryError(
            N_("The question is too long (at most %(max)s characters)."), max=QUERY_MAX
        )
    return text


def answer_question(
    session: Session,
    query: str,
    *,
    limit: int = 3,
    channel: str = "web",
    log_gap: bool = True,
    thresholds: Thresholds | None = None,
) -> SearchResult:
    """Answer a question from the knowledge base. A read: the answer's hit, the suggestions'
    counts and, for a question not answered outright, its gap-log sighting (``log_gap=False``
    for text that is not a question asked, such as a ticket's description) are kept in this
    process and written in batches (:mod:`knowledge.usage`). Raises :class:`QueryError` for an
    empty or over-long question."""
    text = clean_query(query)
    if channel not in SEARCH_CHANNELS:
        raise QueryError(N_("Unknown channel: %(channel)s"), channel=channel[:20])
    limit = max(1, min(int(limit), MAX_LIMIT))
    matcher = get_matcher(session)  # first: it reads the stored fit with the version stamp
    limits = thresholds or thresholds_for(session)
    matches = matcher.search(text, limit=limit + 1)
    decision = decide(matches, limits, limit)
    index = get_semantic(session) if not decision.answered else None
    if index is not None and len(decision.suggestions) < limit:
        # Not answered: what the model finds near by meaning follows the lexical suggestions.
        extra = semantic.suggest(
            index,
            text,
            matches,
            exclude={m.entry.id for m in decision.suggestions},
            limit=limit - len(decision.suggestions),
        )
        decision = Decision(False, None, [*decision.suggestions, *extra])
    result = SearchResult(
        query=text,
        answered=decision.answered,
        best=FaqHit.from_match(decision.best) if decision.best else None,
        suggestions=[FaqHit.from_match(m) for m in decision.suggestions],
    )
    pending = pending_usage(session)
    if decision.best is not None:
        pending.hit(decision.best.entry.id, clock.now())
    elif log_gap:
        top = matches[0] if matches else None
        _log_gap(
            session,
            pending,
            text,
            channel=channel,
            suggested=bool(decision.suggestions),
            best_faq_id=top.entry.id if top else None,
            best_score=top.score if top else None,
        )
    if not decision.answered and decision.suggestions:
        pending.suggest(m.entry.id for m in decision.suggestions)
    return result


def _log_gap(
    session: Session,
    pending: PendingUsage,
    text: str,
    *,
    channel: str,
    suggested: bool,
    best_faq_id: int | None,
    best_score: float | None,
) -> None:
    """Into the pending gap log; when that is full, written at once (nothing asked is dropped)."""
    normalized = normalize(text)[:QUERY_MAX]
    if not normalized:
        return
    now = clock.now()
    sighting = GapSighting(
        normalized=normalized,
        sample=text[:QUERY_MAX],
        count=1,
        suggested=1 if suggested else 0,
        channels=[channel],
        best_faq_id=best_faq_id,
        best_score=best_score,
        first_seen=now,
        last_seen=now,
    )
    if not pending.gap(sighting):
        record_gap(
            session,
            text,
            channel=channel,
            suggested=suggested,
            best_faq_id=best_faq_id,
            best_score=best_score,
        )


def record_gap(
    session: Session,
    text: str,
    *,
    channel: str,
    suggested: bool,
    best_faq_id: int | None = None,
    best_score: float | None = None,
) -> KnowledgeGap | None:
    """Count an unanswered question by its normalised text (one row per distinct question)."""
    normalized = normalize(text)[:QUERY_MAX]
    if not normalized:
        return None
    now = clock.now()
    gap = session.scalar(select(KnowledgeGap).where(KnowledgeGap.normalized == normalized))
    if gap is None:
        try:
            with session.begin_nested():
                gap = KnowledgeGap(
                    normalized=normalized,
                    sample=text[:QUERY_MAX],
                    count=1,
                    suggested_count=1 if suggested else 0,
                    channels=[channel],
                    best_faq_id=best_faq_id,
                    best_score=best_score,
                    status=GapStatus.OPEN,
                    first_seen=now,
                    last_seen=now,
                )
                session.add(gap)
            return gap
        except IntegrityError:  # another request logged the same question a moment ago
            gap = session.scalar(select(KnowledgeGap).where(KnowledgeGap.normalized == normalized))
            if gap is None:
                return None
    gap.count += 1
    if suggested:
        gap.suggested_count += 1
    if channel not in (gap.channels or []):
        gap.channels = [*(gap.channels or []), channel]
    gap.best_faq_id, gap.best_score = best_faq_id, best_score
    gap.last_seen = now
    gap.status = GapStatus.OPEN  # asked again and still not answered: a gap again
    session.flush()
    return gap
