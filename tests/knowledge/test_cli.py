"""The ``flask --app app knowledge import|export|ask`` commands, through Flask's CLI runner (the
lab's evaluation script, which was ``knowledge eval``: test_evaluate.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.models import Faq

HEADER = "question,alternatives,answer,category,department,keywords\n"
ROWS = (
    "驾驶证到期了怎么换证？,驾照过期怎么换新的|驾驶证有效期满换证,可通过交管12123 App申请期满换证。,"
    "交通违法与驾驶证,市公安局交通警察支队,驾驶证|换证\n"
    "普通护照怎么办理？,第一次办护照需要什么|出国要办护照去哪里,携带身份证到出入境接待大厅申请。,"
    "出入境证件,不存在的局,护照\n"
)


def _count(db: Session) -> int:
    db.rollback()  # a fresh read: the command committed in its own session
    return db.scalar(select(func.count()).select_from(Faq)) or 0


def test_import_reports_unknown_departments_and_ask_ranks(
    runner: Any, db: Session, departments: Any, tmp_path: Path
) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    result = runner.invoke(args=["knowledge", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "不存在的局" in result.output  # listed, the row imported without a department
    assert _count(db) == 2

    asked = runner.invoke(args=["knowledge", "ask", "驾照过期了咋换"])
    assert asked.exit_code == 0, asked.output
    lines = asked.output.splitlines()
    assert lines[0].startswith(("answered", "did you mean"))
    assert "驾驶证到期了怎么换证" in lines[1] and "lexical" in lines[1]

    exported = tmp_path / "out.csv"
    result = runner.invoke(args=["knowledge", "export", str(exported)])
    assert result.exit_code == 0 and "exported 2 FAQs" in result.output
    text = exported.read_text(encoding="utf-8")
    assert text.startswith(HEADER) and "驾照过期怎么换新的" in text


def test_a_bad_file_is_refused_whole(
    runner: Any, db: Session, departments: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + ROWS + "没有答案的问题？,,,其他,,\n", encoding="utf-8")
    result = runner.invoke(args=["knowledge", "import", str(bad)])
    assert result.exit_code != 0
    assert "4" in result.output  # the bad row's line number
    assert _count(db) == 0  # nothing half-imported

    binary = tmp_path / "gbk.csv"
    binary.write_bytes((HEADER + ROWS).encode("gbk"))
    result = runner.invoke(args=["knowledge", "import", str(binary)])
    assert result.exit_code != 0 and "UTF-8" in result.output
    assert _count(db) == 0


def test_ask_on_an_empty_base(runner: Any, db: Session) -> None:
    asked = runner.invoke(args=["knowledge", "ask", "公积金怎么提取"])
    assert asked.exit_code == 0 and "(no candidate)" in asked.output


def test_the_product_has_no_eval_command(app: Any) -> None:
    # Measuring the matcher is the lab's job (lab/knowledge/evaluate.py), not the product's.
    assert sorted(app.cli.commands["knowledge"].commands) == [
        "ask",
        "embed",
        "export",
        "import",
        "refit",
    ]


def test_import_lists_every_problem_and_merges_on_request(
    runner: Any, db: Session, departments: Any, tmp_path: Path
) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text(
        HEADER + ROWS + ",,没有问题,其他,,\n" + "普通 护照怎么办理,,另一个答案,出入境证件,,\n",
        encoding="utf-8",
    )
    refused = runner.invoke(args=["knowledge", "import", str(source)])
    assert refused.exit_code != 0
    assert "2 problems" in refused.output
    assert "line 4, question: The question is empty." in refused.output
    assert "line 5, question: The same question as line 3" in refused.output
    assert _count(db) == 0
    source.write_text(HEADER + ROWS + "普通 护照怎么办理,,另一个答案,出入境证件,,\n", "utf-8")
    merged = runner.invoke(args=["knowledge", "import", str(source), "--merge-similar"])
    assert merged.exit_code == 0, merged.output
    assert "merged: line 4 into line 3; its answer differs" in merged.output
    assert _count(db) == 2
