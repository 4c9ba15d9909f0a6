"""Scaling laws, reproduced small (chapter 8): train a family of chapter 5's character GPTs on
Tiny Shakespeare and fit how the validation loss falls with size and compute.

    data = scaling.load_data()                                  # train ids, fixed val ids, V
    rows = [scaling.train_size(s, data, tokens=500_000) for s in scaling.SIZES]
    fit = scaling.fit_power_law([r["N"] for r in rows], [r["val_loss"] for r in rows])
    fit.E, fit.A, fit.alpha                                     # L(N) = E + A / N^alpha
    iso = scaling.fit_isoflop(isoflop_rows)                     # N*(C), D*(C), exponents

Conventions (Kaplan et al. 2020; Hoffmann et al. 2022): N counts the non-embedding parameters
(the blocks and the final norm, `book.scale`'s "non_embedding"); D the training tokens; the
compute C = D x `book.scale.flops_per_token(shape).training`, which is 6 N_matmul + 6 L T E
(causal attention) + 6 E V (head) per token: about 6 N D for a large model, a little more for
our small ones, where the head and the attention are not negligible. An IsoFLOP run gets the
D = C / (training FLOPs per token) that spends its budget, counted by that same formula.

The validation loss is always measured on the same tokens: the first `val_tokens` tokens of
nanoGPT's validation split (the last 10% of the text), cut into non-overlapping windows of
max_len, every token predicted once (`book.textgen.estimate_loss` with eval_iters=None).
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from book import data as book_data
from book import env
from book import textgen as tg
from book.scale import TransformerShape, flops_per_token, param_count

__all__ = ["COLUMNS", "ISOFLOP_GRID", "LIVE_SIZES", "SIZES", "SIZE_SWEEP", "TRAIN_SETTINGS",
           "IsoFLOPFit", "Parabola", "PowerLawFit", "ScalingData", "Size", "fit_isoflop",
           "fit_parabola", "fit_power_law", "isoflop_plan", "live_sweep", "load_data",
           "model_cost", "peak_lr", "plot_sweep", "read_csv", "sizes", "train_size", "write_csv"]

# one row per trained model, in the CSV and in what train_size returns
COLUMNS = ("sweep", "size", "embed_dim", "layers", "heads", "N", "N_total", "tokens", "flops",
           "steps", "val_loss", "train_loss", "seconds")
INT_COLUMNS = {"embed_dim", "layers", "heads", "N", "N_total", "tokens", "steps"}
FLOAT_COLUMNS = {"flops", "val_loss", "train_loss", "seconds"}

# How every model trains: chapter 5's CPU recipe (AdamW, warm-up then cosine to the last step,
# clipping), no dropout, no evaluation during training. The peak learning rate is `lr` at width
# `lr_width` and scales as 1 / embed_dim (as muP prescribes for Adam's hidden weights), capped
# at `max_lr`: on 990 steps the 32-wide model reached 2.17 at 1e-2 against 2.31 at 3e-3, while
# the 64-wide one on 147 steps did best at 3e-3 (2.52; 2.63 at 1e-2). min_lr = peak / 10.
TRAIN_SETTINGS: dict = dict(batch_size=16, max_len=64, lr=3e-3, lr_width=64, max_lr=1e-2,
                            warmup_iters=30, weight_decay=0.1, beta2=0.99, grad_clip=1.0)


@dataclass(frozen=True)
class Size:
    """One member of the family: a name and the GPT's width, depth and heads."""

    name: str
    embed_dim: int
    num_layers: int
    num_heads: int

    def config(self, vocab_size: int, max_len: int) -> tg.GPTConfig:
        """The `GPTConfig` of this size (no dropout, no biases)."""
        return tg.GPTConfig(vocab_size=vocab_size, max_len=max_len, num_layers=self.num_layers,
                            num_heads=self.num_heads, embed_dim=self.embed_dim, dropout=0.0,
                            bias=False)


def sizes(pairs: Iterable[tuple[int, int]], head_dim: int = 16) -> list[Size]:
    """A family from (embed_dim, num_layers) pairs: embed_dim // head_dim heads (at least one,
    so a width below head_dim has one head of its width)."""
    family = []
    for E, L in pairs:
        heads = max(1, E // head_dim)
        if E <= 0 or L <= 0 or E % heads:
            raise ValueError(f"embed_dim {E} and num_layers {L} must be positive and embed_dim "
                             f"a multiple of head_dim = {head_dim} (or smaller than it)")
        family.append(Size(f"E{E}-L{L}", E, L, heads))
    return family


def peak_lr(size: Size, settings: dict | None = None) -> float:
    """The peak learning rate of `size`: lr x lr_width / embed_dim, at most max_lr."""
    s = {**TRAIN_SETTINGS, **(settings or {})}
    return min(s["max_lr"], s["lr"] * s["lr_width"] / size.embed_dim)


# N from 0.8k to 0.79M; the benchmark's size sweep and IsoFLOP grid pick from these
SIZES: list[Size] = sizes([(8, 1), (16, 1), (16, 2), (32, 1), (32, 2), (48, 2), (64, 2),
                           (64, 4), (96, 3), (128, 4)])
_BY_NAME = {s.name: s for s in SIZES}
# the notebook's live run: N from 3.2k to 0.10M (x 31)
LIVE_SIZES: list[Size] = sizes([(16, 1), (32, 1), (32, 2), (48, 2), (64, 2)])
# The benchmark's size sweep: N from 3.1k to 0.79M (x 252), at one fixed number of steps
SIZE_SWEEP: list[Size] = [_BY_NAME[n] for n in ("E16-L1", "E32-L1", "E32-L2", "E48-L2", "E64-L2",
                                                 "E96-L3", "E128-L4")]
# The benchmark's IsoFLOP sweep on one CPU thread: budget (FLOPs) -> the sizes trained with it,
# six per budget, the window sliding up with the budget. A trial run found the optimum at the
# smallest sizes (below 12k at 3e11 FLOPs), hence windows that start at 0.8k-3k.
ISOFLOP_GRID: dict[float, list[Size]] = {
    3e10: SIZES[0:6], 1e11: SIZES[0:6], 3e11: SIZES[1:7]}


@dataclass
class ScalingData:
    """Tiny Shakespeare as token ids: the training split, the FIXED validation tokens, V."""

    train_ids: torch.Tensor
    val_ids: torch.Tensor
    vocab_size: int


def load_data(val_tokens: int | None = None) -> ScalingData:
    """Tiny Shakespeare, nanoGPT's 90/10 split, chapter 5's character tokenizer (65 symbols);
    validation = the first `val_tokens` tokens of the validation split (None: all 111,540)."""
    text = book_data.load("tinyshakespeare", progress=False)
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)
    val = torch.tensor(tok.encode(val_text))
    if val_tokens is not None:
        if val_tokens < 2:
            raise ValueError(f"val_tokens must be at least 2; got {val_tokens}")
        val = val[:val_tokens]
    return ScalingData(torch.tensor(tok.encode(train_text)), val, tok.vocab_size)


def model_cost(size: Size, vocab_size: int, max_len: int) -> dict[str, int]:
    """N (non-embedding parameters), N_total, and training FLOPs per token of `size`
    (`book.scale.flops_per_token(...).training`, causal attention over max_len)."""
    cfg = size.config(vocab_size, max_len)
    p = param_count(cfg)
    fpt = flops_per_token(TransformerShape.from_config(cfg), max_len).training
    return {"N": p["non_embedding"], "N_total": p["total"], "flops_per_token": fpt}


def train_size(size: Size, data: ScalingData, *, tokens: int | None = None,
               steps: int | None = None, sweep: str = "size", seed: int = 0,
               device: str = "cpu", settings: dict | None = None) -> dict:
    """Train one model of `size` for `steps` steps or about `tokens` tokens (rounded to whole
    batches, at least one step), then measure it on data.val_ids; returns a row (COLUMNS).

    train_loss is the mean batch loss over the last tenth of the steps (the model is still
    moving, so it is a little above the loss at the end). `settings` overrides keys of
    TRAIN_SETTINGS; the peak learning rate is `peak_lr(size, settings)`.
    """
    s = {**TRAIN_SETTINGS, **(settings or {})}
    unknown = set(s) - set(TRAIN_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}: use keys of TRAIN_SETTINGS, "
                         f"{sorted(TRAIN_SETTINGS)}")
    if (tokens is None) == (steps is None):
        raise ValueError("give exactly one of tokens= or steps=")
    B, T = s["batch_size"], s["max_len"]
    if steps is None:
        if tokens <= 0:
            raise ValueError(f"tokens must be positive; got {tokens}")
        steps = max(1, round(tokens / (B * T)))
    if steps <= 0:
        raise ValueError(f"steps must be positive; got {steps}")
    if len(data.val_ids) <= T:
        raise ValueError(f"the validation set has {len(data.val_ids)} tokens; it needs more "
                         f"than max_len = {T}")
    cost = model_cost(size, data.vocab_size, T)
    lr = peak_lr(size, s)
    cfg = tg.TrainConfig(batch_size=B, max_iters=steps, lr=lr, min_lr=lr / 10,
                         warmup_iters=min(s["warmup_iters"], steps // 10),
                         weight_decay=s["weight_decay"], beta2=s["beta2"],
                         grad_clip=s["grad_clip"], eval_interval=0, eval_iters=0, seed=seed)
    env.seed_everything(seed)  # the same initial weights for the same size and seed
    model = tg.GPT(size.config(data.vocab_size, T))
    losses: list[torch.Tensor] = []
    t0 = time.perf_counter()
    log = tg.train(model, data.train_ids, None, cfg, device, progress=False,
                   on_step=lambda step, info: losses.append(info["loss"]))
    val_loss = tg.estimate_loss(model, data.val_ids.to(next(model.parameters()).device), 4 * B)
    seconds = time.perf_counter() - t0
    tail = losses[-max(1, len(losses) // 10):]
    return {"sweep": sweep, "size": size.name, "embed_dim": size.embed_dim,
            "layers": size.num_layers, "heads": size.num_heads, "N": cost["N"],
            "N_total": cost["N_total"], "tokens": log.tokens,
            "flops": float(log.tokens * cost["flops_per_token"]), "steps": log.steps,
            "val_loss": val_loss, "train_loss": torch.stack(tail).mean().item(),
            "seconds": seconds}


# --- fits ---

def _positive_points(x: Sequence[float], y: Sequence[float], xname: str, yname: str,
                     least: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """x and y as float arrays, after checking there are enough finite, positive points."""
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise ValueError(f"{xname} has {len(x)} values and {yname} {len(y)}: give one "
                         f"{yname} per {xname}")
    if len(x) < least:
        raise ValueError(f"a fit needs at least {least} points; got {len(x)}: train more sizes")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{xname} and {yname} must be finite (a diverged run gives NaN: drop "
                         "it or lower the learning rate)")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(f"{xname} and {yname} must be positive (a log is taken); got "
                         f"{xname} min {x.min():g}, {yname} min {y.min():g}")
    return x, y


@dataclass(frozen=True)
class PowerLawFit:
    """L(N) = E + A / N^alpha, with the residuals L - L(N) of the points it was fitted to."""

    E: float
    A: float
    alpha: float
    residuals: np.ndarray

    def __call__(self, N: float | np.ndarray) -> float | np.ndarray:
        """The fitted loss at N."""
        return self.E + self.A * np.asarray(N, dtype=float) ** -self.alpha


def _loglinear(N: np.ndarray, L: np.ndarray, E: float) -> tuple[float, float, float]:
    """For a fixed E, log(L - E) = log A - alpha log N by least squares; (A, alpha, squared
    error in L itself)."""
    slope, intercept = np.polyfit(np.log(N), np.log(L - E), 1)
    A, alpha = math.exp(intercept), -slope
    return A, alpha, float(np.sum((L - E - A * N ** -alpha) ** 2))


def fit_power_law(N: Sequence[float], L: Sequence[float], grid: int = 400) -> PowerLawFit:
    """Fit L = E + A / N^alpha (E >= 0) to points (N, L) by least squares on L.

    For each E on a grid from 0 to just below min(L), log(L - E) is linear in log N, so A and
    alpha come from a straight-line fit; the E with the smallest squared error in L starts
    scipy's nonlinear least squares, which polishes all three. Needs >= 3 points (3 fit
    exactly), N > 0, L > 0.
    """
    N, L = _positive_points(N, L, "N", "L")
    if np.ptp(N) == 0:
        raise ValueError("all N are equal: a power law needs at least 3 different sizes")
    top = L.min() * (1 - 1e-6)
    best = min((_loglinear(N, L, E) + (E,) for E in np.linspace(0.0, top, grid)),
               key=lambda r: r[2])
    A, alpha, _, E = best
    try:
        from scipy.optimize import least_squares

        # A varies over orders of magnitude: fit log A, so every parameter has a sane scale
        res = least_squares(lambda p: p[0] + np.exp(p[1]) * N ** -p[2] - L,
                            x0=[E, math.log(A), alpha],
                            bounds=([0.0, -np.inf, 0.0], [top, np.inf, np.inf]))
        if np.sum(res.fun ** 2) <= np.sum((E + A * N ** -alpha - L) ** 2):
            E, A, alpha = float(res.x[0]), float(math.exp(res.x[1])), float(res.x[2])
    except ImportError:  # the grid's answer stands
        pass
    return PowerLawFit(float(E), float(A), float(alpha), L - (E + A * N ** -alpha))


@dataclass(frozen=True)
class Parabola:
    """loss = c0 + c1 x + c2 x^2 with x = ln N, fitted to one IsoFLOP curve; its minimum."""

    coeffs: tuple[float, float, float]  # c0, c1, c2
    N_opt: float        # the N at the minimum, exp(-c1 / (2 c2))
    loss_opt: float     # the fitted loss there
    inside: bool        # whether N_opt lies within the sizes trained (else: extrapolated)


def fit_parabola(N: Sequence[float], L: Sequence[float]) -> Parabola:
    """Fit loss = c0 + c1 ln N + c2 (ln N)^2 by least squares and return its minimum; a curve
    with no minimum (c2 <= 0) is a ValueError."""
    N, L = _positive_points(N, L, "N", "loss")
    x = np.log(N)
    if len(np.unique(x)) < 3:
        raise ValueError("a parabola needs at least 3 different sizes")
    c2, c1, c0 = np.polyfit(x, L, 2)
    if c2 <= 0:
        raise ValueError(f"the loss against ln N curves downward (c2 = {c2:.3g}): no minimum; "
                         "train sizes on both sides of the optimum (smaller and larger)")
    x_opt = -c1 / (2 * c2)
    return Parabola((float(c0), float(c1), float(c2)), float(math.exp(x_opt)),
                    float(c0 + c1 * x_opt + c2 * x_opt ** 2),
                    bool(x.min() <= x_opt <= x.max()))


@dataclass(frozen=True)
class IsoFLOPFit:
    """The compute-optimal size and data per budget, and how they scale with compute."""

    budgets: np.ndarray      # C, FLOPs
    N_opt: np.ndarray        # N*(C)
    D_opt: np.ndarray        # D*(C), tokens
    loss_opt: np.ndarray     # the parabola's minimum
    inside: np.ndarray       # whether each N* lies within the sizes trained
    a: float                 # N* ∝ C^a
    b: float                 # D* ∝ C^b
    parabolas: list[Parabola]

    @property
    def tokens_per_param(self) -> np.ndarray:
        """D* / N* at each budget (Hoffmann et al. 2022: about 20)."""
        return self.D_opt / self.N_opt


def fit_isoflop(rows: Sequence[dict], sweep: str = "isoflop") -> IsoFLOPFit:
    """From rows of an IsoFLOP sweep (grouped by budget: rows whose flops are within 25% of
    the smallest of their group; whole steps make a run's flops miss its budget by a little),
    fit a parabola of loss against ln N
    per budget, read N*(C) at its minimum and D*(C) on the budget's line of ln D against
    ln N, then the exponents a, b of N* ∝ C^a and D* ∝ C^b (least squares in log-log)."""
    groups: list[list[dict]] = []
    for r in sorted((r for r in rows if r.get("sweep", sweep) == sweep),
                    key=lambda r: float(r["flops"])):
        if groups and float(r["flops"]) <= 1.25 * float(groups[-1][0]["flops"]):
            groups[-1].append(r)
        else:
            groups.append([r])
    if len(groups) < 2:
        raise ValueError(f"found {len(groups)} budget(s) among the {sweep!r} rows; the exponents "
                         "need at least 2 budgets (3 or more to see a trend)")
    budgets, n_opt, d_opt, parabolas = [], [], [], []
    for group in groups:
        C = float(np.exp(np.mean(np.log([float(g["flops"]) for g in group]))))  # geometric mean
        N = np.array([g["N"] for g in group], dtype=float)
        D = np.array([g["tokens"] for g in group], dtype=float)
        p = fit_parabola(N, [g["val_loss"] for g in group])
        # D along this budget's curve: ln D is linear in ln N (slope about -1)
        slope, icept = np.polyfit(np.log(N), np.log(D), 1)
        budgets.append(C)
        n_opt.append(p.N_opt)
        d_opt.append(math.exp(icept + slope * math.log(p.N_opt)))
        parabolas.append(p)
    C, Nn, Dd = np.array(budgets), np.array(n_opt), np.array(d_opt)
    a = float(np.polyfit(np.log(C), np.log(Nn), 1)[0])
    b = float(np.polyfit(np.log(C), np.log(Dd), 1)[0])
    return IsoFLOPFit(C, Nn, Dd, np.array([p.loss_opt for p in parabolas]),
                      np.array([p.inside for p in parabolas]), a, b, parabolas)


def isoflop_plan(grid: Mapping[float, Sequence[Size]], vocab_size: int,
                 max_len: int | None = None, batch_size: int | None = None
                 ) -> list[tuple[float, Size, int]]:
    """(budget, size, steps) for each budget of `grid` and each of its sizes: the whole steps
    of batch_size x max_len tokens that spend the budget at that size's training FLOPs per
    token (at least one)."""
    T = max_len or TRAIN_SETTINGS["max_len"]
    B = batch_size or TRAIN_SETTINGS["batch_size"]
    plan = []
    for C, family in grid.items():
        if C <= 0:
            raise ValueError(f"budgets must be positive FLOP counts; got {C}")
        for s in family:
            fpt = model_cost(s, vocab_size, T)["flops_per_token"]
            plan.append((float(C), s, max(1, round(C / fpt / (B * T)))))
    return plan


# --- the live run and the CSV ---

def live_sweep(family: Sequence[Size] | None = None, steps: int = 300,
               val_tokens: int = 8192, data: ScalingData | None = None, seed: int = 0,
               settings: dict | None = None) -> list[dict]:
    """The notebook's live size sweep: each size of `family` (default LIVE_SIZES, N from 3.2k
    to 0.10M) trained for `steps` steps on the CPU, measured on the first `val_tokens`
    validation tokens; rows as in the CSV, sweep "live", sorted by N. Took 26 s on one CPU
    thread of a loaded 2-core machine; 300 steps leave the losses (2.57 to 2.41) too close
    for a meaningful fit of E and alpha: plot them beside `read_csv`'s committed sweep."""
    family = LIVE_SIZES if family is None else family
    data = load_data(val_tokens) if data is None else data
    rows = [train_size(s, data, steps=steps, sweep="live", seed=seed, settings=settings)
            for s in family]
    return sorted(rows, key=lambda r: r["N"])


def write_csv(path: str | Path, rows: Sequence[dict], header: dict[str, str],
              columns: Sequence[str] = COLUMNS) -> None:
    """Write rows (`columns`, COLUMNS by default; extra keys are left out) under '# key: value'
    comment lines. Floats are written to 6 significant digits (flops as 4-digit scientific)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        for key, value in header.items():
            f.write(f"# {key}: {value}\n")
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore",
                           lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{r[k]:.4e}" if k == "flops" else f"{r[k]:.6g}"
                            if isinstance(r[k], float) else r[k]) for k in columns})


def _number(value: str) -> int | float | str:
    """An int or a float where `value` reads as one, else the string itself."""
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def read_csv(path: str | Path, required: Sequence[str] = ("command", "device", "torch", "date"),
             columns: Sequence[str] | None = None, int_columns: Iterable[str] = (),
             float_columns: Iterable[str] = ()) -> tuple[dict[str, str], list[dict]]:
    """(header, rows) of a CSV written by write_csv: the '# key: value' lines as a dict, the
    rows with numbers parsed. `columns` None: the scaling sweep's COLUMNS, with its int and
    float columns. Otherwise those columns must be there; the ones named in `int_columns` and
    `float_columns` must hold numbers of that kind, and any other value that reads as a number
    is one. A missing header key or column, or a value that is not the number it must be, is a
    ValueError."""
    path = Path(path)
    sweep = columns is None  # the scaling sweep's own file: every column typed as written
    if sweep:
        columns, int_columns, float_columns = COLUMNS, INT_COLUMNS, FLOAT_COLUMNS
    columns, ints, floats = tuple(columns), set(int_columns), set(float_columns)
    header: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        key, sep, value = lines[i][1:].partition(":")
        if sep:
            header[key.strip()] = value.strip()
        i += 1
    missing = [k for k in required if k not in header]
    if missing:
        lines_needed = ", ".join(f"'# {k}: ...'" for k in missing)
        raise ValueError(f"{path} lacks the header line(s) {lines_needed}; write it with "
                         "book.scaling.write_csv (benchmarks/scaling.py)")
    reader = csv.DictReader(lines[i:])
    absent = [c for c in columns if c not in (reader.fieldnames or [])]
    if absent:
        raise ValueError(f"{path} lacks the column(s) {', '.join(absent)}; expected "
                         f"{','.join(columns)}")
    rows = []
    for n, r in enumerate(reader, start=i + 2):
        try:
            rows.append({k: int(v) if k in ints else float(v) if k in floats else
                         v if sweep else _number(v)
                         for k, v in r.items() if k in columns})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}, line {n}: a value is not a number ({e})") from e
    return header, rows


def plot_sweep(rows: Sequence[dict], fit: PowerLawFit | None = None, ax=None,
               label: str = "trained", title: str = "Validation loss against model size"):
    """Log-log plot of val_loss against N for rows (and the fitted law, if given); returns ax."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    N = np.array([r["N"] for r in rows], dtype=float)
    ax.loglog(N, [r["val_loss"] for r in rows], "o", label=label)
    if fit is not None:
        grid = np.geomspace(N.min(), N.max(), 100)
        ax.loglog(grid, fit(grid), "-", label=f"E + A/N^α: E={fit.E:.2f}, α={fit.alpha:.2f}")
    ax.set_xlabel("non-embedding parameters N")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_title(title)
    ax.legend()
    return ax
