"""The matcher without a database: fields, synonyms, the out-of-scope guard, the posting budget, and
the shipped content's quality on the evaluation set (a regression guard, not the tuning)."""

from __future__ import annotations

import math

import pytest

from knowledge.matcher import Calibration, Entry, Match, Matcher
from knowledge.search import Thresholds, decide
from lab.knowledge.evaluation import (
    Case,
    DifflibBaseline,
    Ranked,
    ShippedMethod,
    _solve,
    calibration_examples,
    cross_validated_tune,
    fit_calibration,
    held_out_wordings,
    load_out_of_scope,
    load_shipped,
    measure,
    rank_all,
    synthetic_entries,
    tuning_groups,
)

ENTRIES = [
    Entry(
        id=1,
        question="怎么查询和处理交通违章？",
        answer="可在交管12123 App查询违章记录并缴纳罚款。",
        category="交通违法与驾驶证",
        alternatives=("车子有没有违章在哪里查",),
        keywords=("违章",),
        department="市公安局交通警察支队",
    ),
    Entry(
        id=2,
        question="怎么查询个人社保缴费记录？",
        answer="登录掌上12333或电子社保卡查看个人权益记录。",
        category="社会保险",
        alternatives=("社保缴费明细在哪里查",),
        keywords=("社保", "缴费记录"),
        department="市人力资源和社会保障局",
    ),
    Entry(
        id=3,
        question="普通护照怎么办理？",
        answer="携带身份证到出入境接待大厅申请。",
        category="出入境证件",
        alternatives=("第一次办护照需要什么",),
        keywords=("护照",),
    ),
]


def test_words_of_the_answer_count() -> None:
    matcher = Matcher(ENTRIES)
    matches = matcher.search("12123怎么用", 3)
    assert matches and matches[0].entry.id == 1
    assert matches[0].signals["entry_coverage"] > 0


def test_synonyms_apply_to_query_and_index() -> None:
    matcher = Matcher(ENTRIES, {"缴": "交", "驾照": "驾驶证"})
    assert matcher.prepare("社保缴费") == "社保交费"
    matches = matcher.search("社保交费记录怎么看", 1)
    assert matches[0].entry.id == 2


def test_a_question_sharing_only_generic_words_is_held_down() -> None:
    matcher = Matcher(ENTRIES)
    matches = matcher.search("红烧肉怎么做才好吃", 3)
    assert all(m.signals["informative"] == 0.0 for m in matches)
    assert all(m.score < Thresholds().high for m in matches)
    topical = matcher.search("护照在哪办", 1)[0]
    assert topical.entry.id == 3 and topical.signals["informative"] == 1.0


def test_the_posting_budget_keeps_the_most_selective_lists() -> None:
    big = synthetic_entries(ENTRIES, 3000)
    tight = Matcher(big, posting_budget=50)
    matches = tight.search("第一次办护照要带什么", 1)
    assert matches and matches[0].entry.id == 3


def _counting(matcher: Matcher) -> list[str]:
    """Record each question the matcher really scores (not answered from its result cache)."""
    scored: list[str] = []
    search = matcher._search

    def counted(text: str, limit: int) -> list[Match]:
        scored.append(text)
        return search(text, limit)

    matcher._search = counted  # type: ignore[method-assign]
    return scored


def test_a_repeated_question_is_answered_from_the_result_cache() -> None:
    cached, plain = Matcher(ENTRIES), Matcher(ENTRIES, result_cache=0)
    scored = _counting(cached)
    first = cached.search("第一次办护照需要什么？", 3)
    # The same question up to spacing and punctuation is the same normalised text.
    again = cached.search("第一次办护照 需要什么", 3)
    assert scored == [cached.prepare("第一次办护照需要什么")]
    assert again == first and again is not first  # a fresh list each time
    expected = plain.search("第一次办护照需要什么", 3)
    assert [(m.entry.id, m.score, m.signals) for m in first] == [
        (m.entry.id, m.score, m.signals) for m in expected
    ]
    cached.search("第一次办护照需要什么", 1)  # another limit is another result
    assert len(scored) == 2


def test_the_result_cache_is_bounded_and_forgets_the_least_recent() -> None:
    matcher = Matcher(ENTRIES, result_cache=2)
    scored = _counting(matcher)
    for question in ("护照怎么办", "社保记录怎么查", "护照怎么办", "违章在哪里查", "护照怎么办"):
        matcher.search(question, 3)
    # 护照 was asked again before 违章 came in, so 社保 was the one forgotten.
    assert scored == [matcher.prepare(q) for q in ("护照怎么办", "社保记录怎么查", "违章在哪里查")]
    assert len(matcher._results) == 2
    matcher.search("社保记录怎么查", 3)
    assert scored[-1] == matcher.prepare("社保记录怎么查")


def test_without_a_result_cache_every_search_is_scored() -> None:
    matcher = Matcher(ENTRIES, result_cache=0)
    scored = _counting(matcher)
    matcher.search("护照怎么办", 3)
    matcher.search("护照怎么办", 3)
    assert len(scored) == 2 and not matcher._results


def test_shipped_content_beats_the_baselines_on_the_held_out_half() -> None:
    entries, synonyms, cases = load_shipped()
    ids = {e.question: e.id for e in entries}
    test_cases = [c for c in cases if c.split == "test"]
    shipped = measure(rank_all(ShippedMethod(entries, synonyms), test_cases, ids), Thresholds())
    difflib_ranked = rank_all(DifflibBaseline(entries), test_cases, ids)
    # A regression guard under the figures in docs/knowledge.md, not a tuning target.
    assert shipped.correct >= 0.78
    assert shipped.wrong <= 0.03
    assert shipped.top3 >= 0.97
    assert shipped.oos_false <= 0.05
    assert shipped.top3 > measure(difflib_ranked, Thresholds()).top3


def test_the_top_match_knows_how_far_its_best_wording_leads() -> None:
    matcher = Matcher(ENTRIES)
    matches = matcher.search("社保缴费明细在哪里查", 3)
    assert matches[0].entry.id == 2
    assert matches[0].signals["wording_lead"] > 0.0
    assert all(m.signals["wording_lead"] < 0.0 for m in matches[1:])


def test_asking_for_advice_is_a_signal_that_lowers_the_score() -> None:
    entries = [
        *ENTRIES,
        Entry(
            id=4,
            question="电动自行车怎么上牌？",
            answer="新车凭发票和合格证到车管所或指定网点登记上牌。",
            category="交通违法与驾驶证",
            alternatives=("电动车上牌要带什么", "电瓶车在哪里挂牌"),
            keywords=("电动车", "上牌"),
        ),
    ]
    matcher = Matcher(entries)
    advice = matcher.search("电动车哪个牌子续航最长", 3)
    assert advice[0].entry.id == 4 and advice[0].signals["advice"] == 1.0
    plain = matcher.search("刚买的电动车在哪上牌", 3)
    assert plain[0].entry.id == 4 and plain[0].signals["advice"] == 0.0
    # The same words, one asking for a recommendation: it scores lower.
    assert advice[0].score < matcher.search("电动车续航最长", 3)[0].score


def _ranked(question: str, expected: int | None, top: int, score: float) -> Ranked:
    case = Case(question, "x" if expected else None, "dev")
    return Ranked(case, expected, [Match(ENTRIES[top - 1], score)])


def test_cross_validated_thresholds_keep_wrong_and_out_of_scope_answers_out() -> None:
    right = [_ranked(f"问题{i}", 1, 1, 0.5 + i / 100) for i in range(30)]
    # One confident wrong answer at 0.6, and an out-of-scope question at 0.45.
    wrong = [_ranked("错的", 2, 1, 0.6), _ranked("无关", None, 3, 0.45)]
    limits, worst = cross_validated_tune([right + wrong], k=3)
    assert limits.high > 0.6
    assert worst["worst_wrong"] == 0.0
    assert measure(right + wrong, limits).wrong == 0.0
    # With a looser budget one wrong answer in 31 is allowed, an out-of-scope answer never.
    loose, _worst = cross_validated_tune([right + wrong], k=3, max_wrong=0.05)
    assert 0.45 < loose.high <= 0.6
    assert measure(right + wrong, loose).oos_false == 0.0


def test_per_fold_tuning_is_stricter_than_pooled() -> None:
    right = [_ranked(f"问题{i}", 1, 1, 0.5 + i / 100) for i in range(60)]
    wrong = [_ranked("错的", 2, 1, 0.7)]
    pooled, _ = cross_validated_tune([right + wrong], k=3, max_wrong=0.03)
    per_fold, _ = cross_validated_tune([right + wrong], k=3, max_wrong=0.03, per_fold=True)
    assert pooled.high <= 0.7 < per_fold.high


def test_the_default_thresholds_are_the_cross_validated_ones() -> None:
    entries, synonyms, cases = load_shipped()
    limits, _worst = cross_validated_tune(tuning_groups(entries, synonyms, cases))
    assert limits == Thresholds()


def test_the_score_is_a_probability_over_the_shortlist_and_the_background() -> None:
    matcher = Matcher(ENTRIES)
    matches = matcher.search("第一次办护照要带什么材料", 3)
    assert matches[0].entry.id == 3
    assert all(0.0 <= m.score <= 1.0 for m in matches)
    # The naive-Bayes posterior shares its mass with the background class (the whole base).
    assert sum(m.signals["bayes"] for m in matches) < 1.0
    assert matches[0].signals["bayes_fit"] <= 0.0
    assert all(m.signals["bayes_fit"] < 0.0 for m in matches[1:])
    assert matches[0].signals["lexical_lead"] > 0 > matches[1].signals["lexical_lead"]


def test_a_lone_weak_candidate_is_not_an_answer() -> None:
    # A tiny base: "犬只登记" shares only 办理-like words with the passport FAQ. Alone in the
    # shortlist it must not become a confident answer.
    matcher = Matcher(ENTRIES)
    matches = matcher.search("犬只登记在哪里办理", 3)
    decision = decide(matches, Thresholds(), 3)
    assert not decision.answered


def test_held_out_wordings_cover_every_alternative_once() -> None:
    entries, _synonyms, _cases = load_shipped()
    held = [c for _fold, _trimmed, cases in held_out_wordings(entries, 5) for c in cases]
    assert len(held) == sum(len(e.alternatives) for e in entries)
    for _fold, trimmed, cases in held_out_wordings(entries[:5], 5):
        remaining = {a for e in trimmed for a in e.alternatives}
        assert not remaining & {c.question for c in cases}


def test_solve_and_fit_calibration_on_a_known_problem() -> None:
    assert _solve([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0]) == pytest.approx([0.8, 1.4])
    # Labels drawn from a known rule: the higher the lexical score, the likelier it is right.
    rows = []
    for i in range(400):
        signals = dict.fromkeys(Calibration.FEATURES, 0.0)
        signals.update(lexical=(i % 20) / 20, bayes=0.5, informative=1.0)
        label = 1.0 if (i * 7919) % 100 < signals["lexical"] * 100 else 0.0
        rows.append(([signals[name] for name in Calibration.FEATURES], label, 1.0))
    fitted = fit_calibration(rows)
    assert fitted.lexical > 2.0

    def probability(x: list[float]) -> float:
        return fitted.probability(dict(zip(Calibration.FEATURES, x, strict=True)))

    assert probability(rows[0][0]) < 0.3 < 0.7 < probability(rows[19][0])


def test_the_shipped_calibration_is_what_the_fit_gives() -> None:
    entries, synonyms, _cases = load_shipped()
    rows = calibration_examples(entries, synonyms, load_out_of_scope("fit"))
    fitted = fit_calibration(rows)
    for name in ("bias", *Calibration.FEATURES):
        # The matcher's sums are exact (math.fsum), so the fit is reproducible; the shipped
        # numbers are rounded to three decimals.
        assert math.isclose(getattr(fitted, name), getattr(Calibration(), name), abs_tol=0.0015)
