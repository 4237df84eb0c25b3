"""``flask --app app knowledge import|export|ask|refit|embed``.

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
        """The FAQ knowledge base: import, export, ask, refit, embed."""

    @knowledge_group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--replace", is_flag=True, help="Deactivate FAQs that are not in the file.")
    @click.option(
        "--merge-similar",
        is_flag=True,
        help="Merge rows whose questions differ only in spacing or punctuation into the first.",
    )
    @click.option(
        "--refit/--no-refit",
        default=True,
        show_default=True,
        help="Refit the answer thresholds on the base loaded (knowledge.refit).",
    )
    @click.option(
        "--embed/--no-embed",
        default=True,
        show_default=True,
        help="Embed the FAQs for the semantic did-you-mean (when the model is installed).",
    )
    def import_command(
        path: Path, replace: bool, merge_similar: bool, refit: bool, embed: bool
    ) -> None:
        """Import FAQs from a CSV file (all rows or none; every problem is listed), then refit
        the answer thresholds on the base loaded and embed its FAQs."""
        from directory.access import SYSTEM
        from knowledge.csvio import CsvImportError, import_faqs
        from knowledge.search import warm_index

        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise click.ClickException("the file is not UTF-8 text") from error
        with _database(app).session() as session:
            try:
                report = import_faqs(
                    session, text, actor=SYSTEM, replace=replace, merge_similar=merge_similar
                )
            except CsvImportError as error:
                session.rollback()
                raise click.ClickException("\n".join(error.lines("en"))) from error
            except DomainError as error:
                session.rollback()
                raise click.ClickException(error.translated("en")) from error
            session.commit()
            warm_index(session)
        for line in report.lines():
            click.echo(line)
        if refit:
            _refit(app)
        if embed:
            _embed(app)

    def _embed(app: Any) -> None:
        import os

        from knowledge.embeddings import refresh_embeddings
        from knowledge.semantic import Embedder

        with _database(app).session() as session:
            # A command of its own: every core embeds (a search process uses one thread).
            report = refresh_embeddings(session, embed=Embedder(threads=os.cpu_count() or 1))
            session.commit()
        for line in report.lines():
            click.echo(line)

    @knowledge_group.command("embed")
    def embed_command() -> None:
        """Embed the FAQs that have no current vector for the semantic did-you-mean."""
        _embed(app)

    def _refit(app: Any) -> None:
        from directory.access import SYSTEM
        from knowledge.refit import refit_loaded_base

        with _database(app).session() as session:
            fit = refit_loaded_base(session, actor=SYSTEM)
            session.commit()
        if fit is None:
            click.echo(
                "thresholds: the defaults are kept (these FAQs carry many alternative wordings, "
                "like the starter base the defaults were fitted on)"
            )
            return
        for line in fit.lines():
            click.echo(line)

    @knowledge_group.command("refit")
    def refit_command() -> None:
        """Refit the answer thresholds on the FAQs loaded, from their own text."""
        _refit(app)

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
