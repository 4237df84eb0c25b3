from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFound, PermissionDenied
from directory.models import Role
from knowledge import operations, queries
from knowledge.matcher import Entry, Match
from knowledge.models import Faq, GapStatus, KnowledgeEvent, KnowledgeGap
from knowledge.search import (
    QueryError,
    Thresholds,
    answer_question,
    bump_version,
    decide,
    get_matcher,
)
from tests.knowledge.conftest import flush
from tickets.access import SYSTEM


def _m(i: int, score: float) -> Match:
    return Match(Entry(id=i, question=f"q{i}", answer="a", category="c"), score)


LIMITS = Thresholds(high=0.6, low=0.3, margin=0.05)


def test_decide_answers_above_high_with_a_clear_lead() -> None:
    decision = decide([_m(1, 0.8), _m(2, 0.5), _m(3, 0.2)], LIMITS, 3)
    assert decision.answered and decision.best is not None and decision.best.entry.id == 1
    assert [m.entry.id for m in decision.suggestions] == [2]  # runners-up above low only


def test_decide_prefers_did_you_mean_when_the_top_two_are_close() -> None:
    decision = decide([_m(1, 0.8), _m(2, 0.78)], LIMITS, 3)
    assert not decision.answered and decision.best is None
    assert [m.entry.id for m in decision.suggestions] == [1, 2]


def test_decide_between_thresholds_suggests_up_to_limit() -> None:
    matches = [_m(1, 0.5), _m(2, 0.45), _m(3, 0.4), _m(4, 0.35)]
    decision = decide(matches, LIMITS, 3)
    assert not decision.answered
    assert [m.entry.id for m in decision.suggestions] == [1, 2, 3]


def test_decide_below_low_gives_nothing() -> None:
    decision = decide([_m(1, 0.29)], LIMITS, 3)
    assert not decision.answered and decision.suggestions == []
    assert not decide([], LIMITS, 3).answered


def test_search_answers_a_paraphrase_and_counts_the_hit(db: Session, faqs: dict[str, Faq]) -> None:
    result = answer_question(db, "请问我的驾照过期了，要怎么换？")
    assert result.answered and result.best is not None
    assert result.best.id == faqs["licence"].id
    assert result.best.department == "市公安局交通警察支队"
    assert 0 < result.best.score <= 1
    body = result.as_dict()
    assert set(body) == {"query", "answered", "best", "suggestions"}
    assert set(body["best"]) == {"id", "question", "answer", "category", "department", "score"}
    db.commit()
    db.refresh(faqs["licence"])
    assert faqs["licence"].hit_count == 0  # counted in the process, not written by the search
    assert flush(db) == 1
    db.refresh(faqs["licence"])
    assert faqs["licence"].hit_count == 1 and faqs["licence"].last_hit_at is not None
    assert queries.top_faqs(db, 1)[0].id == faqs["licence"].id
    assert db.scalar(select(KnowledgeGap)) is None


def test_out_of_scope_gets_no_answer_and_is_logged(db: Session, faqs: dict[str, Faq]) -> None:
    result = answer_question(db, "明天会下雨吗？", channel="wechat")
    assert not result.answered and result.best is None and result.suggestions == []
    answer_question(db, "明天会下雨吗", channel="telegram")
    db.commit()
    assert db.scalar(select(KnowledgeGap)) is None  # not in the search's transaction
    flush(db)
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None
    assert gap.normalized == "明天会下雨"
    assert gap.count == 2 and gap.channels == ["wechat", "telegram"]
    assert gap.first_seen <= gap.last_seen
    assert [g.id for g in queries.list_gaps(db)] == [gap.id]


def test_did_you_mean_is_logged_as_suggested(db: Session, faqs: dict[str, Faq]) -> None:
    limits = Thresholds(high=1.1, low=0.05, margin=0.0)  # never sure enough: a did-you-mean
    result = answer_question(db, "护照", thresholds=limits)
    assert not result.answered and result.suggestions
    assert result.suggestions[0].id == faqs["passport"].id
    flush(db)
    db.refresh(faqs["passport"])
    assert faqs["passport"].suggest_count == 1
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None and gap.suggested_count == 1


def test_no_gap_when_not_asked_to_log(db: Session, faqs: dict[str, Faq]) -> None:
    answer_question(db, "今天吃什么", log_gap=False)
    flush(db)
    assert db.scalar(select(KnowledgeGap)) is None


@pytest.mark.parametrize("query", ["", "   ", "问" * 501])
def test_bad_queries_are_refused(db: Session, faqs: dict[str, Faq], query: str) -> None:
    with pytest.raises(QueryError):
        answer_question(db, query)


def test_attach_gap_makes_the_matcher_answer_it_at_once(db: Session, faqs: dict[str, Faq]) -> None:
    question = "开车的本本年限到头了咋整"
    assert not answer_question(db, question).answered
    flush(db)
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None
    operations.attach_gap_to_faq(db, gap.id, faqs["licence"].id, actor=SYSTEM)
    db.commit()
    assert question in faqs["licence"].alternatives
    assert gap.status == GapStatus.ATTACHED and gap.faq_id == faqs["licence"].id
    result = answer_question(db, question)
    assert result.answered and result.best is not None and result.best.id == faqs["licence"].id
    assert queries.list_gaps(db) == []  # no longer open


def test_promote_gap_creates_a_new_faq(db: Session, faqs: dict[str, Faq]) -> None:
    question = "犬只登记在哪里办理"
    answer_question(db, question)
    flush(db)
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None
    faq = operations.promote_gap_to_faq(
        db, gap.id, answer="到居住地派出所办理犬只登记。", category="其他", actor=SYSTEM
    )
    db.commit()
    assert faq.question == question and gap.status == GapStatus.PROMOTED
    result = answer_question(db, "请问犬只登记要去哪里办？")
    assert result.best is not None or result.suggestions
    top = result.best or result.suggestions[0]
    assert top.id == faq.id
    actions = [e.action for e in db.scalars(select(KnowledgeEvent).order_by(KnowledgeEvent.id))]
    assert "promote_gap" in actions and "create" in actions


def test_gap_operations_need_an_admin(db: Session, faqs: dict[str, Faq], make_staff) -> None:
    answer_question(db, "明天会下雨吗")
    flush(db)
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None
    operator = make_staff(Role.OPERATOR)
    admin = make_staff(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        operations.attach_gap_to_faq(db, gap.id, faqs["fund"].id, actor=operator)
    with pytest.raises(NotFound):
        operations.attach_gap_to_faq(db, 999_999, faqs["fund"].id, actor=admin)
    operations.attach_gap_to_faq(db, gap.id, faqs["fund"].id, actor=admin)


def test_deactivated_faq_is_no_longer_found(db: Session, faqs: dict[str, Faq]) -> None:
    operations.set_faq_active(db, faqs["passport"], False, actor=SYSTEM)
    result = answer_question(db, "第一次办护照需要什么")
    assert result.best is None or result.best.id != faqs["passport"].id
    assert all(s.id != faqs["passport"].id for s in result.suggestions)


def test_synonyms_are_staff_editable(db: Session, faqs: dict[str, Faq]) -> None:
    operations.add_synonym(db, "本本", "驾驶证", actor=SYSTEM)
    matches = get_matcher(db).search("本本到期怎么换证", 1)
    assert matches and matches[0].entry.id == faqs["licence"].id
    synonym = next(s for s in queries.list_synonyms(db) if s.term == "本本")
    operations.remove_synonym(db, synonym.id, actor=SYSTEM)
    assert "本本" not in get_matcher(db).synonyms


def test_index_is_reused_until_the_version_moves(db: Session, faqs: dict[str, Faq]) -> None:
    first = get_matcher(db)
    assert get_matcher(db) is first  # a search never rebuilds an unchanged index
    bump_version(db)  # what another process's change looks like
    assert get_matcher(db) is not first


def test_queries(db: Session, faqs: dict[str, Faq]) -> None:
    categories = dict(queries.list_categories(db))
    assert categories["住房公积金"] == 1
    assert [f.id for f in queries.list_faqs(db, category="出入境证件")] == [faqs["passport"].id]
    assert len(queries.list_faqs(db, offset=1, limit=1)) == 1
    assert queries.get_faq(db, faqs["fund"].id).question == "公积金怎么提取？"
    with pytest.raises(NotFound):
        queries.get_faq(db, 999_999)
    assert faqs["fund"].department is not None and faqs["fund"].department.code == "gongjijin"
    assert faqs["passport"].department is not None
    assert faqs["passport"].department.code == "churujing"


def test_update_faq_validates(db: Session, faqs: dict[str, Faq]) -> None:
    from core.errors import ValidationError

    with pytest.raises(ValidationError):
        operations.update_faq(db, faqs["fund"], answer="  ", actor=SYSTEM)
    with pytest.raises(ValidationError):
        operations.update_faq(db, faqs["fund"], question="普通护照怎么办理？", actor=SYSTEM)
    operations.update_faq(db, faqs["fund"], keywords="公积金，提取|取钱", actor=SYSTEM)
    assert faqs["fund"].keywords == ["公积金", "提取", "取钱"]
