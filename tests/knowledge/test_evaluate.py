"""The knowledge lab's evaluation script (``lab/knowledge/evaluate.py``, formerly
``flask --app app knowledge eval``), through Flask's CLI runner with the test app handed in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from lab.knowledge import evaluate

HEADER = "question,alternatives,answer,category,department,keywords\n"
ROWS = (
    "驾驶证到期了怎么换证？,驾照过期怎么换新的|驾驶证有效期满换证,可通过交管12123 App申请期满换证。,"
    "交通违法与驾驶证,市公安局交通警察支队,驾驶证|换证\n"
    "普通护照怎么办理？,第一次办护照需要什么|出国要办护照去哪里,携带身份证到出入境接待大厅申请。,"
    "出入境证件,不存在的局,护照\n"
)


def test_eval_on_an_empty_base(runner: Any, app: Flask, db: Session, tmp_path: Path) -> None:
    cases = tmp_path / "eval.csv"
    cases.write_text("question,expected,split\n明天会下雨吗,,test\n", encoding="utf-8")
    result = runner.invoke(evaluate.main, args=[str(cases), "--synthetic", "0"], obj=app)
    assert result.exit_code != 0 and "empty" in result.output


def test_eval_prints_the_three_methods(
    runner: Any, app: Flask, db: Session, departments: Any, tmp_path: Path
) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    assert runner.invoke(args=["knowledge", "import", str(source)]).exit_code == 0
    cases = tmp_path / "eval.csv"
    cases.write_text(
        "question,expected,split\n"
        "开车的本子到期了怎么弄,驾驶证到期了怎么换证？,dev\n"
        "头一回出国护照咋办,普通护照怎么办理？,test\n"
        "明天会下雨吗,,test\n"
        "护照丢在酒店了怎么办,普通护照怎么办理？,fresh\n",
        encoding="utf-8",
    )
    result = runner.invoke(evaluate.main, args=[str(cases), "--synthetic", "0"], obj=app)
    assert result.exit_code == 0, result.output
    for expected in ("shipped", "difflib", "bm25", "correct answer", "top-3 recall", "p50 / p95"):
        assert expected in result.output
    # Every split but dev is held out and reported on its own, then pooled.
    for split in ("fresh cases", "test cases", "held out cases", "dev cases", "all cases"):
        assert f"quality, {split}" in result.output
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("question,expected,split\n随便问问,不存在的问题？,test\n", encoding="utf-8")
    result = runner.invoke(evaluate.main, args=[str(unknown), "--synthetic", "0"], obj=app)
    assert result.exit_code != 0 and "unknown FAQ" in result.output


def test_compare_on_a_csv_base_without_wordings_and_refitted(runner: Any, tmp_path: Path) -> None:
    source = tmp_path / "faqs.csv"
    source.write_text(HEADER + ROWS, encoding="utf-8")
    cases = tmp_path / "eval.csv"
    cases.write_text(
        "question,expected,split\n"
        "开车的本子到期了怎么弄,驾驶证到期了怎么换证？,dev\n"
        "头一回出国护照咋办,普通护照怎么办理？,test\n"
        "明天会下雨吗,,test\n",
        encoding="utf-8",
    )
    args = [str(cases), "--compare", "--faqs", str(source), "--strip-wordings"]
    result = runner.invoke(evaluate.main, args=args, obj=None)
    assert result.exit_code == 0, result.output
    assert "faqs.csv without wordings: 2 FAQs; 3 questions (2 in scope over 2 FAQs" in result.output
    for label in ("right FAQ first (top-1)", "right answer or among the suggestions", "bm25 w+bi"):
        assert label in result.output
    refitted = runner.invoke(evaluate.main, args=[*args, "--refit"], obj=None)
    assert refitted.exit_code == 0, refitted.output
    assert "thresholds refitted on this base (2 FAQs" in refitted.output
    defaults = runner.invoke(evaluate.main, args=[*args, "--default-thresholds"], obj=None)
    assert defaults.exit_code == 0, defaults.output
    assert "default thresholds" in defaults.output and "high 0.68, low 0.20" in defaults.output
