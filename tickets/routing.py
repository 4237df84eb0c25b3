"""Routing suggestion learned from past dispatches (按职分转办): which department a ticket goes to.

A text model (scikit-learn) is trained on closed tickets that a department handled — the
hotline's own and the imported history (``tickets.history``) — and ranks the departments for a
title and description. Features: TF-IDF over jieba words and over character 1–3-grams (Chinese
has no spaces; characters catch what the segmenter splits wrongly, words what characters blur);
classifier: a linear model fitted by stochastic gradient descent (log loss, so its scores are
probabilities), which trains on a million tickets in minutes and answers in well under a
millisecond. The ranking is combined with the category's usual department when the operator has
chosen a category, and each suggested department comes with the most similar of its recent past
tickets (cosine over the same features) as the reason shown to the operator.

The model is trained by the scheduler's ``routing_model`` job when the set of closed tickets has
changed (:func:`train_if_changed`) and stored in the ``routing_models`` table, so every process
(app servers, worker, CLI) loads the same one, lazily, and again when a newer one is written.
Without a model (a new hotline with no closed tickets yet) the category's department is the
suggestion, as before.
"""

from __future__ import annotations

import io
import secrets
import threading
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jieba
import joblib
import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import FeatureUnion
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core import clock
from directory.models import Category, Department
from tickets.models import CloseReason, RoutingModelRecord, Stage, Ticket

# Closed tickets a department handled; merged, rejected, answered-directly and transferred ones
# tell nothing about departments.
TRAINED_REASONS = (
    CloseReason.SURVEYED.value,
    CloseReason.NO_RESPONSE.value,
    CloseReason.HISTORY.value,
)
CATEGORY_WEIGHT = 0.3  # share of the score the chosen category's usual department gets
EXEMPLARS_PER_DEPARTMENT = 300  # recent tickets kept per department for "similar past tickets"
MAX_TRAINING_TICKETS = 1_000_000  # the most recent ones
MAX_FEATURES = 200_000  # per feature family (words, characters)
MODELS_KEPT = 3
SIMILAR_SHOWN = 3


def normalize(text: str) -> str:
    """Full width → half width, lower case; what both training and suggestion see."""
    return unicodedata.normalize("NFKC", text or "").lower()


def jieba_words(text: str) -> list[str]:
    """jieba's words without spaces and punctuation (a module function: the model pickles it)."""
    return [w for w in jieba.lcut(text) if w.strip() and not _is_punctuation(w)]


def _is_punctuation(word: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PSZ" for ch in word)


def _features(min_df: int) -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer=jieba_words,
                    sublinear_tf=True,
                    min_df=min_df,
                    max_features=MAX_FEATURES,
                    dtype=np.float32,
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, 3),
                    sublinear_tf=True,
                    min_df=min_df,
                    max_features=MAX_FEATURES,
                    dtype=np.float32,
                ),
            ),
        ]
    )


@dataclass(frozen=True)
class Example:
    """One past dispatch: the ticket's words and where it went."""

    number: str
    text: str  # title and description
    department: str  # department code


def ticket_text(title: str | None, description: str | None) -> str:
    title = (title or "").strip()
    description = (description or "").strip()
    if title and description.startswith(title):
        return normalize(description)
    return normalize(f"{title} {description}".strip())


@dataclass
class Ranked:
    code: str
    score: float
    similar: list[str] = field(default_factory=list)  # past ticket numbers, most similar first


class RoutingModel:
    """TF-IDF (jieba words + character n-grams) and a linear classifier over departments."""

    def __init__(
        self,
        features: FeatureUnion,
        classifier: SGDClassifier,
        exemplars: sparse.csr_matrix,
        exemplar_numbers: list[str],
        exemplar_departments: np.ndarray,
        examples: int,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.codes = [str(c) for c in classifier.classes_]
        self.exemplars = exemplars
        self.exemplar_numbers = exemplar_numbers
        self.exemplar_departments = exemplar_departments
        self.examples = examples
        self._prepare()

    def _prepare(self) -> None:
        """What answering needs in a fast form (sklearn's per-call checks cost milliseconds):
        each vectorizer's analyzer, vocabulary and idf; the classifier's weights; each
        department's exemplars."""
        self._parts = []
        offset = 0
        for _name, vectorizer in self.features.transformer_list:
            self._parts.append(
                (
                    vectorizer.build_analyzer(),
                    vectorizer.vocabulary_,
                    vectorizer.idf_.astype(np.float32),
                    offset,
                )
            )
            offset += len(vectorizer.vocabulary_)
        self._width = offset
        self._weights = np.ascontiguousarray(self.classifier.coef_.T, dtype=np.float32)
        self._intercept = self.classifier.intercept_.astype(np.float32)
        self._by_department = {
            code: np.flatnonzero(self.exemplar_departments == code) for code in self.codes
        }
        self._exemplars_of = {
            code: self.exemplars[rows] for code, rows in self._by_department.items()
        }

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._prepare()

    def __getstate__(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        *,
        exemplars_per_department: int = EXEMPLARS_PER_DEPARTMENT,
        alpha: float | None = None,
    ) -> RoutingModel | None:
        """None when there is nothing to tell apart (fewer than two departments)."""
        departments = sorted({e.department for e in examples})
        if len(departments) < 2:
            return None
        features = _features(min_df=2 if len(examples) >= 20_000 else 1)
        matrix = features.fit_transform([e.text for e in examples]).tocsr()
        labels = np.array([e.department for e in examples])
        classifier = SGDClassifier(
            loss="log_loss",
            # Less regularisation as the history grows (the usual 1/n scaling, bounded).
            alpha=alpha if alpha is not None else max(1e-6, min(1e-4, 2.0 / len(examples))),
            max_iter=30,
            tol=1e-4,
            class_weight=None,
            random_state=0,
        )
        with warnings.catch_warnings():
            # The epochs are bounded on purpose (training time on a large history); a fit that
            # stops there is still a good ranking, so the warning is not worth a failed job.
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(matrix, labels)
        # The newest tickets of each department (examples are oldest first).
        keep: list[int] = []
        for code in departments:
            rows = np.flatnonzero(labels == code)
            keep.extend(rows[-exemplars_per_department:].tolist())
        keep.sort()
        return cls(
            features,
            classifier,
            matrix[keep],
            [examples[i].number for i in keep],
            labels[keep],
            len(examples),
        )

    def vectorize(self, text: str) -> sparse.csr_matrix:
        """The same vector as ``self.features.transform`` (sublinear TF × idf, each family
        L2-normalised, side by side), without sklearn's per-call overhead."""
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        text = normalize(text)
        for analyzer, vocabulary, idf, offset in self._parts:
            counts: dict[int, int] = {}
            for token in analyzer(text):
                index = vocabulary.get(token)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            if not counts:
                continue
            index_array = np.fromiter(counts, dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            weight = (1.0 + np.log(tf)) * idf[index_array]
            weight /= np.sqrt(np.dot(weight, weight))
            order = np.argsort(index_array)
            columns.append(index_array[order] + offset)
            values.append(weight[order])
        if not columns:
            return sparse.csr_matrix((1, self._width), dtype=np.float32)
        cols = np.concatenate(columns)
        vals = np.concatenate(values).astype(np.float32)
        return sparse.csr_matrix(
            (vals, cols, np.array([0, cols.size])), shape=(1, self._width), dtype=np.float32
        )

    def probabilities(self, vector: sparse.csr_matrix) -> dict[str, float]:
        """The classifier's one-vs-rest probabilities, normalised (as its predict_proba)."""
        decision = vector.data @ self._weights[vector.indices] + self._intercept
        proba = 1.0 / (1.0 + np.exp(-decision.astype(np.float64)))
        if len(self.codes) == 2:  # binary: one decision function for the second class
            proba = np.array([1.0 - proba[0], proba[0]])
        total = proba.sum()
        proba = proba / total if total > 0 else np.full(len(self.codes), 1.0 / len(self.codes))
        return {code: float(p) for code, p in zip(self.codes, proba, strict=True)}

    def similar_numbers(
        self, vector: sparse.csr_matrix, department: str, limit: int = SIMILAR_SHOWN
    ) -> list[str]:
        rows = self._by_department.get(department)
        if rows is None or rows.size == 0 or vector.nnz == 0:
            return []
        scores = (self._exemplars_of[department] @ vector.T).toarray().ravel()
        order = np.argsort(-scores, kind="stable")[:limit]
        return [self.exemplar_numbers[rows[i]] for i in order if scores[i] > 0.0]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(payload: bytes) -> RoutingModel:
        model = joblib.load(io.BytesIO(payload))
        assert isinstance(model, RoutingModel)
        return model


def rank(
    model: RoutingModel | None,
    text: str,
    *,
    category_department: str | None = None,
    limit: int | None = 3,
    with_similar: bool = True,
    allowed: set[str] | None = None,
) -> list[Ranked]:
    """Departments best first. The model's probabilities, mixed with the category's usual
    department (``CATEGORY_WEIGHT``); without a model only the category's department."""
    if model is None:
        if category_department and (allowed is None or category_department in allowed):
            return [Ranked(category_department, 1.0)]
        return []
    vector = model.vectorize(text)
    scores = model.probabilities(vector)
    if category_department:
        scores = {code: (1.0 - CATEGORY_WEIGHT) * p for code, p in scores.items()}
        scores[category_department] = scores.get(category_department, 0.0) + CATEGORY_WEIGHT
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    if allowed is not None:
        ranked = [item for item in ranked if item[0] in allowed]
    if limit is not None:
        ranked = ranked[:limit]
    result = [Ranked(code, round(score, 4)) for code, score in ranked]
    if with_similar:
        for entry in result:
            entry.similar = model.similar_numbers(vector, entry.code)
    return result


# -- training from the database and storing -----------------------------------------------------


def _trainable(session: Session) -> Sequence[Any]:
    return session.execute(
        select(Ticket.number, Ticket.title, Ticket.description, Department.code)
        .join(Department, Department.id == Ticket.department_id)
        .where(Ticket.stage == Stage.CLOSED.value, Ticket.close_reason.in_(TRAINED_REASONS))
        .order_by(Ticket.closed_at.desc(), Ticket.id.desc())
        .limit(MAX_TRAINING_TICKETS)
    ).all()


def training_signature(session: Session) -> str:
    """What a model trained now would learn from: count and newest closing of trainable tickets."""
    count, newest, top = session.execute(
        select(func.count(), func.max(Ticket.closed_at), func.max(Ticket.id)).where(
            Ticket.stage == Stage.CLOSED.value,
            Ticket.close_reason.in_(TRAINED_REASONS),
            Ticket.department_id.is_not(None),
        )
    ).one()
    return f"{count}:{newest.isoformat() if newest else '-'}:{top or 0}"


def training_examples(session: Session) -> list[Example]:
    rows = [tuple(row) for row in _trainable(session)]
    rows.reverse()  # oldest first: the newest are the exemplars
    return [
        Example(number, ticket_text(title, description), code)
        for number, title, description, code in rows
    ]


def train_model(session: Session) -> RoutingModelRecord | None:
    """Train on the closed tickets and store the model (flushes; the caller commits)."""
    signature = training_signature(session)
    examples = training_examples(session)
    model = RoutingModel.train(examples)
    if model is None:
        return None
    record = RoutingModelRecord(
        token=secrets.token_hex(16),
        trained_at=clock.now(),
        signature=signature,
        examples=model.examples,
        departments=len(model.codes),
        payload=model.to_bytes(),
    )
    session.add(record)
    session.flush()
    old = session.scalars(
        select(RoutingModelRecord.id).order_by(RoutingModelRecord.id.desc()).offset(MODELS_KEPT)
    ).all()
    if old:
        session.execute(delete(RoutingModelRecord).where(RoutingModelRecord.id.in_(old)))
    return record


def train_if_changed(session: Session) -> int:
    """The scheduler's job: retrain when tickets closed (or history arrived) since the newest
    model; returns how many tickets the new model learned from (0: nothing to do)."""
    newest = session.scalar(
        select(RoutingModelRecord.signature).order_by(RoutingModelRecord.id.desc()).limit(1)
    )
    if newest is not None and newest == training_signature(session):
        return 0
    record = train_model(session)
    return record.examples if record is not None else 0


_cache_lock = threading.Lock()
_cache: dict[str, tuple[str, RoutingModel]] = {}


def current_model(session: Session) -> RoutingModel | None:
    """The newest stored model, unpickled once per process and version (a cheap query finds
    whether a newer one was written)."""
    newest = session.execute(
        select(RoutingModelRecord.id, RoutingModelRecord.token)
        .order_by(RoutingModelRecord.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return None
    key = str(session.get_bind().engine.url)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == newest.token:
            return cached[1]
    payload = session.scalar(
        select(RoutingModelRecord.payload).where(RoutingModelRecord.id == newest.id)
    )
    if payload is None:
        return None
    model = RoutingModel.from_bytes(payload)
    with _cache_lock:
        _cache[key] = (newest.token, model)
    return model


def category_department(session: Session, category_code: str | None) -> str | None:
    if not category_code:
        return None
    return session.scalar(
        select(Department.code)
        .join(Category, Category.department_id == Department.id)
        .where(Category.code == category_code, Department.active.is_(True))
    )


def suggest(
    session: Session,
    title: str | None,
    description: str | None,
    *,
    category_code: str | None = None,
    limit: int | None = 3,
) -> list[Ranked]:
    """The ranked departments for a ticket's words (and its category), active departments only."""
    active = set(session.scalars(select(Department.code).where(Department.active.is_(True))))
    return rank(
        current_model(session),
        ticket_text(title, description),
        category_department=category_department(session, category_code),
        limit=limit,
        allowed=active,
    )
