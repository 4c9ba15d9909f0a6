"""Count-based n-gram language models in NumPy: the baseline a neural language model must beat.

`NGramLM(order, vocab_size, smoothing)` counts, in the training ids, how often each token
follows each context of `order - 1` tokens, and turns the counts into next-token probabilities
with one of two smoothings: add-k (every count plus k) or interpolated Kneser-Ney. It predicts
like the neural models do — `token_losses(ids)` is -ln P(ids[i] | the order - 1 tokens before
it) for every position i — so its loss in nats per token sits in the same table as theirs.

Counts are stored sparsely: an n-gram of ids (a, b, c) is the integer code (a V + b) V + c, the
codes seen in training are kept sorted with their counts, and a lookup is a binary search
(`np.searchsorted`). A 4,808-character vocabulary then costs memory for the n-grams that occur,
not for the V^n that could.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NGramLM"]


def _codes(ids: np.ndarray, n: int, V: int) -> np.ndarray:
    """The code of every window of n ids: (len(ids) - n + 1,) int64, oldest id most significant."""
    codes = np.zeros(max(len(ids) - n + 1, 0), dtype=np.int64)
    for m in range(n):
        codes = codes * V + ids[m:m + len(codes)]
    return codes


class _Table:
    """Sorted n-gram codes with a count each, and the totals of their contexts."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray, V: int) -> None:
        self.keys, self.counts = codes, counts.astype(np.float64)  # sorted codes, their counts
        ctx = codes // V                       # the context of each n-gram: its code without w
        self.ctx_keys, first = np.unique(ctx, return_index=True)
        self.ctx_total = np.add.reduceat(self.counts, first) if len(first) else self.counts
        self.ctx_types = np.diff(np.append(first, len(codes))).astype(np.float64)  # N1+(ctx •)

    @staticmethod
    def _find(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
        """values[keys == query] for each query, 0 where the key is absent."""
        if len(keys) == 0:
            return np.zeros(len(query))
        i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
        return np.where(keys[i] == query, values[i], 0.0)

    def count(self, codes: np.ndarray) -> np.ndarray:
        """c(ctx w) for each n-gram code."""
        return self._find(self.keys, self.counts, codes)

    def context(self, ctx_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(c(ctx), N1+(ctx •)) for each context code: its total count, its distinct followers."""
        return (self._find(self.ctx_keys, self.ctx_total, ctx_codes),
                self._find(self.ctx_keys, self.ctx_types, ctx_codes))


class NGramLM:
    """A character (or token) n-gram language model: counts of (context, next token).

    order: n, the context being the n - 1 tokens before (order 1: a unigram, no context).
    smoothing: "add-k", P(w | ctx) = (c(ctx w) + k) / (c(ctx) + k V); or "kneser-ney",
    interpolated Kneser-Ney (Chen & Goodman, 1999): the count minus a discount D, plus the
    mass so freed, D N1+(ctx •) / c(ctx), spread by the next-shorter context's model, whose
    counts are continuation counts (in how many contexts a token occurs, not how often); the
    shortest spreads over the uniform 1/V. Each order's D is n1 / (n1 + 2 n2), from the
    numbers of its n-grams seen once and twice (0.5 if there are none). Both give every token
    of the vocabulary a probability above 0, a token never seen in training included. Near
    the start of a text, where fewer than n - 1 tokens precede, it uses the context there is.
    """

    def __init__(self, order: int, vocab_size: int, smoothing: str = "kneser-ney",
                 k: float = 1.0) -> None:
        if order < 1:
            raise ValueError(f"order must be at least 1 (a unigram), not {order}")
        if smoothing not in ("add-k", "kneser-ney"):
            raise ValueError(f"smoothing must be 'add-k' or 'kneser-ney', not {smoothing!r}")
        if smoothing == "add-k" and k <= 0:
            raise ValueError(f"add-k needs k > 0 (k = 0 gives unseen tokens probability 0): {k}")
        if vocab_size ** order >= 2 ** 63:
            raise ValueError(f"vocab_size ** order = {vocab_size}^{order} does not fit the "
                             "int64 codes of the n-grams: use a smaller order")
        self.order, self.V, self.smoothing, self.k = order, vocab_size, smoothing, k
        self.tables: list[_Table] = []     # tables[j - 1]: the j-grams, j = 1 .. order
        self.discounts: list[float] = []

    def __repr__(self) -> str:
        how = f"add-{self.k:g}" if self.smoothing == "add-k" else "Kneser-Ney"
        return f"NGramLM(order={self.order}, vocab_size={self.V}, {how})"

    def _check(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if len(ids) and (ids.min() < 0 or ids.max() >= self.V):
            raise ValueError(f"ids run from {ids.min()} to {ids.max()}, outside the vocabulary "
                             f"0 .. {self.V - 1}: encode with the model's tokenizer")
        return ids

    def fit(self, ids: Sequence[int] | np.ndarray) -> NGramLM:
        """Count every j-gram of `ids`, j = 1 .. order; return self."""
        ids, V = self._check(ids), self.V
        self.tables, self.discounts = [], []
        for j in range(1, self.order + 1):
            if self.smoothing == "kneser-ney" and j < self.order:
                # continuation counts: before how many distinct tokens (c w) occurs, i.e. the
                # distinct (j+1)-grams that end in it (their codes modulo V^j are its code)
                codes, counts = np.unique(np.unique(_codes(ids, j + 1, V)) % V ** j,
                                          return_counts=True)
            else:
                codes, counts = np.unique(_codes(ids, j, V), return_counts=True)  # N(c w)
            self.tables.append(_Table(codes, counts, V))
            n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
            self.discounts.append(float(n1 / (n1 + 2 * n2)) if n1 + n2 else 0.5)
        return self

    def prob(self, contexts: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """P(nxt[i] | contexts[i]) for contexts (M, order - 1), -1 where there is no token.

        Order by order, from the uniform 1/V up: add-k keeps the answer of the longest context
        there is; Kneser-Ney mixes each order's discounted counts with the shorter one's answer.
        """
        if not self.tables:
            raise RuntimeError("call fit(ids) first")
        V = self.V
        p = np.full(len(nxt), 1.0 / V)                     # order 0: uniform
        for j, table in enumerate(self.tables, start=1):   # j-grams: contexts of j - 1 tokens
            ctx = contexts[:, contexts.shape[1] - j + 1:]  # (M, j - 1): the last j - 1 tokens
            have = (ctx >= 0).all(axis=1)                   # False near the start of the text
            ctx_code = np.zeros(len(nxt), dtype=np.int64)
            for m in range(j - 1):
                ctx_code = ctx_code * V + np.maximum(ctx[:, m], 0)
            c = table.count(ctx_code * V + nxt)             # N(c w)
            total, types = table.context(ctx_code)          # N(c), N1+(c •)
            total = np.where(have, total, 0.0)
            if self.smoothing == "add-k":                   # an unseen context gives 1/V
                p = np.where(have, (c + self.k) / (total + self.k * V), p)
            else:                                           # an unseen context: keep p
                D, seen = self.discounts[j - 1], total > 0
                safe = np.where(seen, total, 1.0)
                p = np.where(seen, (np.maximum(c - D, 0.0) + D * types * p) / safe, p)
        return p

    def _contexts(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), order - 1): the order - 1 ids before each position, -1 before the text."""
        n1 = self.order - 1
        padded = np.concatenate([np.full(n1, -1, dtype=np.int64), ids])
        return np.stack([padded[m:m + len(ids)] for m in range(n1)], axis=1) if n1 else \
            np.zeros((len(ids), 0), dtype=np.int64)

    def token_losses(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """-ln P(ids[i] | the up to order - 1 ids before it), in nats, for every position i."""
        ids = self._check(ids)
        return -np.log(self.prob(self._contexts(ids), ids))

    def loss(self, ids: Sequence[int] | np.ndarray) -> float:
        """Mean cross-entropy in nats per token of `ids`, every token predicted once."""
        return float(self.token_losses(ids).mean())

    def probs(self, context: Sequence[int] | np.ndarray) -> np.ndarray:
        """The next-token distribution (V,) after `context` (its last order - 1 ids count)."""
        context = self._check(context)
        context = context[len(context) - min(len(context), self.order - 1):]  # the last n - 1
        ctx = np.concatenate([np.full(self.order - 1 - len(context), -1, np.int64), context])
        return self.prob(np.tile(ctx, (self.V, 1)), np.arange(self.V))
