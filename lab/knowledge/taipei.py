"""Convert the Taipei City Government's public FAQ (``faq.xml``, see data/taipei/SOURCE.md) into
the knowledge base's CSV import format, as a city would bring its own FAQ:

    .venv/bin/python lab/knowledge/taipei.py [XML] [-o lab/knowledge/data/taipei/faqs.csv]
    flask --app app knowledge import lab/knowledge/data/taipei/faqs.csv --merge-similar

Each ``<data>`` becomes one row: ``news_title`` the question, ``news_content`` the answer (HTML
unescaped, tags dropped — a link keeps its text —, whitespace collapsed), ``news_from`` (the
office that keeps the entry, 社會局老人福利科) the category, ``deptName`` the department (no
seeded department has a Taipei name: the import lists them and imports the rows without one),
``keyword`` the keywords (split on commas and 、). Nothing else is added: no alternative wordings,
no synonyms, the text stays in traditional Chinese. Entries without an answer are left out (and
counted). The same question kept by several offices stays several rows; ``--merge-similar`` merges
them at import.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_XML = ROOT.parent / "shared" / "data" / "taipei-1999-faq" / "faq.xml"
TAIPEI = Path(__file__).resolve().parent / "data" / "taipei"
TAIPEI_FAQS = TAIPEI / "faqs.csv"

COLUMNS = ("question", "alternatives", "answer", "category", "department", "keywords")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_LINES = re.compile(r"\s*\n\s*")
_KEYWORD_SPLIT = re.compile(r"[,，、;；|]")


@dataclass(frozen=True)
class TaipeiFaq:
    data_id: str
    question: str
    answer: str
    category: str
    department: str
    keywords: tuple[str, ...]


def clean_text(raw: str) -> str:
    """Plain text of an HTML-escaped answer: tags dropped, entities read, spaces collapsed."""
    text = html.unescape(raw or "")
    text = re.sub(r"(?i)<br\s*/?>|</p>|</li>|</div>", "\n", text)
    text = html.unescape(_TAG.sub("", text))
    text = _SPACE.sub(" ", text)
    return _LINES.sub("\n", text).strip()


def read_taipei(path: Path | str = SHARED_XML) -> tuple[list[TaipeiFaq], int]:
    """The entries of ``faq.xml`` and how many were left out for having no answer."""
    root = ET.parse(path).getroot()
    entries: list[TaipeiFaq] = []
    skipped = 0
    for data in root.iter("data"):
        question = " ".join((data.findtext("news_title") or "").split())
        answer = clean_text(data.findtext("news_content") or "")
        if not question or not answer:
            skipped += 1
            continue
        keywords = tuple(
            dict.fromkeys(
                k.strip() for k in _KEYWORD_SPLIT.split(data.findtext("keyword") or "") if k.strip()
            )
        )
        entries.append(
            TaipeiFaq(
                data_id=(data.findtext("data_id") or "").strip(),
                question=question,
                answer=answer,
                category=(data.findtext("news_from") or "").strip()[:100] or "其他",
                department=(data.findtext("deptName") or "").strip(),
                keywords=keywords,
            )
        )
    return entries, skipped


def to_csv(entries: list[TaipeiFaq]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in entries:
        writer.writerow([e.question, "", e.answer, e.category, e.department, "|".join(e.keywords)])
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("xml", nargs="?", type=Path, default=SHARED_XML)
    parser.add_argument("-o", "--output", type=Path, default=TAIPEI_FAQS)
    args = parser.parse_args()
    entries, skipped = read_taipei(args.xml)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(to_csv(entries), encoding="utf-8")
    print(
        f"{len(entries)} FAQs written to {args.output} ({skipped} without an answer left out)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
