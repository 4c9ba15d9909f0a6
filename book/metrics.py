"""The field's evaluation metrics, written out (chapter 6): BLEU for translation, entity-level
precision / recall / F1 for tagging, recall@k and mean reciprocal rank for retrieval.

    >>> from book.metrics import corpus_bleu, tokenize_13a
    >>> hyp = tokenize_13a("The cat sat on the mat.")
    >>> round(corpus_bleu([hyp], [[tokenize_13a("The cat sat on a mat.")]]).score, 2)
    48.89
    >>> from book.metrics import entity_scores
    >>> true, pred = [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]]
    >>> entity_scores(true, pred).micro.f1
    0.5

Each metric is checked against the reference implementation the field reports with:
`sacrebleu` (BLEU, its "13a" and "zh" tokenisations) and `seqeval` (entities), in
tests/test_metrics.py.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BLEU",
    "PRF",
    "EntityReport",
    "bio_entities",
    "brevity_penalty",
    "closest_ref_length",
    "corpus_bleu",
    "entity_scores",
    "is_chinese_char",
    "mean_reciprocal_rank",
    "modified_precision",
    "ngram_counts",
    "recall_at_k",
    "tokenize_13a",
    "tokenize_zh",
]

# --------------------------------------------------------------------------------------------
# (a) Tokenisation for BLEU: a score is only comparable between papers that tokenised alike
# --------------------------------------------------------------------------------------------

# The four rules of NIST's mteval-v13a.pl, the WMT standard (sacrebleu's default, "13a"), applied
# in this order, each to the output of the one before:
_MTEVAL_RULES = [
    # ASCII punctuation and symbols become tokens, except ' - (inside words: don't, well-known)
    # and . , (decimal points and thousands separators: 2.5, 50,000), handled next
    (re.compile(r"([!-&(-+/:-@\[-`{-~])"), r" \1 "),
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),  # . or , after a non-digit
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),  # . or , before a non-digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),      # - after a digit: 2004-05 -> 2004 - 05
]


def _mteval_split(line: str) -> list[str]:
    """Apply the mteval-v13a rules to `line` and split it at whitespace."""
    for pattern, replacement in _MTEVAL_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def tokenize_13a(text: str) -> list[str]:
    """Tokens of `text` as mteval-v13a (sacrebleu's default "13a") makes them.

    The text is cleaned first (the four HTML entities &quot; &amp; &lt; &gt; decoded, line
    breaks joined), then split by the rules of _MTEVAL_RULES: words keep their case, their
    apostrophes and hyphens; punctuation is split off, except . and , between digits.
    """
    text = text.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    for entity, char in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return _mteval_split(f" {text} ")  # the spaces make a leading "." look like one after a word


# The code points sacrebleu's "zh" tokeniser treats as Chinese: one token each. Its table is
# meant as Unicode blocks; one entry, written for CJK Extension B (U+20000-U+2A6D6) with 4-digit
# escapes, is read by Python as U+2001-U+2A6D: general punctuation (the quotes “ ” the ellipsis
# … the dash —), arrows, maths and other symbols. We keep that range so that scores agree; it
# also makes Chinese quotes tokens of their own, which is what one wants. (Extension B itself is
# then not split: its characters are rare.)
_ZH_RANGES = (
    (0x2001, 0x2A6D),  # see above
    (0x2E80, 0x2EFF),  # CJK radicals supplement
    (0x2F00, 0x2FDF),  # Kangxi radicals
    (0x2FF0, 0x2FFF),  # ideographic description characters
    (0x3000, 0x303F),  # CJK symbols and punctuation: 。 、 「 」
    (0x3100, 0x312F),  # bopomofo
    (0x31A0, 0x31BF),  # bopomofo extended
    (0x31C0, 0x31EF),  # CJK strokes
    (0x3200, 0x33FF),  # enclosed CJK letters and months, CJK compatibility
    (0x3400, 0x4DB5),  # CJK unified ideographs extension A
    (0x4E00, 0x9FBB),  # CJK unified ideographs (as far as Unicode 4.1)
    (0xF900, 0xFA2D),  # CJK compatibility ideographs
    (0xFA30, 0xFA6A),
    (0xFA70, 0xFAD9),
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # full-width ASCII and punctuation (，！？), half-width forms
)


def is_chinese_char(char: str) -> bool:
    """True if `tokenize_zh` makes the one character `char` a token of its own (_ZH_RANGES)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _ZH_RANGES)


def tokenize_zh(text: str) -> list[str]:
    """Tokens of Chinese text as sacrebleu's "zh" makes them: every Chinese character (and
    Chinese punctuation) is one token; the rest (Latin words, numbers) is split by the
    mteval-v13a rules, so "GPT-4模型" gives ['GPT-4', '模', '型'].

    Chinese is written without spaces and word segmenters disagree, so scoring by character
    is the convention (WMT's Chinese BLEU): 4-grams of characters are about 2-grams of words.
    """
    spaced = "".join(f" {c} " if is_chinese_char(c) else c for c in text.strip())
    return _mteval_split(spaced)


# --------------------------------------------------------------------------------------------
# (b) BLEU (Papineni et al. 2002)
# --------------------------------------------------------------------------------------------


def ngram_counts(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """How often each n-gram (tuple of n consecutive tokens) occurs in `tokens`."""
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(hypothesis: Sequence[str], references: Sequence[Sequence[str]],
                       n: int) -> tuple[int, int]:
    """The clipped n-gram matches of `hypothesis` and its number of n-grams: (numerator,
    denominator) of Papineni's modified precision

        p_n = sum_g min(count_hyp(g), max_r count_r(g)) / sum_g count_hyp(g)

    over the hypothesis' n-grams g. Clipping by the most any one reference uses g is what stops
    "the the the the" from scoring 4/4 against "the cat".
    """
    hyp = ngram_counts(hypothesis, n)
    most: Counter[tuple[str, ...]] = Counter()
    for ref in references:
        most |= ngram_counts(ref, n)  # | keeps the larger count of each n-gram
    return sum(min(c, most[g]) for g, c in hyp.items()), sum(hyp.values())


def closest_ref_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length closest to `hyp_len`, the shorter one on a tie (mteval's and
    sacrebleu's "effective reference length")."""
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """BP = 1 if c > r, else exp(1 - r / c), with c the hypothesis length and r the reference
    length (corpus totals); 0 for an empty hypothesis.

    Precision alone rewards saying little ("the" scores p_1 = 1); BP charges for every token
    the output is shorter than the references, and nothing for being longer (longer outputs
    already pay in precision).
    """
    if hyp_len > ref_len:
        return 1.0
    return math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0


@dataclass(frozen=True)
class BLEU:
    """A corpus BLEU score and what it is made of.

    score: 100 x BLEU (the scale papers print); precisions: p_1 .. p_N as fractions, as they
    entered the geometric mean (smoothed where a count was 0); matches, totals: the clipped
    matches and the n-gram counts per order, summed over the corpus; bp: the brevity penalty;
    hyp_len, ref_len: the corpus lengths c and r.
    """

    score: float
    precisions: tuple[float, ...]
    matches: tuple[int, ...]
    totals: tuple[int, ...]
    bp: float
    hyp_len: int
    ref_len: int

    def __str__(self) -> str:
        p = "/".join(f"{100 * x:.1f}" for x in self.precisions)
        return (f"BLEU = {self.score:.2f} {p} (BP = {self.bp:.3f} ratio = "
                f"{self.hyp_len / max(self.ref_len, 1):.3f} hyp_len = {self.hyp_len} "
                f"ref_len = {self.ref_len})")


def _check_tokens(tokens: object, what: str) -> None:
    """Refuse a string where a token list is expected (it would be scored by characters)."""
    if isinstance(tokens, str):
        raise TypeError(f"{what} is a string; pass a list of tokens (tokenize_13a(text) for "
                        f"English, tokenize_zh(text) for Chinese)")


def corpus_bleu(hypotheses: Sequence[Sequence[str]],
                references: Sequence[Sequence[Sequence[str]]], max_n: int = 4,
                smooth: str = "exp") -> BLEU:
    """Corpus BLEU of tokenised `hypotheses`, each with one or more tokenised references
    (references[i] is the list of references of hypotheses[i]):

        BLEU = BP * exp( (1/N) sum_{n=1..N} ln p_n ),   N = max_n,

    where p_n = (sum of clipped matches) / (sum of n-gram counts), both summed over the whole
    corpus before dividing (not a mean of sentence scores), and BP = brevity_penalty(c, r)
    with c the total hypothesis length and r the sum of each sentence's closest_ref_length.

    Zero counts, as sacrebleu's corpus_bleu does by default (so the two agree everywhere):
    no unigram matched at all, or no hypothesis has n tokens for some order n <= N: BLEU = 0.
    Otherwise an order with 0 matches would make the geometric mean 0; smooth="exp" (mteval's
    NIST smoothing, sacrebleu's default) gives the k-th such order p_n = 1 / (2^k total_n)
    instead; smooth="none" leaves it 0, and BLEU is 0.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if smooth not in ("exp", "none"):
        raise ValueError(f"smooth must be 'exp' or 'none'; got {smooth!r}")
    if max_n < 1:
        raise ValueError(f"max_n must be at least 1; got {max_n}")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        _check_tokens(hyp, f"hypothesis {i}")
        if isinstance(refs, str) or len(refs) == 0:
            raise TypeError(f"references[{i}] must be a non-empty list of token lists")
        for ref in refs:
            _check_tokens(ref, f"a reference of hypothesis {i}")
        for n in range(1, max_n + 1):
            m, t = modified_precision(hyp, refs, n)
            matches[n - 1] += m
            totals[n - 1] += t
        hyp_len += len(hyp)
        ref_len += closest_ref_length(len(hyp), [len(r) for r in refs])
    bp = brevity_penalty(hyp_len, ref_len)
    precisions, halvings = [], 0
    for m, t in zip(matches, totals):
        if t == 0:
            precisions.append(0.0)  # undefined; only happens when BLEU is 0 anyway
        elif m == 0 and smooth == "exp":
            halvings += 1
            precisions.append(1 / (2 ** halvings * t))
        else:
            precisions.append(m / t)
    if matches[0] == 0 or min(precisions) == 0:
        score = 0.0
    else:
        score = 100 * bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return BLEU(score, tuple(precisions), tuple(matches), tuple(totals), bp, hyp_len, ref_len)


# --------------------------------------------------------------------------------------------
# (c) Entity-level precision, recall and F1 from BIO tags (CoNLL)
# --------------------------------------------------------------------------------------------


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one BIO-tagged sentence as (type, start, end), end exclusive.

    "B-X" starts an entity of type X; "I-X" continues it if the previous tag is "B-X" or "I-X",
    and otherwise starts a new one (an I- with no B- before it, as in conlleval and seqeval's
    default mode); "O", a "B-", or an "I-" of another type ends it.

        >>> bio_entities(["B-PER", "I-PER", "O", "I-LOC", "I-ORG", "B-ORG"])
        [('PER', 0, 2), ('LOC', 3, 4), ('ORG', 4, 5), ('ORG', 5, 6)]
    """
    entities, start, current = [], 0, None  # current: the type of the open entity, if any
    for i, tag in enumerate([*tags, "O"]):  # the "O" closes an entity open at the end
        if tag == "O":
            prefix, kind = "O", None
        elif tag[:2] in ("B-", "I-") and len(tag) > 2:
            prefix, kind = tag[0], tag[2:]
        else:
            raise ValueError(f"tag {i} is {tag!r}: a BIO tag is 'O', 'B-<type>' or 'I-<type>'")
        if current is not None and (prefix != "I" or kind != current):
            entities.append((current, start, i))
            current = None
        if current is None and kind is not None:
            start, current = i, kind
    return entities


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F1 of entity sets, with the counts they come from.

    precision = n_correct / n_pred, recall = n_correct / n_true, F1 = 2 P R / (P + R)
    = 2 n_correct / (n_true + n_pred); a 0 / 0 counts as 0 (as seqeval does by default).
    """

    precision: float
    recall: float
    f1: float
    n_true: int
    n_pred: int
    n_correct: int

    @classmethod
    def from_counts(cls, n_true: int, n_pred: int, n_correct: int) -> PRF:
        """PRF from the number of true, predicted and correct entities."""
        return cls(n_correct / n_pred if n_pred else 0.0, n_correct / n_true if n_true else 0.0,
                   2 * n_correct / (n_true + n_pred) if n_true + n_pred else 0.0,
                   n_true, n_pred, n_correct)


@dataclass(frozen=True)
class EntityReport:
    """Entity scores per type (sorted by name) and micro-averaged over all entities."""

    per_type: dict[str, PRF]
    micro: PRF


def entity_scores(true_tags: Sequence[Sequence[str]],
                  pred_tags: Sequence[Sequence[str]]) -> EntityReport:
    """Entity-level precision, recall and F1 of predicted BIO tags, sentence by sentence
    (CoNLL-2003's measure): a predicted entity is correct only if an entity of the same type
    with the same start and the same end is in the truth. Per type, and micro-averaged (the
    counts of all types pooled before dividing: frequent types weigh more).
    """
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"{len(true_tags)} true sentences but {len(pred_tags)} predicted")
    true, pred = set(), set()  # (sentence, type, start, end)
    for s, (t, p) in enumerate(zip(true_tags, pred_tags)):
        if isinstance(t, str) or isinstance(p, str):
            raise TypeError("pass one list of tags per sentence, not a string")
        if len(t) != len(p):
            raise ValueError(f"sentence {s} has {len(t)} true tags but {len(p)} predicted")
        true |= {(s, *e) for e in bio_entities(t)}
        pred |= {(s, *e) for e in bio_entities(p)}
    correct = true & pred
    types = sorted({e[1] for e in true | pred})

    def count(entities: set, kind: str) -> int:
        return sum(e[1] == kind for e in entities)

    per_type = {k: PRF.from_counts(count(true, k), count(pred, k), count(correct, k))
                for k in types}
    return EntityReport(per_type, PRF.from_counts(len(true), len(pred), len(correct)))


# --------------------------------------------------------------------------------------------
# (d) Ranked retrieval
# --------------------------------------------------------------------------------------------


def _relevant_sets(relevant: Sequence[int | Iterable[int]], n_queries: int) -> list[set[int]]:
    """One set of relevant ids per query, from an id or a collection of ids per query."""
    if len(relevant) != n_queries:
        raise ValueError(f"{n_queries} rankings but {len(relevant)} relevance entries")
    sets = [{int(r)} if isinstance(r, (int, np.integer)) else {int(x) for x in r}
            for r in relevant]
    if any(not s for s in sets):
        raise ValueError("every query needs at least one relevant document")
    return sets


def recall_at_k(ranked: np.ndarray, relevant: Sequence[int | Iterable[int]], k: int) -> float:
    """The fraction of queries that find a relevant document among their first k results.

    ranked (Q, K): document ids, best first, one row per query; relevant: for each query the id
    of its relevant document, or a collection of ids that answer it equally (copies of one
    article). With one relevant document per query this is the IR recall@k (relevant found /
    relevant); with several, it is question answering's reading (Karpukhin et al. 2020's top-k
    accuracy: is the question answered?), not the fraction of them found.
    """
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be (Q, K) ids; got shape {ranked.shape}")
    if not 1 <= k <= ranked.shape[1]:
        raise ValueError(f"k must be between 1 and the {ranked.shape[1]} ids ranked; got {k}")
    sets = _relevant_sets(relevant, len(ranked))
    return float(np.mean([not s.isdisjoint(row[:k].tolist()) for row, s in zip(ranked, sets)]))


def mean_reciprocal_rank(ranked: np.ndarray, relevant: Sequence[int | Iterable[int]]) -> float:
    """MRR = mean over queries of 1 / (rank of the first relevant id), ranks counted from 1;
    a query whose relevant ids are all missing from its row adds 0."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or ranked.shape[1] == 0:
        raise ValueError(f"ranked must be (Q, K) ids with K >= 1; got shape {ranked.shape}")
    sets = _relevant_sets(relevant, len(ranked))
    rr = []
    for row, s in zip(ranked, sets):
        hits = [i for i, d in enumerate(row.tolist()) if d in s]
        rr.append(1 / (hits[0] + 1) if hits else 0.0)
    return float(np.mean(rr))
