"""book.word2vec: the skip-gram gradient against finite differences and torch, the training pairs,
NumPy and PyTorch training in lockstep, a tiny corpus whose topics must be learned, and the
count-based vectors, neighbours and projections."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from book import word2vec as w2v
from book.gradcheck import numerical_grad, rel_error
from book.text import Vocab


def synthetic_corpus(n_docs: int = 60, length: int = 40, seed: int = 0) -> tuple[w2v.Corpus,
                                                                                 np.ndarray]:
    """Documents about one of two topics: each draws its words from its topic's 12 words (x..
    or z..) and from 4 shared function words. Returns the corpus and each document's topic."""
    rng = np.random.default_rng(seed)
    letters = "abcdefghijkl"
    topic_words = [[f"x{c}" for c in letters], [f"z{c}" for c in letters]]  # xa .. xl, za .. zl
    shared = ["the", "of", "and", "to"]
    texts, topics = [], []
    for d in range(n_docs):
        t = d % 2
        words = rng.choice(topic_words[t] + shared, size=length,
                           p=[0.06] * 12 + [0.07] * 4)
        texts.append(" ".join(words))
        topics.append(t)
    return w2v.build_corpus(texts, min_count=1), np.array(topics)


# --- the corpus and the training pairs ---------------------------------------------------------


def test_build_corpus_keeps_frequent_alphabetic_words_sorted_by_frequency():
    texts = ["The cat sat on the mat, 3 times!", "the dog sat", "a cat"]
    corpus = w2v.build_corpus(texts, min_count=2)
    assert corpus.words == ["the", "cat", "sat"]  # 3, 2, 2 occurrences; ties alphabetical
    assert corpus.counts.tolist() == [3, 2, 2]
    assert [corpus.words[i] for i in corpus.ids] == ["the", "cat", "sat", "the", "the", "sat",
                                                     "cat"]
    assert corpus.doc.tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert corpus.index["sat"] == 2
    assert repr(corpus) == "Corpus(7 tokens, 3 words, 3 documents)"


def test_pairs_with_window_1_are_the_neighbours_both_ways_within_a_document():
    ids = np.array([0, 1, 2, 3, 4, 5], np.int32)
    corpus = w2v.Corpus(ids, np.array([0, 0, 0, 1, 1, 1], np.int32), list("abcdef"),
                        np.ones(6, np.int64))
    c, o = w2v.skipgram_pairs(corpus, window=1, subsample=None, rng=np.random.default_rng(0))
    pairs = sorted(zip(c.tolist(), o.tolist()))
    assert pairs == [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3), (4, 5), (5, 4)]  # not (2, 3)


def test_pairs_respect_the_window_and_use_near_words_more_often():
    # word i at position i: a pair's distance is the difference of its ids
    stream = w2v.Corpus(np.arange(200, dtype=np.int32), np.zeros(200, np.int32),
                        [str(i) for i in range(200)], np.ones(200, np.int64))
    c, o = w2v.skipgram_pairs(stream, window=5, subsample=None, rng=np.random.default_rng(1))
    assert len(c) == len(o) and c.dtype == np.int32
    distance = np.abs(c.astype(int) - o.astype(int))
    assert distance.min() == 1 and distance.max() == 5
    per_distance = np.bincount(distance)[1:]
    assert np.all(np.diff(per_distance) < 0)  # dynamic windows: distance 1 most often


def test_subsampling_drops_frequent_words_and_keeps_rare_ones():
    counts = np.array([10_000, 1_000, 10])
    keep = w2v.keep_probability(counts, t=1e-3)
    assert keep[0] < keep[1] < keep[2] == 1.0
    noise = w2v.noise_distribution(counts)
    assert noise.sum() == pytest.approx(1)
    assert noise[0] / noise[1] == pytest.approx(10 ** 0.75)


def test_batches_are_the_same_stream_for_the_same_seed_and_the_rate_decays():
    corpus, _ = synthetic_corpus()
    settings = w2v.Settings(epochs=2, batch_size=64, negatives=3, subsample=None)
    a = list(w2v.batches(corpus, settings, seed=5))
    b = list(w2v.batches(corpus, settings, seed=5))
    assert len(a) == len(b) > 10
    for (c1, o1, n1, lr1), (c2, o2, n2, lr2) in zip(a, b):
        assert np.array_equal(c1, c2) and np.array_equal(o1, o2) and np.array_equal(n1, n2)
        assert lr1 == lr2
    assert a[0][2].shape == (64, 3)
    rates = [lr for *_, lr in a]
    assert rates[0] == settings.lr and np.all(np.diff(rates) <= 0) and 0 < rates[-1] < 0.05


# --- the gradient -------------------------------------------------------------------------------


def test_sgns_gradients_match_finite_differences_and_torch():
    rng = np.random.default_rng(2)
    B, K, D = 3, 4, 5
    v, u_pos, u_neg = rng.normal(size=(B, D)), rng.normal(size=(B, D)), rng.normal(size=(B, K, D))
    loss, dv, du_pos, du_neg = w2v.sgns_loss_and_grads(v, u_pos, u_neg)
    f = lambda: w2v.sgns_loss_and_grads(v, u_pos, u_neg)[0]  # noqa: E731
    for g, x in [(dv, v), (du_pos, u_pos), (du_neg, u_neg)]:
        assert rel_error(g, numerical_grad(f, x)) < 1e-7
    tv, tp, tn = (torch.tensor(a, requires_grad=True) for a in (v, u_pos, u_neg))
    F = torch.nn.functional
    t_loss = -(F.logsigmoid((tp * tv).sum(-1)).sum()
               + F.logsigmoid(-torch.einsum("bkd,bd->bk", tn, tv)).sum())
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-13)
    for g, t in [(dv, tv), (du_pos, tp), (du_neg, tn)]:
        assert rel_error(g, t.grad.numpy()) < 1e-12


def test_sgns_loss_is_stable_for_huge_scores():
    v = np.full((1, 2), 100.0)
    loss, dv, _, _ = w2v.sgns_loss_and_grads(v, -v, v[:, None, :])  # scores -20000 and 20000
    assert np.isfinite(loss) and loss == pytest.approx(40_000)
    assert np.all(np.isfinite(dv))


def test_a_step_adds_the_gradients_of_repeated_words():
    rng = np.random.default_rng(3)
    model = w2v.SkipGramNS(6, 4, seed=0, dtype=np.float64)
    model.W_out[:] = rng.normal(size=(6, 4))
    W_in, W_out = model.W_in.copy(), model.W_out.copy()
    centres, contexts = np.array([1, 1, 2]), np.array([3, 4, 3])  # word 1 and word 3 twice
    negatives = np.array([[0, 5], [5, 5], [3, 0]])  # 5 three times, 3 as context and negative
    lr = 0.1
    model.step(centres, contexts, negatives, lr)
    want_in, want_out = W_in.copy(), W_out.copy()
    for c, o, neg in zip(centres, contexts, negatives):  # each pair from the same start
        _, dv, du_pos, du_neg = w2v.sgns_loss_and_grads(W_in[[c]], W_out[[o]], W_out[neg][None])
        want_in[c] -= lr * dv[0]
        want_out[o] -= lr * du_pos[0]
        for k, n in enumerate(neg):
            want_out[n] -= lr * du_neg[0, k]
    assert np.allclose(model.W_in, want_in, atol=1e-14)
    assert np.allclose(model.W_out, want_out, atol=1e-14)


# --- training -----------------------------------------------------------------------------------


def test_numpy_and_torch_training_give_the_same_vectors():
    corpus, _ = synthetic_corpus()
    settings = w2v.Settings(dim=8, epochs=1, batch_size=128, subsample=None, lr=0.025)
    np_model, np_history = w2v.train_numpy(corpus, settings, max_steps=20, log_every=5)
    torch_model, t_history = w2v.train_torch(corpus, settings, max_steps=20, log_every=5)
    assert np_history["step"] == t_history["step"] == [5, 10, 15, 20]
    assert np.allclose(np_history["loss"], t_history["loss"], rtol=1e-5)
    assert np.abs(np_model.W_in - torch_model.W_in.weight.detach().numpy()).max() < 1e-5
    assert np.abs(np_model.W_out - torch_model.W_out.weight.detach().numpy()).max() < 1e-5
    assert torch.get_num_threads() >= 1  # restored after training


def test_training_learns_the_topics_of_a_tiny_corpus():
    corpus, doc_topics = synthetic_corpus(n_docs=80)
    # 28 words: each occurs many times in a batch, so a smaller step than the chapter's
    settings = w2v.Settings(dim=16, window=3, epochs=8, batch_size=64, subsample=None, lr=0.025)
    model, history = w2v.train_numpy(corpus, settings, log_every=10)
    assert history["loss"][-1] < 0.8 * history["loss"][0]
    topical = np.array([corpus.index[w] for w in corpus.words if w[0] in "xz"])
    topics = np.array([0 if corpus.words[i][0] == "x" else 1 for i in topical])
    assert w2v.neighbour_agreement(model.W_in, topical, topics, k=5) > 0.9
    ids, classes = w2v.topical_words(corpus, doc_topics, per_class=5, min_count=1)
    assert len(ids) == 10 and classes.tolist() == [0] * 5 + [1] * 5
    assert all(corpus.words[i][0] == "xz"[c] for i, c in zip(ids, classes))


# --- using the vectors --------------------------------------------------------------------------


def test_cosine_similarity_and_neighbours():
    E = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 3.0], [0.0, 0.0], [-1.0, 0.0]])
    corpus = w2v.Corpus(np.arange(5, dtype=np.int32), np.zeros(5, np.int32), list("abcde"),
                        np.ones(5, np.int64))
    sims = w2v.cosine_similarity(E, 0)
    assert sims[0] == pytest.approx(1) and sims[3] == 0 and sims[4] == pytest.approx(-1)
    assert [w for w, _ in w2v.neighbours(E, corpus, "a", k=4)] == ["b", "c", "d", "e"]


def test_pca_2d_projects_on_the_directions_of_largest_variance():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    points, share = w2v.pca_2d(X)
    assert points.shape == (200, 2)
    evals, evecs = np.linalg.eigh(np.cov(X.T))  # ascending
    top2 = (X - X.mean(0)) @ evecs[:, [-1, -2]]  # (200, 2): the same up to each axis's sign
    assert np.allclose(np.abs(points), np.abs(top2), atol=1e-9)
    assert np.all(points[np.abs(points).argmax(axis=0), [0, 1]] > 0)  # the chosen signs
    assert share[0] > share[1] > 0 and share.sum() < 1
    var = np.var(X - X.mean(0), axis=0).sum()
    assert share == pytest.approx(np.var(points, axis=0) / var, rel=1e-9)


def test_truncated_svd_matches_the_full_svd():
    M = np.random.default_rng(5).normal(size=(60, 12))
    U, S, Vt = w2v.truncated_svd(M, 4)
    U_full, S_full, Vt_full = np.linalg.svd(M, full_matrices=False)
    assert np.allclose(S, S_full[:4])
    assert np.allclose(np.abs(U), np.abs(U_full[:, :4]), atol=1e-8)
    assert np.allclose(U * S @ Vt, U_full[:, :4] * S_full[:4] @ Vt_full[:4])


def test_ppmi_svd_vectors_separate_the_topics_of_a_tiny_corpus():
    corpus, _ = synthetic_corpus(n_docs=80)
    E = w2v.ppmi_svd_vectors(corpus, dim=6, n_context=28, window=3)
    assert E.shape == (len(corpus.words), 6) and E.dtype == np.float32
    topical = np.array([corpus.index[w] for w in corpus.words if w[0] in "xz"])
    topics = np.array([0 if corpus.words[i][0] == "x" else 1 for i in topical])
    assert w2v.neighbour_agreement(E, topical, topics, k=5) > 0.9


def test_cooccurrence_counts_with_and_without_specials():
    # ids: 2 = "a", 3 = "b", 4 = "c"; with window 1, "a b c" has pairs a-b and b-c, both ways
    counts = w2v.cooccurrence_counts([[2, 3, 4], [2, 3, 0, 1]], vocab_size=5, n_context=4,
                                     window=1, first_word=2)
    assert counts.shape == (5, 4) and counts.dtype == np.float32
    assert counts[2, 3] == 2 and counts[3, 2] == 2 and counts[4, 3] == 1
    # "c" (id 4) is a word but not a context: only ids < n_context = 4 are, so no column 4
    assert counts[:2].sum() == 0 and counts[:, :2].sum() == 0  # specials never count
    assert counts.sum() == 5  # a-b twice both ways, c-b once
    # the same documents with no specials (first_word=0): the same counts, shifted by 2, and
    # the specials' old positions are simply gone from the second document
    plain = w2v.cooccurrence_counts([[0, 1, 2], [0, 1]], vocab_size=3, n_context=2, window=1)
    assert np.array_equal(plain, counts[2:, 2:])
    # pairs never cross a document boundary, and the window reaches `window` positions
    far = w2v.cooccurrence_counts([[0, 1, 2]], vocab_size=3, n_context=3, window=2)
    assert far[0, 2] == far[2, 0] == 1 and far[0, 0] == 0
    with pytest.raises(ValueError, match="vocab_size"):
        w2v.cooccurrence_counts([[0, 7]], vocab_size=5, n_context=4)
    with pytest.raises(ValueError, match="window"):
        w2v.cooccurrence_counts([[0, 1]], vocab_size=5, n_context=4, window=0)


def test_ppmi_is_the_positive_part_of_pmi():
    counts = np.array([[4, 0, 1], [1, 2, 0], [0, 1, 3]], np.float32)
    P = w2v.ppmi(counts)
    assert P.dtype == np.float32 and np.all(P >= 0) and np.all(P[counts == 0] == 0)
    total = counts.sum()
    for w, c in [(0, 0), (1, 1), (0, 2)]:
        pmi = math.log(counts[w, c] * total / (counts[w].sum() * counts[:, c].sum()))
        assert P[w, c] == pytest.approx(max(pmi, 0), rel=1e-6)
    assert P[0, 2] == 0  # a pair seen less often than chance: negative PMI, clipped


def test_count_vectors_by_either_svd_agree_up_to_the_sign_of_each_direction():
    corpus, _ = synthetic_corpus(n_docs=40)
    starts = np.flatnonzero(np.r_[True, np.diff(corpus.doc) != 0])
    docs = np.split(corpus.ids.astype(np.int64), starts[1:])
    fast = w2v.count_vectors(docs, len(corpus.words), dim=4, n_context=20, window=3)
    exact = w2v.count_vectors(docs, len(corpus.words), dim=4, n_context=20, window=3,
                              exact_svd=True)
    signs = np.sign((fast * exact).sum(axis=0))  # (4,): each column's sign may differ
    np.testing.assert_allclose(fast, exact * signs, atol=1e-5)
    # Corpus -> documents: ppmi_svd_vectors is count_vectors of the corpus's documents
    E = w2v.ppmi_svd_vectors(corpus, dim=4, n_context=20, window=3)
    assert E.dtype == np.float32 and np.array_equal(E, fast.astype(np.float32))
    # more directions asked than the 20 contexts give: the extra columns are 0
    wide = w2v.count_vectors(docs, len(corpus.words), dim=25, n_context=20, exact_svd=True)
    assert wide.shape == (len(corpus.words), 25) and np.all(wide[:, 20:] == 0)


def test_svd_word_vectors_use_the_vocab_ids_and_have_unit_scale():
    texts = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 3
    v = Vocab.build(texts)
    vecs = w2v.svd_word_vectors(texts, v, dim=3, n_context=8, window=2)
    assert vecs.shape == (len(v), 3) and vecs.dtype == np.float32
    assert vecs.std() == pytest.approx(1.0, rel=1e-4) and np.all(vecs[:2] == 0)  # <pad>, <unk>
    docs = [v.encode(t) for t in texts]
    raw = w2v.count_vectors(docs, len(v), 3, n_context=8, window=2, first_word=2, exact_svd=True)
    assert np.array_equal(vecs, (raw / raw.std()).astype(np.float32))


def test_analogy_accuracy_on_vectors_built_to_answer():
    words = ["king", "queen", "man", "woman", "boy", "girl", "car"]
    gender, royal = np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    base = {"king": royal, "queen": royal + gender, "man": np.zeros(3), "woman": gender,
            "boy": np.array([0, 0, 1.0]), "girl": np.array([0, 0, 1.0]) + gender,
            "car": np.array([-1.0, -1, -1])}
    E = np.array([base[w] + 0.01 * i for i, w in enumerate(words)]) + 0.5
    corpus = w2v.Corpus(np.arange(7, dtype=np.int32), np.zeros(7, np.int32), words,
                        np.ones(7, np.int64))
    pairs = [("king", "queen"), ("man", "woman"), ("boy", "girl")]
    assert 0 < w2v.analogy_accuracy(E, corpus, pairs) <= 1
    assert w2v.analogy_accuracy(E, corpus, [("car", "king"), ("man", "boy")]) == 0.0


def test_map_data_gives_points_neighbours_and_variance():
    rng = np.random.default_rng(6)
    E = rng.normal(size=(30, 8))
    corpus = w2v.Corpus(np.arange(30, dtype=np.int32), np.zeros(30, np.int32),
                        [f"w{i}" for i in range(30)], np.ones(30, np.int64))
    ids = np.array([3, 7, 11, 20])
    points, near, variance = w2v.map_data(E, corpus, ids, k=3)
    assert points.shape == (4, 2) and len(near) == 4 and all(len(n) == 3 for n in near)
    assert near[0][0] == w2v.neighbours(E, corpus, "w3", k=1)[0]
    assert variance.shape == (2,)
