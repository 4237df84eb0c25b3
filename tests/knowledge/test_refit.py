"""Thresholds refitted on the loaded base from its own text (knowledge.refit)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import refit as refit_module
from knowledge.matcher import Entry, Match
from knowledge.models import Faq, KnowledgeEvent
from knowledge.refit import Fit, _Row, choose, pseudo_questions, refit_loaded_base, stored_fit
from knowledge.search import DEFAULT_THRESHOLDS, Thresholds, answer_question, thresholds_for
from tickets.access import SYSTEM


def _entry(i: int) -> Entry:
    return Entry(id=i, question=f"q{i}", answer="a", category="c")


def _row(expected: int | None, top: int, score: float, runner_up: float = 0.0) -> _Row:
    matches = [
        Match(_entry(top), score, {"lexical": 0.5}),
        Match(_entry(top + 100), runner_up, {"lexical": 0.1}),
    ]
    return _Row(expected, matches)


def test_choose_answers_only_where_the_material_stays_right() -> None:
    # Right answers score 0.5 and up; three wrong ones (3% of all) 0.45 to 0.47; out of scope
    # tops 0.3: answering from 0.46 keeps wrong answers at 2% (2 of 102), from 0.45 it does not.
    rows = [_row(i, i, 0.5 + i / 1000) for i in range(1, 101)]
    rows += [_row(7, 8, 0.45), _row(9, 10, 0.46), _row(11, 12, 0.47)]
    rows += [_row(None, 50 + i, 0.3 - i / 100) for i in range(20)]
    fit = choose(rows, faqs=100)
    assert 0.45 < fit.high <= 0.5
    assert fit.right == pytest.approx(100 / 103) and fit.oos_answered == 0
    assert fit.wrong <= 0.02
    assert fit.low <= fit.high


def test_choose_answers_nothing_when_nothing_is_safe() -> None:
    rows = [_row(1, 2, 0.9), _row(2, 1, 0.9), _row(None, 3, 0.9)]
    fit = choose(rows, faqs=3)
    assert fit.high > 0.9 and fit.right == 0.0 and fit.wrong == 0.0  # above every score


def test_pseudo_questions_come_from_the_faq_text() -> None:
    entry = Entry(
        id=1,
        question="如何申请普通护照",
        answer="携带身份证到出入境大厅办理",
        category="出入境",
        keywords=("护照", "出入境"),
    )
    made = pseudo_questions(entry, lambda text: ["如何", "申请", "普通", "护照", "携带", "身份证"])
    assert made and made[-1] == "护照 出入境"
    assert all(q != entry.question for q in made)


@pytest.fixture
def small_fit(monkeypatch: pytest.MonkeyPatch) -> Any:
    fit = Fit(0.31, 0.07, 0.1, 0.25, 3, 10, 5, 0.9, 0.0, 0.0, 1.0)
    monkeypatch.setattr(refit_module, "refit", lambda entries, synonyms: fit)
    return fit


def test_a_stored_fit_is_used_unless_thresholds_are_configured(
    db: Session, faqs: dict[str, Faq], small_fit: Fit
) -> None:
    assert thresholds_for(db) == DEFAULT_THRESHOLDS
    stored = refit_loaded_base(db, actor=SYSTEM)
    db.commit()
    assert stored_fit(db) == stored and stored.version and stored.fitted_at
    answer_question(db, "护照")  # the next search reads the fit with the version stamp
    assert thresholds_for(db) == Thresholds(high=0.31, low=0.07, margin=0.1, floor=0.25)
    event = db.scalar(select(KnowledgeEvent).where(KnowledgeEvent.action == "refit"))
    assert event is not None and event.detail["high"] == 0.31
    db.info["knowledge.thresholds"] = Thresholds(high=0.9)  # HOTLINE_KNOWLEDGE_HIGH=0.9
    assert thresholds_for(db).high == 0.9


def test_refit_on_a_real_small_base(db: Session, faqs: dict[str, Faq]) -> None:
    fit = refit_loaded_base(db, actor=SYSTEM)
    assert fit.faqs == 3 and fit.questions > 0 and fit.out_of_scope > 100
    assert fit.wrong <= 0.02 and fit.oos_answered <= 0.02
    assert 0 < fit.low <= min(fit.high, 1.0)


def test_a_large_edit_refits_a_refitted_base(
    db: Session, faqs: dict[str, Faq], small_fit: Fit
) -> None:
    from core import clock
    from knowledge import operations
    from tests.conftest import at

    assert refit_module.refit_after_large_edit(db, actor=SYSTEM) == 0  # never refitted: defaults
    with clock.frozen(at(2026, 3, 10, 11)):  # after the fixture's FAQs were made
        first = refit_loaded_base(db, actor=SYSTEM)
    db.commit()
    with clock.frozen(at(2026, 3, 10, 12)):
        assert refit_module.refit_after_large_edit(db, actor=SYSTEM) == 0  # nothing changed
        operations.update_faq(db, faqs["fund"], answer="新的答案", actor=SYSTEM)  # 1 of 3 FAQs
        assert refit_module.refit_after_large_edit(db, actor=SYSTEM) == 1
    assert (stored_fit(db) or first).fitted_at > first.fitted_at


def test_a_base_rich_in_wordings_keeps_the_defaults(
    db: Session, faqs: dict[str, Faq], small_fit: Fit
) -> None:
    from knowledge import operations

    refit_loaded_base(db, actor=SYSTEM)
    assert stored_fit(db) is not None
    for faq in faqs.values():  # five more wordings each: like the starter base
        more = [f"{faq.question} 问法{i}" for i in range(5)]
        operations.update_faq(db, faq, alternatives=[*faq.alternatives, *more], actor=SYSTEM)
    assert refit_loaded_base(db, actor=SYSTEM) is None
    db.commit()
    assert stored_fit(db) is None
    answer_question(db, "护照")
    assert thresholds_for(db) == DEFAULT_THRESHOLDS
