"""CSV import and export of the knowledge base.

Columns, exactly: ``question,alternatives,answer,category,department,keywords`` (UTF-8, a header
row). ``alternatives`` are separated by ``|``; ``keywords`` by ``|``, an ASCII comma or a
full-width comma (，). ``department`` is matched to a seeded department by its name
(市人力资源和社会保障局), its code (rensha) or a short name (人社局, 人社); an unknown or empty
department imports the row without one and is reported as a warning.

An import is all or nothing: every row is checked first, and one bad row (named by its line)
stops the import before anything is written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.errors import DomainError
from core.i18n import N_
from directory.models import Department
from knowledge.departments import DepartmentResolver
from knowledge.models import QUESTION_MAX, Faq, KnowledgeEvent
from knowledge.normalize import normalize, split_list
from knowledge.operations import actor_name, require_manage
from knowledge.search import bump_version

COLUMNS = ("question", "alternatives", "answer", "category", "department", "keywords")
KEYWORD_SEPARATORS = "|,，"
CATEGORY_MAX = 100


class CsvImportError(DomainError):
    """A CSV file the importer refuses; ``line`` names the offending line (1 = the header)."""

    def __init__(self, message: str, line: int | None = None, **params: object) -> None:
        super().__init__(message, line=line, **params)
        self.line = line


@dataclass
class FaqRow:
    line: int
    question: str
    alternatives: list[str]
    answer: str
    category: str
    department: str
    keywords: list[str]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unknown_departments: list[tuple[int, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"created {self.created}, updated {self.updated}, deactivated {self.deactivated}",
        ]
        for line, name in self.unknown_departments:
            if name:
                out.append(
                    f"warning: line {line}: department {name} not found; imported without one"
                )
            else:
                out.append(f"warning: line {line}: no department given; imported without one")
        return out


def parse_csv(text: str) -> list[FaqRow]:
    """Read and check every row; raise :class:`CsvImportError` naming the first bad line."""
    if text.startswith("\ufeff"):  # Excel writes a byte-order mark
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError(N_("The file is empty."), line=1) from None
    except csv.Error as error:
        raise CsvImportError(N_("Line %(line)s is not valid CSV."), line=1) from error
    if tuple(h.strip().lower() for h in header) != COLUMNS:
        raise CsvImportError(
            N_("The header must be exactly: %(columns)s."), line=1, columns=",".join(COLUMNS)
        )
    rows: list[FaqRow] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise CsvImportError(
                N_("Line %(line)s is not valid CSV."), line=reader.line_num
            ) from error
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise CsvImportError(
                N_("Line %(line)s has %(count)s columns instead of %(expected)s."),
                line=line,
                count=len(cells),
                expected=len(COLUMNS),
            )
        question, alternatives, answer, category, department, keywords = (c.strip() for c in cells)
        if not question:
            raise CsvImportError(N_("Line %(line)s has no question."), line=line)
        if len(question) > QUESTION_MAX:
            raise CsvImportError(
                N_("Line %(line)s: the question is longer than %(max)s characters."),
                line=line,
                max=QUESTION_MAX,
            )
        if not answer:
            raise CsvImportError(N_("Line %(line)s has no answer."), line=line)
        if not category or len(category) > CATEGORY_MAX:
            raise CsvImportError(
                N_("Line %(line)s needs a category of at most %(max)s characters."),
                line=line,
                max=CATEGORY_MAX,
            )
        key = normalize(question, fillers=False)
        if key in seen:
            raise CsvImportError(
                N_("Line %(line)s repeats the question of line %(first)s."),
                line=line,
                first=seen[key],
            )
        seen[key] = line
        rows.append(
            FaqRow(
                line=line,
                question=question,
                alternatives=[a for a in split_list(alternatives, "|") if a != question],
                answer=answer,
                category=category,
                department=department,
                keywords=split_list(keywords, KEYWORD_SEPARATORS),
            )
        )
    return rows


def import_faqs(
    session: Session, text: str, *, actor: object, replace: bool = False
) -> ImportReport:
    """Import FAQs from CSV text: a row whose question exists updates that FAQ, others are created.
    With ``replace``, FAQs not in the file are deactivated (kept for their history and counts)."""
    require_manage(actor)
    rows = parse_csv(text)
    resolver = DepartmentResolver(session.scalars(select(Department)))
    existing = {normalize(f.question, fillers=False): f for f in session.scalars(select(Faq))}
    report = ImportReport()
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
