"""Reads of the knowledge base for the staff console: the admin FAQ list, FAQs by ids, the gap
log's keyset pages, categories with inactive FAQs; and attaching a gap to an inactive FAQ."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from knowledge import operations, queries
from knowledge.models import Faq, GapStatus, KnowledgeGap
from tickets.access import SYSTEM

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _faq(db: Session, question: str, **kw: object) -> Faq:
    values: dict = {"answer": "答案。", "category": "测试"} | kw
    return operations.create_faq(db, question=question, actor=SYSTEM, **values)


def _gap(db: Session, n: int, count: int, minutes: int, status: str = GapStatus.OPEN) -> None:
    seen = T0 + dt.timedelta(minutes=minutes)
    db.add(
        KnowledgeGap(
            normalized=f"问题{n}",
            sample=f"问题{n}",
            count=count,
            suggested_count=0,
            channels=["web"],
            status=status,
            first_seen=seen,
            last_seen=seen,
        )
    )


def test_admin_faq_page_searches_filters_and_pages_by_id(db: Session) -> None:
    made = [_faq(db, f"问题{n:02d}怎么办？", category="甲" if n % 2 else "乙") for n in range(7)]
    literal = _faq(db, "百分之百_有效吗", answer="100% 到车管所。", category="乙")
    operations.set_faq_active(db, made[0], False, actor=SYSTEM)
    db.commit()

    page, after = queries.admin_faq_page(db, limit=3)
    assert [f.id for f in page] == [f.id for f in made[:3]] and after == made[2].id
    seen = [f.id for f in page]
    while after is not None:
        page, after = queries.admin_faq_page(db, after_id=after, limit=3)
        seen += [f.id for f in page]
    assert seen == [f.id for f in [*made, literal]]  # inactive ones too, each once

    assert queries.admin_faq_page(db, active=False) == ([made[0]], None)
    assert [f.id for f in queries.admin_faq_page(db, category="乙", active=True)[0]] == [
        made[2].id,
        made[4].id,
        made[6].id,
        literal.id,
    ]
    assert queries.admin_faq_page(db, text="车管所")[0] == [literal]  # in the answer
    assert queries.admin_faq_page(db, text="%")[0] == [literal]  # a literal %, not "anything"
    assert queries.admin_faq_page(db, text="_")[0] == [literal]
    assert queries.admin_faq_page(db, text="问题03")[0] == [made[3]]

    assert queries.count_faqs(db) == 7  # active only, as before
    assert queries.count_faqs(db, include_inactive=True) == 8
    assert queries.count_faqs(db, active=False) == 1
    assert queries.count_faqs(db, category="乙", text="车管所") == 1
    assert queries.count_faqs(db, category="甲", include_inactive=True) == 3


def test_faqs_by_ids_reads_them_in_one_go(db: Session) -> None:
    one, two = _faq(db, "一？"), _faq(db, "二？")
    db.commit()
    assert queries.faqs_by_ids(db, []) == {}
    assert queries.faqs_by_ids(db, [None, None]) == {}
    assert queries.faqs_by_ids(db, [one.id, None, two.id, one.id, 999_999]) == {
        one.id: one,
        two.id: two,
    }


def test_categories_with_only_inactive_faqs_for_the_admin(db: Session) -> None:
    _faq(db, "一？", category="在用")
    old = _faq(db, "二？", category="停用")
    operations.set_faq_active(db, old, False, actor=SYSTEM)
    db.commit()
    assert queries.list_categories(db) == [("在用", 1)]
    assert queries.list_categories(db, include_inactive=True) == [("停用", 1), ("在用", 1)]


@pytest.fixture
def gaps(db: Session) -> list[int]:
    """Open gaps with ties on count and on last_seen, plus an attached one; ids in page order."""
    spec = [(5, 10), (5, 10), (5, 30), (3, 50), (1, 10), (1, 10), (1, 70), (9, 0)]
    for n, (count, minutes) in enumerate(spec):
        _gap(db, n, count, minutes, GapStatus.ATTACHED if count == 9 else GapStatus.OPEN)
    db.commit()
    rows = db.scalars(select(KnowledgeGap).where(KnowledgeGap.status == GapStatus.OPEN)).all()
    ordered = sorted(rows, key=lambda g: (g.count, g.last_seen, g.id), reverse=True)
    return [g.id for g in ordered]


def test_gap_pages_follow_the_cursor_in_order(db: Session, gaps: list[int]) -> None:
    assert [g.id for g in queries.list_gaps(db)] == gaps
    seen: list[int] = []
    after: str | None = None
    pages = 0
    while True:
        page, after = queries.gap_page(db, after=after, limit=3)
        seen += [g.id for g in page]
        pages += 1
        if after is None:
            break
    assert seen == gaps and pages == 3
    # The cursor names the last row: list_gaps continues after it too, offset still works.
    cursor = queries.gap_cursor(db.get(KnowledgeGap, gaps[1]))
    assert [g.id for g in queries.list_gaps(db, after=cursor, limit=2)] == gaps[2:4]
    assert [g.id for g in queries.list_gaps(db, offset=2, limit=2)] == gaps[2:4]
    everything, more = queries.gap_page(db, status=None, limit=50)
    assert len(everything) == 8 and more is None
    assert everything[0].status == GapStatus.ATTACHED  # count 9, first over all statuses


@pytest.mark.parametrize("cursor", ["x", "!!!", "MXwyfDM", "bm9wZQ", "a" * 300, "MXxub3R8Mw"])
def test_a_bad_gap_cursor_is_refused(db: Session, gaps: list[int], cursor: str) -> None:
    with pytest.raises(ValidationError) as refused:
        queries.gap_page(db, after=cursor)
    assert set(refused.value.fields) == {"cursor"}


def test_a_naive_time_in_the_cursor_is_refused(db: Session, gaps: list[int]) -> None:
    import base64

    naive = base64.urlsafe_b64encode(b"1|2026-11-01T08:00:00|3").decode()
    with pytest.raises(ValidationError):
        queries.list_gaps(db, after=naive)


def test_attach_refuses_an_inactive_faq_and_changes_nothing(db: Session, gaps: list[int]) -> None:
    faq = _faq(db, "停用的问题？")
    operations.set_faq_active(db, faq, False, actor=SYSTEM)
    db.commit()
    with pytest.raises(ValidationError) as refused:
        operations.attach_gap_to_faq(db, gaps[0], faq.id, actor=SYSTEM)
    assert refused.value.fields == {
        "faq": "This FAQ is inactive; activate it first or choose another one."
    }
    db.rollback()
    gap = db.get(KnowledgeGap, gaps[0])
    assert gap is not None and gap.status == GapStatus.OPEN and gap.faq_id is None
    assert db.get(Faq, faq.id).alternatives == []  # type: ignore[union-attr]
