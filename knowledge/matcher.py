"""The FAQ matcher: an in-memory index over normalised Chinese text, independent of the database.

Chinese has no spaces, so a text is described by three kinds of features:

* character bigrams (robust to word order and to words jieba does not know),
* jieba words of two or more characters (so 公积金 counts as one meaningful unit),
* character unigrams (税, 证, 狗 carry meaning alone), weighted down,

each weighted by its inverse document frequency (IDF) over the FAQs, so 的/怎么/办理 weigh little
and 公积金/护照/犬只 weigh a lot.

Every FAQ is indexed as a sparse vector of *fields*: its wordings (the question and every
alternative phrasing) and its keywords at full weight, its category and department names lower,
its answer text lower still, so that a citizen's word that only appears in the answer (12123,
人脸识别, 契税) still counts. Staff synonyms (驾照 → 驾驶证) are applied to queries and FAQs alike.

A search runs in two stages so that it stays fast on a large base:

1. **Candidates**: an inverted index from each feature to the FAQs holding it (with the field
   weight); the query's features vote, most informative first, and the voting stops after a fixed
   amount of posting-list work, so a query made of common words costs no more than a rare one.
   The best ``SCORED`` FAQs go on.
2. **Scoring** of those candidates: the share of the query's IDF weight the FAQ explains through
   its fields (BM25-style coverage), the share the best single wording explains, how much of that
   wording the query covers, rapidfuzz's normalised Indel similarity to it (order-aware), and the
   FAQ's keywords found in the query. A query that shares no informative word or bigram with an
   FAQ's wordings and keywords (only generic words such as 怎么/办理, or answer text) has its score
   cut (× ``Weights.guard``): that is the out-of-scope guard.

3. **A second model and calibration**: a multinomial naive-Bayes model over the same features
   (one class per FAQ, trained on its wordings, keywords and, weighted down, its answer) gives each
   shortlisted FAQ a posterior over the shortlist: it learns which features tell an FAQ's many
   wordings apart from its neighbours', where the lexical score only measures overlap. A small
   logistic model (:class:`Calibration`, fitted on held-out wordings by
   ``fit_calibration`` in lab/knowledge/evaluation.py) combines the lexical score, the posterior and
   how far each leads the best other candidate into the probability that the candidate is the
   FAQ asked about. That probability is the score, and the ranking.

Sums over features use ``math.fsum``: exact, so a score does not depend on the order a set is
iterated in (which varies between processes), and the tuned thresholds are reproducible.

Scores are floats from 0 to 1. The thresholds that turn a score into answer / did-you-mean / no
answer live in :mod:`knowledge.search`.
"""

from __future__ import annotations

import copy
import heapq
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from functools import cache
from itertools import repeat
from math import fsum
from operator import add, itemgetter
from typing import Any, ClassVar, NamedTuple

from rapidfuzz.distance import Indel

from knowledge.normalize import normalize

SCORED = 10  # candidates that get the full scoring
QUANTUM = 1 << 32  # feature weights as integers of this many parts (exact sums)
POSTING_BUDGET = 800  # posting-list entries one search may walk while voting
# Results kept per index for repeated questions (the same few hundred questions make most of a
# hotline's traffic); 0: none. At 4 matches a result, 2,048 of them take about 10 MB.
RESULT_CACHE = 2048
WORD_PREFIX = "\x01"

# Question words and small talk: they say what kind of question it is, never what it is about, so
# they weigh little and never count as the informative term the out-of-scope guard asks for.
_GENERIC_WORDS = """怎么 怎么办 怎么样 怎样 咋办 如何 什么 为什么 哪里 哪儿 哪个 哪些 哪家 多少 多久 几天 可以 能不能
    可不可以 需要 要求 东西 问题 一下 现在 今天 明天 昨天 时候 是否 有没有 是不是 还是 一个 我们 你们
    他们 自己 知道 告诉 推荐 最多 这个 那个 这些 那些 情况 去哪 去哪里 在哪里 在哪 找谁 一直 已经 还有
    应该 一些 有点 特别 非常 比较 觉得 然后 但是 因为 所以 如果 虽然 而且 或者 不是 没有 就是 这样 那样
    这么 那么 好的 好吃 好玩 好看 喜欢 有用 真的 一样 之后 以后 以前 之前 时间 地方 办法 事情 人家
    """
GENERIC = frozenset(_GENERIC_WORDS.split())
GENERIC_FACTOR = 0.3

# Asking for an opinion, a recommendation or a prediction (哪个牌子好, 值不值得, 会不会涨, 怎么挑 …):
# a question can use an FAQ's words and still ask something no FAQ answers (电动车哪个牌子续航长
# is not 电动自行车怎么上牌). One signal for the calibration, which weighs it against the FAQs' own
# wordings that ask such things (城乡居民养老保险缴费档次怎么选).
_ADVICE_PATTERNS = """哪个牌子 什么牌子 哪款 哪种.{0,6}(好|小|大|强|便宜|划算|合适)
    哪家.{0,8}(好|强|便宜|厉害|划算|专业|靠谱|口碑|正宗) 哪个.{0,6}(好|强|便宜|厉害|划算|合适|快|值)
    哪里.{0,4}(好玩|好吃|便宜|划算) 值得.{0,4}(买|去|报|吗) 比较好 最好 最省 最便宜 最划算 最靠谱 最厉害
    划算 靠谱 好用 有道理 升值 口碑 性价比 推荐 攻略 有什么技巧 贵不贵 累不累 好不好 值不值 难不难 远不远
    疼不疼 痛不痛 准不准 涨不涨 会不会(涨|跌|降) 怎么挑 怎么选 选哪 怎么搭配 选.{1,10}还是
    还是.{1,10}(好|划算|合适) 怎么克服 怎么说服 你觉得 你们觉得
    """
ADVICE = re.compile("|".join(_ADVICE_PATTERNS.split()))

# Field weights: how much a feature found only in that part of an FAQ counts.
FIELD_WORDING = 1.0
FIELD_KEYWORD = 1.0
FIELD_META = 0.45  # category and department names
FIELD_ANSWER = 0.35


@dataclass(frozen=True)
class Entry:
    """One FAQ as the matcher sees it (plain data: the eval and the baselines use it too)."""

    id: int
    question: str
    answer: str
    category: str
    alternatives: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    department: str | None = None
    department_code: str | None = None


@dataclass(frozen=True)
class Weights:
    """How the scoring signals combine; tuned on the dev half of the evaluation set."""

    entry_coverage: float = 0.40  # share of the query's weight the FAQ's fields explain
    query_coverage: float = 0.10  # share of the query's weight the best wording explains
    text_coverage: float = 0.10  # share of the best wording's weight the query covers
    fuzzy: float = 0.25  # rapidfuzz normalised Indel similarity to the best wording
    keywords: float = 0.25  # the FAQ's keywords found in the query
    unknown: float = 1.0  # how much a query feature no FAQ has counts in the denominators
    guard: float = 0.4  # score factor when no informative term is shared
    unigram: float = 0.4  # a single character says less than a bigram or word with the same IDF
    informative_df: float = 0.08  # a term held by at most this share of FAQs is informative
    bayes_smoothing: float = 0.03  # additive (Lidstone) smoothing of the naive-Bayes counts
    bayes_answer: float = 0.3  # how much an answer's feature counts next to a wording's
    bayes_temperature: float = 10.0  # softens the naive-Bayes posterior over the shortlist


@dataclass(frozen=True)
class Calibration:
    """Logistic model: P(this candidate is the FAQ asked about) from its signals.

    The naive-Bayes posterior is taken over the shortlist plus a background class (every FAQ
    pooled), so a candidate scores well only when it explains the question better than the
    knowledge base in general does, also when it is the only candidate.

    Fitted by ``fit_calibration`` (lab/knowledge/evaluation.py) on the shipped FAQs' own wordings, each
    held out in turn (5 folds), plus out-of-scope questions; ``lab/knowledge/bench.py --fit``
    refits and prints these numbers. Signals (``FEATURES``): the lexical score and three of its
    parts, the keyword and guard signals, the naive-Bayes posterior, how far the lexical score,
    the posterior and the best single wording's score lead the best *other* candidate, the
    product of lexical score and posterior, the outside class's posterior, per-feature
    log-likelihood ratios against the best class, the outside class and the background, and
    whether the question asks for advice (``ADVICE``)."""

    bias: float = -2.481
    lexical: float = 0.393
    bayes: float = 0.811
    lexical_lead: float = 1.667
    bayes_lead: float = 0.684
    informative: float = -0.099
    keywords: float = 1.012
    bayes_fit: float = 2.32
    outside: float = -0.665
    agreement: float = 0.592
    outside_fit: float = -0.91
    background_fit: float = 0.582
    entry_coverage: float = 0.128
    fuzzy: float = -0.531
    text_coverage: float = 0.765
    wording_lead: float = 0.418
    advice: float = -0.955

    # The signals, in the order of the fields after ``bias`` (set below the class, from them).
    FEATURES: ClassVar[tuple[str, ...]]

    def probability(self, signals: Mapping[str, float]) -> float:
        return logistic(
            self.bias + sum(getattr(self, name) * signals[name] for name in self.FEATURES)
        )


def logistic(z: float) -> float:
    """1 / (1 + e^-z), clamped so that no input overflows."""
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


Calibration.FEATURES = tuple(f.name for f in dataclass_fields(Calibration) if f.name != "bias")


@cache
def _tokenizer() -> Any:
    """A private jieba tokenizer with jieba's own dictionary only, initialised quietly on first
    use (it takes about a second and logs to stderr otherwise); private so that no word we add
    changes anyone else's segmentation. Never modified: each matcher adds its words to a copy."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _tokenizer_copy() -> Any:
    """A copy of the base tokenizer that one matcher may add its keywords to (~20 ms): a
    matcher's segmentation depends on its own knowledge base only, not on what other matchers
    in the process were built from."""
    import threading

    base = _tokenizer()
    tokenizer = copy.copy(base)
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.user_word_tag_tab = dict(base.user_word_tag_tab)
    tokenizer.lock = threading.RLock()
    return tokenizer


def words(text: str, tokenizer: Any = None) -> list[str]:
    return [w for w in (tokenizer or _tokenizer()).lcut(text, HMM=False) if len(w) >= 2]


def features(text: str, tokenizer: Any = None) -> set[str]:
    grams = set(text)
    grams.update(text[i : i + 2] for i in range(len(text) - 1))
    grams.update(WORD_PREFIX + w for w in words(text, tokenizer))
    return grams


_Counts = dict[str, float]


class _BayesClass(NamedTuple):
    """One naive-Bayes class: an FAQ, the background (all FAQs) or the outside questions."""

    boost: dict[str, float]  # feature → log((count + α) / α): how much likelier than unseen
    unseen: float  # log(α / (total + α·V)): an unseen feature's log-probability

    @classmethod
    def from_counts(cls, counts: Mapping[str, float], alpha: float, vocabulary: int) -> _BayesClass:
        # (max(…, 2α): an empty base, or an FAQ without text, still has a finite log-probability)
        unseen = math.log(alpha / max(fsum(counts.values()) + alpha * vocabulary, 2 * alpha))
        return cls({f: math.log((n + alpha) / alpha) for f, n in counts.items()}, unseen)

    def log_likelihood(self, known: frozenset[str] | set[str], n: int) -> float:
        """Of a question whose ``n`` known features are ``known``."""
        boost = self.boost
        return self.unseen * n + fsum(map(boost.__getitem__, known & boost.keys()))


class _Wording(NamedTuple):
    """A tuple, so the scoring loop unpacks it instead of looking up attributes."""

    text: str
    feats: frozenset[str]
    weight: float
    length: int


@dataclass
class _Prepared:
    entry: Entry
    wordings: list[_Wording]
    fields: dict[str, float]  # feature → field weight (the best field holding it)
    strong: frozenset[str]  # features of the wordings and keywords
    keywords: tuple[str, ...]
    bayes: _BayesClass


@dataclass
class Match:
    entry: Entry
    score: float
    signals: dict[str, float] = field(default_factory=dict)


class Matcher:
    """Built once from entries and synonyms; immutable afterwards, so threads may share it."""

    def __init__(
        self,
        entries: Iterable[Entry],
        synonyms: Mapping[str, str] | None = None,
        *,
        weights: Weights | None = None,
        calibration: Calibration | None = None,
        candidates: int = SCORED,
        posting_budget: int = POSTING_BUDGET,
        negatives: Iterable[str] = (),
        result_cache: int = RESULT_CACHE,
    ) -> None:
        """``negatives``: questions the hotline does not answer (weather, jokes, shopping …);
        they train an "outside" class that competes with the candidates (see _calibrate).
        ``result_cache``: how many recent results :meth:`search` keeps (0: none); the index is
        immutable, so a kept result is exactly what searching again would return."""
        self._results: OrderedDict[tuple[str, int], tuple[Match, ...]] = OrderedDict()
        self._results_size = max(0, result_cache)
        self._results_lock = threading.Lock()
        self.weights = weights or Weights()
        self.calibration = calibration or Calibration()
        self.candidates = candidates
        self.posting_budget = posting_budget
        self.synonyms: dict[str, str] = {}
        for term, canonical in (synonyms or {}).items():
            term_n, canonical_n = (
                normalize(term, fillers=False),
                normalize(canonical, fillers=False),
            )
            if term_n and canonical_n and term_n != canonical_n:
                self.synonyms[term_n] = canonical_n
        terms = sorted(self.synonyms, key=len, reverse=True)
        self._synonym_re = re.compile("|".join(map(re.escape, terms))) if terms else None
        self._tokenizer = tokenizer = _tokenizer_copy()
        self.entries = list(entries)
        for entry in self.entries:
            for word in entry.keywords:
                word = normalize(word, fillers=False)
                if len(word) >= 2:
                    tokenizer.add_word(word, freq=20000)
        for word in self.synonyms.values():
            if len(word) >= 2:
                tokenizer.add_word(word, freq=20000)

        # entry, wordings, their features, keywords, field weights, naive-Bayes counts
        built: list[tuple[Entry, list[str], list[set[str]], tuple[str, ...], _Counts, _Counts]] = []
        document_frequency: dict[str, int] = {}
        for entry in self.entries:
            texts = [self.prepare(t) for t in (entry.question, *entry.alternatives)]
            texts = [t for t in dict.fromkeys(texts) if t]
            keywords = tuple(
                k
                for k in dict.fromkeys(self.prepare(k, fillers=False) for k in entry.keywords)
                if k
            )
            feats = [self.features(t) for t in texts]
            fields: dict[str, float] = {}
            answer_feats = self.features(self.prepare(entry.answer, fillers=False))
            meta = self.prepare(f"{entry.category} {entry.department or ''}", fillers=False)
            for feature_set, weight in (
                (answer_feats, FIELD_ANSWER),
                (self.features(meta), FIELD_META),
            ):
                for feature in feature_set:
                    fields[feature] = weight
            for keyword in keywords:
                for feature in self.features(keyword):
                    fields[feature] = FIELD_KEYWORD
                fields[WORD_PREFIX + keyword] = FIELD_KEYWORD
            for wording_feats in feats:
                for feature in wording_feats:
                    fields[feature] = FIELD_WORDING
            for feature in fields:
                document_frequency[feature] = document_frequency.get(feature, 0) + 1
            # Naive-Bayes counts: every wording and keyword counts once, the answer less.
            counts: dict[str, float] = {}
            sources = [(f, 1.0) for f in feats] + [(self.features(k), 1.0) for k in keywords]
            sources.append((answer_feats, self.weights.bayes_answer))
            for feature_set, weight in sources:
                for feature in feature_set:
                    counts[feature] = counts.get(feature, 0.0) + weight
            built.append((entry, texts, feats, keywords, fields, counts))

        total = max(len(built), 1)
        self._unseen_idf = math.log((total + 1) / 0.5)
        self.idf = {
            f: math.log((total + 1) / (df + 0.5)) * _feature_factor(f, self.weights.unigram)
            for f, df in document_frequency.items()
        }
        self._informative_df = max(2, int(total * self.weights.informative_df))
        self._df = document_frequency
        # Lists longer than this never vote (怎么, 办理 …): walking them costs and tells little.
        self._common_df = max(40, total // 8)
        # feature → FAQs holding it in a wording or keyword, walked by the voting stage (the weaker
        # fields count only when the shortlist is scored).
        self._postings: dict[str, list[int]] = {}
        self._prepared: list[_Prepared] = []
        alpha = self.weights.bayes_smoothing
        background: dict[str, float] = {}
        for item in built:
            for feature, n in item[5].items():
                background[feature] = background.get(feature, 0.0) + n
        outside: dict[str, float] = {}
        for question in negatives:
            for feature in self.features(self.prepare(question)):
                outside[feature] = outside.get(feature, 0.0) + 1.0
        self._bayes_vocabulary = frozenset(background) | frozenset(outside)
        vocabulary_size = len(self._bayes_vocabulary)
        # The background class: all FAQs pooled. A candidate must explain the query better than
        # "the hotline in general" does, so a lone candidate is not certain by default.
        self._background = _BayesClass.from_counts(background, alpha, vocabulary_size)
        # The outside class: what citizens ask that the hotline does not answer (None: none given).
        self._outside = (
            _BayesClass.from_counts(outside, alpha, vocabulary_size) if outside else None
        )
        for index, (entry, texts, feats, keywords, fields, counts) in enumerate(built):
            wordings = [
                _Wording(t, frozenset(f), fsum(self.idf[g] for g in f) or 1.0, len(t))
                for t, f in zip(texts, feats, strict=True)
            ]
            strong = {g for g, w in fields.items() if w >= FIELD_KEYWORD}
            bayes = _BayesClass.from_counts(counts, alpha, vocabulary_size)
            self._prepared.append(
                _Prepared(entry, wordings, fields, frozenset(strong), keywords, bayes)
            )
            for feature in strong:
                self._postings.setdefault(feature, []).append(index)
        # Most selective first, so a bounded walk reads the most telling lists.
        self._posting_len = {f: len(p) for f, p in self._postings.items()}

    def features(self, text: str) -> set[str]:
        return features(text, self._tokenizer)

    def __len__(self) -> int:
        return len(self._prepared)

    def prepare(self, text: str, *, fillers: bool = True) -> str:
        text = normalize(text, fillers=fillers)
        if self._synonym_re is not None:
            text = self._synonym_re.sub(lambda m: self.synonyms[m.group(0)], text)
        return text

    def search(self, query: str, limit: int = 3) -> list[Match]:
        """The best ``limit`` FAQs for a query, best first; an empty list if nothing is near.

        The matches of a repeated question (the same text once normalised) come from the result
        cache; they are shared, so callers must not change them."""
        text = self.prepare(query)
        if not text or not self._prepared:
            return []
        if not self._results_size:
            return self._search(text, limit)
        key = (text, limit)
        with self._results_lock:
            kept = self._results.get(key)
            if kept is not None:
                self._results.move_to_end(key)
                return list(kept)
        found = self._search(text, limit)
        with self._results_lock:
            self._results[key] = tuple(found)
            if len(self._results) > self._results_size:
                self._results.popitem(last=False)
        return found

    def _search(self, text: str, limit: int) -> list[Match]:
        w = self.weights
        idf = self.idf
        query_feats = self.features(text)
        unseen = self._unseen_idf * w.unknown
        weight = {g: idf.get(g, 0.0) for g in query_feats}
        known_weight = fsum(weight.values())
        if not known_weight:
            return []
        query_weight = known_weight + unseen * fsum(
            _feature_factor(g, w.unigram) for g in query_feats if g not in idf
        )

        # Stage 1: vote, most informative features first, within the posting budget. A feature
        # held by too many FAQs, or past the budget, does not vote (it still counts in stage 2).
        votes: dict[int, float] = {}
        get = votes.get
        budget = self.posting_budget
        postings = self._postings
        common_df = self._common_df
        posting_len = self._posting_len
        for feature in sorted(
            (g for g in query_feats if g in postings), key=lambda g: (posting_len[g], g)
        ):
            plist = postings[feature]
            if len(plist) > common_df or (budget < len(plist) and votes):
                continue
            budget -= len(plist)
            # votes[index] += weight for every index of the list, in C (map/zip/update): the
            # same additions in the same order as a Python loop, three times faster.
            increments = map(add, map(get, plist, repeat(0.0)), repeat(weight[feature]))
            votes.update(zip(plist, increments, strict=True))
        if not votes:
            return []
        shortlist = heapq.nlargest(self.candidates, votes.items(), key=itemgetter(1))

        # Stage 2: score the shortlist.
        informative_df = self._informative_df
        df = self._df
        # Integer weights for the per-wording sums: exact and order-free like fsum, but cheap.
        exact = {g: round(v * QUANTUM) for g, v in weight.items()}.__getitem__
        text_length = len(text)
        query_coverage, text_coverage, fuzzy_weight = w.query_coverage, w.text_coverage, w.fuzzy
        similarity = Indel.normalized_similarity
        scored: list[Match] = []
        for index, _vote in shortlist:
            item = self._prepared[index]
            fields = item.fields
            entry_cover = fsum(weight[g] * fields[g] for g in query_feats & fields.keys())
            entry_cover /= query_weight
            best_text = 0.0
            best_signals = (0.0, 0.0, 0.0)
            local = query_feats & item.strong  # every wording's features are strong ones
            for wording_text, wording_feats, wording_weight, length in (
                item.wordings if local else ()
            ):
                shared = local & wording_feats
                if not shared:
                    continue
                common = sum(map(exact, shared)) / QUANTUM
                cover_q = common / query_weight
                cover_t = common / wording_weight
                if cover_t > 1.0:
                    cover_t = 1.0
                partial = query_coverage * cover_q + text_coverage * cover_t
                # The Indel similarity is at most 2·min(lengths)/(sum of lengths): skip the
                # wordings that cannot beat the best so far even with that.
                ceiling = 2 * (length if length < text_length else text_length)
                if partial + fuzzy_weight * ceiling / (length + text_length) + 1e-9 < best_text:
                    continue
                fuzzy = similarity(text, wording_text)
                value = partial + fuzzy_weight * fuzzy
                if value > best_text:
                    best_text, best_signals = value, (cover_q, cover_t, fuzzy)
            keyword_hit = _keyword_share(text, item.keywords)
            informative = keyword_hit > 0 or any(
                g[0] == WORD_PREFIX and df[g] <= informative_df and g[1:] not in GENERIC
                for g in local
            )
            score = best_text + w.entry_coverage * entry_cover + w.keywords * keyword_hit
            if not informative:
                score *= w.guard
            scored.append(
                Match(
                    item.entry,
                    round(min(score, 1.0), 4),
                    {
                        "lexical": score,  # uncapped: two strong candidates stay apart
                        "entry_coverage": entry_cover,
                        "query_coverage": best_signals[0],
                        "text_coverage": best_signals[1],
                        "fuzzy": best_signals[2],
                        "keywords": keyword_hit,
                        "informative": 1.0 if informative else 0.0,
                        "wording": best_text,
                    },
                )
            )
        advice = 1.0 if ADVICE.search(text) else 0.0
        for match in scored:
            match.signals["advice"] = advice
        self._calibrate(shortlist, scored, query_feats)
        scored.sort(key=lambda m: (-m.score, m.entry.id))
        return scored[:limit]

    def _calibrate(
        self, shortlist: list[tuple[int, float]], scored: list[Match], query_feats: set[str]
    ) -> None:
        """Replace each candidate's lexical score by the calibrated probability (the lexical
        score stays in ``signals["lexical"]``)."""
        known = query_feats & self._bayes_vocabulary
        n = max(len(known), 1)
        outside = self._outside
        classes = [self._prepared[index].bayes for index, _vote in shortlist]
        classes += [self._background] if outside is None else [self._background, outside]
        likelihood = [bayes_class.log_likelihood(known, n) for bayes_class in classes]
        top = max(likelihood)
        temperature = self.weights.bayes_temperature
        exp = [math.exp((value - top) / temperature) for value in likelihood]
        total = fsum(exp)
        # One per candidate, then the background's and (with negatives) the outside class's.
        posterior = [e / total for e in exp]
        outside_posterior = posterior[len(scored) + 1] if outside is not None else 0.0
        background_likelihood = likelihood[len(scored)]
        outside_likelihood = likelihood[len(scored) + 1] if outside is not None else 0.0
        lexical = [m.signals["lexical"] for m in scored]
        best_lexical, second_lexical = _top_two(lexical)
        best_bayes, second_bayes = _top_two(posterior)
        wording = [m.signals["wording"] for m in scored]
        best_wording, second_wording = _top_two(wording)
        for i, match in enumerate(scored):
            # The best *other* value: the runner-up's for the best, the best's for the rest.
            others_lexical = second_lexical if lexical[i] == best_lexical else best_lexical
            others_bayes = second_bayes if posterior[i] == best_bayes else best_bayes
            signals = match.signals
            signals["bayes"] = posterior[i]
            signals["lexical_lead"] = lexical[i] - others_lexical
            signals["bayes_lead"] = posterior[i] - others_bayes
            signals["wording_lead"] = wording[i] - (
                second_wording if wording[i] == best_wording else best_wording
            )
            signals["bayes_fit"] = (likelihood[i] - top) / n
            signals["outside"] = outside_posterior
            # Per query feature: how much better the outside class / the whole base explain the
            # question than this candidate does (log-likelihood ratios).
            signals["outside_fit"] = (
                (outside_likelihood - likelihood[i]) / n if outside is not None else 0.0
            )
            signals["background_fit"] = (background_likelihood - likelihood[i]) / n
            signals["agreement"] = lexical[i] * posterior[i]  # both models must agree
            match.score = round(self.calibration.probability(signals), 4)


def _top_two(values: Sequence[float]) -> tuple[float, float]:
    """The largest value and the largest of the rest (a tie counts twice; 0.0 if missing)."""
    best = second = 0.0
    for i, value in enumerate(values):
        if i == 0 or value > best:
            best, second = value, (best if i else second)
        elif i == 1 or value > second:
            second = value
    return best, second


def _feature_factor(feature: str, unigram: float) -> float:
    if len(feature) == 1:
        return unigram
    if (feature[1:] if feature[0] == WORD_PREFIX else feature) in GENERIC:
        return GENERIC_FACTOR
    return 1.0


def _keyword_share(text: str, keywords: Sequence[str]) -> float:
    """1.0 when the query holds a keyword of the FAQ of three characters or more; longer keywords
    say more."""
    best = 0
    for keyword in keywords:
        if len(keyword) > best and keyword in text:
            best = len(keyword)
    return min(best / 3, 1.0)
