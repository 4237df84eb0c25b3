"""``flask --app app knowledge import|export|ask``.

Deliberately free of Flask imports (the domain may not import a web framework): the app object is
handed in by :func:`hotline.cli.register_cli` and only its click group and extensions are used.
Measuring the matcher is the knowledge lab's job, not the product's: ``lab/knowledge/evaluate.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from core.errors import DomainError


def _database(app: Any) -> Any:
    return app.extensions["hotline_db"]


def register_cli(app: Any) -> None:
    @app.cli.group("knowledge")
    def knowledge_group() -> None:
        """The FAQ knowledge base: import, export, ask."""

    @knowledge_group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--replace", is_flag=True, help="Deactivate FAQs that are not in the file.")
    def import_command(path: Path, replace: bool) -> None:
        """Import FAQs from a CSV file (all rows or none)."""
        from directory.access import SYSTEM
        from knowledge.csvio import import_faqs
        from knowledge.search import warm_index

        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise click.ClickException("the file is not UTF-8 text") from error
        with _database(app).session() as session:
            try:
                report = import_faqs(session, text, actor=SYSTEM, replace=replace)
            except DomainError as error:
                session.rollback()
                raise click.ClickException(error.translated("en")) from error
            session.commit()
            warm_index(session)
        for line in report.lines():
            click.echo(line)

    @knowledge_group.command("export")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--all", "include_inactive", is_flag=True, help="Include inactive FAQs.")
    def export_command(path: Path, include_inactive: bool) -> None:
        """Export FAQs to a CSV file in the import format."""
        from knowledge.csvio import export_faqs

        with _database(app).session() as session:
            text = export_faqs(session, include_inactive=include_inactive)
        path.write_text(text, encoding="utf-8")
        click.echo(f"exported {text.count(chr(10)) - 1} FAQs to {path}")

    @knowledge_group.command("ask")
    @click.argument("question")
    @click.option("--limit", default=5, show_default=True)
    def ask_command(question: str, limit: int) -> None:
        """Show how the matcher ranks a question (nothing is logged or counted)."""
        from knowledge.search import decide, get_matcher, thresholds_for

        with _database(app).session() as session:
            matcher = get_matcher(session)
            limits = thresholds_for(session)
            matches = matcher.search(question, limit=limit)
        decision = decide(matches, limits, limit)
        verdict = (
            "answered"
            if decision.answered
            else ("did you mean" if decision.suggestions else "no answer")
        )
        click.echo(
            f"{verdict}  (high {limits.high:.2f}, low {limits.low:.2f}, "
            f"margin {limits.margin:.2f}, lexical floor {limits.floor:.2f})"
        )
        for rank, match in enumerate(matches, start=1):
            lexical = match.signals.get("lexical", match.score)
            click.echo(
                f"{rank}. {match.score:.3f} (lexical {lexical:.2f})"
                f"  #{match.entry.id} {match.entry.question}"
            )
        if not matches:
            click.echo("(no candidate)")
