"""``flask --app app tickets import-history FILE.csv`` and ``flask --app app routing suggest|train``.

- ``tickets import-history FILE.csv`` loads the previous system's closed tickets
  (``tickets.history``): every bad line is printed (line, column, why) and nothing is written
  when there is one (exit status 1).
- ``routing suggest`` reads JSON lines ``{"title": ..., "description": ..., "category": ...}``
  (category optional) on standard input and prints one line per input,
  ``{"departments": [{"code": ..., "score": ...}, ...]}`` best first: other tools call it.
- ``tickets catalogue show`` prints the dispatch catalogue in force (派单目录: category, lead,
  co-handlers, version); ``tickets catalogue set CATEGORY LEAD [--co DEPT]… [--note …]`` records
  the category's next version (``tickets.catalogue``).
- ``routing train`` trains the routing model now (the scheduler's ``routing_model`` job does it
  as tickets close).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from core.errors import DomainError
from core.web import database
from directory.models import Category, Department
from tickets import catalogue, history, routing
from tickets.access import SYSTEM


def register_cli(app: Flask) -> None:
    @app.cli.group("tickets")
    def tickets_group() -> None:
        """Tickets: import the previous system's history."""

    @tickets_group.command("import-history")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def import_history(path: Path) -> None:
        """Import closed tickets from a CSV file (all of it, or nothing when a line is bad)."""
        text = path.read_text(encoding="utf-8-sig")
        with database(app).session() as session:
            report = history.import_history(session, text, actor=SYSTEM)
            if not report.ok:
                session.rollback()
                for error in report.errors:
                    click.echo(
                        f"line {error.line}, {error.column or '-'}: {error.reason}", err=True
                    )
                click.echo(f"{len(report.errors)} errors: nothing imported", err=True)
                sys.exit(1)
            session.commit()
        click.echo(
            f"{len(report.created)} tickets imported, {report.skipped} already imported (skipped)"
        )

    @tickets_group.group("catalogue")
    def catalogue_group() -> None:
        """The dispatch catalogue (派单目录): lead and co-handling departments per category."""

    @catalogue_group.command("show")
    def catalogue_show() -> None:
        """The catalogue in force."""
        with database(app).session() as session:
            for line in catalogue.current_catalogue(session):
                co = ",".join(d.code for d in line.co_handlers) or "-"
                lead = line.lead.code if line.lead else "-"
                click.echo(f"{line.category.code}\tlead={lead}\tco={co}\tv{line.version}")

    @catalogue_group.command("set")
    @click.argument("category_code")
    @click.argument("lead_code")
    @click.option("--co", "co_codes", multiple=True, help="A co-handling department (repeat).")
    @click.option("--note", default=None, help="Why (kept with the version).")
    def catalogue_set(
        category_code: str, lead_code: str, co_codes: tuple[str, ...], note: str | None
    ) -> None:
        """Record the category's next version: its lead and co-handling departments."""
        with database(app).session() as session:
            category = session.scalar(select(Category).where(Category.code == category_code))
            if category is None:
                raise click.ClickException(f"no category {category_code!r}")
            by_code = {d.code: d for d in session.scalars(select(Department))}
            unknown = [c for c in (lead_code, *co_codes) if c not in by_code]
            if unknown:
                raise click.ClickException(f"no department {', '.join(unknown)}")
            try:
                entry = catalogue.set_catalogue_entry(
                    session,
                    category,
                    by_code[lead_code],
                    [by_code[c] for c in co_codes],
                    actor=SYSTEM,
                    note=note,
                )
            except DomainError as error:
                raise click.ClickException(str(error)) from error
            session.commit()
            click.echo(f"{category.code}: version {entry.version}")

    @app.cli.group("routing")
    def routing_group() -> None:
        """The routing suggestion learned from past dispatches."""

    @routing_group.command("suggest")
    @click.option("--limit", default=3, type=click.IntRange(1, 100), show_default=True)
    def suggest(limit: int) -> None:
        """JSON lines in (title, description, category), ranked departments out."""
        with database(app).session() as session:
            for raw in sys.stdin:
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw)
                except json.JSONDecodeError as error:
                    raise click.ClickException(f"not JSON: {error}") from error
                if not isinstance(item, dict):
                    raise click.ClickException("each line must be a JSON object")
                ranked = routing.suggest(
                    session,
                    str(item.get("title") or ""),
                    str(item.get("description") or ""),
                    category_code=str(item.get("category") or "") or None,
                    limit=limit,
                )
                out = {"departments": [{"code": r.code, "score": r.score} for r in ranked]}
                click.echo(json.dumps(out, ensure_ascii=False))
                sys.stdout.flush()

    @routing_group.command("train")
    def train() -> None:
        """Train the routing model on the closed tickets now."""
        with database(app).session() as session:
            record = routing.train_model(session)
            session.commit()
        if record is None:
            click.echo("not enough history: fewer than two departments")
        else:
            click.echo(f"trained on {record.examples} tickets, {record.departments} departments")
