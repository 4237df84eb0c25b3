"""Evaluate the knowledge matcher without a database: the shipped FAQs, synonyms and evaluation
set, the shipped matcher against the difflib and BM25 baselines, and search latency on the
shipped base and a synthetic base (``--synthetic 20000``, the default).

    .venv/bin/python lab/knowledge/bench.py [--synthetic N] [--tune] [--fit]

``--tune`` chooses the shipped matcher's thresholds by 5-fold cross-validation on the dev half
(``cross_validated_tune``) instead of using the configured ones (the baselines are always tuned on
dev by ``tune``).

``--fit`` refits the matcher's calibration (``knowledge.matcher.Calibration``) on the FAQs' own
held-out wordings and ``knowledge/data/out_of_scope.csv``, prints it and exits; paste the numbers
into ``Calibration`` (a test checks that they are what the fit gives).

``lab/knowledge/evaluate.py`` runs the same evaluation on the FAQs of a database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from knowledge.search import Thresholds  # noqa: E402
from lab.knowledge.evaluation import (  # noqa: E402
    calibration_examples,
    fit_calibration,
    load_out_of_scope,
    load_shipped,
    run_evaluation,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--synthetic", type=int, default=20_000)
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--fit", action="store_true")
    args = parser.parse_args()
    entries, synonyms, cases = load_shipped()
    if args.fit:
        rows = calibration_examples(entries, synonyms, load_out_of_scope("fit"))
        print(f"{len(rows)} candidate rows, {sum(y for _x, y, _w in rows):.0f} right")
        print(fit_calibration(rows))
        return
    run_evaluation(
        entries,
        synonyms,
        cases,
        synthetic_total=args.synthetic,
        shipped_thresholds=None if args.tune else Thresholds.from_environment(),
    )


if __name__ == "__main__":
    main()
