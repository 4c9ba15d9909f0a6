"""How to optimise training (chapter 9, §9.4): chapter 5's GPT recipe taken apart one knob at a
time, every change run with several seeds and compared with the baseline of the same seed.

    test = lr_range_test(NOTEBOOK["model"], train_ids, seed=0, **NOTEBOOK["range_test"])
    suggest_lr(test.lrs, test.losses)            # the smoothed minimum's learning rate / 10
    rows = run_ablation(train_ids, val_ids, NOTEBOOK)                       # one row per run
    print(format_table(summarize(rows, "baseline"), "baseline", params=False))

- `lr_range_test`: a fresh GPT trained while the learning rate grows geometrically, the
  training loss of every step recorded; `smooth_losses` and `suggest_lr` read its curve.
- `Recipe`: the knobs (peak learning rate, warm-up, cosine or constant, batch size, clipping,
  weight decay, dropout, initialisation); `BASELINE`, `variants` (each a change of ONE knob),
  `train_config`.
- `run_variant`, `run_ablation`: the runs; `summarize` and `format_table` (from
  `book.textgen.variants`) turn them into means, standard deviations and paired differences.
- `NOTEBOOK` (the chapter's live run) and `BENCHMARK` (`benchmarks/training_ablation.py`).

Every run of one seed starts from the same initial weights (except "PyTorch init", whose point
is other weights) and trains on the same number of tokens: the batch-size variants change the
number of steps so that every run sees as much text and spends as much compute, and the
comparison is about how the tokens are used, not how many there are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import torch
from torch import nn

from book.scaling import read_csv as read_table
from book.textgen.models import GPT, GPTConfig
from book.textgen.train import TrainConfig, estimate_loss, get_batch, make_optimizer, train_step
from book.textgen.train import train as train_model
from book.textgen.variants import format_table, summarize

__all__ = ["BASELINE", "BENCHMARK", "COLUMNS", "NOTEBOOK", "RANGE_COLUMNS", "VARIANTS",
           "RangeTest", "Recipe", "format_table", "geometric_lrs", "lr_range_test",
           "pytorch_init", "read_csv", "run_ablation", "run_variant", "smooth_losses", "suggest_lr",
           "summarize", "train_config", "variants"]


@dataclass(frozen=True)
class Recipe:
    """The knobs of a training run that the ablation turns, one at a time."""

    lr: float = 4e-3            # peak learning rate (chapter 5's CPU recipe)
    warmup: float = 0.1         # fraction of the steps spent rising linearly to lr (0: none)
    decay: str = "cosine"       # "cosine" down to lr / 10 at the last step, or "constant"
    batch_size: int = 16        # windows per step; the steps follow from the tokens
    grad_clip: float = 1.0      # max global gradient norm (0: no clipping)
    weight_decay: float = 0.1   # AdamW's decay, on matrices and embeddings only
    dropout: float = 0.0        # GPTConfig.dropout
    init: str = "gpt"           # "gpt": GPT._init_weights; "pytorch": each layer's own default

    def __post_init__(self) -> None:
        if self.decay not in ("cosine", "constant"):
            raise ValueError(f"decay must be 'cosine' or 'constant', not {self.decay!r}")
        if self.init not in ("gpt", "pytorch"):
            raise ValueError(f"init must be 'gpt' or 'pytorch', not {self.init!r}")
        if not 0 <= self.warmup < 1:
            raise ValueError(f"warmup is a fraction of the steps in [0, 1); got {self.warmup}")


BASELINE = Recipe()

# name -> the one knob it changes, relative to the baseline recipe
VARIANTS: dict[str, Callable[[Recipe], dict]] = {
    "baseline": lambda r: {},
    "no warm-up": lambda r: {"warmup": 0.0},
    "constant lr": lambda r: {"decay": "constant"},
    "lr x0.3": lambda r: {"lr": r.lr * 0.3},
    "lr x3": lambda r: {"lr": r.lr * 3},
    "half batch": lambda r: {"batch_size": r.batch_size // 2},
    "double batch": lambda r: {"batch_size": r.batch_size * 2},
    "no clipping": lambda r: {"grad_clip": 0.0},
    "no weight decay": lambda r: {"weight_decay": 0.0},
    "dropout 0.1": lambda r: {"dropout": 0.1},
    "PyTorch init": lambda r: {"init": "pytorch"},
}

# The chapter's live run: all eleven variants, one seed, a 2-layer GPT of width 64 on 150 steps
# of 16 windows of 64 characters (153,600 tokens); validation on the first 32,768 validation
# characters. The range test: 100 steps from 1e-5 to 1.
NOTEBOOK: dict = {
    "model": dict(max_len=64, num_layers=2, num_heads=4, embed_dim=64),
    "recipe": BASELINE,
    "steps": 150,
    "seeds": (0,),
    "variants": tuple(VARIANTS),
    "val_tokens": 32_768,
    "range_test": dict(steps=100, lr_min=1e-5, lr_max=1.0),
}
# benchmarks/training_ablation.py: the same model and recipe, 300 steps (307,200 tokens), five
# seeds, the whole validation split; the range test as in the chapter, for every seed.
BENCHMARK: dict = {
    **NOTEBOOK,
    "steps": 300,
    "seeds": (0, 1, 2, 3, 4),
    "val_tokens": None,
}

# one row per run (CSV columns of benchmarks/results/training_ablation.csv)
COLUMNS = ("variant", "seed", "lr", "warmup", "decay", "batch_size", "grad_clip",
           "weight_decay", "dropout", "init", "steps", "tokens", "train_loss", "val_loss",
           "seconds")
RANGE_COLUMNS = ("seed", "step", "lr", "loss")
_INTS = {"seed", "batch_size", "steps", "tokens", "step"}
_FLOATS = {"lr", "warmup", "grad_clip", "weight_decay", "dropout", "train_loss", "val_loss",
           "seconds", "loss"}


def read_csv(path: str | Path, columns: Sequence[str] = COLUMNS) -> tuple[dict[str, str],
                                                                          list[dict]]:
    """(header, rows) of a CSV that benchmarks/training_ablation.py wrote (`book.scaling.
    read_csv` with this module's columns; RANGE_COLUMNS for the range-test curves)."""
    return read_table(path, columns=columns, int_columns=_INTS, float_columns=_FLOATS)


def variants(base: Recipe = BASELINE, names: Sequence[str] = tuple(VARIANTS)
             ) -> dict[str, Recipe]:
    """The recipe of each named variant: `base` with its one knob changed."""
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}: choose from {list(VARIANTS)}")
    return {n: replace(base, **VARIANTS[n](base)) for n in names}


def train_config(recipe: Recipe, tokens: int, max_len: int, seed: int = 0) -> TrainConfig:
    """The TrainConfig of `recipe` for a run of `tokens` training tokens in windows of
    `max_len`: steps = tokens / (batch_size x max_len), warm-up and cosine counted in those
    steps, min_lr = lr / 10 (cosine) or lr (constant), no evaluation during training."""
    per_step = recipe.batch_size * max_len
    if recipe.batch_size < 1 or tokens < per_step or tokens % per_step:
        raise ValueError(f"{tokens:,} tokens do not make a whole number of steps of "
                         f"batch_size x max_len = {recipe.batch_size} x {max_len}: choose "
                         "tokens as a multiple of it")
    steps = tokens // per_step
    return TrainConfig(batch_size=recipe.batch_size, max_iters=steps, lr=recipe.lr,
                       min_lr=recipe.lr / 10 if recipe.decay == "cosine" else recipe.lr,
                       warmup_iters=round(recipe.warmup * steps),
                       weight_decay=recipe.weight_decay, beta2=0.99,
                       grad_clip=recipe.grad_clip, eval_interval=0, eval_iters=0, seed=seed)


def pytorch_init(model: nn.Module) -> nn.Module:
    """Re-initialise every layer with PyTorch's own default (`reset_parameters`): Embedding
    N(0, 1), Linear uniform within ±1/sqrt(fan_in), norms 1 and 0. The GPT's tied
    embedding/head matrix ends as the head's Linear leaves it (the head comes last)."""
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return model


def _model(model: dict, vocab_size: int, recipe: Recipe, seed: int) -> GPT:
    """A fresh GPT of shape `model` with the recipe's dropout and initialisation."""
    torch.manual_seed(seed)  # the same initial weights for every variant of one seed
    gpt = GPT(GPTConfig(**{"vocab_size": vocab_size, **model, "dropout": recipe.dropout}))
    return pytorch_init(gpt) if recipe.init == "pytorch" else gpt


def run_variant(name: str, recipe: Recipe, model: dict, train_ids: torch.Tensor,
                val_ids: torch.Tensor, tokens: int, seed: int, device: str = "cpu",
                eval_batch: int = 64) -> dict:
    """Train one GPT with `recipe` on `tokens` tokens; return its row (COLUMNS): the recipe,
    steps, tokens, train_loss (mean of the last 10% of steps' batch losses), val_loss (nats,
    every token of val_ids predicted once, in windows of max_len; nan if training diverged)
    and seconds (the training loop's wall time)."""
    vocab = int(max(train_ids.max(), val_ids.max())) + 1
    gpt = _model(model, vocab, recipe, seed)
    cfg = train_config(recipe, tokens, model["max_len"], seed)
    losses: list[torch.Tensor] = []
    log = train_model(gpt, train_ids, None, cfg, device, progress=False,
                      on_step=lambda step, info: losses.append(info["loss"]))
    tail = torch.stack(losses[-max(1, len(losses) // 10):])
    val = estimate_loss(gpt, val_ids.to(next(gpt.parameters()).device), eval_batch)
    return {"variant": name, "seed": seed, **{f.name: getattr(recipe, f.name)
                                               for f in fields(recipe)},
            "steps": log.steps, "tokens": log.tokens, "train_loss": tail.mean().item(),
            "val_loss": val, "seconds": log.seconds}


def run_ablation(train_ids: torch.Tensor, val_ids: torch.Tensor, settings: dict = NOTEBOOK,
                 device: str = "cpu", on_row: Callable[[dict], None] | None = None
                 ) -> list[dict]:
    """Every variant of settings["variants"] for every seed of settings["seeds"] (seed by
    seed); one row per run (`run_variant`). Tokens per run: settings["steps"] at the baseline
    recipe's batch size. `on_row(row)` is called after each run (a benchmark prints it)."""
    train_ids, val_ids = torch.as_tensor(train_ids), torch.as_tensor(val_ids)
    if settings.get("val_tokens") is not None:
        val_ids = val_ids[:settings["val_tokens"]]
    recipes = variants(settings["recipe"], settings["variants"])
    T = settings["model"]["max_len"]
    tokens = settings["steps"] * settings["recipe"].batch_size * T
    rows = []
    for seed in settings["seeds"]:
        for name, recipe in recipes.items():
            rows.append(run_variant(name, recipe, settings["model"], train_ids, val_ids,
                                    tokens, seed, device))
            if on_row is not None:
                on_row(rows[-1])
    return rows


@dataclass
class RangeTest:
    """A learning-rate range test's curve: the learning rate and the training loss of every
    step done, and whether it stopped before its last step (the loss blew up)."""

    lrs: list[float]
    losses: list[float]
    stopped_early: bool

    def suggestion(self, beta: float = 0.9) -> float:
        """`suggest_lr` of this curve."""
        return suggest_lr(self.lrs, self.losses, beta)


def geometric_lrs(lr_min: float, lr_max: float, steps: int) -> list[float]:
    """`steps` learning rates from lr_min to lr_max, each the previous one times a constant."""
    if not 0 < lr_min < lr_max or steps < 2:
        raise ValueError(f"need 0 < lr_min < lr_max and steps >= 2; got lr_min={lr_min}, "
                         f"lr_max={lr_max}, steps={steps}")
    return [lr_min * (lr_max / lr_min) ** (i / (steps - 1)) for i in range(steps)]


def lr_range_test(model: dict, train_ids: torch.Tensor, seed: int = 0, steps: int = 100,
                  lr_min: float = 1e-5, lr_max: float = 1.0, recipe: Recipe = BASELINE,
                  stop_factor: float = 4.0, device: str = "cpu") -> RangeTest:
    """Train a fresh GPT (shape `model`, the recipe's batch size, AdamW, weight decay,
    clipping, dropout and initialisation) for up to `steps` steps, the learning rate growing
    geometrically from lr_min to lr_max, and record (lr, batch loss) at every step. Stops
    after the first step whose loss is not finite or exceeds stop_factor x the lowest so far.
    The loss at a step is the batch's loss before that step's update. Seeded: the same call
    gives the same curve on the same machine."""
    lrs = geometric_lrs(lr_min, lr_max, steps)
    train_ids = torch.as_tensor(train_ids).to(device)
    gpt = _model(model, int(train_ids.max()) + 1, recipe, seed).to(device)
    cfg = train_config(recipe, recipe.batch_size * model["max_len"], model["max_len"], seed)
    opt = make_optimizer(gpt, cfg, torch.device(device).type)
    gen = torch.Generator(device=device).manual_seed(seed)
    gpt.train()
    losses: list[float] = []
    for lr in lrs:
        x, y = get_batch(train_ids, recipe.batch_size, model["max_len"], gen)
        losses.append(train_step(gpt, opt, x, y, lr, recipe.grad_clip).item())
        if not math.isfinite(losses[-1]) or losses[-1] > stop_factor * min(losses):
            break
    return RangeTest(lrs[:len(losses)], losses, len(losses) < steps)


def smooth_losses(losses: Sequence[float], beta: float = 0.9) -> list[float]:
    """The bias-corrected exponential moving average of a loss curve: m_0 = 0,
    m_t = beta m_{t-1} + (1 - beta) loss_t, s_t = m_t / (1 - beta^t), for t = 1..n."""
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1); got {beta}")
    m, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        m = beta * m + (1 - beta) * float(loss)
        out.append(m / (1 - beta ** t))
    return out


def suggest_lr(lrs: Sequence[float], losses: Sequence[float], beta: float = 0.9) -> float:
    """The learning rate a range test suggests: smooth the losses (`smooth_losses`), keep the
    points before the first that is not finite or exceeds 4 x the lowest smoothed loss before
    it (divergence), and return the learning rate of the lowest kept point (the first on
    ties), divided by 10."""
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses must have the same length; got {len(lrs)} and "
                         f"{len(losses)}")
    if len(lrs) < 2:
        raise ValueError(f"a range test needs at least 2 points; got {len(lrs)}")
    if not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise ValueError("learning rates must be positive and finite")
    if any(b <= a for a, b in zip(lrs, lrs[1:])):
        raise ValueError("learning rates must be strictly increasing, as a range test "
                         "raises them step by step")
    smooth = smooth_losses(losses, beta)
    kept: list[float] = []
    for s in smooth:
        if not math.isfinite(s) or (kept and s > 4 * min(kept)):
            break
        kept.append(s)
    if not kept:
        raise ValueError("the first loss is not finite: the range test diverged at once; "
                         "start it from a smaller lr_min")
    return float(lrs[kept.index(min(kept))]) / 10
