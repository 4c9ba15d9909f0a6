"""Which model for which job (chapter 9): language models compared at an equal compute budget,
and a discriminative classifier against a generative one on chapter 4's news task.

    flops = compare.train_flops_per_token(model)           # counted by FlopCounterMode
    rows = compare.equal_compute(train_ids, val_ids, V, **compare.NOTEBOOK["lm"])
    gen = compare.NGramClassifier(order=1, k=0.1).fit(bbc.train.texts, bbc.train.labels)
    gen.predict_proba(bbc.test.texts)                       # Bayes' rule: rows sum to 1

Compute is counted the same way for every network: `FlopCounterMode`'s count of the matrix
products of one forward and backward pass of a training batch (2 FLOPs per multiply-add),
divided by the batch's tokens, times the tokens trained on. For the GPT this equals
`book.scale.flops_per_token(shape, causal=False).training` (the counter sees attention's full
T x T score matrix, the causal half included); for the LSTM, `lstm_flops_per_token`'s hand count.
The n-gram model has no such cost: its training is counting (integer codes, a sort), with no
floating-point multiply at all; we report its seconds instead.

`NOTEBOOK` is sized for the chapter (one CPU thread, a few seconds per model); `BENCHMARK` is
what `benchmarks/compare.py` runs.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from book import env
from book import textgen as tg
from book.classify import CHAPTER_SETTINGS, TfidfLogReg
from book.scale import TransformerShape, flops_per_token
from book.text import Vocab

__all__ = ["BENCHMARK", "NOTEBOOK", "NGramClassifier", "build_lm", "classifier_comparison",
           "class_subset", "equal_compute", "lstm_flops_per_token", "ngram_row", "sample_ngram",
           "steps_for_budget", "train_flops_per_token", "window_targets"]

# Chapter 5's CPU recipe (AdamW, warm-up + cosine, clipping) for both networks.
_RECIPE = dict(batch_size=16, lr=4e-3, min_lr=4e-4, warmup_iters=30, weight_decay=0.1,
               beta2=0.99, grad_clip=1.0)
# Two small networks (0.21 M and 0.33 M training FLOPs per token): a 2-layer
# GPT of width 32 and a 1-layer LSTM of 96 units, both reading windows of 64 characters.
_GPT = dict(max_len=64, num_layers=2, num_heads=2, embed_dim=32, dropout=0.0, bias=False)
_LSTM = dict(max_len=64, embed_dim=32, hidden_size=96, num_layers=1, dropout=0.0)
NOTEBOOK: dict = {
    # budget: training FLOPs per network (701 GPT steps, 442 LSTM steps); orders: n-grams.
    # Measured on one thread of the 2-core machine: 7.5 s idle, 19 s loaded (load 8)
    "lm": dict(gpt=_GPT, lstm=_LSTM, train=_RECIPE, budgets=(1.5e11,), seeds=(0,),
               orders=(1, 2, 3, 4, 5, 6)),
    # chapter 4's TF-IDF settings; naive Bayes (order 1) and a word bigram model per class;
    # 9 s idle, 17 s loaded (the TF-IDF fit on all 1,779 articles is most of it)
    "classify": dict(orders=(1, 2), k=0.1, tfidf=CHAPTER_SETTINGS["tfidf_logreg"],
                     train_sizes=(50, None), seeds=(0,)),
}
BENCHMARK: dict = {
    "lm": dict(gpt=_GPT, lstm=_LSTM, train=_RECIPE, budgets=(1.5e11, 5e11, 1e12),
               seeds=(0, 1), orders=(1, 2, 3, 4, 5, 6, 7)),
    "classify": dict(orders=(1, 2, 3), k=0.1, tfidf=CHAPTER_SETTINGS["tfidf_logreg"],
                     train_sizes=(10, 25, 50, 100, 200, 400, 800, None), seeds=(0, 1, 2)),
}


# --- counting compute ---

def train_flops_per_token(model: torch.nn.Module, batch_size: int = 2) -> float:
    """Training FLOPs per token of a language model, as `FlopCounterMode` counts one forward
    and backward pass of a batch of (batch_size, max_len) random ids, divided by its tokens.

    Runs with attention's math kernel and oneDNN off: the fused kernels of SDPA and of the LSTM
    are invisible to the counter, their step-by-step versions are not. The gradients it leaves
    are cleared.
    """
    V, T = model.config.vocab_size, model.config.max_len
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    g = torch.Generator().manual_seed(0)
    x = torch.randint(V, (batch_size, T + 1), generator=g)  # (B, T + 1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "TF32 acceleration", UserWarning)  # no GPU here
        with sdpa_kernel(SDPBackend.MATH), torch.backends.mkldnn.flags(enabled=False), \
                FlopCounterMode(display=False) as counter:
            _, loss = model(x[:, :-1], x[:, 1:])
            loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / (batch_size * T)


def lstm_flops_per_token(cfg: tg.CharLSTMConfig) -> float:
    """A CharLSTM's training FLOPs per token, by hand: each layer multiplies its input (I) and
    its state (H) by the four gates' weights, 2 x 4H (I + H) FLOPs forward, the head 2 H V;
    forward + backward = 3 x forward (the backward pass multiplies by every matrix twice),
    less one product per layer and window: no gradient flows back into the initial state
    (zeros), which saves 2 x 4H x H FLOPs per layer over the window's max_len tokens."""
    H, V, T = cfg.hidden_size, cfg.vocab_size, cfg.max_len
    sizes = [cfg.embed_dim] + [H] * (cfg.num_layers - 1)  # each layer's input size I
    forward = sum(2 * 4 * H * (I + H) for I in sizes) + 2 * H * V
    return 3 * forward - cfg.num_layers * 2 * 4 * H * H / T


def _gpt_flops_per_token(cfg: tg.GPTConfig) -> int:
    """`book.scale`'s count for our GPT with the whole T x T attention counted (the counter's)."""
    return flops_per_token(TransformerShape.from_config(cfg), causal=False).training


def steps_for_budget(budget: float, flops_per_token: float, batch_size: int,
                     max_len: int) -> int:
    """The whole number of steps of batch_size x max_len tokens nearest to spending `budget`
    FLOPs (at least one)."""
    if budget <= 0 or flops_per_token <= 0:
        raise ValueError(f"budget and flops_per_token must be positive FLOP counts; got "
                         f"{budget} and {flops_per_token}")
    return max(1, round(budget / (flops_per_token * batch_size * max_len)))


# --- the three language models ---

def build_lm(kind: str, vocab_size: int, shape: dict, seed: int = 0) -> torch.nn.Module:
    """A GPT ("gpt") or a CharLSTM ("lstm") of `shape`, initialised with `seed`."""
    env.seed_everything(seed)
    if kind == "gpt":
        return tg.GPT(tg.GPTConfig(vocab_size=vocab_size, **shape))
    if kind == "lstm":
        return tg.CharLSTM(tg.CharLSTMConfig(vocab_size=vocab_size, **shape))
    raise ValueError(f"unknown model kind {kind!r}: use 'gpt' or 'lstm'")


def window_targets(n_tokens: int, max_len: int) -> np.ndarray:
    """The positions `tg.estimate_loss` (eval_iters=None) predicts in a split of n_tokens: the
    targets 1 .. W max_len of its W = (n_tokens - 1) // max_len non-overlapping windows. An
    n-gram model scored on exactly these characters sits in the same table as the networks."""
    W = (n_tokens - 1) // max_len
    if W < 1:
        raise ValueError(f"{n_tokens} tokens hold no window of max_len + 1 = {max_len + 1}")
    return np.arange(1, W * max_len + 1)


def ngram_row(order: int, train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int,
              max_len: int) -> tuple[dict, tg.NGramLM]:
    """Count a Kneser-Ney n-gram model on train_ids, score it on the characters the networks'
    windows predict; (row, model). Its "flops" are 0: counting multiplies nothing."""
    t0 = time.perf_counter()
    lm = tg.NGramLM(order, vocab_size, "kneser-ney").fit(train_ids.numpy())
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    losses = lm.token_losses(val_ids.numpy())[window_targets(len(val_ids), max_len)]
    eval_s = time.perf_counter() - t0
    loss = float(losses.mean())
    return ({"model": f"{order}-gram", "kind": "ngram", "seed": 0, "budget": 0.0,
             "params": sum(len(t.keys) for t in lm.tables), "flops": 0.0, "steps": 0,
             "tokens": len(train_ids), "val_loss": loss, "bpc": tg.bits_per_char(loss),
             "train_s": fit_s, "train_tok_s": len(train_ids) / fit_s,
             "eval_tok_s": len(losses) / eval_s}, lm)


def _network_row(kind: str, budget: float, seed: int, train_ids: torch.Tensor,
                 val_ids: torch.Tensor, vocab_size: int, shape: dict,
                 train: dict) -> tuple[dict, torch.nn.Module]:
    """Train one network for the steps that spend `budget`, measure it; (row, model)."""
    model = build_lm(kind, vocab_size, shape, seed)
    fpt = train_flops_per_token(model)
    B, T = train["batch_size"], shape["max_len"]
    steps = steps_for_budget(budget, fpt, B, T)
    cfg = tg.TrainConfig(**{**train, "max_iters": steps, "eval_interval": 0, "eval_iters": 0,
                            "warmup_iters": min(train["warmup_iters"], steps // 10),
                            "seed": seed})
    log = tg.train(model, train_ids, None, cfg, progress=False)
    t0 = time.perf_counter()
    loss = tg.estimate_loss(model, val_ids, 4 * B)
    eval_s = time.perf_counter() - t0
    n_eval = len(window_targets(len(val_ids), T))
    return ({"model": "GPT" if kind == "gpt" else "LSTM", "kind": kind, "seed": seed,
             "budget": budget, "params": model.num_params(), "flops": fpt * log.tokens,
             "steps": log.steps, "tokens": log.tokens, "val_loss": loss,
             "bpc": tg.bits_per_char(loss), "train_s": log.seconds,
             "train_tok_s": log.tokens / log.seconds, "eval_tok_s": n_eval / eval_s},
            model.eval())


def equal_compute(train_ids: torch.Tensor, val_ids: torch.Tensor, vocab_size: int, *,
                  gpt: dict, lstm: dict, train: dict, budgets: Sequence[float],
                  seeds: Sequence[int], orders: Sequence[int]) -> tuple[list[dict], dict]:
    """The n-gram models of `orders`, then for each budget and seed a GPT and an LSTM trained
    for the steps that spend that many FLOPs; all scored on the same validation characters.

    Returns (rows, models): a row per model (model, kind, seed, budget, params, flops, steps,
    tokens, val_loss in nats, bpc, train_s, train_tok_s, eval_tok_s: the last three depend on
    the machine) and the last model of each name, for sampling. An n-gram's "params" are the
    n-grams it stores.
    """
    if gpt["max_len"] != lstm["max_len"]:
        raise ValueError(f"the GPT and the LSTM must read windows of one length to be scored on "
                         f"the same characters; got max_len {gpt['max_len']} and "
                         f"{lstm['max_len']}")
    if not budgets or not seeds:
        raise ValueError("give at least one budget and one seed")
    rows, models = [], {}
    for order in orders:
        row, models[f"{order}-gram"] = ngram_row(order, train_ids, val_ids, vocab_size,
                                                  gpt["max_len"])
        rows.append(row)
    for budget in budgets:
        for seed in seeds:
            for kind, shape in (("gpt", gpt), ("lstm", lstm)):
                row, model = _network_row(kind, budget, seed, train_ids, val_ids, vocab_size,
                                          shape, train)
                rows.append(row)
                models[row["model"]] = model
    return rows, models


def sample_ngram(lm: tg.NGramLM, prompt: Sequence[int], n: int, seed: int = 0) -> list[int]:
    """prompt + n ids sampled one at a time from the n-gram model's next-token distribution."""
    rng = np.random.default_rng(seed)
    ids = list(prompt)
    for _ in range(n):
        p = lm.probs(np.asarray(ids[-(lm.order - 1):] if lm.order > 1 else [], dtype=np.int64))
        ids.append(int(rng.choice(lm.V, p=p / p.sum())))
    return ids


# --- a classifier against a generator ---

class NGramClassifier:
    """A generative classifier: one word n-gram language model per class, and Bayes' rule.

    P(class c | text) = P(c) P(text | c) / sum over c' of P(c') P(text | c'), where P(c) is the
    share of training texts in class c and P(text | c) the product of the class's n-gram model's
    next-word probabilities (`book.textgen.NGramLM` on chapter 4's word tokens, one shared
    vocabulary built from the training texts). order=1 with add-k smoothing is multinomial
    naive Bayes; order >= 2 uses Kneser-Ney.
    """

    def __init__(self, order: int = 1, k: float = 0.1, min_freq: int = 2) -> None:
        if order < 1:
            raise ValueError(f"order must be at least 1 (1: naive Bayes); got {order}")
        self.order, self.k, self.min_freq = order, k, min_freq
        self.models: list[tg.NGramLM] = []

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> NGramClassifier:
        """Build the vocabulary on `texts`, count each class's texts, set the priors."""
        y = np.asarray(labels)
        if len(texts) != len(y) or len(y) == 0:
            raise ValueError(f"give one label per text; got {len(texts)} texts and {len(y)} "
                             "labels")
        C = int(y.max()) + 1
        missing = sorted(set(range(C)) - set(y.tolist()))
        if y.min() < 0 or missing:
            raise ValueError(f"labels must be 0 .. C - 1 with every class present; classes "
                             f"{missing} have no training text")
        self.vocab = Vocab.build(texts, self.min_freq)
        smoothing = "add-k" if self.order == 1 else "kneser-ney"
        self.models = []
        for c in range(C):
            ids = np.concatenate([self.vocab.encode(t) for t, yi in zip(texts, y) if yi == c])
            self.models.append(tg.NGramLM(self.order, len(self.vocab), smoothing, self.k)
                               .fit(ids))
        self.log_prior = np.log(np.bincount(y, minlength=C) / len(y))
        return self

    def log_joint(self, texts: Sequence[str]) -> np.ndarray:
        """ln P(c) + ln P(text | c) for every text and class, (N, C)."""
        if not self.models:
            raise RuntimeError("call fit(texts, labels) first")
        out = np.empty((len(texts), len(self.models)))
        for i, t in enumerate(texts):
            ids = np.asarray(self.vocab.encode(t), dtype=np.int64)
            out[i] = [-m.token_losses(ids).sum() for m in self.models]
        return out + self.log_prior

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(class | text), (N, C): the joint normalised over classes (log-sum-exp, so that a
        text of thousands of words does not underflow)."""
        lj = self.log_joint(texts)
        lj -= lj.max(axis=1, keepdims=True)
        p = np.exp(lj)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The most probable class of each text (N,)."""
        return self.log_joint(texts).argmax(axis=1)

    def accuracy(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        """Fraction of `texts` classified correctly."""
        return float((self.predict(texts) == np.asarray(labels)).mean())


def class_subset(labels: Sequence[int], n: int, seed: int = 0) -> np.ndarray:
    """Indices of n training texts drawn at random (seeded), one of each class first, so that
    every class has a text; the subsets of one seed are nested (n < m: the first n of the m)."""
    y = np.asarray(labels)
    C = int(y.max()) + 1
    if not C <= n <= len(y):
        raise ValueError(f"n must be between the number of classes ({C}) and the number of "
                         f"texts ({len(y)}); got {n}")
    order = np.random.default_rng(seed).permutation(len(y))
    firsts = [order[np.flatnonzero(y[order] == c)[0]] for c in range(C)]
    rest = order[~np.isin(order, firsts)]
    return np.concatenate([np.sort(firsts), rest])[:n]


def classifier_comparison(data, orders: Sequence[int], k: float, tfidf: dict,
                          train_sizes: Sequence[int | None] = (None,),
                          seeds: Sequence[int] = (0,)) -> list[dict]:
    """Chapter 4's TF-IDF logistic regression and an `NGramClassifier` of each order, trained on
    `train_sizes` texts of `data.train` (None: all; `class_subset` draws the others, per seed),
    scored on the whole of `data.val` and `data.test`.

    Rows: model, kind ("discriminative" or "generative"), n_train, seed, val_acc, test_acc,
    test_nll (mean -ln P(true class | text) on the test texts: how well the probabilities are
    calibrated, not only the argmax), fit_s, predict_s (the seconds depend on the machine).
    """
    texts, labels = list(data.train.texts), np.asarray(data.train.labels)
    y_test = np.asarray(data.test.labels)
    rows = []
    for n in train_sizes:
        for seed in (seeds if n is not None else seeds[:1]):
            idx = np.arange(len(texts)) if n is None else class_subset(labels, n, seed)
            sub_texts, sub_labels = [texts[i] for i in idx], labels[idx]
            candidates = [("TF-IDF + logistic regression", "discriminative",
                           TfidfLogReg(**tfidf))]
            candidates += [(f"word {o}-gram LM per class + Bayes", "generative",
                            NGramClassifier(o, k)) for o in orders]
            for name, kind, clf in candidates:
                t0 = time.perf_counter()
                clf.fit(sub_texts, sub_labels)
                fit_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                val_acc = clf.accuracy(data.val.texts, data.val.labels)
                p = clf.predict_proba(data.test.texts)  # (N, C)
                predict_s = time.perf_counter() - t0
                rows.append({"model": name, "kind": kind, "n_train": len(idx), "seed": seed,
                             "val_acc": val_acc,
                             "test_acc": float((p.argmax(1) == y_test).mean()),
                             "test_nll": float(-np.log(np.maximum(
                                 p[np.arange(len(y_test)), y_test], 1e-300)).mean()),
                             "fit_s": fit_s, "predict_s": predict_s})
    return rows
