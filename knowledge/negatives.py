"""Questions a city hotline does not answer (weather, jokes, shopping, homework …), shipped in
``knowledge/data/out_of_scope.csv`` and written for this project, independent of the evaluation
set. Split in two halves by a hash: ``"fit"`` trains the matcher's outside class and its
calibration, ``"tune"`` is held out for choosing the answer thresholds."""

from __future__ import annotations

import csv
import zlib
from functools import cache
from pathlib import Path

SHIPPED_OUT_OF_SCOPE = Path(__file__).resolve().parent / "data" / "out_of_scope.csv"


def fold_of(question: str, k: int) -> int:
    """A question's fold: stable across runs and across the contents it is ranked against."""
    return zlib.crc32(question.encode("utf-8")) % k


def load_out_of_scope(part: str, path: Path | str = SHIPPED_OUT_OF_SCOPE) -> list[str]:
    """One half of the out-of-scope questions: ``"fit"`` or ``"tune"``."""
    wanted = {"fit": 0, "tune": 1}[part]
    with open(path, encoding="utf-8-sig", newline="") as handle:
        questions = [row["question"].strip() for row in csv.DictReader(handle)]
    return [q for q in questions if q and fold_of(q, 2) == wanted]


@cache
def shipped_negatives() -> tuple[str, ...]:
    """What the product's matcher learns "outside" from (the fit half; read once)."""
    return tuple(load_out_of_scope("fit"))
