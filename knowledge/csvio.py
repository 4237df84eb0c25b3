"""CSV import and export of the knowledge base.

Columns, exactly: ``question,alternatives,answer,category,department,keywords`` (UTF-8, a header
row). ``alternatives`` are separated by ``|``; ``keywords`` by ``|``, an ASCII comma or a
full-width comma (，). ``department`` is matched to a seeded department by its name
(市人力资源和社会保障局), its code (rensha) or a short name (人社局, 人社); an unknown or empty
department imports the row without one and is reported as a warning.

An import is all or nothing: every row is checked first, and a file with any bad row is refused
with every problem listed (line, field, why) before anything is written. Rows whose questions
differ only in spacing or punctuation are refused as repeats, or merged with ``merge_similar``.
Traditional-Chinese files import as they are: the matcher reads both scripts as one
(:mod:`knowledge.normalize`), so a simplified question finds a traditional FAQ.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.errors import DomainError
from core.i18n import N_, translate
from directory.models import Department
from knowledge.departments import DepartmentResolver
from knowledge.models import QUESTION_MAX, Faq, KnowledgeEvent
from knowledge.normalize import normalize, split_list
from knowledge.operations import actor_name, require_manage
from knowledge.search import bump_version

COLUMNS = ("question", "alternatives", "answer", "category", "department", "keywords")
KEYWORD_SEPARATORS = "|,，"
CATEGORY_MAX = 100


@dataclass(frozen=True)
class Problem:
    """One reason a file is refused: its line (1 = the header), the field, and why."""

    line: int
    field: str  # a column name, or "header", "columns", "csv", "file"
    message: str  # an English message id (N_)
    params: dict[str, object] = dataclass_field(default_factory=dict)

    def describe(self, locale: str | None = "en") -> str:
        return f"line {self.line}, {self.field}: {translate(self.message, locale, **self.params)}"


class CsvImportError(DomainError):
    """A CSV file the importer refuses, with every problem found (nothing was imported);
    ``line`` names the first offending line (1 = the header)."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0].line if problems else 1
        super().__init__(
            N_(
                "%(count)s problems in the file (the first at line %(line)s); nothing was imported."
            ),
            count=len(problems),
            line=first,
        )
        self.line = first
        self.problems = problems

    def lines(self, locale: str | None = "en") -> list[str]:
        return [self.translated(locale), *(p.describe(locale) for p in self.problems)]


@dataclass
class FaqRow:
    line: int
    question: str
    alternatives: list[str]
    answer: str
    category: str
    department: str
    keywords: list[str]


@dataclass(frozen=True)
class Merge:
    """A row merged into an earlier one whose question differs only in spacing or punctuation."""

    line: int
    into: int
    answer_differs: bool  # the earlier row's answer was kept


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unknown_departments: list[tuple[int, str]] = field(default_factory=list)
    merged: list[Merge] = field(default_factory=list)

    # Up to this many unknown departments are listed line by line, more are grouped by name.
    LISTED_WARNINGS = 20

    def lines(self) -> list[str]:
        out = [
            f"created {self.created}, updated {self.updated}, deactivated {self.deactivated}"
            + (f", merged {len(self.merged)} rows into others" if self.merged else ""),
        ]
        for merge in self.merged:
            kept = "; its answer differs, the first answer was kept" if merge.answer_differs else ""
            out.append(f"merged: line {merge.line} into line {merge.into}{kept}")
        if len(self.unknown_departments) <= self.LISTED_WARNINGS:
            for line, name in self.unknown_departments:
                if name:
                    out.append(
                        f"warning: line {line}: department {name} not found; imported without one"
                    )
                else:
                    out.append(f"warning: line {line}: no department given; imported without one")
            return out
        by_name: dict[str, list[int]] = {}
        for line, name in self.unknown_departments:
            by_name.setdefault(name, []).append(line)
        for name, lines in sorted(by_name.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            what = f"department {name} not found" if name else "no department given"
            out.append(
                f"warning: {what} on {len(lines)} lines (the first: line {lines[0]}); "
                "imported without one"
            )
        return out


def parse_csv(text: str, *, merge_similar: bool = False) -> list[FaqRow]:
    """The rows of a CSV file (see :func:`read_rows`)."""
    return read_rows(text, merge_similar=merge_similar)[0]


def read_rows(text: str, *, merge_similar: bool = False) -> tuple[list[FaqRow], list[Merge]]:
    """Read and check every row. Raise :class:`CsvImportError` listing every problem; with
    ``merge_similar``, a row whose question differs from an earlier one's only in spacing,
    punctuation, width or script (traditional/simplified) is merged into it (its question and
    wordings become wordings of the earlier row, keywords are joined) instead of refused."""
    if text.startswith("\ufeff"):  # Excel writes a byte-order mark
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError([Problem(1, "file", N_("The file is empty."))]) from None
    except csv.Error:
        raise CsvImportError([Problem(1, "csv", N_("Not valid CSV."))]) from None
    if tuple(h.strip().lower() for h in header) != COLUMNS:
        raise CsvImportError(
            [
                Problem(
                    1,
                    "header",
                    N_("The header must be exactly: %(columns)s."),
                    {"columns": ",".join(COLUMNS)},
                )
            ]
        )
    rows: list[FaqRow] = []
    problems: list[Problem] = []
    merges: list[Merge] = []
    seen: dict[str, FaqRow] = {}
    while True:
        line = reader.line_num + 1  # where the row starts (a quoted cell may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            # csv cannot go on after a broken quote: this is the last line it can read
            problems.append(Problem(line, "csv", N_("Not valid CSV.")))
            break
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            problems.append(
                Problem(
                    line,
                    "columns",
                    N_("%(count)s columns instead of %(expected)s."),
                    {"count": len(cells), "expected": len(COLUMNS)},
                )
            )
            continue
        question, alternatives, answer, category, department, keywords = (c.strip() for c in cells)
        bad = len(problems)
        if not question:
            problems.append(Problem(line, "question", N_("The question is empty.")))
        elif len(question) > QUESTION_MAX:
            problems.append(
                Problem(
                    line,
                    "question",
                    N_("The question is longer than %(max)s characters."),
                    {"max": QUESTION_MAX},
                )
            )
        if not answer:
            problems.append(Problem(line, "answer", N_("The answer is empty.")))
        if not category or len(category) > CATEGORY_MAX:
            problems.append(
                Problem(
                    line,
                    "category",
                    N_("The category is empty or longer than %(max)s characters."),
                    {"max": CATEGORY_MAX},
                )
            )
        row = FaqRow(
            line=line,
            question=question,
            alternatives=[a for a in split_list(alternatives, "|") if a != question],
            answer=answer,
            category=category,
            department=department,
            keywords=split_list(keywords, KEYWORD_SEPARATORS),
        )
        key = normalize(question, fillers=False) if question else ""
        first = seen.get(key) if key else None
        if first is not None and not merge_similar:
            problems.append(
                Problem(
                    line,
                    "question",
                    N_(
                        "The same question as line %(first)s, up to spacing or punctuation "
                        "(the merge option merges such rows)."
                    ),
                    {"first": first.line},
                )
            )
            continue
        if len(problems) > bad:
            continue
        if first is not None:
            _merge_row(first, row)
            merges.append(Merge(line, first.line, normalize(answer) != normalize(first.answer)))
            continue
        if key:
            seen[key] = row
        rows.append(row)
    if problems:
        raise CsvImportError(problems)
    return rows, merges


def _merge_row(first: FaqRow, row: FaqRow) -> None:
    wordings = [row.question, *row.alternatives]
    first.alternatives = list(
        dict.fromkeys(w for w in (*first.alternatives, *wordings) if w != first.question)
    )
    first.keywords = list(dict.fromkeys((*first.keywords, *row.keywords)))


def import_faqs(
    session: Session,
    text: str,
    *,
    actor: object,
    replace: bool = False,
    merge_similar: bool = False,
) -> ImportReport:
    """Import FAQs from CSV text: a row whose question exists updates that FAQ, others are created.
    With ``replace``, FAQs not in the file are deactivated (kept for their history and counts);
    with ``merge_similar``, rows whose questions differ only in spacing or punctuation are merged
    (see :func:`parse_csv`). Nothing is written unless every row is good."""
    require_manage(actor)
    rows, merges = read_rows(text, merge_similar=merge_similar)
    resolver = DepartmentResolver(session.scalars(select(Department)))
    existing = {normalize(f.question, fillers=False): f for f in session.scalars(select(Faq))}
    report = ImportReport(merged=merges)
    now = clock.now()
    kept: set[int] = set()
    for row in rows:
        dept = resolver.resolve(row.department)
        if dept is None:
            report.unknown_departments.append((row.line, row.department))
        faq = existing.get(normalize(row.question, fillers=False))
        if faq is None:
            faq = Faq(created_at=now, hit_count=0, suggest_count=0)
            session.add(faq)
            report.created += 1
        else:
            report.updated += 1
        faq.question = row.question
        faq.alternatives = row.alternatives
        faq.answer = row.answer
        faq.category = row.category
        faq.department_id = dept.id if dept else None
        faq.keywords = row.keywords
        faq.active = True
        faq.updated_at = now
        session.flush()
        kept.add(faq.id)
    if replace:
        stale = [f.id for f in existing.values() if f.id not in kept and f.active]
        if stale:
            session.execute(
                update(Faq).where(Faq.id.in_(stale)).values(active=False, updated_at=now)
            )
        report.deactivated = len(stale)
    session.add(
        KnowledgeEvent(
            action="import",
            faq_id=None,
            actor=actor_name(actor),
            detail={
                "created": report.created,
                "updated": report.updated,
                "deactivated": report.deactivated,
                "merged": len(report.merged),
                "replace": replace,
            },
            created_at=now,
        )
    )
    bump_version(session)
    session.flush()
    return report


def export_faqs(session: Session, *, include_inactive: bool = False) -> str:
    """The knowledge base as CSV text in the import format (round-trips)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    query = select(Faq).order_by(Faq.id)
    if not include_inactive:
        query = query.where(Faq.active.is_(True))
    for faq in session.scalars(query):
        writer.writerow(
            [
                faq.question,
                "|".join(faq.alternatives or ()),
                faq.answer,
                faq.category,
                faq.department.name if faq.department else "",
                "|".join(faq.keywords or ()),
            ]
        )
    return buffer.getvalue()
