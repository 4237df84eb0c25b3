"""Thresholds fitted on the knowledge base actually loaded, from its own material.

The default :class:`~knowledge.search.Thresholds` were chosen on the starter base, whose FAQs carry
dozens of citizen wordings each; a city's own base (a question, an answer, perhaps keywords) gives
other score distributions, and the defaults then answer little and suggest less. ``refit`` chooses
high / margin / floor / low for the base loaded, from nothing but the base itself and the shipped
out-of-scope questions:

* **held-out questions**: the FAQs are split in ``FOLDS`` folds; in turn, each fold's FAQs lose
  their question (they keep their other wordings, answer, keywords, category, department) and the
  question is asked against that base, labelled with its FAQ;
* **held-out keywords**: an FAQ with two or more keywords loses them in its fold, and its
  keywords together are asked as a search-box query;
* staff-confirmed gap-log attachments are wordings of their FAQ (``attach_gap_to_faq``) and are
  held out with the question;
* the "tune" half of ``knowledge/data/out_of_scope.csv`` (never used by the matcher's outside
  class), spread over the folds, as questions no FAQ answers.

The rule is the lab's (``cross_validated_tune``): among the candidates whose wrong answers are at
most ``MAX_WRONG`` of the answered and whose answered out-of-scope questions are at most
``MAX_OUT_OF_SCOPE`` of them, the one answering most held-out questions right; then the ``low``
threshold that best balances "the right FAQ is among the suggestions" for in-scope questions with
"nothing is suggested" for out-of-scope ones. The result is stored in ``system_state`` (one row,
``knowledge.fit``) with what it was fitted on; searches use it unless thresholds were configured
(``HOTLINE_KNOWLEDGE_HIGH`` …). ``flask --app app knowledge import`` refits after an import and
``flask --app app knowledge refit`` on demand; the admin page shows the stored fit.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from core import clock
from core.db import StateEntry
from knowledge.matcher import Entry, Match, Matcher
from knowledge.negatives import load_out_of_scope, shipped_negatives
from knowledge.search import (
    FIT_KEY,
    current_version,
    load_entries,
    load_synonyms,
    note_state_change,
)

FOLDS = 3
DROP_EVERY = 2  # a generated question drops every DROP_EVERY-th word of the FAQ's question
ANSWER_WORDS = 1  # and takes this many words of its answer
# How much a right FAQ among the suggestions counts against an out-of-scope question getting none
# when ``low`` is chosen (1: as much).
SUGGEST_WEIGHT = 1.0
MAX_WRONG = 0.02
MAX_OUT_OF_SCOPE = 0.02
MAX_QUESTIONS = 600  # FAQs sampled at most (on a large base) to generate questions from
HIGHS = [x / 100 for x in range(10, 96)]
MARGINS = [x / 100 for x in range(0, 41, 2)]
FLOORS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
LOWS = [x / 100 for x in range(2, 60)]


@dataclass(frozen=True)
class Fit:
    """Thresholds fitted on one base, and how they do on its held-out material."""

    high: float
    low: float
    margin: float
    floor: float
    faqs: int  # FAQs of the base
    questions: int  # held-out in-scope questions asked
    out_of_scope: int  # out-of-scope questions asked
    right: float  # held-out questions answered with their FAQ
    wrong: float  # of the answered, with another FAQ
    oos_answered: float  # out-of-scope questions answered
    suggested: float  # held-out questions answered right or with their FAQ among suggestions
    version: str = ""  # the knowledge-base stamp it was fitted for
    fitted_at: str = ""  # ISO time

    def lines(self) -> list[str]:
        return [
            f"thresholds refitted on this base ({self.faqs} FAQs, {self.questions} held-out "
            f"questions, {self.out_of_scope} out of scope): high {self.high:.2f}, "
            f"low {self.low:.2f}, margin {self.margin:.2f}, floor {self.floor:.2f}",
            f"  on that material: right {100 * self.right:.1f}%, wrong {100 * self.wrong:.1f}% "
            f"of answered, out of scope answered {100 * self.oos_answered:.1f}%, right answer or "
            f"suggestion {100 * self.suggested:.1f}%",
        ]


@dataclass(frozen=True)
class _Row:
    expected: int | None  # None: out of scope
    matches: list[Match]


def _fold(key: str, k: int) -> int:
    return zlib.crc32(key.encode("utf-8")) % k


def pseudo_questions(entry: Entry, words_of: Callable[[str], list[str]]) -> list[str]:
    """Questions generated from an FAQ's own text, as a citizen who has not read it might type
    them: part of its question's words (every third dropped, in turn) with a word of its answer,
    and its keywords together as a search-box query."""
    question_words = words_of(entry.question)
    answer_words = [w for w in words_of(entry.answer) if w not in question_words]
    out: list[str] = []
    for start in range(min(DROP_EVERY, len(question_words))):
        kept = [w for i, w in enumerate(question_words) if (i + start) % DROP_EVERY != 0]
        if not kept:
            continue
        extra = answer_words[start * 3 : start * 3 + ANSWER_WORDS]
        out.append("".join(kept + extra))
    if len(entry.keywords) >= 2:
        out.append(" ".join(entry.keywords[:3]))
    return list(dict.fromkeys(q for q in out if q))


def held_out_rows(
    entries: Sequence[Entry],
    synonyms: dict[str, str],
    *,
    folds: int = FOLDS,
    max_questions: int = MAX_QUESTIONS,
    out_of_scope: Iterable[str] | None = None,
    matcher_factory: Callable[..., Matcher] = Matcher,
) -> list[_Row]:
    """Questions generated from each sampled FAQ (:func:`pseudo_questions`), asked against the
    base with that FAQ's other wordings held out fold by fold (its question, answer and keywords
    stay: a city's FAQ has no other wordings), and the out-of-scope questions."""
    share = min(1.0, max_questions / max(len(entries), 1))
    sampled = {e.id for e in entries if _fold(f"{e.id}:{e.question}", 10_000) < share * 10_000}
    negatives = list(out_of_scope if out_of_scope is not None else load_out_of_scope("tune"))
    outside = shipped_negatives()
    rows: list[_Row] = []
    for fold in range(folds):
        held = [e for e in entries if e.id in sampled and _fold(str(e.id), folds) == fold]
        held_ids = {e.id for e in held}
        trimmed = [replace(e, alternatives=()) if e.id in held_ids else e for e in entries]
        matcher = matcher_factory(trimmed, synonyms, negatives=outside)
        words_of = lambda text, m=matcher: [  # noqa: E731 - the fold's own segmentation
            w for w in m._tokenizer.lcut(m.prepare(text, fillers=False), HMM=False) if len(w) >= 2
        ]
        for entry in held:
            for question in pseudo_questions(entry, words_of):
                rows.append(_Row(entry.id, matcher.search(question, limit=4)))
        for question in negatives:
            if _fold(question, folds) == fold:
                rows.append(_Row(None, matcher.search(question, limit=4)))
    return rows


def _decide(matches: list[Match], high: float, margin: float, floor: float) -> bool:
    if not matches:
        return False
    top = matches[0]
    runner_up = matches[1].score if len(matches) > 1 else 0.0
    return (
        top.score >= high
        and top.score - runner_up >= margin
        and top.signals.get("lexical", 1.0) >= floor
    )


def choose(rows: Sequence[_Row], *, faqs: int) -> Fit:
    """The thresholds the module's rule picks on these rows."""
    in_scope = [r for r in rows if r.expected is not None]
    outside = [r for r in rows if r.expected is None]
    # Per row: (top score, lead over the runner-up, lexical, top is right, in scope)
    facts = []
    for r in rows:
        if not r.matches:
            facts.append((0.0, 0.0, 0.0, False, r.expected is not None))
            continue
        top = r.matches[0]
        lead = top.score - (r.matches[1].score if len(r.matches) > 1 else 0.0)
        lexical = top.signals.get("lexical", 1.0)
        facts.append((top.score, lead, lexical, top.entry.id == r.expected, r.expected is not None))
    best: tuple[float, float, float, float, float, float, float] | None = None
    for floor in FLOORS:
        candidates = [f for f in facts if f[2] >= floor]
        for margin in MARGINS:
            passing = [f for f in candidates if f[1] >= margin]
            for high in HIGHS:
                answered = right = wrong = oos = 0
                for score, _lead, _lexical, is_right, is_in in passing:
                    if score >= high:
                        answered += 1
                        if is_right and is_in:
                            right += 1
                        else:
                            wrong += 1
                            if not is_in:
                                oos += 1
                if wrong > MAX_WRONG * answered or oos > MAX_OUT_OF_SCOPE * max(len(outside), 1):
                    continue
                key = (right / max(len(in_scope), 1), -high, -margin, -floor)
                if best is None or key > best[:4]:
                    best = (*key, high, margin, floor)
    if best is None:  # nothing is safe to answer on this base: suggest only
        high, margin, floor = 1.01, 1.0, 1.0
    else:
        high, margin, floor = best[4], best[5], best[6]
    low = _best_low(rows, high)
    measured = _measure(rows, high, low, margin, floor)
    return Fit(
        high=high,
        low=low,
        margin=margin,
        floor=floor,
        faqs=faqs,
        questions=len(in_scope),
        out_of_scope=len(outside),
        right=measured["right"],
        wrong=measured["wrong"],
        oos_answered=measured["oos_answered"],
        suggested=measured["suggested"],
    )


def _best_low(rows: Sequence[_Row], high: float) -> float:
    best: tuple[float, float] | None = None
    for low in LOWS:
        if low > high:
            break
        shown = nothing = 0
        in_scope = outside = 0
        for r in rows:
            suggested = [m.entry.id for m in r.matches[:3] if m.score >= low]
            if r.expected is None:
                outside += 1
                nothing += not suggested
            else:
                in_scope += 1
                shown += r.expected in suggested
        balanced = SUGGEST_WEIGHT * shown / max(in_scope, 1) + nothing / max(outside, 1)
        if best is None or balanced > best[0]:
            best = (balanced, low)
    return best[1] if best else high


def _measure(
    rows: Sequence[_Row], high: float, low: float, margin: float, floor: float
) -> dict[str, float]:
    right = wrong = answered = oos = suggested = 0
    in_scope = sum(r.expected is not None for r in rows)
    outside = len(rows) - in_scope
    for r in rows:
        if _decide(r.matches, high, margin, floor):
            answered += 1
            if r.matches[0].entry.id == r.expected:
                right += 1
                suggested += 1
            else:
                wrong += 1
                oos += r.expected is None
        elif r.expected is not None and r.expected in [
            m.entry.id for m in r.matches[:3] if m.score >= low
        ]:
            suggested += 1
    return {
        "right": right / max(in_scope, 1),
        "wrong": wrong / max(answered, 1),
        "oos_answered": oos / max(outside, 1),
        "suggested": suggested / max(in_scope, 1),
    }


def refit(entries: Sequence[Entry], synonyms: dict[str, str], **options: object) -> Fit:
    """Fit the thresholds for this base (takes a few seconds per thousand FAQs)."""
    rows = held_out_rows(entries, synonyms, **options)  # type: ignore[arg-type]
    return choose(rows, faqs=len(entries))


def store_fit(session: Session, fit: Fit, *, actor: Any) -> Fit:
    """Keep the fit for every process (one ``system_state`` row, an event; flushes). The version
    stamp stays (no index is rebuilt): every process reads the fit at its next check."""
    from knowledge.operations import _event, require_manage

    require_manage(actor)
    stamped = replace(fit, version=current_version(session), fitted_at=clock.now().isoformat())
    value = json.dumps(asdict(stamped), separators=(",", ":"))
    entry = session.get(StateEntry, FIT_KEY)
    if entry is None:
        session.add(StateEntry(key=FIT_KEY, value=value, updated_at=clock.now()))
    else:
        entry.value, entry.updated_at = value, clock.now()
    _event(
        session,
        "refit",
        None,
        actor,
        **{k: v for k, v in asdict(stamped).items() if k not in ("version", "fitted_at")},
    )
    session.flush()
    # No new stamp (no index rebuild anywhere): the fit row is read with the stamp, at every
    # process's next check.
    note_state_change(session)
    return stamped


def stored_fit(session: Session) -> Fit | None:
    entry = session.get(StateEntry, FIT_KEY)
    if entry is None:
        return None
    try:
        return Fit(**json.loads(entry.value))
    except (TypeError, ValueError):
        return None


# From this many alternative wordings per FAQ on average the defaults are kept: they were fitted
# on such a base (the starter base: 37), and the generated questions model a base without them
# (refitted on the starter base they answer 64.6% of its held-out questions right, the defaults
# 94.6%).
RICH_WORDINGS = 5.0


def wordings_per_faq(entries: Sequence[Entry]) -> float:
    return sum(len(e.alternatives) for e in entries) / max(len(entries), 1)


def refit_loaded_base(session: Session, *, actor: Any) -> Fit | None:
    """Refit on the active FAQs and synonyms of the session's database and store the fit; on a
    base rich in wordings (``RICH_WORDINGS``) drop any stored fit instead (the defaults apply)
    and return None."""
    entries = load_entries(session)
    if wordings_per_faq(entries) >= RICH_WORDINGS:
        clear_fit(session, actor=actor, wordings=round(wordings_per_faq(entries), 1))
        return None
    fit = refit(entries, load_synonyms(session))
    return store_fit(session, fit, actor=actor)


def clear_fit(session: Session, *, actor: Any, **detail: Any) -> None:
    """Back to the default thresholds (the stored fit removed, an event; flushes)."""
    from knowledge.operations import _event, require_manage

    require_manage(actor)
    entry = session.get(StateEntry, FIT_KEY)
    if entry is not None:
        session.delete(entry)
    _event(session, "refit", None, actor, kept_defaults=True, **detail)
    session.flush()
    note_state_change(session)


# Knowledge-base events that change what the matcher answers with.
CHANGES = ("create", "update", "activate", "deactivate", "attach_gap", "promote_gap", "import")
LARGE_EDIT = 0.1  # a share of the fitted base's FAQs


def refit_after_large_edit(session: Session, *, actor: Any) -> int:
    """Refit when the base refitted last has changed much since (the scheduler's
    ``knowledge_refit`` job): active FAQs more or fewer by ``LARGE_EDIT`` of the fitted count, or
    as many changes recorded since the fit. A base never refitted (the starter base) keeps the
    defaults. Returns 1 if it refitted, else 0."""
    import datetime as dt

    from sqlalchemy import func, select

    from knowledge.models import Faq, KnowledgeEvent

    fit = stored_fit(session)
    if fit is None:
        return 0
    try:
        since = dt.datetime.fromisoformat(fit.fitted_at)
    except ValueError:
        since = None
    active = session.scalar(select(func.count(Faq.id)).where(Faq.active.is_(True))) or 0
    changes = 0
    if since is not None:
        changes = (
            session.scalar(
                select(func.count(KnowledgeEvent.id)).where(
                    KnowledgeEvent.created_at > since, KnowledgeEvent.action.in_(CHANGES)
                )
            )
            or 0
        )
    bound = LARGE_EDIT * max(fit.faqs, 1)
    if since is not None and abs(active - fit.faqs) < bound and changes < bound:
        return 0
    refit_loaded_base(session, actor=actor)  # None (back to the defaults) is a refit too
    return 1
