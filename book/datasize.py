"""How much data (chapter 9): learning curves of one fixed small GPT against the size of its
training set, and where each run sits in tokens per parameter beside published models.

    data = scaling.load_data(val_tokens=16_384)
    rows = datasize.learning_curve(data, **datasize.NOTEBOOK)   # one row per training-set size
    datasize.plot_learning_curve(rows)                          # train and val loss, log x axis
    datasize.published_table()                                  # GPT-3, Chinchilla, Llama 2, ...

Every run trains the SAME model (shape, initial weights, batches' seed) for the SAME number of
steps; only the text it draws its batches from differs: the first n characters of the training
split read from a seeded starting point (`nested_subsets`, so a smaller set is part of every
larger one). A small set is seen many times over (epochs = tokens seen / n), and the gap between
its training loss and its validation loss is overfitting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import torch

from book import textgen as tg
from book.challenges import train_gpt
from book.scale import param_count
from book.scaling import ScalingData

__all__ = ["BENCHMARK", "CHINCHILLA_TOKENS_PER_PARAM", "COLUMNS", "NOTEBOOK", "PUBLISHED",
           "learning_curve", "nested_subsets", "plot_learning_curve", "published_table"]

# Hoffmann et al. (2022): compute-optimal training uses about 20 tokens per parameter
CHINCHILLA_TOKENS_PER_PARAM = 20

# The model: a small GPT (2 layers of 32, context 32; 27,840 parameters) trained with chapter 5's
# CPU recipe at chapter 8's peak learning rate for width 32 (1e-2: 4e-3 left it on the bigram
# plateau, near 2.5 nats, after 400 steps). Sizes: characters of the training split (it has
# 1,003,854). NOTEBOOK took 14 s on one idle thread, 54 s loaded (load 8); BENCHMARK 68 s idle.
_MODEL = dict(max_len=32, num_layers=2, num_heads=2, embed_dim=32, dropout=0.0, bias=False)
_RECIPE = dict(batch_size=16, lr=1e-2, min_lr=1e-3, warmup_iters=30, weight_decay=0.1,
               beta2=0.99, grad_clip=1.0)
NOTEBOOK: dict = dict(model=_MODEL, train=_RECIPE, sizes=(10_000, 30_000, 100_000, 300_000,
                                                          1_000_000),
                      steps=800, seeds=(0,), train_eval_tokens=16_384)
BENCHMARK: dict = dict(model=_MODEL, train=_RECIPE,
                       sizes=(10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000),
                       steps=1500, seeds=(0, 1), train_eval_tokens=65_536)

COLUMNS = ("chars", "seed", "steps", "params", "N", "tokens_seen", "epochs",
           "tokens_per_param", "chars_per_param", "train_loss", "val_loss", "gap", "seconds")


def nested_subsets(ids: torch.Tensor, sizes: Sequence[int], seed: int = 0
                   ) -> list[torch.Tensor]:
    """One slice of `ids` per size: size tokens read from a start drawn with `seed`, wrapping
    round to the beginning (the one place where the end meets the start is the only seam).
    The slices of one seed are nested: each is the beginning of every longer one."""
    n = len(ids)
    if not sizes:
        raise ValueError("give at least one size")
    bad = [s for s in sizes if not 1 < s <= n]
    if bad:
        raise ValueError(f"sizes {bad} are outside 2 .. {n} (the tokens there are): use "
                         "smaller sizes")
    start = int(np.random.default_rng(seed).integers(n))
    rolled = torch.roll(torch.as_tensor(ids), -start)  # ids[start:] then ids[:start]
    return [rolled[:s].clone() for s in sizes]


def learning_curve(data: ScalingData, *, model: dict, train: dict, sizes: Sequence[int],
                   steps: int, seeds: Sequence[int], train_eval_tokens: int) -> list[dict]:
    """Train the GPT of shape `model` for `steps` steps on each of `nested_subsets` (per seed),
    then measure its loss on its own training text (the first train_eval_tokens tokens of it)
    and on data.val_ids, every window once (`tg.estimate_loss`).

    Rows (COLUMNS): chars (the training set's size), seed, steps, params (all), N (non-
    embedding), tokens_seen (steps x batch x max_len), epochs (tokens_seen / chars),
    tokens_per_param (tokens_seen / params), chars_per_param (distinct training tokens per
    parameter), train_loss, val_loss, gap (val - train, nats), seconds (machine-dependent).
    """
    T, B = model["max_len"], train["batch_size"]
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    small = [s for s in sizes if s <= T + 1]
    if small:
        raise ValueError(f"sizes {small} hold no training window of max_len + 1 = {T + 1} "
                         "tokens: use larger sizes")
    counts = param_count(tg.GPTConfig(vocab_size=data.vocab_size, **model))
    rows = []
    for seed in seeds:
        for chars, ids in zip(sizes, nested_subsets(data.train_ids, sizes, seed)):
            t0 = time.perf_counter()
            gpt = train_gpt(ids, data.vocab_size, model, train, steps, seed)
            train_loss = tg.estimate_loss(gpt, ids[:max(train_eval_tokens, T + 1)], 4 * B)
            val_loss = tg.estimate_loss(gpt, data.val_ids, 4 * B)
            seen = steps * B * T
            rows.append({"chars": chars, "seed": seed, "steps": steps,
                         "params": counts["total"], "N": counts["non_embedding"],
                         "tokens_seen": seen, "epochs": seen / chars,
                         "tokens_per_param": seen / counts["total"],
                         "chars_per_param": chars / counts["total"], "train_loss": train_loss,
                         "val_loss": val_loss, "gap": val_loss - train_loss,
                         "seconds": time.perf_counter() - t0})
    return rows


def plot_learning_curve(rows: Sequence[dict], ax=None, title: str | None = None):
    """Training and validation loss against the training set's size (log x axis), the mean
    over seeds with every seed's point; returns ax."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    chars = sorted({r["chars"] for r in rows})
    for key, style, label in (("val_loss", "o-", "validation"), ("train_loss", "s--",
                                                                 "training (its own text)")):
        mean = [np.mean([r[key] for r in rows if r["chars"] == c]) for c in chars]
        line, = ax.semilogx(chars, mean, style, label=label)
        ax.semilogx([r["chars"] for r in rows], [r[key] for r in rows], ".",
                    color=line.get_color(), alpha=0.5)
    ax.set_xlabel("training set size (characters)")
    ax.set_ylabel("loss (nats per character)")
    steps = sorted({r["steps"] for r in rows})
    ax.set_title(title or f"One GPT, {'/'.join(map(str, steps))} steps, more or less data")
    ax.legend()
    return ax


# Published models: parameters and training tokens as their papers state them; key: the entry
# in assets/references.bib. GPT-2's paper gives its data in bytes (40 GB of WebText), not tokens.
PUBLISHED: list[dict] = [
    dict(model="GPT-3 175B", params=175e9, tokens=300e9, key="brown2020gpt3"),
    dict(model="PaLM 540B", params=540e9, tokens=780e9, key="chowdhery2022palm"),
    dict(model="Chinchilla 70B", params=70e9, tokens=1.4e12, key="hoffmann2022chinchilla"),
    dict(model="Llama 2 7B", params=7e9, tokens=2e12, key="touvron2023llama2"),
    dict(model="Llama 2 70B", params=70e9, tokens=2e12, key="touvron2023llama2"),
]


def published_table() -> list[dict]:
    """PUBLISHED with tokens_per_param = tokens / params for each model."""
    return [dict(r, tokens_per_param=r["tokens"] / r["params"]) for r in PUBLISHED]


def chinchilla_tokens(params: float) -> float:
    """The training tokens Hoffmann et al.'s rule of thumb gives `params` parameters."""
    if not params > 0 or math.isinf(params):
        raise ValueError(f"params must be a positive number; got {params}")
    return CHINCHILLA_TOKENS_PER_PARAM * params
