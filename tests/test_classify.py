"""Tests of book.classify: TF-IDF, logistic regression gradients, masking in both torch models,
the training loop, the confusion matrix, the chapter's models starting from the word vectors, and
one end-to-end check of the TF-IDF baseline on the real BBC articles (needs the mirror)."""

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
from book.text import EncodedData, EncodedSplit, Vocab
from book.word2vec import svd_word_vectors

MIRROR = Path(os.environ.get("LLM_BOOK_DATA") or "/work/shared/data")
needs_bbc = pytest.mark.skipif(not (MIRROR / "bbc_news" / "bbc-fulltext.zip").is_file(),
                               reason=f"no local mirror of bbc_news at {MIRROR}")

WORDS = [a + b for a in "abcdefg" for b in "abcdefg"][:48]  # 48 made-up words: aa, ab, ...


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
        TransformerClassifier(50, 5, max_len=32, embed_dim=16, num_heads=4, num_layers=2),
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


@pytest.mark.slow  # on a busy 2-core CPU: LSTM 16-45 s, Transformer 2-8 s
@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_train_classifier_learns_is_seeded_and_keeps_the_best_state(kind):
    data = _toy_data()

    def run():
        torch.manual_seed(0)
        model = (LSTMClassifier(50, 3, embed_dim=16, hidden_size=16) if kind == "lstm" else
                 TransformerClassifier(50, 3, max_len=12, embed_dim=16, num_heads=2))
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


def test_build_chapter_model_starts_from_the_word_vectors():
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 3
    v = Vocab.build(texts)
    on = classify.build_chapter_model("lstm", v, 3, texts, word_vectors=True)
    dim = on.embed.embedding_dim
    vecs = svd_word_vectors(texts, v, dim, **classify.CHAPTER_SETTINGS["word_vectors"])
    assert np.allclose(on.embed.weight.detach().numpy(), vecs)
    off = classify.build_chapter_model("transformer", v, 3, texts, word_vectors=False)
    assert not np.allclose(off.embed.weight.detach().numpy()[2:, :vecs.shape[1]], vecs[2:])
    with pytest.raises(ValueError):
        classify.build_chapter_model("gru", v, 3, texts)


def test_the_word_vectors_are_computed_once_for_the_same_texts(monkeypatch):
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 3
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return svd_word_vectors(*args, **kwargs)

    monkeypatch.setattr(classify, "svd_word_vectors", counted)
    monkeypatch.setattr(classify, "_WORD_VECTORS", {})
    lstm = classify.build_chapter_model("lstm", Vocab.build(texts), 3, texts)
    transformer = classify.build_chapter_model("transformer", Vocab.build(texts), 3, texts)
    assert len(calls) == 1  # an equal vocabulary, built again, finds the same vectors
    assert torch.equal(lstm.embed.weight, transformer.embed.weight)
    other = texts + ["a dog on a mat"]
    classify.build_chapter_model("lstm", Vocab.build(other), 3, other)
    assert len(calls) == 2


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


@pytest.mark.slow
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


def test_ablation_variants_change_one_setting_each(tmp_path):
    variants = classify.ablation_settings()
    assert list(variants) == list(classify.ABLATION_CHANGES)
    assert variants["chapter"] == classify.CHAPTER_SETTINGS
    assert variants["random_embeddings"]["word_vectors"] is None
    assert variants["max_len_128"]["max_len"] == 128
    assert variants["lr_div_10"]["lstm"]["train"]["lr"] == pytest.approx(1e-3)
    every = variants["all_changes"]
    assert every["max_len"] == 128 and every["word_vectors"] is None
    assert every["transformer"]["model"]["dropout"] == 0.0
    assert classify.CHAPTER_SETTINGS["max_len"] == 512  # the chapter's settings are untouched


def test_ablation_csv_round_trip_and_summary(tmp_path):
    rows = [dict(variant="chapter", model="lstm", seed=s, best_epoch=4, val_acc=a, test_acc=0.9)
            for s, a in [(0, 0.95), (1, 0.97), (2, 0.96)]]
    path = tmp_path / "ablation.csv"
    classify.write_ablation(rows, path, {"command": "python x.py --ablation", "date": "2026-12-04"})
    meta, back = classify.read_ablation(path)
    assert meta == {"command": "python x.py --ablation", "date": "2026-12-04"}
    assert [r["val_acc"] for r in back] == [0.95, 0.97, 0.96] and back[2]["seed"] == 2
    mean, low, high, n = classify.summarise_ablation(back)["chapter", "lstm"]
    assert (low, high, n) == (0.95, 0.97, 3) and mean == pytest.approx(0.96)
    assert classify.summarise_ablation(back, "test_acc")["chapter", "lstm"][0] == pytest.approx(0.9)


def test_the_committed_ablation_names_its_command_and_known_variants():
    meta, rows = classify.read_ablation()
    assert {"command", "date", "machine"} <= set(meta)
    summary = classify.summarise_ablation(rows)
    assert {v for v, _ in summary} <= set(classify.ABLATION_CHANGES)
    assert summary["chapter", "lstm"][3] == summary["chapter", "transformer"][3] == 3
