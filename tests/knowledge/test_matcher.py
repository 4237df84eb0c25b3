"""The matcher without a database: fields, synonyms, the out-of-scope guard, the posting budget, and
the shipped content's quality on the evaluation set (a regression guard, not the tuning)."""

from __future__ import annotations

from knowledge.evaluation import (
    ROUND1_FAQS,
    Case,
    DifflibBaseline,
    Ranked,
    ShippedMethod,
    cross_validated_tune,
    entries_from_csv,
    load_shipped,
    measure,
    rank_all,
    synthetic_entries,
)
from knowledge.matcher import Entry, Match, Matcher
from knowledge.search import Thresholds, decide

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


def test_shipped_content_beats_the_baselines_on_the_held_out_half() -> None:
    entries, synonyms, cases = load_shipped()
    ids = {e.question: e.id for e in entries}
    test_cases = [c for c in cases if c.split == "test"]
    shipped = measure(rank_all(ShippedMethod(entries, synonyms), test_cases, ids), Thresholds())
    difflib_ranked = rank_all(DifflibBaseline(entries), test_cases, ids)
    # A regression guard well under the figures in docs/knowledge.md, not a tuning target.
    assert shipped.correct >= 0.65
    assert shipped.top3 >= 0.88
    assert shipped.oos_false <= 0.05
    assert shipped.top3 > measure(difflib_ranked, Thresholds()).top3


def test_the_top_match_says_whether_it_also_has_the_best_wording() -> None:
    matcher = Matcher(ENTRIES)
    top = matcher.search("社保缴费明细在哪里查", 3)[0]
    assert top.entry.id == 2
    assert top.signals["agree_wording"] >= 0.0


def test_an_answer_needs_the_second_opinion_when_asked() -> None:
    entry = ENTRIES[0]
    doubtful = [Match(entry, 0.9, {"agree_wording": -0.05})]
    assert decide(doubtful, Thresholds(high=0.5, low=0.2, margin=0.0), 3).answered
    strict = Thresholds(high=0.5, low=0.2, margin=0.0, agreement=0.0)
    decision = decide(doubtful, strict, 3)
    assert not decision.answered and [m.entry.id for m in decision.suggestions] == [1]
    # Matches without the signal (the baselines') are not held back.
    assert decide([Match(entry, 0.9)], strict, 3).answered


def _ranked(question: str, expected: int | None, top: int, score: float) -> Ranked:
    case = Case(question, "x" if expected else None, "dev")
    return Ranked(case, expected, [Match(ENTRIES[top - 1], score, {"agree_wording": 0.1})])


def test_cross_validated_thresholds_keep_every_fold_free_of_wrong_answers() -> None:
    right = [_ranked(f"问题{i}", 1, 1, 0.5 + i / 100) for i in range(30)]
    # One confident wrong answer at 0.6, and an out-of-scope question at 0.45.
    wrong = [_ranked("错的", 2, 1, 0.6), _ranked("无关", None, 3, 0.45)]
    limits, worst = cross_validated_tune([right + wrong], k=3)
    assert limits.high > 0.6
    assert worst["worst_wrong"] == 0.0
    assert measure(right + wrong, limits).wrong == 0.0


def test_the_default_thresholds_are_the_cross_validated_ones() -> None:
    entries, synonyms, cases = load_shipped()
    dev = [c for c in cases if c.split == "dev"]
    round1 = entries_from_csv(ROUND1_FAQS.read_text(encoding="utf-8"))
    groups = [
        rank_all(ShippedMethod(e, synonyms), dev, {x.question: x.id for x in e})
        for e in (entries, round1)
    ]
    limits, _worst = cross_validated_tune(groups)
    assert limits == Thresholds()
