"""Tests of book.text and book.classify: tokenizer, vocabulary, batches, TF-IDF, logistic
regression gradients, masking in both torch models, the training loop, the confusion matrix,
and one end-to-end check of the TF-IDF baseline on the real BBC articles (needs the mirror)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from book import classify
from book.classify import (
    LSTMClassifier,
    TfidfLogReg,
    TransformerClassifier,
    confusion_matrix,
    count_matrix,
    idf_weights,
    logreg_loss_and_grads,
    masked_max,
    masked_mean,
    reverse_padded,
    tfidf,
)
from book.gradcheck import numerical_grad, rel_error
from book.text import EncodedData, EncodedSplit, Vocab, batches, encode_batch, tokenize

MIRROR = Path(os.environ.get("LLM_BOOK_DATA") or "/work/shared/data")
needs_bbc = pytest.mark.skipif(not (MIRROR / "bbc_news" / "bbc-fulltext.zip").is_file(),
                               reason=f"no local mirror of bbc_news at {MIRROR}")

WORDS = [a + b for a in "abcdefg" for b in "abcdefg"][:48]  # 48 made-up words: aa, ab, ...
TEXTS = ["The cat sat on the mat.", "The dog sat.", "A cat and a dog!", "Dogs bark; cats don't."]


# --------------------------------------------------------------------------------------------
# Tokenizer and vocabulary
# --------------------------------------------------------------------------------------------


def test_tokenize_words_numbers_punctuation_and_clitics():
    assert tokenize("Axa's profits fell 2.5% to £50,000!") == [
        "axa", "'s", "profits", "fell", "2.5", "%", "to", "£", "50,000", "!"]
    assert tokenize("I don't know.\n\nWe'll SEE") == ["i", "don", "'t", "know", ".", "we",
                                                      "'ll", "see"]
    # a quoted word keeps its quote marks as tokens, and 's is split off only as a clitic
    assert tokenize("Blair 'backs' plan") == ["blair", "'", "backs", "'", "plan"]
    assert tokenize("Müller, 2004-05") == ["müller", ",", "2004", "-", "05"]
    assert tokenize("   ") == []


def test_vocab_specials_frequency_order_and_limits():
    v = Vocab.build(TEXTS)
    assert v.itos[:2] == ["<pad>", "<unk>"] and v.stoi["<pad>"] == 0 and v.stoi["<unk>"] == 1
    assert v.itos[2:4] == [".", "the"]  # 3 times each, the most frequent; ties alphabetical
    counts = [v.counts[t] for t in v.itos[2:]]
    assert counts == sorted(counts, reverse=True)
    v2 = Vocab.build(TEXTS, min_freq=2)
    assert all(v2.counts[t] >= 2 for t in v2.itos[2:]) and "mat" not in v2
    v3 = Vocab.build(TEXTS, max_size=5)
    assert len(v3) == 5 and v3.itos[2:] == v.itos[2:5]
    # the ids do not depend on the order of the texts (ties are alphabetical)
    assert Vocab.build(TEXTS[::-1]).itos == v.itos


def test_vocab_encode_unknowns_and_decode():
    v = Vocab.build(TEXTS, min_freq=2)
    ids = v.encode("The zebra sat")
    assert ids == [v.stoi["the"], 1, v.stoi["sat"]]
    assert v.decode(ids) == ["the", "<unk>", "sat"]
    assert v.decode([v.stoi["the"], 0, 0]) == ["the"]
    assert v.decode([0], skip_pad=False) == ["<pad>"]
    with pytest.raises(ValueError):
        Vocab(["<unk>", "<pad>", "a"])


def test_encode_batch_truncates_pads_and_masks():
    v = Vocab.build(TEXTS)
    ids, pad_mask = encode_batch(["the cat sat on the mat", "dog", ""], v, max_len=4)
    assert ids.dtype == torch.long and pad_mask.dtype == torch.bool
    assert ids.shape == pad_mask.shape == (3, 4)  # truncated to max_len
    assert v.decode(ids[0]) == ["the", "cat", "sat", "on"]
    assert pad_mask.tolist() == [[False] * 4, [False, True, True, True],
                                 [False, True, True, True]]
    assert ids[2, 0] == v.unk_id  # an empty text is one <unk>, never all padding
    assert torch.equal(pad_mask, ids == 0)
    # T is the longest text after truncation, not max_len
    ids, pad_mask = encode_batch(["dog", "the cat"], v, max_len=50)
    assert ids.shape == (2, 2) and pad_mask.tolist() == [[False, True], [False, False]]


def test_batches_cover_everything_once_and_are_seeded():
    got = list(batches(10, 4, seed=3))
    assert [len(b) for b in got] == [4, 4, 2]
    assert sorted(np.concatenate(got).tolist()) == list(range(10))
    again = np.concatenate(list(batches(10, 4, seed=3)))
    assert np.array_equal(np.concatenate(got), again)
    assert not np.array_equal(again, np.concatenate(list(batches(10, 4, seed=3, epoch=1))))
    assert np.concatenate(list(batches(10, 4, shuffle=False))).tolist() == list(range(10))


def test_encoded_split_batch_cuts_to_the_longest_row():
    v = Vocab.build(TEXTS)
    ids, pad_mask = encode_batch(["the cat sat on the mat", "dog", "a cat"], v, max_len=10)
    split = EncodedSplit(ids, pad_mask, torch.tensor([0, 1, 2]))
    b_ids, b_mask, b_y = split.batch(np.array([1, 2]))
    assert b_ids.shape == b_mask.shape == (2, 2) and b_y.tolist() == [1, 2]
    assert b_mask.tolist() == [[False, True], [False, False]]


# --------------------------------------------------------------------------------------------
# TF-IDF and logistic regression
# --------------------------------------------------------------------------------------------


def test_tfidf_on_a_hand_made_corpus():
    docs = ["a b", "a c c", "a"]
    v = Vocab(["<pad>", "<unk>", "a", "b", "c"])
    counts = count_matrix(docs + ["zzz"], v)
    assert counts.tolist()[:3] == [[0, 0, 1, 1, 0], [0, 0, 1, 0, 2], [0, 0, 1, 0, 0]]
    assert counts[3].sum() == 0  # unknown words are not counted
    idf = idf_weights(counts[:3])
    # N = 3; df(a) = 3, df(b) = df(c) = 1: idf = ln((1 + N) / (1 + df)) + 1
    assert idf[2] == pytest.approx(1.0)
    assert idf[3] == pytest.approx(math.log(4 / 2) + 1) and idf[4] == pytest.approx(idf[3])
    X = tfidf(counts[:3], idf, sublinear_tf=False)
    assert np.linalg.norm(X, axis=1) == pytest.approx([1, 1, 1])
    w = math.log(2) + 1
    assert X[1, 4] / X[1, 2] == pytest.approx(2 * w)  # raw tf: c counted twice
    Xs = tfidf(counts[:3], idf, sublinear_tf=True)
    assert Xs[1, 4] / Xs[1, 2] == pytest.approx((1 + math.log(2)) * w)  # 1 + ln 2
    assert Xs[0] == pytest.approx(np.array([0, 0, 1, w, 0]) / math.hypot(1, w))
    zero = tfidf(np.zeros((1, 5), np.float32), idf)
    assert np.all(zero == 0)  # an empty row stays 0, no NaN


def test_logreg_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 5))
    y = rng.integers(0, 3, 7)
    W, b = rng.standard_normal((5, 3)), rng.standard_normal(3)
    _, dW, db = logreg_loss_and_grads(W, b, X, y, l2=0.1)
    loss = lambda: logreg_loss_and_grads(W, b, X, y, l2=0.1)[0]  # noqa: E731
    assert rel_error(dW, numerical_grad(loss, W)) < 1e-7
    assert rel_error(db, numerical_grad(loss, b)) < 1e-7


def test_tfidf_logreg_learns_a_toy_corpus_and_names_its_words():
    texts = ["goal match cup win"] * 5 + ["vote party election mp"] * 5
    texts += ["match goal referee"] * 3 + ["election minister party"] * 3
    labels = [0] * 5 + [1] * 5 + [0] * 3 + [1] * 3
    m = TfidfLogReg(min_freq=1, steps=100).fit(texts, labels)
    assert m.losses[-1] < m.losses[0]
    assert m.predict(["a cup match", "the party vote"]).tolist() == [0, 1]
    assert m.accuracy(texts, labels) == 1.0
    assert m.predict_proba(["goal"]).sum() == pytest.approx(1.0)
    sport = [w for w, _ in m.top_features(0, k=4)]
    assert set(sport) <= {"goal", "match", "cup", "win", "referee"}
    weights = [s for _, s in m.top_features(1, k=5)]
    assert weights == sorted(weights, reverse=True)


# --------------------------------------------------------------------------------------------
# Torch models: shapes and masking
# --------------------------------------------------------------------------------------------


def _ids_and_mask(lengths, T, vocab_size=50, seed=0):
    """Random ids (B, T) with row b real for lengths[b] positions, then padding."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, vocab_size, (len(lengths), T), generator=g)
    pad_mask = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]  # (B, T)
    return ids.masked_fill(pad_mask, 0), pad_mask


def test_masked_pooling_ignores_padding():
    h = torch.tensor([[[1.0], [3.0], [100.0]], [[-2.0], [-4.0], [-6.0]]])  # (2, 3, 1)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    assert masked_mean(h, pad).squeeze(-1).tolist() == [2.0, -4.0]
    assert masked_max(h, pad).squeeze(-1).tolist() == [3.0, -2.0]


def test_reverse_padded_reverses_only_the_real_part():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])[..., None].float()  # (2, 4, 1)
    r = reverse_padded(x, torch.tensor([3, 2]))
    assert r.squeeze(-1).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert torch.equal(reverse_padded(r, torch.tensor([3, 2])), x)


def _models():
    torch.manual_seed(0)
    return [
        LSTMClassifier(50, 5, embed_dim=16, hidden_size=8, pooling="max"),
        LSTMClassifier(50, 5, embed_dim=16, hidden_size=8, pooling="meanmax"),
        LSTMClassifier(50, 5, embed_dim=16, hidden_size=8, bidirectional=False, pooling="mean"),
        TransformerClassifier(50, 5, max_len=32, embed_dim=16, n_heads=4, n_layers=2),
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_models_give_logits_that_padding_does_not_change(model):
    model.eval()
    ids, pad_mask = _ids_and_mask([9, 4, 1], T=9)
    logits = model(ids, pad_mask)
    assert logits.shape == (3, 5)
    # five more padding columns: the same logits
    more = torch.cat([ids, torch.zeros(3, 5, dtype=torch.long)], dim=1)
    more_mask = torch.cat([pad_mask, torch.ones(3, 5, dtype=torch.bool)], dim=1)
    assert torch.allclose(model(more, more_mask), logits, atol=1e-5)
    # each text alone, without the others' padding: the same logits
    for b, n in enumerate([9, 4, 1]):
        alone = model(ids[b:b + 1, :n], pad_mask[b:b + 1, :n])
        assert torch.allclose(alone, logits[b:b + 1], atol=1e-5)
    # and what sits at a padded position does not matter either
    noisy = ids.masked_fill(pad_mask, 7)
    assert torch.allclose(model(noisy, pad_mask), logits, atol=1e-5)


def test_transformer_attention_weights_skip_padding():
    model = _models()[-1].eval()
    ids, pad_mask = _ids_and_mask([6, 3], T=6)
    w = model.attention_weights(ids, pad_mask)
    assert w.shape == (2, 2, 4, 6, 6)  # (L, B, nh, T, T)
    assert torch.allclose(w.sum(-1), torch.ones(2, 2, 4, 6))
    assert torch.all(w[:, 1, :, :, 3:] == 0)  # no weight on the padding keys of text 1
    v = Vocab(["<pad>", "<unk>", *WORDS])
    tokens, weights = classify.article_attention(model, "ad ae nope af", v, max_len=32)
    assert tokens == ["ad", "ae", "<unk>", "af"] and weights.shape == (2, 4, 4, 4)
    with pytest.raises(ValueError):
        model(*_ids_and_mask([40], T=40))  # longer than max_len


# --------------------------------------------------------------------------------------------
# Training loop and metrics
# --------------------------------------------------------------------------------------------


def _toy_data(n=96, T=12, seed=0):
    """A task a model must read for: the class is which of the ids 2, 3, 4 the text contains."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, T + 1, (n,), generator=g).tolist()
    ids, pad_mask = _ids_and_mask(lengths, T, seed=seed)
    ids = ids.clamp(min=5).masked_fill(pad_mask, 0)
    y = torch.arange(n) % 3
    pos = (torch.rand(n, generator=g) * torch.tensor(lengths)).long()
    ids[torch.arange(n), pos] = y + 2
    split = EncodedSplit(ids, pad_mask, y)
    v = Vocab(["<pad>", "<unk>", *WORDS])
    return EncodedData(split, split, split, v, T, ["a", "b", "c"])


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_train_classifier_learns_is_seeded_and_keeps_the_best_state(kind):
    data = _toy_data()

    def run():
        torch.manual_seed(0)
        model = (LSTMClassifier(50, 3, embed_dim=16, hidden_size=16) if kind == "lstm" else
                 TransformerClassifier(50, 3, max_len=12, embed_dim=16, n_heads=2))
        hist = classify.train_classifier(model, data, epochs=12, lr=1e-2, batch_size=16,
                                         seed=0, progress=False)
        return model, hist

    model, hist = run()
    assert set(hist) >= {"train_loss", "val_loss", "val_acc", "epoch_s", "best_epoch"}
    assert len(hist["val_acc"]) == len(hist["val_loss"]) == len(hist["epoch_s"]) == 12
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    best = hist["best_epoch"] - 1
    assert hist["val_loss"][best] == min(hist["val_loss"]) and hist["val_acc"][best] > 0.8
    # the best state was restored: its validation numbers come back
    assert classify.evaluate(model, data.val) == pytest.approx(hist["val_acc"][best])
    val_loss = torch.nn.functional.cross_entropy(classify.predict_logits(model, data.val),
                                                 data.val.labels)
    assert val_loss.item() == pytest.approx(hist["val_loss"][best], rel=1e-5)
    preds = classify.predict(model, data.test)
    assert preds.shape == (len(data.test),) and preds.dtype == np.int64
    _, hist2 = run()
    assert hist2["train_loss"] == hist["train_loss"]  # deterministic on the CPU


def test_cooccurrence_ppmi_and_svd_word_vectors():
    # ids: 2 = "a", 3 = "b", 4 = "c"; with window 1, "a b c" has pairs a-b and b-c, both ways
    counts = classify.cooccurrence_counts([[2, 3, 4], [2, 3, 0, 1]], vocab_size=5, n_context=4,
                                          window=1)
    assert counts.shape == (5, 4)
    assert counts[2, 3] == 2 and counts[3, 2] == 2 and counts[4, 3] == 1
    # "c" (id 4) is a word but not a context: only ids < n_context = 4 are, so no column 4
    assert counts[:2].sum() == 0 and counts[:, :2].sum() == 0  # specials never count
    P = classify.ppmi(counts)
    assert np.all(P >= 0) and np.all(P[counts == 0] == 0)
    total = counts.sum()
    expected = math.log(counts[2, 3] * total / (counts[2].sum() * counts[:, 3].sum()))
    assert P[2, 3] == pytest.approx(max(expected, 0))
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 3
    v = Vocab.build(texts)
    vecs = classify.svd_word_vectors(texts, v, dim=3, n_context=8, window=2)
    assert vecs.shape == (len(v), 3) and vecs.dtype == np.float32
    assert vecs.std() == pytest.approx(1.0, rel=1e-4) and np.all(vecs[:2] == 0)


def test_build_chapter_model_starts_from_the_word_vectors():
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 3
    v = Vocab.build(texts)
    on = classify.build_chapter_model("lstm", v, 3, texts, word_vectors=True)
    dim = on.embed.embedding_dim
    vecs = classify.svd_word_vectors(texts, v, dim, **classify.CHAPTER_SETTINGS["word_vectors"])
    assert np.allclose(on.embed.weight.detach().numpy(), vecs)
    off = classify.build_chapter_model("transformer", v, 3, texts, word_vectors=False)
    assert not np.allclose(off.embed.weight.detach().numpy()[2:, :vecs.shape[1]], vecs[2:])
    with pytest.raises(ValueError):
        classify.build_chapter_model("gru", v, 3, texts)


def test_confusion_matrix():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm.sum() == 6 and np.trace(cm) == 4


def test_chapter_settings_name_every_model():
    s = classify.CHAPTER_SETTINGS
    assert {"tfidf_logreg", "vocab", "max_len", "lstm", "transformer"} <= set(s)
    for name in ("lstm", "transformer"):
        assert {"model", "train"} <= set(s[name])


# --------------------------------------------------------------------------------------------
# The real data
# --------------------------------------------------------------------------------------------


@needs_bbc
def test_tfidf_baseline_on_bbc_news(monkeypatch):
    from book import data

    monkeypatch.setenv("LLM_BOOK_DATA", str(MIRROR))
    bbc = data.load("bbc_news", progress=False)
    model = TfidfLogReg(**classify.CHAPTER_SETTINGS["tfidf_logreg"])
    model.fit(bbc.train.texts, bbc.train.labels)
    assert model.accuracy(bbc.test.texts, bbc.test.labels) >= 0.95
    top = [w for w, _ in model.top_features(bbc.class_names.index("sport"), k=20)]
    assert {"match", "cup", "coach"} & set(top)
