"""Word vectors (chapter 2): skip-gram with negative sampling in NumPy and in PyTorch, the
count-based alternative (co-occurrence counts, PPMI, SVD), nearest neighbours by cosine
similarity, and a 2-D projection by PCA. Chapter 4's classifiers start their embeddings from
the count-based vectors (`svd_word_vectors`).

    from book import data, word2vec as w2v
    bbc = data.load("bbc_news")
    corpus = w2v.build_corpus(w2v.all_texts(bbc), min_count=10)
    model, history = w2v.train_numpy(corpus, w2v.Settings())       # ~20 s on two CPU cores
    w2v.neighbours(model.W_in, corpus, "football", k=8)

Skip-gram (Mikolov et al., 2013): every word of the corpus (the *centre*) is asked to predict
the words within a few positions of it (its *contexts*). With negative sampling, the model
does not compute a softmax over the whole vocabulary; it learns to tell each real
(centre, context) pair from K pairs whose context was drawn at random:

    L = -log σ(u_o · v_c) - Σ_k log σ(-u_k · v_c),

with v_c the centre's row of W_in ("input" vectors, the ones we keep as word vectors) and u_o,
u_k rows of W_out ("output" vectors). Names: B pairs in a batch, K negatives per pair, D the
vector size, V the vocabulary size.

The NumPy trainer and the PyTorch one draw the same batches from the same seed and apply the
same plain SGD update, so from the same start they produce the same vectors (to float32
rounding): the chapter checks this.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from book.np_nn.functional import sigmoid
from book.text import Vocab, tokenize

__all__ = [
    "Corpus",
    "Settings",
    "SkipGramNS",
    "TorchSkipGram",
    "all_texts",
    "analogy_accuracy",
    "batches",
    "build_corpus",
    "cooccurrence_counts",
    "cosine_similarity",
    "count_vectors",
    "keep_probability",
    "map_data",
    "neighbour_agreement",
    "neighbours",
    "noise_distribution",
    "pca_2d",
    "ppmi",
    "ppmi_svd_vectors",
    "sgns_loss_and_grads",
    "skipgram_pairs",
    "svd_word_vectors",
    "topical_words",
    "train_numpy",
    "train_torch",
    "truncated_svd",
]


# --------------------------------------------------------------------------------------------
# The corpus: a stream of word ids, and where each document starts
# --------------------------------------------------------------------------------------------


@dataclass
class Corpus:
    """Token ids of every document, concatenated, with the vocabulary they index.

    ids: (N,) int32 word ids, most frequent word = 0; doc: (N,) int32 document number of each
    token (pairs never cross a document boundary); words: the vocabulary; counts: (V,) how often
    each word occurs.
    """

    ids: np.ndarray
    doc: np.ndarray
    words: list[str]
    counts: np.ndarray
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"Corpus({len(self.ids):,} tokens, {len(self.words):,} words, "
                f"{int(self.doc[-1]) + 1:,} documents)")


def all_texts(data) -> list[str]:
    """Every article of a TextClassificationData (train, validation and test), in that order.

    Word vectors are learned without labels, so all the text can be used.
    """
    return [*data.train.texts, *data.val.texts, *data.test.texts]


def build_corpus(texts: Sequence[str], min_count: int = 10) -> Corpus:
    """Word ids of `texts`: `book.text.tokenize`, alphabetic tokens only (no numbers or
    punctuation), words seen fewer than `min_count` times dropped (not replaced by <unk>)."""
    docs = [[w for w in tokenize(t) if w.isalpha()] for t in texts]
    counts = Counter(w for d in docs for w in d)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(words)}
    ids, doc = [], []
    for n, d in enumerate(docs):
        kept = [index[w] for w in d if w in index]
        ids += kept
        doc += [n] * len(kept)
    return Corpus(np.array(ids, np.int32), np.array(doc, np.int32), words,
                  np.array([counts[w] for w in words], np.int64))


# --------------------------------------------------------------------------------------------
# Training pairs and negatives
# --------------------------------------------------------------------------------------------


def keep_probability(counts: np.ndarray, t: float) -> np.ndarray:
    """Mikolov et al.'s subsampling: keep each occurrence of word w with probability
    min(1, sqrt(t / f_w) + t / f_w), f_w its frequency; 'the' is mostly dropped, rare words kept.

    (This is the formula of the word2vec C code; the paper writes 1 - sqrt(t / f).)
    """
    f = counts / counts.sum()
    return np.minimum(1.0, np.sqrt(t / f) + t / f)


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """The distribution negatives are drawn from: unigram counts to the power 3/4, normalised."""
    p = counts.astype(np.float64) ** power
    return p / p.sum()


def skipgram_pairs(corpus: Corpus, window: int, subsample: float | None,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(centres, contexts), each (P,) int32: every pair of words at most `window` apart in the
    same document, after subsampling frequent words, in random order.

    As in word2vec, each centre draws its own window size b in 1..window, so near neighbours
    are used more often than far ones; subsampled words are removed before the windows are
    laid, which lets the window reach a little further.
    """
    ids, doc = corpus.ids, corpus.doc
    if subsample:
        keep = rng.random(len(ids)) < keep_probability(corpus.counts, subsample)[ids]
        ids, doc = ids[keep], doc[keep]
    b = rng.integers(1, window + 1, size=len(ids))  # (N,): each centre's own window size
    centres, contexts = [], []
    for d in range(1, window + 1):
        same = doc[:-d] == doc[d:]  # (N - d,): positions i and i + d in one document
        right = same & (b[:-d] >= d)  # centre i, context i + d
        left = same & (b[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    c, o = np.concatenate(centres), np.concatenate(contexts)
    order = rng.permutation(len(c))
    return c[order], o[order]


def batches(corpus: Corpus, settings: Settings, seed: int = 0
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """(centres (B,), contexts (B,), negatives (B, K), learning rate) for every step of
    training; the pairs are drawn afresh for each epoch, the rate falls linearly to 1e-4 of
    its start. Both trainers consume this same stream, so they see the same batches."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(noise_distribution(corpus.counts, settings.power))
    cdf /= cdf[-1]
    B, K = settings.batch_size, settings.negatives
    total, step = None, 0
    for _ in range(settings.epochs):
        centres, contexts = skipgram_pairs(corpus, settings.window, settings.subsample, rng)
        if total is None:  # epochs differ by a few pairs: the first one sets the schedule
            total = settings.epochs * math.ceil(len(centres) / B)
        for start in range(0, len(centres), B):
            c, o = centres[start:start + B], contexts[start:start + B]
            neg = np.searchsorted(cdf, rng.random((len(c), K))).astype(np.int32)  # (B, K)
            yield c, o, neg, settings.lr * max(1e-4, 1 - step / total)
            step += 1


# --------------------------------------------------------------------------------------------
# The model: loss and gradients by hand (NumPy), the same by autograd (PyTorch)
# --------------------------------------------------------------------------------------------


@dataclass
class Settings:
    """Hyper-parameters of a skip-gram run (the chapter's defaults).

    The learning rate is 4 times word2vec's 0.025: that default is for corpora of billions of
    words, where each vector gets millions of updates. On BBC News (0.8 M tokens, 3 epochs),
    0.025 left the vectors in a narrow cone (random pairs of words at cosine 0.9) with poorer
    neighbours; 0.1 trained them properly in the same time.
    """

    dim: int = 64  # D: the size of a word vector
    window: int = 5  # the largest distance between a centre and a context
    negatives: int = 5  # K: noise words per real pair
    subsample: float | None = 1e-4  # t of keep_probability; None keeps every token
    power: float = 0.75  # the noise distribution's exponent
    epochs: int = 3
    batch_size: int = 1024  # B: pairs per step
    lr: float = 0.1  # SGD's step at the start; falls linearly to ~0 (see the note below)


def sgns_loss_and_grads(v: np.ndarray, u_pos: np.ndarray, u_neg: np.ndarray
                        ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Summed loss of B pairs and its gradients, by hand.

    v (B, D): centre vectors; u_pos (B, D): their contexts' output vectors; u_neg (B, K, D):
    output vectors of K noise words per pair. Returns (loss, dv, du_pos, du_neg) with
    loss = Σ_b [-log σ(u_pos·v) - Σ_k log σ(-u_neg_k·v)] and the gradients of the same shapes
    as the inputs.
    """
    s_pos = np.einsum("bd,bd->b", u_pos, v)  # (B,): the real pairs' scores
    s_neg = np.einsum("bkd,bd->bk", u_neg, v)  # (B, K): the noise pairs' scores
    # -log σ(s) = log(1 + e^-s) = logaddexp(0, -s), stable for any s
    loss = float(np.logaddexp(0, -s_pos).sum() + np.logaddexp(0, s_neg).sum())
    g_pos = sigmoid(s_pos) - 1  # (B,): d loss / d s_pos, in (-1, 0)
    g_neg = sigmoid(s_neg)  # (B, K): d loss / d s_neg, in (0, 1)
    dv = g_pos[:, None] * u_pos + np.einsum("bk,bkd->bd", g_neg, u_neg)  # (B, D)
    du_pos = g_pos[:, None] * v  # (B, D)
    du_neg = g_neg[:, :, None] * v[:, None, :]  # (B, K, D)
    return loss, dv, du_pos, du_neg


def _scatter_add(W: np.ndarray, rows: np.ndarray, G: np.ndarray) -> None:
    """W[rows[n]] += G[n] for every n, adding up repeated rows (unlike W[rows] += G).

    np.add.at on the flattened table with one index per number is about 5 times faster than
    np.add.at(W, rows, G) with whole rows (NumPy 2.x has a fast path for 1-D indices).
    """
    if not W.flags.c_contiguous:
        raise ValueError("W must be C-contiguous: the flat view must share its memory")
    D = W.shape[1]
    flat = (rows.astype(np.intp)[:, None] * D + np.arange(D)).ravel()  # (n * D,)
    np.add.at(W.reshape(-1), flat, G.reshape(-1))


class SkipGramNS:
    """Skip-gram with negative sampling in NumPy: two (V, D) tables and a plain SGD step.

    W_in starts uniform in ±0.5/D and W_out at zero, as in the word2vec C code.
    """

    def __init__(self, V: int, D: int, seed: int = 0, dtype: type = np.float32) -> None:
        rng = np.random.default_rng(seed)
        self.W_in = ((rng.random((V, D)) - 0.5) / D).astype(dtype)  # centre ("input") vectors
        self.W_out = np.zeros((V, D), dtype)  # context ("output") vectors

    def step(self, centres: np.ndarray, contexts: np.ndarray, negatives: np.ndarray,
             lr: float) -> float:
        """One SGD step on B pairs; returns their mean loss.

        The gradients of a word that occurs several times in the batch add up, as if the pairs
        were processed one after another from the same start.
        """
        v, u_pos, u_neg = self.W_in[centres], self.W_out[contexts], self.W_out[negatives]
        loss, dv, du_pos, du_neg = sgns_loss_and_grads(v, u_pos, u_neg)
        D = self.W_out.shape[1]
        _scatter_add(self.W_in, centres, -lr * dv)
        rows = np.concatenate([contexts, negatives.ravel()])  # (B + B*K,)
        _scatter_add(self.W_out, rows, -lr * np.concatenate([du_pos, du_neg.reshape(-1, D)]))
        return loss / len(centres)


def train_numpy(corpus: Corpus, settings: Settings | None = None, seed: int = 0,
                max_steps: int | None = None, log_every: int = 100) -> tuple[SkipGramNS, dict]:
    """Train SkipGramNS on the corpus (all epochs, or the first `max_steps` steps); returns the
    model and a history: steps, the mean loss of each `log_every` steps, pairs, seconds."""
    settings = settings or Settings()
    model = SkipGramNS(len(corpus.words), settings.dim, seed=seed)
    history: dict = {"step": [], "loss": [], "seconds": 0.0, "pairs": 0}
    start, recent = time.perf_counter(), []
    for step, (c, o, neg, lr) in enumerate(batches(corpus, settings, seed=seed)):
        if max_steps is not None and step >= max_steps:
            break
        recent.append(model.step(c, o, neg, lr))
        history["pairs"] += len(c)
        if (step + 1) % log_every == 0:
            history["step"].append(step + 1)
            history["loss"].append(float(np.mean(recent)))
            recent = []
    history["seconds"] = time.perf_counter() - start
    return model, history


class TorchSkipGram(nn.Module):
    """The same model in PyTorch: two nn.Embedding tables, the loss by F.logsigmoid.

    sparse=True: a step's gradient holds only the rows the batch used, as in the NumPy
    version, instead of two dense (V, D) tables of mostly zeros (torch.optim.SGD accepts it).
    """

    def __init__(self, V: int, D: int) -> None:
        super().__init__()
        self.W_in = nn.Embedding(V, D, sparse=True)
        self.W_out = nn.Embedding(V, D, sparse=True)

    def forward(self, centres: torch.Tensor, contexts: torch.Tensor,
                negatives: torch.Tensor) -> torch.Tensor:
        """Summed loss of the B pairs: centres (B,), contexts (B,), negatives (B, K)."""
        v = self.W_in(centres)  # (B, D)
        s_pos = (self.W_out(contexts) * v).sum(-1)  # (B,)
        s_neg = torch.bmm(self.W_out(negatives), v.unsqueeze(-1)).squeeze(-1)  # (B, K)
        return -(F.logsigmoid(s_pos).sum() + F.logsigmoid(-s_neg).sum())


@contextlib.contextmanager
def _one_cpu_thread(device: str | torch.device) -> Iterator[None]:
    """Run torch on one CPU thread inside the block (a no-op for a GPU).

    The backward pass of an embedding lookup is a scatter-add into the table. On our two-core
    machines, busy with other work, torch's 2-thread scatter-add took 100 to 200 times longer
    than on one thread (0.5 ms against 60-120 ms for 5,000 rows): the threads wait on each other.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_torch(corpus: Corpus, settings: Settings | None = None, seed: int = 0,
                device: str | torch.device = "cpu", max_steps: int | None = None,
                init: SkipGramNS | None = None, log_every: int = 100
                ) -> tuple[TorchSkipGram, dict]:
    """The same training in PyTorch (autograd, torch.optim.SGD), on the same batches as
    train_numpy; `init` starts from a NumPy model's weights (default: SkipGramNS(seed)'s).
    Returns (model, history)."""
    settings = settings or Settings()
    start_from = init or SkipGramNS(len(corpus.words), settings.dim, seed=seed)
    model = TorchSkipGram(len(corpus.words), settings.dim).to(device)
    with torch.no_grad():
        model.W_in.weight.copy_(torch.from_numpy(start_from.W_in))
        model.W_out.weight.copy_(torch.from_numpy(start_from.W_out))
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr)
    history: dict = {"step": [], "loss": [], "seconds": 0.0, "pairs": 0}
    start, recent = time.perf_counter(), []
    with _one_cpu_thread(device):
        for step, (c, o, neg, lr) in enumerate(batches(corpus, settings, seed=seed)):
            if max_steps is not None and step >= max_steps:
                break
            for group in opt.param_groups:
                group["lr"] = lr
            c_t, o_t, n_t = (torch.from_numpy(a.astype(np.int64)).to(device) for a in (c, o, neg))
            loss = model(c_t, o_t, n_t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            recent.append(loss.item() / len(c))
            history["pairs"] += len(c)
            if (step + 1) % log_every == 0:
                history["step"].append(step + 1)
                history["loss"].append(float(np.mean(recent)))
                recent = []
    history["seconds"] = time.perf_counter() - start
    return model, history


# --------------------------------------------------------------------------------------------
# Using the vectors
# --------------------------------------------------------------------------------------------


def cosine_similarity(E: np.ndarray, i: int) -> np.ndarray:
    """cos(E[i], E[j]) for every row j: (V,); rows of zeros get similarity 0."""
    norms = np.linalg.norm(E, axis=1)  # (V,)
    denom = np.maximum(norms * norms[i], np.finfo(np.float64).tiny)
    return (E @ E[i]) / denom


def neighbours(E: np.ndarray, corpus: Corpus, word: str, k: int = 8) -> list[tuple[str, float]]:
    """The k words whose vectors are most cosine-similar to `word`'s (itself left out)."""
    i = corpus.index[word]
    sims = cosine_similarity(E, i)
    sims[i] = -np.inf
    best = np.argsort(-sims, kind="stable")[:k]
    return [(corpus.words[j], float(sims[j])) for j in best]


def topical_words(corpus: Corpus, doc_labels: Sequence[int], per_class: int,
                  min_share: float = 0.7, min_count: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """The `per_class` most frequent words of each class that are topical: at least `min_share`
    of their occurrences are in documents of that class, and they occur `min_count` times.
    Returns (word ids, their classes), class by class."""
    labels = np.asarray(doc_labels)[corpus.doc]  # (N,): the class of each token's document
    n_classes = int(labels.max()) + 1
    by_class = np.zeros((len(corpus.words), n_classes))
    np.add.at(by_class, (corpus.ids, labels), 1)  # (V, C): occurrences per class
    share = by_class.max(axis=1) / np.maximum(by_class.sum(axis=1), 1)
    cls = by_class.argmax(axis=1)
    ids, classes = [], []
    for c in range(n_classes):
        pick = np.flatnonzero((cls == c) & (share >= min_share) & (corpus.counts >= min_count))
        pick = pick[np.argsort(-corpus.counts[pick], kind="stable")][:per_class]
        ids.append(pick)
        classes.append(np.full(len(pick), c))
    return np.concatenate(ids), np.concatenate(classes)


def map_data(E: np.ndarray, corpus: Corpus, ids: np.ndarray, k: int = 8
             ) -> tuple[np.ndarray, list[list[tuple[str, float]]], np.ndarray]:
    """What EmbeddingView shows for the words `ids`: their 2-D PCA coordinates (of their own
    vectors), their k nearest neighbours in the whole vocabulary, and the share of the
    variance the two axes keep."""
    points, variance = pca_2d(E[ids])
    return points, [neighbours(E, corpus, corpus.words[i], k) for i in ids], variance


def neighbour_agreement(E: np.ndarray, ids: np.ndarray, classes: np.ndarray, k: int = 10
                        ) -> float:
    """Among the words `ids`, the share of each word's k nearest (by cosine, among the same
    words) that have its class: 1 when topics separate perfectly, about 1/C by chance."""
    X = E[ids] / np.maximum(np.linalg.norm(E[ids], axis=1, keepdims=True), 1e-12)  # (n, D)
    sims = X @ X.T  # (n, n)
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]  # (n, k)
    return float(np.mean(classes[nearest] == classes[:, None]))


def analogy_accuracy(E: np.ndarray, corpus: Corpus, pairs: Sequence[tuple[str, str]]) -> float:
    """Share of the analogies a : b :: c : ? answered with d, over all ordered couples of
    different (a, b), (c, d) in `pairs`: the answer is the word whose vector is most
    cosine-similar to b - a + c (unit vectors), a, b and c excluded."""
    X = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)  # (V, D)
    right = total = 0
    for a, b in pairs:
        for c, d in pairs:
            if (a, b) == (c, d):
                continue
            ia, ib, ic = (corpus.index[w] for w in (a, b, c))
            sims = X @ (X[ib] - X[ia] + X[ic])  # (V,)
            sims[[ia, ib, ic]] = -np.inf
            right += int(np.argmax(sims)) == corpus.index[d]
            total += 1
    return right / total


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of X (N, D) projected on their two directions of largest variance, by SVD of
    the centred matrix; returns (points (N, 2), share of the variance each direction keeps)."""
    Xc = X - X.mean(axis=0)  # (N, D)
    U, S, _ = np.linalg.svd(Xc, full_matrices=False)  # U (N, r), S (r,)
    points = U[:, :2] * S[:2]  # (N, 2) = Xc @ Vt[:2].T
    # the sign of a singular vector is arbitrary: make each axis's largest coordinate positive
    signs = np.sign(points[np.abs(points).argmax(axis=0), [0, 1]])
    return points * signs, (S[:2] ** 2) / (S ** 2).sum()


# --------------------------------------------------------------------------------------------
# The count-based alternative: co-occurrence counts -> PPMI -> SVD
# --------------------------------------------------------------------------------------------
#
# One pipeline, `count_vectors`, for both chapters. Its id convention is book.text.Vocab's,
# generalised: ids are sorted by frequency, and the `first_word` lowest ids are specials that
# count neither as words nor as contexts (Vocab's <pad> and <unk>: first_word=2; a Corpus has
# no specials: first_word=0). The contexts are the ids below n_context.


def cooccurrence_counts(docs: Sequence[Sequence[int]], vocab_size: int, n_context: int = 1000,
                        window: int = 5, first_word: int = 0) -> np.ndarray:
    """Counts (vocab_size, n_context) float32: how often word w has context c within `window`
    positions of it, in the same document.

    `docs` are sequences of ids. Only ids first_word .. n_context - 1 (the most frequent words)
    serve as contexts; ids below `first_word` are specials and count neither as words nor as
    contexts, but still take up a position.
    """
    if window < 1 or not 0 <= first_word < n_context:
        raise ValueError(f"need window >= 1 and 0 <= first_word < n_context; got window={window}, "
                         f"first_word={first_word}, n_context={n_context}")
    words, contexts = [], []
    for ids in map(np.asarray, docs):
        for d in range(1, window + 1):  # pairs d positions apart, both ways round
            words += [ids[:-d], ids[d:]]
            contexts += [ids[d:], ids[:-d]]
    w, c = np.concatenate(words).astype(np.int64), np.concatenate(contexts).astype(np.int64)
    if w.size and w.max() >= vocab_size:
        raise ValueError(f"docs hold id {w.max()}, but vocab_size is {vocab_size}")
    keep = (w >= first_word) & (c >= first_word) & (c < n_context)
    flat = np.bincount(w[keep] * n_context + c[keep], minlength=vocab_size * n_context)
    return flat.reshape(vocab_size, n_context).astype(np.float32)


def ppmi(counts: np.ndarray) -> np.ndarray:
    """Positive pointwise mutual information: max(0, ln p(w, c) / (p(w) p(c))), 0 where unseen."""
    total = counts.sum()
    p_w = counts.sum(axis=1, keepdims=True) / total  # (V, 1)
    p_c = counts.sum(axis=0, keepdims=True) / total  # (1, n_context)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts / total / (p_w * p_c))
    return np.where(counts > 0, np.maximum(pmi, 0), 0).astype(np.float32)


def truncated_svd(M: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k largest singular values of M (m, n), m >= n, and their vectors: (U (m, k), S (k,),
    Vt (k, n)), from the eigen-decomposition of the small Gram matrix MᵀM = V S² Vᵀ.

    A full SVD of a 6,800 x 1,000 matrix takes tens of seconds on two cores; MᵀM and its
    eigenvectors take about one. (Fine for the well-separated top directions we keep; it
    squares the condition number, so it is no substitute for np.linalg.svd in general.)
    """
    M = np.asarray(M, dtype=np.float64)
    evals, evecs = np.linalg.eigh(M.T @ M)  # ascending, (n,), (n, n)
    top = np.argsort(evals)[::-1][:k]
    S = np.sqrt(np.maximum(evals[top], 0))  # (k,)
    V = evecs[:, top]  # (n, k)
    U = (M @ V) / np.maximum(S, np.finfo(np.float64).tiny)  # (m, k)
    return U, S, V.T


def count_vectors(docs: Sequence[Sequence[int]], vocab_size: int, dim: int,
                  n_context: int = 1000, window: int = 5, first_word: int = 0,
                  exact_svd: bool = False) -> np.ndarray:
    """Count-based word vectors (vocab_size, dim) float64: cooccurrence_counts, weighted by
    ppmi, and the top `dim` directions of their SVD scaled by the square roots of the singular
    values (rows of U_k S_k^½).

    Rows of specials and of words never seen near a context are 0, and so are the last columns
    if the matrix has fewer than `dim` directions. The SVD is `truncated_svd` (fast), or
    np.linalg.svd with exact_svd=True (chapter 4's classifiers were tuned with that one).
    """
    M = ppmi(cooccurrence_counts(docs, vocab_size, n_context, window, first_word))
    if exact_svd:
        U, S, _ = np.linalg.svd(M, full_matrices=False)  # (V, n_context), (n_context,)
    else:
        U, S, _ = truncated_svd(M, dim)
    k = min(dim, len(S))  # a tiny corpus may have fewer than dim directions
    vectors = np.zeros((vocab_size, dim))
    vectors[:, :k] = U[:, :k] * np.sqrt(S[:k])  # (V, k)
    return vectors


def ppmi_svd_vectors(corpus: Corpus, dim: int, n_context: int = 1000, window: int = 5
                     ) -> np.ndarray:
    """Chapter 2's count-based vectors (V, dim) float32 of a Corpus: `count_vectors` of its
    documents, contexts the n_context most frequent words."""
    starts = np.flatnonzero(np.r_[True, corpus.doc[1:] != corpus.doc[:-1]])  # first token of each
    docs = np.split(corpus.ids.astype(np.int64), starts[1:])
    return count_vectors(docs, len(corpus.words), dim, n_context, window).astype(np.float32)


def svd_word_vectors(texts: Sequence[str], vocab: Vocab, dim: int, n_context: int = 1000,
                     window: int = 4) -> np.ndarray:
    """Chapter 4's starting embeddings (len(vocab), dim) float32: `count_vectors` of `texts`
    encoded with `vocab` (contexts: ids 2 .. n_context - 1, after <pad> and <unk>), by the
    exact SVD, rescaled to standard deviation 1 (the scale of nn.Embedding's own
    initialisation); the <pad> and <unk> rows are 0."""
    docs = [vocab.encode(t) for t in texts]
    vectors = count_vectors(docs, len(vocab), dim, n_context, window, first_word=2,
                            exact_svd=True)
    return (vectors / vectors.std()).astype(np.float32)
