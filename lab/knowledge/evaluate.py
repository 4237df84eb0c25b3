"""Evaluate the matcher and two baselines on an evaluation CSV (default:
``lab/knowledge/data/eval.csv``) against the FAQs and synonyms in the database; what
``flask --app app knowledge eval`` did before the lab left the product.

    .venv/bin/python lab/knowledge/evaluate.py [PATH] [--synthetic N] [--tune]
    .venv/bin/python lab/knowledge/evaluate.py [PATH] --compare [--faqs CSV [--merge-similar]]
        [--strip-wordings] [--no-synonyms] [--refit | --default-thresholds]

``--compare`` reports right / wrong / out-of-scope answered / top-1 / top-3 / right among the
suggestions for the shipped matcher beside difflib and BM25 (jieba words + character bigrams,
without and with the answer text) in one run, on the database's FAQs or on the FAQs of a CSV
file in the import format (``--faqs``; with the product's default synonyms, as an install seeds
them, unless ``--no-synonyms``); ``--strip-wordings`` drops every FAQ's alternative wordings (a
city's own base has none); ``--refit`` uses the thresholds ``knowledge.refit`` fits on the base
from its own text (what ``flask --app app knowledge import`` does) instead of the configured ones;
``--default-thresholds`` the shipped defaults. ``--faqs`` keeps the file's department names as
text, where an import drops the ones no seeded department answers to: for exactly what the product
sees, import the file and compare on the database (``--compare`` alone uses its stored fit). The
two bases of issue 16:

    .venv/bin/python lab/knowledge/evaluate.py lab/knowledge/data/taipei/eval.csv --compare \
        --faqs lab/knowledge/data/taipei/faqs.csv --merge-similar
    .venv/bin/python lab/knowledge/evaluate.py --compare --faqs knowledge/data/faqs.csv \
        --strip-wordings
    flask --app app knowledge import lab/knowledge/data/taipei/faqs.csv --merge-similar
    .venv/bin/python lab/knowledge/evaluate.py lab/knowledge/data/taipei/eval.csv --compare

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
from lab.knowledge.evaluation import (  # noqa: E402
    SHIPPED_EVAL,
    compare_on_base,
    entries_from_csv,
    load_cases,
    run_evaluation,
    without_wordings,
)


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
@click.option("--compare", is_flag=True, help="Right/wrong/top-1/top-3 beside the baselines.")
@click.option(
    "--faqs",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="FAQs from this CSV file (import format) instead of the database.",
)
@click.option("--merge-similar", is_flag=True, help="With --faqs: merge repeated questions.")
@click.option("--strip-wordings", is_flag=True, help="Drop the FAQs' alternative wordings.")
@click.option("--no-synonyms", is_flag=True, help="With --faqs: no default synonyms.")
@click.option(
    "--refit",
    "refit_base",
    is_flag=True,
    help="With --compare: the thresholds knowledge.refit fits on the base (what import does).",
)
@click.option(
    "--default-thresholds",
    is_flag=True,
    help="With --compare: the shipped defaults, not the database's stored fit or configuration.",
)
@click.pass_obj
def main(
    app: Any,
    path: Path | None,
    synthetic: int,
    tune: bool,
    compare: bool,
    faqs: Path | None,
    merge_similar: bool,
    strip_wordings: bool,
    no_synonyms: bool,
    refit_base: bool,
    default_thresholds: bool,
) -> None:
    """Evaluate the matcher and two baselines on an evaluation CSV (default: the lab's one)
    against the FAQs in the database."""
    if faqs is not None or compare:
        compare_bases(
            app,
            path,
            faqs=faqs,
            merge_similar=merge_similar,
            strip_wordings=strip_wordings,
            synonyms=not no_synonyms,
            refit_base=refit_base,
            default_thresholds=default_thresholds,
        )
        return
    if app is None:  # run as a script; a test hands in its app as the context's obj
        from hotline.factory import create_app

        app = create_app()
    evaluate(app.extensions["hotline_db"], path, synthetic=synthetic, tune=tune)


def compare_bases(
    app: Any,
    path: Path | None,
    *,
    faqs: Path | None,
    merge_similar: bool,
    strip_wordings: bool,
    synonyms: bool,
    refit_base: bool = False,
    default_thresholds: bool = False,
) -> None:
    from knowledge.refit import RICH_WORDINGS, refit, wordings_per_faq
    from knowledge.search import Thresholds, load_entries, load_synonyms, thresholds_for
    from knowledge.seed import load_synonyms_file

    cases = load_cases(path or SHIPPED_EVAL)
    if faqs is not None:
        entries = entries_from_csv(faqs.read_text(encoding="utf-8"), merge_similar=merge_similar)
        table = load_synonyms_file() if synonyms else {}
        limits = Thresholds.from_environment()
        title = faqs.name
    else:
        if app is None:
            from hotline.factory import create_app

            app = create_app()
        with app.extensions["hotline_db"].session() as session:
            entries = load_entries(session)
            table = load_synonyms(session)
            limits = thresholds_for(session)
        title = "the database's FAQs"
    if not entries:
        raise click.ClickException("the knowledge base is empty: run seed-demo or import")
    if default_thresholds:
        limits = Thresholds()
        title += ", default thresholds"
    if strip_wordings:
        entries = without_wordings(entries)
        title += " without wordings"
    if refit_base and wordings_per_faq(entries) >= RICH_WORDINGS:
        click.echo("thresholds: the defaults are kept (a base rich in wordings, knowledge.refit)")
    elif refit_base:
        fit = refit(entries, table)
        for line in fit.lines():
            click.echo(line)
        limits = Thresholds(high=fit.high, low=fit.low, margin=fit.margin, floor=fit.floor)
        title += ", thresholds refitted"
    try:
        compare_on_base(entries, table, cases, limits, title=title, echo=click.echo)
    except ValueError as error:
        raise click.ClickException(str(error)) from error


if __name__ == "__main__":
    main()
