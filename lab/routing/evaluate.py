"""Evaluate the routing suggestion (``tickets.routing``) on text nobody on the team wrote.

    .venv/bin/python lab/routing/evaluate.py [--xml PATH] [--seeds 5] [--test-share 0.3]

**A proxy, not the target.** No public data set of real citizen messages with their handling
department is available offline here. What is: the Taipei City Government's public FAQ (1,877
entries, ``../shared/data/taipei-1999-faq``, see its SOURCE.md: open data of the Taipei City
Government, reusable under its open-data terms with attribution), where each entry names the
department that keeps it (``deptName``). The text routed is the FAQ's *question* (traditional
Chinese, converted to simplified with OpenCC as the knowledge package does), the label the
bureau (``deptName`` cut after its first 局/處/委員會/中心…: 臺北市政府社會局婦女福利及兒童托育科 →
臺北市政府社會局). FAQ questions are shorter and tidier than citizen messages, and one FAQ's
wording is often repeated by its neighbours, so the figures say how the method separates
departments by their words, not what an operator will see.

Methods, in the same run on the same splits (stratified by department, ``--seeds`` random
splits, trained on one part, tested on the rest; figures are the mean over the splits):

- ``model``: the product's RoutingModel (TF-IDF over jieba words and character 1–3-grams, a
  linear classifier by SGD), text only;
- ``model+category``: the same, combined with the "category's usual department" as the product
  does (``CATEGORY_WEIGHT``), where the category is the entry's first keyword (the data has no
  handling category; the first keyword is the closest human-given topical label);
- ``category only``: the category's usual department in the training part (the most frequent
  department among training entries with that first keyword; unseen keyword: the overall most
  frequent), top-3 by frequency — what the console suggested before it learned;
- ``majority``: the three most frequent departments, whatever the text;
- ``nearest neighbour``: cosine similarity over the same TF-IDF features, the departments of the
  10 nearest training questions weighted by similarity.

Questions repeated word for word (the same FAQ kept by several offices) are kept once. Two
label sets: every bureau with at least ``--min-count`` entries, and the 7 largest bureaus
(the issue's "7-department split").
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tickets.routing import Example, RoutingModel, rank  # noqa: E402

SHARED_XML = ROOT.parent / "shared" / "data" / "taipei-1999-faq" / "faq.xml"
BUREAU = re.compile(r"^(.*?(?:局|處|委員會|中心|管理所|事務所))")
KEYWORD_SPLIT = re.compile(r"[,，、;；|\s]+")
NEIGHBOURS = 10


@dataclass(frozen=True)
class Entry:
    number: str
    question: str
    department: str
    category: str


def load(path: Path) -> list[Entry]:
    from opencc import OpenCC

    t2s = OpenCC("t2s")
    root = ET.parse(path).getroot()
    entries = []
    seen: set[str] = set()
    for i, data in enumerate(root.iter("data")):
        question = (data.findtext("news_title") or "").strip()
        dept = (data.findtext("deptName") or "").strip()
        # The same question kept by several offices would sit on both sides of a split.
        if not question or not dept or question in seen:
            continue
        seen.add(question)
        match = BUREAU.match(dept)
        keywords = [k for k in KEYWORD_SPLIT.split(data.findtext("keyword") or "") if k]
        entries.append(
            Entry(
                f"TPE{i:05d}",
                t2s.convert(question),
                t2s.convert(match.group(1) if match else dept),
                t2s.convert(keywords[0]) if keywords else "",
            )
        )
    return entries


def split(entries: list[Entry], test_share: float, seed: int) -> tuple[list[Entry], list[Entry]]:
    """Stratified: each department's entries are split in the same proportion."""
    rng = np.random.default_rng(seed)
    by_dept: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_dept[e.department].append(e)
    train, test = [], []
    for dept in sorted(by_dept):
        items = by_dept[dept]
        order = rng.permutation(len(items))
        n_test = max(1, round(len(items) * test_share))
        test.extend(items[i] for i in order[:n_test])
        train.extend(items[i] for i in order[n_test:])
    return train, test


def category_baseline(train: list[Entry]) -> tuple[dict[str, list[str]], list[str]]:
    by_category: dict[str, Counter[str]] = defaultdict(Counter)
    for e in train:
        if e.category:
            by_category[e.category][e.department] += 1
    overall = [d for d, _ in Counter(e.department for e in train).most_common()]
    usual = {c: [d for d, _ in counts.most_common(3)] for c, counts in by_category.items()}
    return usual, overall


def score(predictions: list[list[str]], test: list[Entry]) -> tuple[float, float]:
    top1 = sum(p[:1] == [e.department] for p, e in zip(predictions, test, strict=True))
    top3 = sum(e.department in p[:3] for p, e in zip(predictions, test, strict=True))
    return top1 / len(test), top3 / len(test)


def run(entries: list[Entry], test_share: float, seed: int) -> dict[str, tuple[float, float]]:
    train, test = split(entries, test_share, seed)
    model = RoutingModel.train(
        [Example(e.number, e.question, e.department) for e in train], exemplars_per_department=10
    )
    assert model is not None
    usual, overall = category_baseline(train)
    fill = overall[:3]
    results: dict[str, list[list[str]]] = defaultdict(list)
    train_matrix = model.features.transform([e.question for e in train]).tocsr()
    train_labels = [e.department for e in train]
    for e in test:
        results["model"].append([r.code for r in rank(model, e.question, with_similar=False)])
        cat_top = usual.get(e.category)
        results["model+category"].append(
            [
                r.code
                for r in rank(
                    model,
                    e.question,
                    category_department=cat_top[0] if cat_top else None,
                    with_similar=False,
                )
            ]
        )
        results["category only"].append(
            (cat_top or []) + [d for d in fill if d not in (cat_top or [])]
        )
        results["majority"].append(fill)
        vector = model.vectorize(e.question)
        sims = (train_matrix @ vector.T).toarray().ravel()
        votes: Counter[str] = Counter()
        for i in np.argsort(-sims)[:NEIGHBOURS]:
            votes[train_labels[i]] += float(sims[i])
        results["nearest neighbour"].append([d for d, _ in votes.most_common(3)])
    return {name: score(preds, test) for name, preds in results.items()}


def report(title: str, entries: list[Entry], seeds: int, test_share: float) -> None:
    depts = Counter(e.department for e in entries)
    started = time.perf_counter()
    runs = [run(entries, test_share, seed) for seed in range(seeds)]
    elapsed = time.perf_counter() - started
    print(f"\n## {title}")
    print(
        f"{len(entries)} FAQ questions, {len(depts)} departments, {seeds} stratified splits "
        f"({1 - test_share:.0%} train / {test_share:.0%} test), {elapsed:.0f} s"
    )
    print("| method | top-1 | top-3 |")
    print("|---|---|---|")
    for name in runs[0]:
        top1 = float(np.mean([r[name][0] for r in runs]))
        top3 = float(np.mean([r[name][1] for r in runs]))
        print(f"| {name} | {top1:.1%} | {top3:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xml", type=Path, default=SHARED_XML)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--min-count", type=int, default=10)
    args = parser.parse_args()
    entries = load(args.xml)
    counts = Counter(e.department for e in entries)
    kept = [e for e in entries if counts[e.department] >= args.min_count]
    report(
        f"Taipei FAQ, every bureau with ≥ {args.min_count} entries",
        kept,
        args.seeds,
        args.test_share,
    )
    seven = {d for d, _ in counts.most_common(7)}
    report(
        "Taipei FAQ, the 7 largest bureaus",
        [e for e in entries if e.department in seven],
        args.seeds,
        args.test_share,
    )


if __name__ == "__main__":
    main()
