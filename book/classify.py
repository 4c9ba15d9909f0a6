"""Text classification (chapter 4): TF-IDF + logistic regression in NumPy, then an LSTM and a
Transformer encoder in PyTorch, one training loop for both, and the numbers to judge them by.

    from book import data, classify
    bbc = data.load("bbc_news")
    baseline = classify.TfidfLogReg(**classify.CHAPTER_SETTINGS["tfidf_logreg"])
    baseline.fit(bbc.train.texts, bbc.train.labels)
    baseline.accuracy(bbc.test.texts, bbc.test.labels)           # about 0.98
    model, enc, history = classify.train_chapter_model("transformer", bbc, device="cpu")
    classify.evaluate(model, enc.test)                            # about 0.97

The hyper-parameters are defined once, in CHAPTER_SETTINGS: the chapter and
`benchmarks/classify.py` both read them from here.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse
from torch import nn

from book.env import progress_bar, seed_everything
from book.np_nn import sinusoidal_positions
from book.np_nn.functional import softmax
from book.np_nn.optim import Adam
from book.optim import warmup_cosine
from book.text import EncodedData, EncodedSplit, Vocab, batches, encode_batch, encode_data
from book.torch_nn import Block
from book.word2vec import svd_word_vectors

__all__ = [
    "ABLATION_CHANGES",
    "ABLATION_CSV",
    "CHAPTER_SETTINGS",
    "LSTMClassifier",
    "SST2_SETTINGS",
    "TfidfLogReg",
    "TransformerClassifier",
    "ablation_settings",
    "article_attention",
    "build_chapter_model",
    "confusion_matrix",
    "count_matrix",
    "evaluate",
    "idf_weights",
    "logreg_loss_and_grads",
    "masked_max",
    "masked_mean",
    "predict",
    "predict_logits",
    "read_ablation",
    "reverse_padded",
    "summarise_ablation",
    "tfidf",
    "train_chapter_model",
    "train_classifier",
    "write_ablation",
]

# Every number the chapter and the benchmark use, in one place.
CHAPTER_SETTINGS: dict = {
    "tfidf_logreg": dict(min_freq=2, sublinear_tf=True, l2=1e-4, lr=0.1, steps=100),
    "vocab": dict(min_freq=2, max_size=20_000),      # the neural models' vocabulary
    "max_len": 512,                                  # tokens kept from the start of each article
    "word_vectors": dict(n_context=1000, window=4),  # embeddings start from these; None: random
    "lstm": dict(
        model=dict(embed_dim=64, hidden_size=64, bidirectional=True, pooling="meanmax",
                   dropout=0.3, embed_dropout=0.1),
        train=dict(epochs=4, lr=1e-2, batch_size=32, weight_decay=0.01),
    ),
    "transformer": dict(
        model=dict(embed_dim=64, num_heads=4, num_layers=1, dropout=0.3, embed_dropout=0.1),
        train=dict(epochs=4, lr=1e-2, batch_size=32, weight_decay=0.01),
    ),
}


# Chapter 6's sentiment recipe: GLUE SST-2 (67,349 training phrases, short), the same three
# models and the layout of CHAPTER_SETTINGS, so `train_chapter_model(name, sst2,
# settings=SST2_SETTINGS)` trains them. One epoch each (2,105 steps of 32 phrases, about 20 s
# on 2 cores), so no validation split picks an epoch. The bag of words keeps the 3,000 most
# frequent words: its features are a dense (67,349 x V) matrix, 0.8 GB at that size.
SST2_SETTINGS: dict = {
    "tfidf_logreg": dict(min_freq=2, max_features=3000, sublinear_tf=True, l2=1e-4, lr=0.1,
                         steps=100),
    "vocab": dict(min_freq=2, max_size=20_000),
    "max_len": 64,                                   # the longest dev sentence has 49 tokens
    "word_vectors": dict(n_context=1000, window=4),
    "lstm": dict(
        model=dict(embed_dim=64, hidden_size=64, bidirectional=True, pooling="meanmax",
                   dropout=0.3, embed_dropout=0.1),
        train=dict(epochs=1, lr=5e-3, batch_size=32, weight_decay=0.01),
    ),
    "transformer": dict(
        model=dict(embed_dim=64, num_heads=4, num_layers=1, dropout=0.3, embed_dropout=0.1),
        train=dict(epochs=1, lr=2e-3, batch_size=32, weight_decay=0.01),
    ),
}

# --------------------------------------------------------------------------------------------
# (a) TF-IDF + multinomial logistic regression, in NumPy
# --------------------------------------------------------------------------------------------


def count_matrix(texts: Sequence[str], vocab: Vocab) -> np.ndarray:
    """Term counts (N, V) float32: entry [d, w] = how often word w occurs in text d.

    Unknown words are not counted (the `<unk>` and `<pad>` columns stay 0): a bag of words has
    no use for "some word we never saw".
    """
    counts = np.zeros((len(texts), len(vocab)), dtype=np.float32)  # (N, V)
    for d, t in enumerate(texts):
        ids, n = np.unique(vocab.encode(t), return_counts=True)
        counts[d, ids] = n
    counts[:, :2] = 0  # <pad>, <unk>
    return counts


def idf_weights(counts: np.ndarray) -> np.ndarray:
    """Smoothed inverse document frequency (V,): idf(w) = ln((1 + N) / (1 + df(w))) + 1.

    df(w) is the number of documents that contain w. The 1s act as one extra document that
    contains every word: no division by zero, and the "+ 1" keeps a word found in every
    document at weight 1 rather than 0 (the convention of scikit-learn's smooth_idf).
    """
    N = counts.shape[0]
    df = (counts > 0).sum(axis=0)  # (V,)
    return (np.log((1 + N) / (1 + df)) + 1).astype(np.float32)


def tfidf(counts: np.ndarray, idf: np.ndarray, sublinear_tf: bool = True) -> np.ndarray:
    """TF-IDF rows (N, V), each scaled to unit L2 norm (all-zero rows stay zero).

    sublinear_tf replaces a count c > 0 by 1 + ln c: the 10th "match" in a sports report is
    less news than the first. Unit rows make a long article and a short one comparable.
    """
    tf = counts.copy()
    if sublinear_tf:
        nz = tf > 0
        tf[nz] = 1 + np.log(tf[nz])
    x = tf * idf                                      # (N, V) * (V,)
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (N, 1)
    return x / np.maximum(norms, 1e-12)


def logreg_loss_and_grads(W: np.ndarray, b: np.ndarray, X: np.ndarray, y: np.ndarray,
                          l2: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of softmax(X W + b) plus (l2 / 2) ||W||², and its gradients.

    X (N, V), W (V, C), b (C,), y (N,) integer classes. With P the probabilities and Y the
    one-hot labels, d loss / d logits = (P - Y) / N, so dW = X^T (P - Y) / N + l2 W.
    """
    N = X.shape[0]
    P = softmax(X @ W + b)                               # (N, C)
    loss = -np.log(P[np.arange(N), y] + 1e-12).mean() + 0.5 * l2 * float((W * W).sum())
    G = P.copy()
    G[np.arange(N), y] -= 1                              # P - Y
    G /= N                                               # (N, C)
    return float(loss), X.T @ G + l2 * W, G.sum(axis=0)  # dW (V, C), db (C,)


class TfidfLogReg:
    """TF-IDF features + multinomial logistic regression, trained by full-batch Adam."""

    def __init__(self, min_freq: int = 2, max_features: int | None = None,
                 sublinear_tf: bool = True, l2: float = 1e-4, lr: float = 0.1,
                 steps: int = 200) -> None:
        self.min_freq, self.max_features, self.sublinear_tf = min_freq, max_features, sublinear_tf
        self.l2, self.lr, self.steps = l2, lr, steps

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """TF-IDF rows (N, V) of `texts`, with the vocabulary and idf of the training set."""
        return tfidf(count_matrix(texts, self.vocab), self.idf, self.sublinear_tf)

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TfidfLogReg:
        """Build the vocabulary and idf on `texts`, then minimise the regularised loss."""
        self.vocab = Vocab.build(texts, self.min_freq, self.max_features)
        counts = count_matrix(texts, self.vocab)
        self.idf = idf_weights(counts)
        # (N, V), held sparse while training: a text has a few dozen of the V words, so most
        # entries are 0, and SciPy's products X @ W and X.T @ G skip them (the same sums:
        # chapter 6's 48,000 phrases train in 0.5 s instead of 14)
        X = sparse.csr_matrix(tfidf(counts, self.idf, self.sublinear_tf))
        y = np.asarray(labels)
        C = int(y.max()) + 1
        self.W = np.zeros((X.shape[1], C), dtype=np.float32)  # (V, C): convex, zeros are fine
        self.b = np.zeros(C, dtype=np.float32)
        self.losses = []
        adam = Adam([self.W, self.b], lr=self.lr)
        for _ in range(self.steps):
            loss, dW, db = logreg_loss_and_grads(self.W, self.b, X, y, self.l2)
            adam.step([dW, db])  # updates self.W and self.b in place
            self.losses.append(loss)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (N, C)."""
        return softmax(self.features(texts) @ self.W + self.b)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class of each text (N,)."""
        return self.predict_proba(texts).argmax(axis=1)

    def accuracy(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        """Fraction of `texts` classified correctly."""
        return float((self.predict(texts) == np.asarray(labels)).mean())

    def top_features(self, cls: int, k: int = 10) -> list[tuple[str, float]]:
        """The k words whose weight pushes hardest towards class `cls`, with those weights."""
        w = self.W[:, cls] - np.delete(self.W, cls, axis=1).mean(axis=1)  # vs the other classes
        best = np.argsort(-w)[:k]
        return [(self.vocab.itos[i], float(w[i])) for i in best]


# --------------------------------------------------------------------------------------------
# (b) Neural classifiers in PyTorch: ids (B, T), pad_mask (B, T) -> logits (B, C)
# --------------------------------------------------------------------------------------------


def masked_mean(h: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
    """Mean of h (B, T, D) over the non-padding positions -> (B, D)."""
    keep = (~pad_mask).unsqueeze(-1).to(h.dtype)          # (B, T, 1): 1 = real token
    return (h * keep).sum(1) / keep.sum(1).clamp(min=1)   # (B, D)


def masked_max(h: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
    """Max of h (B, T, D) over the non-padding positions -> (B, D)."""
    return h.masked_fill(pad_mask.unsqueeze(-1), float("-inf")).amax(dim=1)


def _pool(h: torch.Tensor, pad_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """'mean', 'max' or 'meanmax' (both, concatenated) over the real positions of h (B, T, D)."""
    if pooling == "mean":
        return masked_mean(h, pad_mask)
    if pooling == "max":
        return masked_max(h, pad_mask)
    if pooling == "meanmax":
        return torch.cat([masked_mean(h, pad_mask), masked_max(h, pad_mask)], dim=-1)
    raise ValueError(f"pooling must be 'mean', 'max' or 'meanmax'; got {pooling!r}")


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first lengths[b] positions of each row of x (B, T, ...); padding stays put.

    Applying it twice gives x back, so the same call also turns the outputs around.
    """
    T = x.shape[1]
    t = torch.arange(T, device=x.device)                                  # (T,)
    L = lengths[:, None]                                                  # (B, 1)
    src = torch.where(t < L, L - 1 - t, t)                                # (B, T): where to read
    src = src.view(*src.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, src)


class LSTMClassifier(nn.Module):
    """Embedding -> (Bi)LSTM -> pooling over the real tokens -> dropout -> linear.

    The bidirectional LSTM is written as two LSTMs: `fwd` reads each text left to right, `bwd`
    reads it right to left, starting at its LAST REAL token (see reverse_padded), so padding
    never reaches a real position. (PyTorch's packed sequences do the same, but on our 2-core
    CPU an epoch with them took about 15 times longer than with two plain LSTMs.)
    """

    def __init__(self, vocab_size: int, n_classes: int, embed_dim: int = 64,
                 hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = True,
                 pooling: str = "max", dropout: float = 0.3, embed_dropout: float = 0.1) -> None:
        super().__init__()
        self.pooling = pooling
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.embed_drop = nn.Dropout(embed_dropout)
        self.fwd = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True)
        self.bwd = (nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True)
                    if bidirectional else None)
        width = hidden_size * (2 if bidirectional else 1) * (2 if pooling == "meanmax" else 1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(width, n_classes)

    def forward(self, ids: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """ids (B, T), pad_mask (B, T) True = padding -> logits (B, C)."""
        x = self.embed_drop(self.embed(ids))       # (B, T, E)
        h, _ = self.fwd(x)                         # (B, T, H): padding comes after, never before
        if self.bwd is not None:
            lengths = (~pad_mask).sum(1)           # (B,)
            hb, _ = self.bwd(reverse_padded(x, lengths))
            h = torch.cat([h, reverse_padded(hb, lengths)], dim=-1)  # (B, T, 2H)
        return self.head(self.drop(_pool(h, pad_mask, self.pooling)))  # (B, C)


class TransformerClassifier(nn.Module):
    """Embedding + sinusoidal positions -> n Blocks (padding masked) -> LayerNorm ->
    mean over the real tokens -> dropout -> linear."""

    def __init__(self, vocab_size: int, n_classes: int, max_len: int, embed_dim: int = 64,
                 num_heads: int = 4, num_layers: int = 1, dropout: float = 0.3,
                 embed_dropout: float = 0.1) -> None:
        super().__init__()
        self.max_len = max_len
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        pos = torch.from_numpy(sinusoidal_positions(max_len, embed_dim)).float()
        self.register_buffer("pos", pos, persistent=False)  # (max_len, E), not trained
        self.embed_drop = nn.Dropout(embed_dropout)
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(embed_dim)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, n_classes)

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        T = ids.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence length {T} is longer than max_len = {self.max_len}")
        return self.embed_drop(self.embed(ids) + self.pos[:T])  # (B, T, E) + (T, E)

    def forward(self, ids: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """ids (B, T), pad_mask (B, T) True = padding -> logits (B, C)."""
        x = self._embed(ids)
        for block in self.blocks:
            x = block(x, key_padding_mask=pad_mask)  # no query attends to padding
        x = self.ln_f(x)                             # (B, T, E)
        return self.head(self.drop(masked_mean(x, pad_mask)))  # (B, C)

    @torch.no_grad()
    def attention_weights(self, ids: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer and head: (L, B, nh, T, T); rows sum to 1."""
        x, weights = self._embed(ids), []
        for block in self.blocks:
            x, att = block.forward_with_weights(x, key_padding_mask=pad_mask)
            weights.append(att)
        return torch.stack(weights)


@torch.no_grad()
def article_attention(model: TransformerClassifier, text: str, vocab: Vocab, max_len: int,
                      device: str | torch.device = "cpu") -> tuple[list[str], np.ndarray]:
    """The tokens of one article (first max_len) and its attention weights (L, nh, T, T)."""
    model.eval()
    ids, pad_mask = encode_batch([text], vocab, max_len)  # (1, T)
    weights = model.attention_weights(ids.to(device), pad_mask.to(device))  # (L, 1, nh, T, T)
    return vocab.decode(ids[0]), weights[:, 0].cpu().numpy()


# --------------------------------------------------------------------------------------------
# (c) Training and evaluation
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def predict_logits(model: nn.Module, split: EncodedSplit, device: str | torch.device = "cpu",
                   batch_size: int = 128) -> torch.Tensor:
    """Logits (N, C) of an encoded split, in its order, on the CPU."""
    model.eval()
    out = []
    for index in batches(len(split), batch_size, shuffle=False):
        ids, pad_mask, _ = split.batch(index)
        out.append(model(ids.to(device), pad_mask.to(device)).float().cpu())
    return torch.cat(out)


def predict(model: nn.Module, split: EncodedSplit, device: str | torch.device = "cpu",
            batch_size: int = 128) -> np.ndarray:
    """Predicted classes (N,) of an encoded split, in its order."""
    return predict_logits(model, split, device, batch_size).argmax(-1).numpy()


def evaluate(model: nn.Module, split: EncodedSplit, device: str | torch.device = "cpu",
             batch_size: int = 128) -> float:
    """Accuracy of `model` on an encoded split."""
    return float((predict(model, split, device, batch_size) == split.labels.numpy()).mean())


def train_classifier(model: nn.Module, data: EncodedData, *, epochs: int, lr: float,
                     batch_size: int, device: str | torch.device = "cpu", seed: int = 0,
                     weight_decay: float = 0.01, schedule: str | None = "cosine",
                     warmup_frac: float = 0.1, clip: float = 1.0,
                     progress: bool = True) -> dict:
    """Train with AdamW on data.train; after each epoch measure data.val and keep the state
    with the lowest validation loss (restored at the end). Returns the history: per-epoch
    train loss, validation loss and accuracy, seconds, and the best epoch.

    Why the loss and not the accuracy: 223 validation articles allow only a few accuracy
    values, and an early epoch that is lucky on them often does worse on the test set; the
    loss also sees how sure the model is, so it changes smoothly.
    """
    seed_everything(seed)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(data.train) / batch_size)
    total, warmup = epochs * steps_per_epoch, int(warmup_frac * epochs * steps_per_epoch)
    # book.optim's warm-up + cosine as a factor of the peak learning rate, from 0 up and down to 0
    sched = (torch.optim.lr_scheduler.LambdaLR(
                 opt, lambda step: warmup_cosine(step, 1.0, 0.0, warmup, total))
             if schedule == "cosine" else None)
    history = {"train_loss": [], "val_loss": [], "val_acc": [], "epoch_s": [], "best_epoch": 0}
    best_loss, best_state = float("inf"), None
    bar = progress_bar(epochs * steps_per_epoch, type(model).__name__, progress)
    for epoch in range(epochs):
        start, total_loss = time.perf_counter(), 0.0
        model.train()
        for index in batches(len(data.train), batch_size, shuffle=True, seed=seed, epoch=epoch):
            ids, pad_mask, y = (t.to(device) for t in data.train.batch(index))
            loss = F.cross_entropy(model(ids, pad_mask), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)  # tames the rare huge step
            opt.step()
            if sched is not None:
                sched.step()
            total_loss += loss.item() * len(index)
            if bar is not None:
                bar.update(1)
        logits = predict_logits(model, data.val, device)      # (N_val, C)
        val_loss = F.cross_entropy(logits, data.val.labels).item()
        val_acc = (logits.argmax(-1) == data.val.labels).float().mean().item()
        history["train_loss"].append(total_loss / len(data.train))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["epoch_s"].append(time.perf_counter() - start)
        if bar is not None:
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}", val_loss=f"{val_loss:.3f}",
                            val_acc=f"{val_acc:.3f}")
        if val_loss < best_loss:
            best_loss, history["best_epoch"] = val_loss, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    return history


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts (C, C): entry [i, j] = how many texts of true class i were predicted as j."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


_WORD_VECTORS: dict[str, np.ndarray] = {}


def _word_vectors(texts: Sequence[str], vocab: Vocab, dim: int, **options) -> np.ndarray:
    """`svd_word_vectors`, computed once per process for the same texts, vocabulary, size and
    options (a copy each time): chapter 4's two networks start from the same vectors, 4 s each."""
    h = hashlib.sha256()
    for part in (*texts, "\1", *vocab.itos, "\1", repr((dim, sorted(options.items())))):
        h.update(part.encode() + b"\0")
    key = h.hexdigest()
    if key not in _WORD_VECTORS:
        _WORD_VECTORS.clear()  # one set at a time: a vocabulary of 20,000 x 64 is 5 MB
        _WORD_VECTORS[key] = svd_word_vectors(texts, vocab, dim, **options)
    return _WORD_VECTORS[key].copy()


def build_chapter_model(name: str, vocab: Vocab, n_classes: int, texts: Sequence[str],
                        seed: int = 0, word_vectors: bool | None = None,
                        settings: dict | None = None) -> nn.Module:
    """A fresh "lstm" or "transformer" with CHAPTER_SETTINGS (or `settings`, a dict of the same
    layout), its embedding started from `book.word2vec.svd_word_vectors` of the training
    `texts` when word_vectors is True (default: whatever the settings say).
    """
    s = CHAPTER_SETTINGS if settings is None else settings
    seed_everything(seed)  # the same initial weights every time
    if name == "lstm":
        model = LSTMClassifier(len(vocab), n_classes, **s["lstm"]["model"])
    elif name == "transformer":
        model = TransformerClassifier(len(vocab), n_classes, s["max_len"],
                                      **s["transformer"]["model"])
    else:
        raise ValueError(f"name must be 'lstm' or 'transformer'; got {name!r}")
    if word_vectors is None:
        word_vectors = s["word_vectors"] is not None
    if word_vectors:
        vectors = _word_vectors(texts, vocab, model.embed.embedding_dim,
                                **(s["word_vectors"] or {}))
        with torch.no_grad():
            model.embed.weight.copy_(torch.from_numpy(vectors))  # (V, E)
    return model


def train_chapter_model(name: str, data, device: str | torch.device = "cpu", seed: int = 0,
                        progress: bool = True, word_vectors: bool | None = None,
                        settings: dict | None = None) -> tuple[nn.Module, EncodedData, dict]:
    """Build and train "lstm" or "transformer" with CHAPTER_SETTINGS (or `settings`) on a
    `book.data.TextClassificationData`: returns (model, encoded data, history)."""
    s = CHAPTER_SETTINGS if settings is None else settings
    vocab = Vocab.build(data.train.texts, **s["vocab"])
    enc = encode_data(data, vocab, s["max_len"])
    model = build_chapter_model(name, vocab, len(data.class_names), data.train.texts, seed,
                                word_vectors, s)
    history = train_classifier(model, enc, device=device, seed=seed, progress=progress,
                               **s[name]["train"])
    return model, enc, history


# --------------------------------------------------------------------------------------------
# (d) The ablation: what each of the chapter's settings is worth
# --------------------------------------------------------------------------------------------

# Each variant changes one thing in CHAPTER_SETTINGS ("all_changes": every change at once).
ABLATION_CHANGES: dict[str, str] = {
    "chapter": "the chapter's settings",
    "random_embeddings": "random embeddings instead of chapter 2's word vectors",
    "max_len_128": "the first 128 tokens instead of 512",
    "mean_pooling": "mean pooling instead of mean + max (BiLSTM only)",
    "lr_div_10": "learning rate 0.001 instead of 0.01",
    "no_dropout": "no dropout",
    "all_changes": "all of the above at once",
}
# Written by `benchmarks/classify.py --ablation`, read by the chapter: one row per training run.
ABLATION_CSV = Path(__file__).parent / "results" / "classify_ablation.csv"
_ABLATION_FIELDS = ["variant", "model", "seed", "best_epoch", "val_acc", "test_acc"]


def ablation_settings() -> dict[str, dict]:
    """CHAPTER_SETTINGS with each change of ABLATION_CHANGES, keyed like it."""

    def random_embeddings(s):
        s["word_vectors"] = None

    def max_len_128(s):
        s["max_len"] = 128

    def mean_pooling(s):
        s["lstm"]["model"]["pooling"] = "mean"  # the Transformer pools by the mean already

    def lr_div_10(s):
        for m in ("lstm", "transformer"):
            s[m]["train"]["lr"] /= 10

    def no_dropout(s):
        for m in ("lstm", "transformer"):
            s[m]["model"].update(dropout=0.0, embed_dropout=0.0)

    edits = [random_embeddings, max_len_128, mean_pooling, lr_div_10, no_dropout]
    variants = {"chapter": copy.deepcopy(CHAPTER_SETTINGS)}
    for edit in edits + [None]:
        s = copy.deepcopy(CHAPTER_SETTINGS)
        for e in edits if edit is None else [edit]:
            e(s)
        variants["all_changes" if edit is None else edit.__name__] = s
    assert list(variants) == list(ABLATION_CHANGES)
    return variants


def write_ablation(rows: Sequence[dict], path: str | Path, meta: dict[str, str]) -> None:
    """Write the ablation's runs as CSV, after `# key: value` lines saying how they were made."""
    with open(path, "w", newline="") as f:
        for key, value in meta.items():
            f.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(f, fieldnames=_ABLATION_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in _ABLATION_FIELDS})


def read_ablation(path: str | Path = ABLATION_CSV) -> tuple[dict[str, str], list[dict]]:
    """The `# key: value` lines and the rows (numbers parsed) of a file `write_ablation` wrote."""
    meta, lines = {}, []
    with open(path, newline="") as f:
        for line in f:
            if line.startswith("# "):
                key, _, value = line[2:].partition(": ")
                meta[key] = value.rstrip("\n")
            else:
                lines.append(line)
    rows = []
    for row in csv.DictReader(lines):
        rows.append(dict(row, seed=int(row["seed"]), best_epoch=int(row["best_epoch"]),
                         val_acc=float(row["val_acc"]), test_acc=float(row["test_acc"])))
    return meta, rows


def summarise_ablation(rows: Sequence[dict], column: str = "val_acc"
                       ) -> dict[tuple[str, str], tuple[float, float, float, int]]:
    """(variant, model) -> (mean, lowest, highest, number of seeds) of `column` over the seeds."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["model"]), []).append(row[column])
    return {key: (float(np.mean(v)), min(v), max(v), len(v)) for key, v in groups.items()}
