"""Tests of book.textgen.ngram: the count-based baseline of chapter 5.

Probabilities sum to 1 for every context, add-k matches a hand count, Kneser-Ney matches a
dictionary-based implementation of its formula, a model with no counts is uniform (perplexity
V), and tokens never seen in training get a finite loss.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from book.textgen import NGramLM

RNG = np.random.default_rng(0)
# a small text with structure (a repeated phrase) and noise, ids 0..5; id 6 never occurs
TRAIN = np.concatenate([np.tile([0, 1, 2, 3], 40), RNG.integers(0, 6, 200)])
V = 7


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("smoothing,k", [("add-k", 1.0), ("add-k", 0.01), ("kneser-ney", 1.0)])
def test_probabilities_sum_to_one_for_every_context(order, smoothing, k):
    model = NGramLM(order, V, smoothing, k).fit(TRAIN)
    # every context of order - 1 ids, seen or not, the unseen id 6 included; and shorter ones
    contexts = list(itertools.product(range(V), repeat=order - 1)) + [(), (3,)]
    for ctx in contexts:
        p = model.probs(list(ctx))
        assert p.shape == (V,)
        assert (p > 0).all(), f"a zero probability after {ctx}"
        assert abs(p.sum() - 1) < 1e-12, f"sum {p.sum()} after {ctx}"


def test_add_k_bigram_by_hand():
    # "abab a": a->b twice, b->a twice; V = 3 (a, b, c)
    model = NGramLM(2, 3, "add-k", k=1.0).fit([0, 1, 0, 1, 0])
    np.testing.assert_allclose(model.probs([0]), [1 / 5, 3 / 5, 1 / 5])  # (0+1, 2+1, 0+1) / (2+3)
    np.testing.assert_allclose(model.probs([2]), [1 / 3] * 3)           # unseen context: uniform
    # the first token has no context: the add-1 unigram, counts (3, 2, 0) of 5
    losses = model.token_losses([0, 1, 2])
    np.testing.assert_allclose(losses, [-math.log(4 / 8), -math.log(3 / 5), -math.log(1 / 5)])
    small_k = NGramLM(2, 3, "add-k", k=0.5).fit([0, 1, 0, 1, 0])
    np.testing.assert_allclose(small_k.probs([0]), [0.5 / 3.5, 2.5 / 3.5, 0.5 / 3.5])


def test_a_model_without_counts_is_uniform_with_perplexity_V():
    for smoothing in ["add-k", "kneser-ney"]:
        model = NGramLM(3, 11, smoothing).fit([])
        ids = RNG.integers(0, 11, 500)
        assert math.isclose(math.exp(model.loss(ids)), 11, rel_tol=1e-12)


def kneser_ney_reference(train: list[int], order: int, V: int):
    """Interpolated Kneser-Ney written out with dictionaries, straight from the formula."""
    grams = {order: Counter(tuple(train[i:i + order]) for i in range(len(train) - order + 1))}
    for j in range(order - 1, 0, -1):  # continuation counts: distinct tokens seen before
        distinct = {tuple(train[i:i + j + 1]) for i in range(len(train) - j)}
        grams[j] = Counter(g[1:] for g in distinct)
    discount, total, types = {}, {}, {}
    for j, counts in grams.items():
        n1 = sum(c == 1 for c in counts.values())
        n2 = sum(c == 2 for c in counts.values())
        discount[j] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5  # the module's fallback
        total[j], types[j] = Counter(), Counter()
        for g, c in counts.items():
            total[j][g[:-1]] += c
            types[j][g[:-1]] += 1

    def prob(context: list[int], w: int) -> float:
        p = 1 / V
        for j in range(1, min(order, len(context) + 1) + 1):
            ctx = tuple(context[len(context) - (j - 1):]) if j > 1 else ()
            if total[j][ctx]:
                D = discount[j]
                p = (max(grams[j][ctx + (w,)] - D, 0) + D * types[j][ctx] * p) / total[j][ctx]
        return p

    return prob


@pytest.mark.parametrize("order", [1, 2, 3])
def test_kneser_ney_matches_the_formula(order):
    model = NGramLM(order, V, "kneser-ney").fit(TRAIN)
    reference = kneser_ney_reference(TRAIN.tolist(), order, V)
    test = np.concatenate([[6], RNG.integers(0, 7, 60), [0, 1, 2, 3]])  # starts with an unseen id
    want = [-math.log(reference(test[max(0, i - order + 1):i].tolist(), t))
            for i, t in enumerate(test)]
    np.testing.assert_allclose(model.token_losses(test), want, rtol=1e-12)


def test_unseen_tokens_cost_more_but_finitely():
    for smoothing in ["add-k", "kneser-ney"]:
        model = NGramLM(2, V, smoothing, 0.1).fit(TRAIN)
        losses = model.token_losses([0, 6, 1, 6, 6])
        assert np.isfinite(losses).all()
        assert losses[1] > math.log(V), "an unseen token should be less likely than uniform"
        with pytest.raises(ValueError, match="outside the vocabulary"):
            model.loss([0, 7])


def test_more_context_helps_on_structured_text_and_kneser_ney_beats_add_k():
    held_out = np.tile([0, 1, 2, 3], 10)
    losses = {n: NGramLM(n, V, "kneser-ney").fit(TRAIN).loss(held_out) for n in (1, 2, 3)}
    assert losses[1] > losses[2] > losses[3]
    assert NGramLM(3, V, "add-k", 1.0).fit(TRAIN).loss(held_out) > losses[3]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0, V)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, V, "laplace")
    with pytest.raises(ValueError, match="k > 0"):
        NGramLM(2, V, "add-k", k=0)
    with pytest.raises(ValueError, match="int64"):
        NGramLM(6, 5000)
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2, V).loss([0, 1])
