"""The lab's conversion of the Taipei City FAQ (lab/knowledge/taipei.py) into the import format."""

from __future__ import annotations

from pathlib import Path

from knowledge.csvio import read_rows
from lab.knowledge.taipei import TAIPEI_FAQS, clean_text, read_taipei, to_csv

SAMPLE = """<?xml version="1.0" encoding="UTF-8"?><xmlmessage><datas>
<data><deptName>臺北市政府財政局</deptName><data_id>GIP_1</data_id><news_from>財政局</news_from>
<news_title>財政局經管哪些地下街？</news_title>
<news_content>臺北車站K區地下街&lt;br&gt;中山地下街 (&lt;a href="http://x"&gt;查詢&lt;/a&gt;)&amp;amp;更多</news_content>
<keyword>地下街、商場,地下街</keyword></data>
<data><deptName>臺北市政府財政局</deptName><data_id>GIP_2</data_id><news_from>財政局</news_from>
<news_title>沒有答案的問題？</news_title><news_content>

</news_content><keyword/></data>
<data><deptName>臺北市政府社會局</deptName><data_id>GIP_3</data_id><news_from>社會局</news_from>
<news_title>財政局經管哪些地下街?</news_title><news_content>另一份答案</news_content><keyword/></data>
</datas></xmlmessage>"""


def test_the_xml_becomes_import_rows(tmp_path: Path) -> None:
    path = tmp_path / "faq.xml"
    path.write_text(SAMPLE, encoding="utf-8")
    entries, skipped = read_taipei(path)
    assert skipped == 1 and [e.data_id for e in entries] == ["GIP_1", "GIP_3"]
    first = entries[0]
    assert first.answer == "臺北車站K區地下街\n中山地下街 (查詢)&更多"
    assert first.keywords == ("地下街", "商場")
    assert (first.category, first.department) == ("財政局", "臺北市政府財政局")
    rows, merges = read_rows(to_csv(entries), merge_similar=True)
    assert len(rows) == 1 and [(m.line, m.into) for m in merges] == [(4, 2)]  # 2-3: two lines


def test_clean_text_keeps_link_text_and_drops_tags() -> None:
    assert clean_text("&lt;p&gt;一&lt;/p&gt;&lt;p&gt;二&lt;/p&gt;") == "一\n二"


def test_the_shipped_conversion_imports_as_the_city_keeps_it() -> None:
    rows, merges = read_rows(TAIPEI_FAQS.read_text(encoding="utf-8"), merge_similar=True)
    assert (len(rows), len(merges)) == (1837, 38)
    assert not any(r.alternatives for r in rows if not any(m.into == r.line for m in merges))


def test_the_blind_taipei_questions_are_honest() -> None:
    from rapidfuzz.distance import Levenshtein

    from knowledge.normalize import normalize
    from lab.knowledge.evaluation import load_cases
    from lab.knowledge.taipei import TAIPEI

    rows, _merges = read_rows(TAIPEI_FAQS.read_text(encoding="utf-8"), merge_similar=True)
    questions = {r.question for r in rows}
    cases = load_cases(TAIPEI / "eval.csv")
    in_scope = [c for c in cases if c.expected]
    assert len(in_scope) >= 300 and len(cases) - len(in_scope) >= 100
    assert len({c.expected for c in in_scope}) >= 150
    assert {c.split for c in cases} == {"dev", "test"}
    assert len({normalize(c.question) for c in cases}) == len(cases)  # no repeats
    for case in in_scope:
        assert case.expected in questions, case.expected
        # Not the FAQ's own question with a character or two changed.
        assert Levenshtein.distance(normalize(case.question), normalize(case.expected)) > 2
