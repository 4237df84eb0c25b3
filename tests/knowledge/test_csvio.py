from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.models import Department
from knowledge.csvio import CsvImportError, export_faqs, import_faqs, parse_csv
from knowledge.models import Faq
from knowledge.normalize import normalize
from knowledge.seed import SHIPPED_FAQS, seed_starter_knowledge
from lab.knowledge.evaluation import SHIPPED_EVAL, load_cases
from tickets.access import SYSTEM

HEADER = "question,alternatives,answer,category,department,keywords\n"


def test_import_matches_departments_and_warns_about_unknown_ones(
    db: Session, departments: dict[str, Department]
) -> None:
    text = HEADER + (
        "护照怎么办？,办护照|护照申请,带身份证去出入境大厅。,出入境证件,市公安局出入境管理支队,护照|出国\n"
        '社保怎么查？,社保查询,登录掌上12333。,社会保险,人社局,"社保，查询,缴费"\n'
        "犬只怎么登记？,狗证,到派出所办理。,其他,宠物管理局,狗证\n"
        "路灯坏了？,路灯不亮,拨打12345。,市容环卫与违法建设,,路灯\n"
    )
    report = import_faqs(db, text, actor=SYSTEM)
    assert report.created == 4
    assert [line for line, _ in report.unknown_departments] == [4, 5]
    assert (
        "warning: line 4: department 宠物管理局 not found; imported without one" in report.lines()
    )
    assert "warning: line 5: no department given; imported without one" in report.lines()
    faqs = {f.question: f for f in db.scalars(select(Faq))}
    assert faqs["护照怎么办？"].department_id == departments["churujing"].id
    assert faqs["社保怎么查？"].department_id == departments["rensha"].id  # short name
    assert faqs["社保怎么查？"].keywords == ["社保", "查询", "缴费"]
    assert faqs["护照怎么办？"].alternatives == ["办护照", "护照申请"]
    assert faqs["犬只怎么登记？"].department_id is None


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("护照怎么办？,,带身份证。,出入境证件,,\n问题,,,分类,,\n", 3),  # no answer
        (",,答案,分类,,\n", 2),  # no question
        ("护照怎么办？,,答案\n", 2),  # missing columns
        ("护照怎么办？,,答案,分类,,\n护照怎么办？,,另一个答案,分类,,\n", 3),  # repeated
        ("护照怎么办？,,答案,,,\n", 2),  # no category
    ],
)
def test_a_bad_row_names_its_line_and_imports_nothing(
    db: Session, departments: dict[str, Department], body: str, line: int
) -> None:
    with pytest.raises(CsvImportError) as caught:
        import_faqs(db, HEADER + "好问题,,好答案,其他,,\n" + body, actor=SYSTEM)
    assert caught.value.line == line + 1
    assert str(line + 1) in str(caught.value)
    assert db.scalar(select(func.count(Faq.id))) == 0


def test_wrong_header_is_refused() -> None:
    with pytest.raises(CsvImportError) as caught:
        parse_csv("question,answer\n护照,带身份证\n")
    assert caught.value.line == 1
    with pytest.raises(CsvImportError):
        parse_csv("")


def test_replace_deactivates_missing_faqs_and_export_round_trips(
    db: Session, departments: dict[str, Department]
) -> None:
    import_faqs(db, HEADER + "甲？,,答甲,其他,,\n乙？,,答乙,其他,市民政局,\n", actor=SYSTEM)
    report = import_faqs(db, HEADER + "乙？,乙乙,答乙新,其他,民政,\n", actor=SYSTEM, replace=True)
    assert (report.created, report.updated, report.deactivated) == (0, 1, 1)
    exported = export_faqs(db)
    assert exported == HEADER + "乙？,乙乙,答乙新,其他,市民政局,\n"
    assert parse_csv(exported)[0].answer == "答乙新"


def test_starter_knowledge_is_rich_and_safe_to_seed_twice(
    db: Session, departments: dict[str, Department]
) -> None:
    rows = parse_csv(SHIPPED_FAQS.read_text(encoding="utf-8"))
    assert len(rows) >= 150
    assert all(len(r.alternatives) >= 2 and r.keywords for r in rows)
    first = seed_starter_knowledge(db)
    db.commit()
    second = seed_starter_knowledge(db)
    assert db.scalar(select(func.count(Faq.id))) == len(rows)
    assert "already present" in second[0] and first != second
    # Every department named in the starter file is a seeded one; only the hotline's own FAQ
    # (how to follow a case) names none.
    without = [r.question for r in rows if not r.department]
    assert without == ["反映的问题怎么查询办理进度？"]
    assert db.scalar(select(func.count(Faq.id)).where(Faq.department_id.is_(None))) == len(without)


def test_evaluation_set_is_honest() -> None:
    rows = parse_csv(SHIPPED_FAQS.read_text(encoding="utf-8"))
    wordings = {r.question: [r.question, *r.alternatives] for r in rows}
    cases = load_cases(SHIPPED_EVAL)
    in_scope = [c for c in cases if c.expected]
    assert len(in_scope) >= 300 and len(cases) - len(in_scope) >= 50
    from rapidfuzz.distance import Levenshtein

    for case in in_scope:
        assert case.expected in wordings, case.expected
        for wording in wordings[case.expected]:
            # Not a copy of the FAQ's wording with a character or two changed.
            assert Levenshtein.distance(normalize(case.question), normalize(wording)) > 2


def test_every_problem_is_reported_at_once_and_nothing_is_imported(
    db: Session, departments: dict[str, Department]
) -> None:
    body = (
        "好问题,,好答案,其他,,\n"  # line 2, good
        ",,答案,分类,,\n"  # 3: no question
        '"护照？",,,分类,,\n'  # 4: no answer
        "缺列,,答案\n"  # 5: columns
        '"多行的\n问题？",,"第一行\n第二行",其他,,\n'  # 6-8: good, spans three lines
        "好 问题！,,另一个答案,其他,,\n"  # 9: the question of line 2 up to spacing/punctuation
        + "长" * 301
        + ",,答,,,\n"  # 10: question too long and no category
    )
    with pytest.raises(CsvImportError) as caught:
        import_faqs(db, HEADER + body, actor=SYSTEM)
    problems = [(p.line, p.field) for p in caught.value.problems]
    assert problems == [
        (3, "question"),
        (4, "answer"),
        (5, "columns"),
        (9, "question"),
        (10, "question"),
        (10, "category"),
    ]
    lines = caught.value.lines("en")
    assert lines[0].startswith("6 problems") and "line 3" in lines[0]
    assert "line 9, question: The same question as line 2" in lines[4]
    assert db.scalar(select(func.count(Faq.id))) == 0


def test_questions_differing_in_spacing_or_punctuation_merge_on_request(
    db: Session, departments: dict[str, Department]
) -> None:
    text = HEADER + (
        "护照怎么办？,办护照,带身份证去出入境大厅。,出入境证件,出入境,护照\n"
        "乙？,,答乙,其他,,\n"
        "护照 怎么办?,第一次办护照,另一个部门的说法。,出入境证件,出入境,出国|护照\n"
        "護照怎麼辦,,带身份证去出入境大厅。,出入境证件,出入境,\n"  # traditional: the same
    )
    with pytest.raises(CsvImportError):
        import_faqs(db, text, actor=SYSTEM)
    report = import_faqs(db, text, actor=SYSTEM, merge_similar=True)
    assert report.created == 2
    assert [(m.line, m.into, m.answer_differs) for m in report.merged] == [
        (4, 2, True),
        (5, 2, False),
    ]
    assert "merged: line 4 into line 2; its answer differs, the first answer was kept" in (
        report.lines()
    )
    faq = db.scalar(select(Faq).where(Faq.question == "护照怎么办？"))
    assert faq is not None and faq.answer == "带身份证去出入境大厅。"
    assert faq.alternatives == ["办护照", "护照 怎么办?", "第一次办护照", "護照怎麼辦"]
    assert faq.keywords == ["护照", "出国"]


def test_many_unknown_departments_are_grouped_by_name(
    db: Session, departments: dict[str, Department]
) -> None:
    rows = "".join(f"问题{i}？,,答案{i},其他,{'甲局' if i % 2 else '乙局'},\n" for i in range(30))
    report = import_faqs(db, HEADER + rows, actor=SYSTEM)
    assert report.created == 30
    assert report.lines()[1:] == [
        "warning: department 乙局 not found on 15 lines (the first: line 2); imported without one",
        "warning: department 甲局 not found on 15 lines (the first: line 3); imported without one",
    ]


def test_a_traditional_base_answers_simplified_questions(
    db: Session, departments: dict[str, Department]
) -> None:
    from knowledge.search import get_matcher

    text = HEADER + (
        "駕駛執照到期了怎麼換發？,,可透過監理服務網申請換發駕照。,交通,,駕照|換照\n"
        "如何申請普通護照？,,攜帶身分證至領事事務局辦理。,出入境,,護照\n"
        "住宅用電電費如何查詢？,,可於台電網站查詢電費帳單。,用電,,電費\n"
    )
    import_faqs(db, text, actor=SYSTEM)
    db.commit()
    matcher = get_matcher(db)
    for question, expected in (
        ("驾照过期了怎么换", "駕駛執照到期了怎麼換發？"),
        ("第一次办护照要带什么", "如何申請普通護照？"),
        ("怎么查家里的电费", "住宅用電電費如何查詢？"),
    ):
        assert matcher.search(question, 1)[0].entry.question == expected, question
