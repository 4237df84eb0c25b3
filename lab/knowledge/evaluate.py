"""Evaluate the matcher and two baselines on an evaluation CSV (default:
``lab/knowledge/data/eval.csv``) against the FAQs and synonyms in the database; what
``flask --app app knowledge eval`` did before the lab left the product.

    .venv/bin/python lab/knowledge/evaluate.py [PATH] [--synthetic N] [--tune]

The database is the app's (``HOTLINE_DATABASE_URL``, as for ``flask --app app``; the app is made
by ``hotline.factory.create_app``). ``--synthetic`` sizes the synthetic base the latency is also
measured on (0: skip); ``--tune`` chooses the shipped matcher's thresholds by cross-validation on
dev instead of using the configured ones. ``lab/knowledge/bench.py`` measures the same without a
database (the shipped files) and refits the calibration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.db import Database  # noqa: E402
from lab.knowledge.evaluation import SHIPPED_EVAL, load_cases, run_evaluation  # noqa: E402


def evaluate(database: Database, path: Path | None, *, synthetic: int, tune: bool) -> None:
    """Run the evaluation on the FAQs, synonyms and thresholds of ``database``; print it."""
    from knowledge.search import load_entries, load_synonyms, thresholds_for

    cases = load_cases(path or SHIPPED_EVAL)
    with database.session() as session:
        entries = load_entries(session)
        synonyms = load_synonyms(session)
        limits = thresholds_for(session)
    if not entries:
        raise click.ClickException("the knowledge base is empty: run seed-demo or import")
    try:
        run_evaluation(
            entries,
            synonyms,
            cases,
            synthetic_total=synthetic,
            shipped_thresholds=None if tune else limits,
            echo=click.echo,
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from error


@click.command()
@click.argument(
    "path",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--synthetic",
    default=20_000,
    show_default=True,
    help="Size of the synthetic base (0: skip).",
)
@click.option(
    "--tune",
    is_flag=True,
    help="Tune the shipped thresholds on dev instead of using the configured ones.",
)
@click.pass_obj
def main(app: Any, path: Path | None, synthetic: int, tune: bool) -> None:
    """Evaluate the matcher and two baselines on an evaluation CSV (default: the lab's one)
    against the FAQs in the database."""
    if app is None:  # run as a script; a test hands in its app as the context's obj
        from hotline.factory import create_app

        app = create_app()
    evaluate(app.extensions["hotline_db"], path, synthetic=synthetic, tune=tune)


if __name__ == "__main__":
    main()
