"""book.compare: FLOPs counted the same way for the GPT and the LSTM (and equal to the hand
counts), budgets spent, n-grams scored on the networks' characters, and the generative
classifier's Bayes' rule."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from book import compare, scale
from book import textgen as tg

torch.set_num_threads(1)


@pytest.mark.parametrize("shape", [
    dict(max_len=8, num_layers=2, num_heads=2, embed_dim=16, dropout=0.0, bias=False),
    dict(max_len=5, num_layers=1, num_heads=1, embed_dim=8, dropout=0.0, bias=True)])
def test_gpt_flops_equal_the_shape_formula(shape):
    model = compare.build_lm("gpt", 11, shape)
    counted = compare.train_flops_per_token(model, batch_size=3)
    formula = scale.flops_per_token(scale.TransformerShape.from_config(model.config),
                                    causal=False).training
    assert counted == formula
    assert all(p.grad is None for p in model.parameters())  # the count leaves no gradients


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_flops_equal_the_hand_count(layers):
    shape = dict(max_len=6, embed_dim=5, hidden_size=7, num_layers=layers, dropout=0.0)
    model = compare.build_lm("lstm", 13, shape)
    hand = compare.lstm_flops_per_token(model.config)
    assert compare.train_flops_per_token(model) == pytest.approx(hand, rel=1e-12)
    # the hand count by its parts, for one layer: 3 x forward minus the skipped product
    if layers == 1:
        forward = 2 * 4 * 7 * (5 + 7) + 2 * 7 * 13
        assert hand == 3 * forward - 2 * 4 * 7 * 7 / 6


def test_steps_for_budget_and_errors():
    assert compare.steps_for_budget(1000.0, 10.0, 2, 5) == 10
    assert compare.steps_for_budget(1.0, 10.0, 2, 5) == 1  # at least one step
    with pytest.raises(ValueError, match="positive"):
        compare.steps_for_budget(0, 10.0, 2, 5)
    with pytest.raises(ValueError, match="'gpt' or 'lstm'"):
        compare.build_lm("gan", 10, {})


def test_window_targets_are_what_estimate_loss_predicts():
    assert compare.window_targets(129, 64).tolist() == list(range(1, 129))
    assert compare.window_targets(128, 64).tolist() == list(range(1, 65))
    with pytest.raises(ValueError, match="no window"):
        compare.window_targets(10, 64)


def _ids(n: int, V: int, seed: int = 0) -> torch.Tensor:
    """A repetitive sequence with some noise: something to learn."""
    g = torch.Generator().manual_seed(seed)
    base = torch.arange(n) % V
    noise = torch.randint(V, (n,), generator=g)
    return torch.where(torch.rand(n, generator=g) < 0.2, noise, base)


def test_equal_compute_spends_the_budget_on_both_networks():
    V = 7
    gpt = dict(max_len=8, num_layers=1, num_heads=1, embed_dim=8, dropout=0.0, bias=False)
    lstm = dict(max_len=8, embed_dim=4, hidden_size=8, num_layers=1, dropout=0.0)
    train = dict(batch_size=4, lr=1e-2, min_lr=1e-3, warmup_iters=2, weight_decay=0.0,
                 beta2=0.99, grad_clip=1.0)
    budget = 2e6
    rows, models = compare.equal_compute(_ids(600, V), _ids(200, V, 1), V, gpt=gpt, lstm=lstm,
                                         train=train, budgets=(budget,), seeds=(0,),
                                         orders=(1, 2))
    by = {r["model"]: r for r in rows}
    assert set(by) == {"1-gram", "2-gram", "GPT", "LSTM"} and set(models) == set(by)
    for name in ("GPT", "LSTM"):
        per_step = by[name]["flops"] / by[name]["steps"]
        assert abs(by[name]["flops"] - budget) <= per_step / 2 + 1  # the nearest whole step
        assert by[name]["tokens"] == by[name]["steps"] * 4 * 8
    assert by["GPT"]["steps"] != by["LSTM"]["steps"]  # different costs per token
    assert by["1-gram"]["flops"] == 0
    assert by["2-gram"]["val_loss"] < by["1-gram"]["val_loss"] < math.log(V) + 0.1
    for r in rows:
        assert math.isclose(r["bpc"], r["val_loss"] / math.log(2))
    with pytest.raises(ValueError, match="one length"):
        compare.equal_compute(_ids(600, V), _ids(200, V), V, gpt=gpt,
                              lstm=dict(lstm, max_len=4), train=train, budgets=(budget,),
                              seeds=(0,), orders=(1,))


def test_sample_ngram_is_seeded():
    lm = tg.NGramLM(3, 5).fit(_ids(300, 5).numpy())
    a = compare.sample_ngram(lm, [0, 1], 20, seed=3)
    assert len(a) == 22 and a[:2] == [0, 1] and all(0 <= i < 5 for i in a)
    assert a == compare.sample_ngram(lm, [0, 1], 20, seed=3)
    assert a != compare.sample_ngram(lm, [0, 1], 20, seed=4)


TEXTS = ["the match ended in a goal", "a late goal won the match", "the striker scored a goal",
         "shares fell as profits fell", "the bank raised its profits", "profits and shares rose",
         "the minister spoke on tax", "the election and the minister", "tax rose says minister"]
LABELS = [0, 0, 0, 1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("order", [1, 2])
def test_generative_classifier_probabilities_are_normalised(order):
    clf = compare.NGramClassifier(order, k=0.5, min_freq=1).fit(TEXTS, LABELS)
    tests = ["a goal in the match", "profits fell", "the minister", "unknown words only"]
    p = clf.predict_proba(tests)
    assert p.shape == (4, 3) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert clf.predict(tests[:3]).tolist() == [0, 1, 2]
    assert clf.accuracy(TEXTS, LABELS) == 1.0


def test_naive_bayes_by_hand():
    """order 1 with add-k: ln P(c) + sum over words of ln((count(w, c) + k) / (n_c + k V))."""
    k = 0.5
    clf = compare.NGramClassifier(1, k=k, min_freq=1).fit(TEXTS, LABELS)
    V = len(clf.vocab)
    text = "the goal and the tax"
    ids = clf.vocab.encode(text)
    expected = []
    for c in range(3):
        words = [i for t, y in zip(TEXTS, LABELS) if y == c for i in clf.vocab.encode(t)]
        counts = np.bincount(words, minlength=V)
        expected.append(math.log(1 / 3) + sum(math.log((counts[i] + k) / (len(words) + k * V))
                                              for i in ids))
    np.testing.assert_allclose(clf.log_joint([text])[0], expected, rtol=1e-12)


def test_generative_classifier_bad_input():
    with pytest.raises(ValueError, match="one label per text"):
        compare.NGramClassifier().fit(TEXTS, LABELS[:-1])
    with pytest.raises(ValueError, match="have no training text"):
        compare.NGramClassifier().fit(TEXTS[:3] + TEXTS[6:], [0, 0, 0, 2, 2, 2])
    with pytest.raises(RuntimeError, match="fit"):
        compare.NGramClassifier().predict(["a text"])
    with pytest.raises(ValueError, match="order"):
        compare.NGramClassifier(0)


def test_class_subset_is_nested_seeded_and_covers_every_class():
    labels = np.array([0] * 20 + [1] * 3 + [2] * 2)
    a = compare.class_subset(labels, 10, seed=1)
    assert len(set(a.tolist())) == 10 and set(labels[a[:3]].tolist()) == {0, 1, 2}
    assert compare.class_subset(labels, 5, seed=1).tolist() == a[:5].tolist()
    assert compare.class_subset(labels, 10, seed=2).tolist() != a.tolist()
    with pytest.raises(ValueError, match="between"):
        compare.class_subset(labels, 2)


def test_classifier_comparison_rows():
    split = SimpleNamespace(texts=TEXTS, labels=LABELS)
    data = SimpleNamespace(train=split, val=split, test=split)
    rows = compare.classifier_comparison(data, orders=(1,), k=0.5,
                                         tfidf=dict(min_freq=1, steps=50),
                                         train_sizes=(3, None), seeds=(0,))
    assert [(r["kind"], r["n_train"]) for r in rows] == [
        ("discriminative", 3), ("generative", 3), ("discriminative", 9), ("generative", 9)]
    assert all(0 <= r["test_acc"] <= 1 and r["test_nll"] >= 0 for r in rows)
