"""Debugging a model (chapter 7): one tool for each kind of bug, tried on the book's own models.

- Activations: `ActivationStats` records each layer's mean, std, max |x| and share of NaN/inf
  with forward hooks; `first_nonfinite` names the module where NaN or inf first appeared;
  `anomaly_report` names the backward operation that made a NaN gradient.
- Training: `update_ratios` and `track_update_ratios` measure ||Δw|| / ||w|| per parameter
  (`plot_update_ratios`); `diagnose_loss_curve` reads a loss curve; `overfit_one_batch`.
- Data: `decode_batch` shows a batch's inputs and targets as aligned text;
  `targets_are_shifted` checks that targets are the inputs moved by one.
- The model's promises: `future_leakage` / `leaks_future` test causality; `gradient_check`
  compares a backward pass with finite differences; `check_shapes` asserts named dimensions.
- Runs: `reproducible` runs a function twice from one seed and compares the results bit for bit;
  `deterministic` switches on `torch.use_deterministic_algorithms` for a block of code.

    with ActivationStats(model, Block) as acts:
        model(idx)
    print(acts.table())
    where = first_nonfinite(model, idx)          # None, or the module that made the first NaN
    leaks_future(model, idx)                     # False for a causal language model
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from book.env import REPOSITORY, seed_everything
from book.gradcheck import numerical_grad, rel_error
from book.optim import adamw

__all__ = [
    "ActivationStats", "GradCheck", "LayerStats", "NonFinite", "ShapeError", "VERDICTS",
    "anomaly_report", "bitwise_equal", "check_shapes", "decode_batch", "deterministic",
    "diagnose_loss_curve", "first_nonfinite", "future_leakage", "gradient_check", "layer_stats",
    "leaks_future", "overfit_one_batch", "plot_update_ratios", "reproducible", "snapshot",
    "targets_are_shifted", "track_update_ratios", "update_ratios",
]


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    """Every tensor in obj: a tensor, or tuples, lists and dict values of them (None skipped)."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, Mapping):
        for item in obj.values():
            yield from _tensors(item)


def _first_tensor(obj: Any, what: str) -> torch.Tensor:
    """The first tensor of obj (a model's output, or (logits, loss)), or a TypeError."""
    for t in _tensors(obj):
        return t
    raise TypeError(f"{what} returned {type(obj).__name__}, which holds no tensor")


# ---------------------------------------------------------------------------------------------
# Activation statistics


@dataclass(frozen=True)
class LayerStats:
    """What one call of one module output: its shape and four numbers.

    `mean` and `std` are `tensor.mean()` and `tensor.std()` of the whole output (torch's std,
    with Bessel's correction), so they are NaN as soon as one value is; `nonfinite` is the
    fraction of values that are NaN or ±inf; `max_abs` the largest |x| among the finite ones
    (0 when none is), which shows a layer growing before it overflows.
    """

    name: str
    shape: tuple[int, ...]
    mean: float
    std: float
    max_abs: float
    nonfinite: float


def layer_stats(name: str, output: torch.Tensor) -> LayerStats:
    """The LayerStats of one output tensor, computed in float32 (float64 stays float64)."""
    x = output.detach()
    x = x if x.dtype == torch.float64 else x.float()  # bf16/fp16 sums lose too much
    finite = torch.isfinite(x)
    n = x.numel()
    std = x.std().item() if n > 1 else 0.0
    max_abs = x.abs()[finite].max().item() if bool(finite.any()) else 0.0
    return LayerStats(name, tuple(x.shape), x.mean().item(), std, max_abs,
                      1.0 - finite.sum().item() / max(n, 1))


def _mean_text(s: LayerStats, digits: int) -> str:
    return "0" if abs(s.mean) < 1e-5 * s.max_abs else f"{s.mean:.{digits}g}"


ModuleChoice = type | tuple[type, ...] | Iterable[str] | None


def _chosen(model: nn.Module, modules: ModuleChoice) -> list[tuple[str, nn.Module]]:
    """(name, module) pairs picked by `modules` (see ActivationStats), in the model's order."""
    named = list(model.named_modules())
    if modules is None:
        picked = [(n, m) for n, m in named if n and not any(True for _ in m.children())]
    elif isinstance(modules, type) or (isinstance(modules, tuple)
                                       and all(isinstance(k, type) for k in modules)):
        picked = [(n, m) for n, m in named if isinstance(m, modules)]
    else:
        wanted = [modules] if isinstance(modules, str) else list(modules)
        by_name = dict(named)
        unknown = [w for w in wanted if w not in by_name]
        if unknown:
            some = ", ".join(repr(n) for n, _ in named[1:6])
            raise KeyError(f"no module named {unknown} in the model; names look like {some} "
                           "(see model.named_modules())")
        picked = [(w, by_name[w]) for w in wanted]
    if not picked:
        raise ValueError(f"{modules!r} picks no module of this {type(model).__name__}: pass a "
                         "class it contains (e.g. nn.Linear), or names from named_modules()")
    return picked


class ActivationStats:
    """Forward hooks that record every chosen module's output statistics (`LayerStats`).

    `modules` picks the layers: None for every leaf module (one with no submodules), a class or
    a tuple of classes (`Block`, `nn.Linear`), or a list of names from `model.named_modules()`.
    Use it as a context manager: the hooks are removed on leaving, even after an error.

        with ActivationStats(gpt, Block) as acts:
            gpt(idx)
        acts.stats["blocks.0"].std;  print(acts.table());  acts.plot("std")

    `history[name]` keeps one LayerStats per call (a module used twice is recorded twice);
    `stats` is the latest of each, in the order the modules first ran.
    """

    def __init__(self, model: nn.Module, modules: ModuleChoice = None) -> None:
        self.model = model
        self.modules = _chosen(model, modules)
        self.history: dict[str, list[LayerStats]] = {}
        self._handles: list[Any] = []

    def _hook(self, name: str) -> Callable:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            out = next((t for t in _tensors(output) if t.is_floating_point()), None)
            if out is not None:  # an Embedding's ids are integers; its output is not
                self.history.setdefault(name, []).append(layer_stats(name, out))
        return hook

    def attach(self) -> ActivationStats:
        """Register the hooks (the `with` statement does this)."""
        if self._handles:
            raise RuntimeError("the hooks are already attached")
        self._handles = [m.register_forward_hook(self._hook(n)) for n, m in self.modules]
        return self

    def remove(self) -> None:
        """Remove the hooks; what they recorded stays."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> ActivationStats:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.remove()

    @property
    def stats(self) -> dict[str, LayerStats]:
        """The latest LayerStats of each module that ran, in the order they first ran."""
        return {name: calls[-1] for name, calls in self.history.items()}

    def table(self, digits: int = 3) -> str:
        """A text table of `stats`: one row per layer, numbers to `digits` significant digits;
        a mean below 1e-5 of the layer's max |x| (float32 round-off: a LayerNorm's output has
        mean 0) prints as 0, so the table reads the same on every machine."""
        if not self.history:
            raise RuntimeError("nothing recorded: run the model inside `with ActivationStats(...)`")
        head = ("layer", "shape", "mean", "std", "max |x|", "NaN/inf")
        rows = [(s.name, "x".join(map(str, s.shape)), _mean_text(s, digits),
                 f"{s.std:.{digits}g}", f"{s.max_abs:.{digits}g}", f"{s.nonfinite:.0%}")
                for s in self.stats.values()]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in [head, *rows]]
        return "\n".join(line.rstrip() for line in lines)

    def plot(self, stat: str = "std", ax: Any = None, log: bool = True, label: str | None = None):
        """One point per layer of `stat` ("mean", "std", "max_abs" or "nonfinite"), in order;
        returns the matplotlib Axes (pass `ax` to draw two runs on one)."""
        import matplotlib.pyplot as plt

        if stat not in ("mean", "std", "max_abs", "nonfinite"):
            raise ValueError(f"stat must be mean, std, max_abs or nonfinite; got {stat!r}")
        stats = list(self.stats.values())
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3))
        ax.plot(range(len(stats)), [getattr(s, stat) for s in stats], "o-", label=label)
        ax.set_xticks(range(len(stats)), [s.name for s in stats], rotation=60, ha="right",
                      fontsize=8)
        if log and stat != "mean":
            ax.set_yscale("log")
        ax.set_ylabel(stat)
        return ax


# ---------------------------------------------------------------------------------------------
# Where NaN and inf come from


@dataclass(frozen=True)
class NonFinite:
    """The first NaN or inf of a forward pass: the module whose own code made it, where it was
    first seen (that module's output, or the input of one of its submodules), and how many."""

    module: str      # its name in named_modules(); "" is the model itself
    kind: str        # its class name
    seen_at: str     # "output of blocks.1.mlp.1" or "input of blocks.0.attn.out_proj"
    nan: int
    inf: int
    size: int

    def __str__(self) -> str:
        name = self.module or "the model itself"
        where = "its output" if self.seen_at == f"output of {self.module or 'the model'}" \
            else f"the {self.seen_at}, so its own code did it"
        return (f"{name} ({self.kind}) made the first non-finite values: {self.nan} NaN and "
                f"{self.inf} inf of {self.size}, in {where}")


def _count_nonfinite(obj: Any) -> tuple[int, int, int] | None:
    """(NaN count, inf count, size) of the first floating tensor in obj that has any; or None."""
    for t in _tensors(obj):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return int(torch.isnan(t).sum()), int(torch.isinf(t).sum()), t.numel()
    return None


@torch.no_grad()
def first_nonfinite(model: nn.Module, *args: Any, **kwargs: Any) -> NonFinite | None:
    """Run model(*args, **kwargs) and say which module first produced NaN or inf; None if none.

    Every module gets a pre-hook (its inputs) and a hook (its output), so the checks run in the
    order the code runs. If a module's output is the first non-finite tensor, that module's own
    code made it (its submodules' outputs were all finite); if the input of a submodule is, the
    code of the module running around it did (e.g. `torch.log` inside a forward method).
    """
    bad = _count_nonfinite((args, kwargs))
    if bad is not None:
        raise ValueError(f"the inputs already hold {bad[0]} NaN and {bad[1]} inf values: the "
                         "problem is upstream of the model (data, or an earlier step)")
    names = {m: n for n, m in model.named_modules()}
    running: list[nn.Module] = []  # the modules whose forward has started and not finished
    found: list[NonFinite] = []

    def pre(module: nn.Module, inputs: Any) -> None:
        counts = _count_nonfinite(inputs) if not found else None
        if counts is not None:
            owner = running[-1] if running else model
            found.append(NonFinite(names[owner], type(owner).__name__,
                                   f"input of {names[module] or 'the model'}", *counts))
        running.append(module)

    def post(module: nn.Module, inputs: Any, output: Any) -> None:
        running.pop()
        counts = _count_nonfinite(output) if not found else None
        if counts is not None:
            found.append(NonFinite(names[module], type(module).__name__,
                                   f"output of {names[module] or 'the model'}", *counts))

    handles = [h for m in model.modules()
               for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    try:
        model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return found[0] if found else None


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<func>\S+)\s*$')


def _forward_trace(text: str) -> list[str]:
    """The frames of anomaly mode's "Traceback of forward call" below `anomaly_report`, without
    file paths, line numbers or torch's own frames: ["book/torch_nn.py, forward: x = ..."]."""
    frames: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _FRAME.match(line)
        if match:
            code = lines[i + 1].strip() if i + 1 < len(lines) else ""
            frames.append((match["file"], match["func"], code))
    here = [i for i, (file, func, _) in enumerate(frames)
            if Path(file).resolve() == Path(__file__).resolve() and func == "anomaly_report"]
    frames = frames[here[-1] + 1:] if here else frames
    torch_dir = Path(torch.__file__).resolve().parent
    shown = []
    for file, func, code in frames:
        path = Path(file).resolve()
        if path.is_relative_to(torch_dir):
            continue  # Module._call_impl and friends: the same in every traceback
        where = path.relative_to(REPOSITORY).as_posix() if path.is_relative_to(REPOSITORY) \
            else None  # a notebook cell's file is a temporary path: leave it out
        shown.append(f"{where + ', ' if where else ''}{func}: {code}")
    return shown


def anomaly_report(fn: Callable[[], object]) -> str | None:
    """Run `fn` (a forward AND backward pass) under `torch.autograd.detect_anomaly`; return what
    it found, cleaned for printing, or None if every gradient was finite.

    Anomaly mode records where each operation was made in the forward pass and checks every
    backward operation's output; the first NaN raises "Function 'XBackward0' returned nan
    values in its 0th output." The report is that sentence and the forward call that made
    the operation, innermost last, without file paths, line numbers, torch's internal frames
    or addresses, so that it prints the same on every machine. Slow: for debugging only.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.autograd.detect_anomaly(check_nan=True):
                fn()
        except RuntimeError as err:
            message = str(err).splitlines()[0]
            if "returned nan values" not in message:
                raise  # a different error: not ours to hide
        else:
            return None
    trace = next((str(w.message) for w in caught
                  if "Traceback of forward call" in str(w.message)), "")
    frames = _forward_trace(trace)
    lines = [message]
    if frames:
        lines += ["Made in the forward pass by (innermost last):"] + [f"  {f}" for f in frames]
    return re.sub(r"0x[0-9a-fA-F]+", "0x…", "\n".join(lines))


# ---------------------------------------------------------------------------------------------
# How big the updates are


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every trainable parameter, by name (a tied weight once, under its first name)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def update_ratios(before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]
                  ) -> dict[str, float]:
    """||after − before|| / ||before|| for each tensor (Frobenius norms, in float64).

    The rule of thumb is that a step changes a weight by about 1e-3 of its size: much less and
    the layer barely learns, much more and it thrashes (Stanford's CS231n notes, "Neural
    Networks Part 3", with these norms; Karpathy's makemore lecture, part 3, plots
    std(update) / std(weight) on a log scale with a line at 1e-3, the same ratio for weights
    with a mean near 0). It is a rough guide, for plain SGD: Adam moves every weight by about
    the learning rate, so its ratio is about lr / rms(w), and what tells is a layer far from the
    others. A tensor that was all zeros has no ratio: NaN.
    """
    if before.keys() != after.keys():
        raise KeyError(f"before and after must hold the same tensors; only in one: "
                       f"{sorted(before.keys() ^ after.keys())}")
    out = {}
    for name, w in before.items():
        w, w2 = w.detach().double(), after[name].detach().double()
        size = w.norm().item()
        out[name] = (w2 - w).norm().item() / size if size > 0 else math.nan
    return out


def track_update_ratios(model: nn.Module, step: Callable[[], object], steps: int
                        ) -> dict[str, list[float]]:
    """Call `step()` (one optimiser step on `model`) `steps` times; return each trainable
    parameter's update ratio (`update_ratios`) at every step, by name."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    history: dict[str, list[float]] = {}
    for _ in range(steps):
        before = snapshot(model)
        step()
        for name, ratio in update_ratios(before, snapshot(model)).items():
            history.setdefault(name, []).append(ratio)
    return history


def plot_update_ratios(history: Mapping[str, Sequence[float]], ax: Any = None,
                       guide: float = 1e-3, only_matrices: Mapping[str, int] | None = None):
    """One line per parameter of `track_update_ratios`'s history, on a log scale, with the 1e-3
    guide as a dashed line; returns the matplotlib Axes. `only_matrices`: name -> dimension
    count (e.g. {n: p.dim() for n, p in model.named_parameters()}) keeps the 2-D ones only, as
    Karpathy's plot does (gains and biases follow other rules)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for name, ratios in history.items():
        if only_matrices is not None and only_matrices.get(name, 0) < 2:
            continue
        ax.plot(range(1, len(ratios) + 1), ratios, label=name, linewidth=1)
    ax.axhline(guide, color="k", linestyle="--", linewidth=1, label=f"{guide:g}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("||Δw|| / ||w||")
    ax.legend(fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


# ---------------------------------------------------------------------------------------------
# Causality: does position t see the future?


def _changed(x: torch.Tensor, t: int, vocab_size: int | None, gen: torch.Generator
             ) -> torch.Tensor:
    """x with every position after t changed: other token ids, or noise added to features."""
    x2 = x.clone()
    tail = x2[:, t + 1:]
    if x.is_floating_point():
        tail += torch.randn(tail.shape, generator=gen, dtype=x.dtype).to(x.device)
    else:
        shift = torch.randint(1, vocab_size, tail.shape, generator=gen).to(x.device)
        x2[:, t + 1:] = (tail + shift) % vocab_size  # never the same id again
    return x2


@torch.no_grad()
def future_leakage(model: nn.Module, x: torch.Tensor, t: int | None = None, *,
                   vocab_size: int | None = None, seed: int = 0) -> float:
    """The largest change of the model's output at positions <= t when the inputs after t
    change (every t from 0 to T − 2 when t is None). A causal model gives 0. (Karpathy's
    "Recipe" (2019) charts such dependencies with gradients; changing the inputs tests the
    same thing without a backward pass.)

    x: token ids (B, T), changed to other ids (vocab_size defaults to model.config.vocab_size),
    or features (B, T, E), changed by adding noise. The output (or its first tensor, e.g. the
    logits of (logits, loss)) must have time on dimension 1. The model runs in eval mode (no
    dropout) and is put back as it was.
    """
    if x.dim() < 2 or x.shape[1] < 2:
        raise ValueError(f"x must be (B, T, ...) with T >= 2 to have a future; got "
                         f"{tuple(x.shape)}")
    T = x.shape[1]
    if t is not None and not 0 <= t < T - 1:
        raise ValueError(f"t must be a position with a future, 0 <= t <= {T - 2}; got {t}")
    if not x.is_floating_point():
        vocab_size = vocab_size or getattr(getattr(model, "config", None), "vocab_size", None)
        if vocab_size is None or vocab_size < 2:
            raise ValueError("pass vocab_size= (the model has no config.vocab_size) so that "
                             "other token ids can be drawn")
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        base = _first_tensor(model(x), "the model")
        worst = 0.0
        for s in range(T - 1) if t is None else [t]:
            out = _first_tensor(model(_changed(x, s, vocab_size, gen)), "the model")
            worst = max(worst, (out[:, :s + 1] - base[:, :s + 1]).abs().max().item())
    finally:
        model.train(was_training)
    return worst


def leaks_future(model: nn.Module, x: torch.Tensor, t: int | None = None, *,
                 tol: float = 1e-6, vocab_size: int | None = None, seed: int = 0) -> bool:
    """True if changing the inputs after position t changes the output at t or before by more
    than `tol` (see `future_leakage`). A causal model changes nothing there: exactly 0 in our
    GPT; `tol` leaves room for float32 round-off in kernels that may add in another order."""
    return future_leakage(model, x, t, vocab_size=vocab_size, seed=seed) > tol


# ---------------------------------------------------------------------------------------------
# Reading a loss curve

VERDICTS = ("diverged", "too slow", "oscillating", "ok")


def diagnose_loss_curve(losses: Sequence[float], *, windows: int = 10, rise: float = 0.05,
                        wobble: float = 0.1, jitter: float = 0.1, min_drop: float = 0.1) -> str:
    """A verdict on a training run's losses, step by step from the start: one of VERDICTS.

    Let start be the median of the first three losses (the loss at initialisation) and cut the
    curve into `windows` equal windows, each averaged (the first without the very first loss,
    which a fast fall leaves above the start): the averages smooth out the noise of
    minibatches. Then, in this order:

    - "diverged": a NaN or inf, or the last window ends above the start by more than `rise`
      (5%) of it: the loss climbs. (The update goes the wrong way, or is far too large.)
    - "oscillating": a window averages more than `rise` above the start (a blow-up that came
      back), or the window averages climb back up by more than `wobble` (10%) of the start in
      all, or in the second half the median jump from one step to the next is more than
      `jitter` (10%) of the last window's level: the loss moves more than it improves.
      (Learning rate too large.)
    - "too slow": the last window is less than `min_drop` (10%) below the start: the loss
      barely falls. (Learning rate too small, or parameters that do not learn.)
    - "ok" otherwise.

    Calibrated on chapter 5's GPT (2 layers of 64, 16 x 32 tokens a batch, AdamW, 300 steps on
    Tiny Shakespeare, which starts at ln 65 = 4.17 nats): at lr 4e-3 the last window is 42%
    below the start, 0.2% of climbs, a median jump of 1.5% late; at lr 4e-6 it is 2.5% below;
    at lr 1 a window averages 53% above the start; at lr 4 climbs add up to 6.6 times the
    start; with the update's sign flipped (maximize=True) the loss ends 70 times higher.
    Minibatch noise of a few percent passes `jitter`; average the losses of tiny batches
    first. A run that starts near its minimum (fine-tuning) falls little and reads "too slow".
    """
    x = np.asarray(losses, dtype=np.float64)
    if x.ndim != 1 or len(x) < 2 * windows:
        raise ValueError(f"need a 1-D sequence of at least {2 * windows} losses (2 per window); "
                         f"got shape {x.shape}")
    if not np.isfinite(x).all():
        return "diverged"
    start = float(np.median(x[:3]))
    scale = abs(start) or 1.0
    parts = np.array_split(x, windows)
    # the first window without the first loss: that one may sit above the median of the first
    # three in a run that falls fast from the start, and is no blow-up
    means = np.array([parts[0][1:].mean()] + [w.mean() for w in parts[1:]])
    if means[-1] > start + rise * scale:
        return "diverged"
    climbs = np.clip(np.diff(means), 0, None).sum() / scale
    late = x[len(x) // 2:]
    jump = np.median(np.abs(np.diff(late))) / (abs(means[-1]) or 1.0)
    if means.max() > start + rise * scale or climbs > wobble or jump > jitter:
        return "oscillating"
    if (start - means[-1]) / scale < min_drop:
        return "too slow"
    return "ok"


# ---------------------------------------------------------------------------------------------
# Data bugs: overfit one batch, look at the batch


def overfit_one_batch(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor],
                      steps: int = 200, lr: float = 1e-3, *,
                      loss_of: Callable[[nn.Module, tuple], torch.Tensor] | None = None,
                      seed: int = 0) -> list[float]:
    """Train `model` on ONE batch for `steps` Adam steps (no weight decay); return every loss.

    A model that works can learn a single batch by heart, so the loss should go near 0. If it
    stalls, the model cannot see what it must predict (a data or wiring bug) or is too small
    ("overfit one batch", in Karpathy's "A Recipe for Training Neural Networks", 2019).
    The default loss is a language model's, `model(x, y)` -> (logits, loss); `loss_of(model,
    batch)` gives any other. Trains the model in place; use a copy (`copy.deepcopy`) to keep it.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    seed_everything(seed)
    opt = adamw(model, lr, weight_decay=0.0)
    losses = []
    model.train()
    for _ in range(steps):
        loss = loss_of(model, batch) if loss_of is not None else model(*batch)[1]
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise TypeError("the loss must be a 0-dim tensor: model(x, y) must return "
                            "(logits, loss), or pass loss_of=")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def targets_are_shifted(x: torch.Tensor, y: torch.Tensor) -> bool:
    """True if the targets y (B, T) are the inputs x (B, T) moved one position left, as a
    language model's must be (y[:, t] = x[:, t + 1])."""
    if x.shape != y.shape or x.dim() != 2:
        raise ValueError(f"x and y must both be (B, T); got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return bool(torch.equal(x[:, 1:], y[:, :-1]))


_VISIBLE = {" ": "·", "\n": "⏎", "\t": "⇥"}


def _width(text: str) -> int:
    """Columns that `text` takes in a monospaced font (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _token_text(tokenizer: Any, i: int) -> str:
    text = tokenizer.decode([int(i)])
    return "".join(_VISIBLE.get(c, c) for c in text)


def decode_batch(x: torch.Tensor, y: torch.Tensor, tokenizer: Any, rows: int = 2,
                 max_tokens: int = 40) -> str:
    """Each of the first `rows` rows of a batch as two aligned lines of text, inputs over
    targets, token under token (a space shows as ·, a newline as ⏎); tokens longer than one
    character are separated by |.

    Targets that are the inputs moved by one read as the same text, one token to the left:

        x: First·Citizen
        y: irst·Citizen:
    """
    if x.shape != y.shape or x.dim() != 2:
        raise ValueError(f"x and y must both be (B, T); got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if not hasattr(tokenizer, "decode"):
        raise TypeError("tokenizer must have decode(ids) -> str (a chapter 5 tokenizer)")
    blocks = []
    for b in range(min(rows, x.shape[0])):
        xs = [_token_text(tokenizer, i) for i in x[b, :max_tokens].tolist()]
        ys = [_token_text(tokenizer, i) for i in y[b, :max_tokens].tolist()]
        widths = [max(_width(a), _width(c)) for a, c in zip(xs, ys, strict=True)]
        sep = "|" if max(widths) > 1 else ""

        def line(tokens: list[str], widths: list[int] = widths, sep: str = sep) -> str:
            return sep.join(t + " " * (w - _width(t)) for t, w in zip(tokens, widths,
                                                                       strict=True))
        more = " …" if x.shape[1] > max_tokens else ""
        blocks.append(f"row {b}\n  x: {line(xs)}{more}\n  y: {line(ys)}{more}")
    return "\n".join(blocks)


# ---------------------------------------------------------------------------------------------
# Gradients: autograd against finite differences


@dataclass(frozen=True)
class GradCheck:
    """Verdicts of `gradient_check`: torch.autograd.gradcheck's (None for a NumPy layer, which
    autograd cannot see) and our finite differences' (worst relative error < tol)."""

    torch_ok: bool | None
    finite_diff_ok: bool
    worst_rel_error: float
    worst: str  # which input or parameter had it
    tol: float = 1e-6

    @property
    def ok(self) -> bool:
        """Both checks that ran agree the backward pass is right."""
        return self.finite_diff_ok and self.torch_ok is not False

    def __str__(self) -> str:
        torch_part = "" if self.torch_ok is None else \
            f"torch.autograd.gradcheck {'passes' if self.torch_ok else 'FAILS'}; "
        # a passing error is round-off (1e-10 here, 1e-9 there): print the bound, not the value
        error = f"< {self.tol:.0e}" if self.finite_diff_ok else f"{self.worst_rel_error:.1e}"
        return (f"{torch_part}finite differences {'pass' if self.finite_diff_ok else 'FAIL'}: "
                f"worst relative error {error} ({self.worst})")


def _projection(out: np.ndarray | torch.Tensor, rng: np.random.Generator) -> np.ndarray:
    """Fixed random weights r of out's shape: the scalar sum(out * r) depends on every output."""
    return rng.standard_normal(tuple(out.shape))


def _is_numpy_layer(f: Any) -> bool:
    return all(callable(getattr(f, a, None)) for a in ("forward", "backward", "parameters")) \
        and not isinstance(f, nn.Module)


def gradient_check(f: Callable | nn.Module | Any, *inputs: torch.Tensor | np.ndarray,
                   params: bool = True, tol: float = 1e-6, seed: int = 0) -> GradCheck:
    """Check a backward pass against finite differences, in float64.

    - f a torch function or `nn.Module` and tensor inputs: runs `torch.autograd.gradcheck` on
      a float64 copy, and `book.gradcheck.numerical_grad` against autograd's gradient of
      sum(f(*inputs) * r) for a fixed random r; with params=True a module's parameters are
      checked too (through `torch.func.functional_call`).
    - f a NumPy layer of `book.np_nn` (forward, backward, parameters) and array inputs:
      finite differences against `backward` for the input and, with params=True, every
      parameter (`.grads`). torch_ok is None.

    Every element costs two evaluations of f: use small inputs (a few hundred numbers).
    """
    rng = np.random.default_rng(seed)
    if _is_numpy_layer(f):
        return _check_numpy_layer(f, inputs, params, tol, rng)
    if not callable(f):
        raise TypeError(f"f must be a function, an nn.Module or a NumPy layer; got {type(f)}")
    if not inputs or not all(isinstance(t, torch.Tensor) and t.is_floating_point()
                             for t in inputs):
        raise TypeError("pass the inputs as floating-point torch tensors (or f as a NumPy layer "
                        "with arrays); integer inputs such as token ids have no gradient")
    module = copy.deepcopy(f).double() if isinstance(f, nn.Module) else None
    names = [f"input {i}" for i in range(len(inputs))]
    tensors = [t.detach().double() for t in inputs]
    if module is not None and params:
        named = dict(module.named_parameters())
        names += list(named)
        tensors += [p.detach().clone() for p in named.values()]
    n_in = len(inputs)

    def g(*ts: torch.Tensor) -> torch.Tensor:
        if module is None:
            return _first_tensor(f(*ts), "f")
        if not params:
            return _first_tensor(module(*ts), "the module")
        weights = dict(zip(names[n_in:], ts[n_in:], strict=True))
        return _first_tensor(torch.func.functional_call(module, weights, ts[:n_in]),
                             "the module")

    leaves = [t.clone().requires_grad_(True) for t in tensors]
    torch_ok = torch.autograd.gradcheck(g, tuple(leaves), raise_exception=False)
    with torch.no_grad():
        r = torch.from_numpy(_projection(g(*tensors), rng))
    autograd = torch.autograd.grad((g(*leaves) * r).sum(), leaves, allow_unused=True)
    arrays = [t.numpy().copy() for t in tensors]
    views = [torch.from_numpy(a) for a in arrays]  # share memory: numerical_grad probes arrays

    @torch.no_grad()
    def scalar() -> float:
        return float((g(*views) * r).sum())

    worst, where = 0.0, names[0]
    for name, a, grad in zip(names, arrays, autograd, strict=True):
        numeric = numerical_grad(scalar, a)
        analytic = np.zeros_like(a) if grad is None else grad.numpy()
        err = rel_error(analytic, numeric)
        if err > worst or not np.isfinite(err):
            worst, where = err, name
    return GradCheck(bool(torch_ok), worst < tol, worst, where, tol)


def _check_numpy_layer(layer: Any, inputs: Sequence[np.ndarray], params: bool, tol: float,
                       rng: np.random.Generator) -> GradCheck:
    """gradient_check for a NumPy layer: its backward against finite differences."""
    if len(inputs) != 1 or not isinstance(inputs[0], np.ndarray):
        raise TypeError("a NumPy layer is checked on one input array: gradient_check(layer, x)")
    x = np.array(inputs[0], dtype=np.float64)
    out = layer.forward(x)
    r = _projection(out, rng)

    def loss() -> float:
        return float(np.sum(layer.forward(x) * r))

    loss()
    dx = layer.backward(r)
    grads = {name: g.copy() for name, g in layer.grads.items()}
    checks = [("input", dx, x)]
    if params:
        for name, p in layer.parameters().items():
            if p.dtype != np.float64:
                raise TypeError(f"parameter {name} is {p.dtype}: build the layer in float64 "
                                "(dtype=np.float64) to check it")
            checks.append((name, grads[name], p))
    worst, where = 0.0, "input"
    for name, analytic, array in checks:
        err = rel_error(analytic, numerical_grad(loss, array))
        if err > worst or not np.isfinite(err):
            worst, where = err, name
    return GradCheck(None, worst < tol, worst, where, tol)


# ---------------------------------------------------------------------------------------------
# Shapes with names


class ShapeError(ValueError):
    """A tensor whose shape is not the one `check_shapes` was told."""


def check_shapes(x: torch.Tensor | np.ndarray, spec: str, name: str = "x", **known: int
                 ) -> dict[str, int]:
    """Assert that x has the shape `spec`, e.g. "B T E"; return the sizes bound to the letters.

    Each word of spec is a dimension: a name (bound to the size it has here, and it must have
    the same size wherever it appears, in this spec or in `known`), a number (that size
    exactly) or "_" (any size). Pass the sizes known so far, or the dict an earlier call
    returned, to check several tensors against each other inside a forward method:

        dims = check_shapes(x, "B T E", E=self.embed_dim)
        check_shapes(att, "B nh T T", name="att", **dims)
    """
    words = spec.replace(",", " ").replace("(", " ").replace(")", " ").split()
    if not words:
        raise ValueError(f"spec {spec!r} names no dimension; write it like 'B T E'")
    shape = tuple(x.shape)
    sizes = dict(known)
    pretty = f"({', '.join(words)})"
    given = ", ".join(f"{k}={v}" for k, v in known.items() if k in words)
    expected = f"expected {name} to be {pretty}" + (f" with {given}" if given else "")
    if len(shape) != len(words):
        raise ShapeError(f"{expected}; got {shape}: {len(shape)} dimensions, not {len(words)}")
    for i, (word, size) in enumerate(zip(words, shape, strict=True)):
        if word == "_":
            continue
        if word.isdigit():
            want = int(word)
        elif word in sizes:
            want = sizes[word]
        else:
            sizes[word] = size
            continue
        if size != want:
            source = "" if word.isdigit() else (
                " (given)" if word in known else f" (dimension {words.index(word)})")
            raise ShapeError(f"{expected}; got {shape}: dimension {i} ({word}) is {size}, "
                             f"but {word} = {want}{source}")
    return sizes


# ---------------------------------------------------------------------------------------------
# Reproducibility


def bitwise_equal(a: Any, b: Any) -> bool:
    """True if a and b are the same bit for bit: tensors and arrays (dtype, shape and bytes;
    NaN equals NaN), numbers, strings, and lists, tuples and dicts of them."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        a, b = a.detach().cpu(), b.detach().cpu()
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(
            a.contiguous().view(-1).view(torch.uint8), b.contiguous().view(-1).view(torch.uint8))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(bitwise_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(
            bitwise_equal(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return type(a) is type(b) and a == b


def reproducible(fn: Callable[[], Any], seed: int = 0, runs: int = 2) -> bool:
    """Run fn() `runs` times, each after `book.env.seed_everything(seed)`; True if every result
    is the same bit for bit (`bitwise_equal`).

    fn should build what it needs (model, optimiser, batches) and return what it made: a loss,
    a state_dict, generated ids ("fix random seed" comes first in Karpathy's "Recipe", 2019).
    False means something escapes the seed: a generator of its
    own (`np.random.default_rng()` with no seed), the clock, a non-deterministic kernel. Both
    runs are in this process on this machine (`book.env.report()` says which): it cannot see
    what changes between processes (hash order of strings) or between machines.
    """
    if runs < 2:
        raise ValueError(f"runs must be at least 2 to compare; got {runs}")
    results = []
    for _ in range(runs):
        seed_everything(seed)
        results.append(fn())
    return all(bitwise_equal(results[0], r) for r in results[1:])


@contextlib.contextmanager
def deterministic(warn_only: bool = False) -> Iterator[None]:
    """Inside the block, `torch.use_deterministic_algorithms(True)`: an operation that has no
    deterministic implementation raises a RuntimeError naming it (warn_only: a warning), and
    new memory from torch.empty is filled with NaN instead of whatever was there. On CUDA,
    cuBLAS also needs CUBLAS_WORKSPACE_CONFIG (set to ":4096:8" if unset) and cuDNN's
    autotuner is switched off. Every setting is put back as it was afterwards.
    """
    was = (torch.are_deterministic_algorithms_enabled(),
           torch.is_deterministic_algorithms_warn_only_enabled())
    benchmark = torch.backends.cudnn.benchmark
    workspace = os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    if workspace is None:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was[0], warn_only=was[1])
        torch.backends.cudnn.benchmark = benchmark
        if workspace is None:
            os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
