"""What changed in the Transformer block since GPT-2 (chapter 8), measured: chapter 5's GPT
trained with each change alone and with all of them (Llama's block), at equal steps.

    rows = compare_block_variants(train_ids, val_ids, **LIVE_CONFIG, seeds=(0,))   # < 1 min
    print(format_table(summarize(rows)))

The variants (`block_variants`): "gpt2" (learned positions, LayerNorm, GELU MLP of 4 E,
multi-head attention), "rope", "rmsnorm", "swiglu" (F = round(8 E / 3), so that its three
matrices hold about as many parameters as GELU's two of 4 E), "gqa" (half as many key/value
heads as query heads) and "llama" (all four). For one seed every variant starts from the same
random state and sees the same batches, so differences between variants can be paired by seed.
`benchmarks/block_variants.py` runs the larger sweep, with several seeds, and writes a CSV.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import torch

from book.textgen.models import GPT, GPTConfig
from book.textgen.train import TrainConfig, estimate_loss
from book.textgen.train import train as train_model

__all__ = ["BENCH_CONFIG", "LIVE_CONFIG", "VARIANTS", "block_variants",
           "compare_block_variants", "format_table", "summarize"]

VARIANTS = ("gpt2", "rope", "rmsnorm", "swiglu", "gqa", "llama")

# The chapter's live run, all six variants, one seed: 18 s on one CPU thread of a quiet 2-core
# machine, 38 s on a loaded one. At this width and so few steps SwiGLU (F = 171) trails the GPT-2
# block (seed 0: 2.87 against 2.50 at 150 steps, 2.62 against 2.40 at 300), unlike in the sweep.
LIVE_CONFIG: dict = {
    "model": dict(max_len=64, num_layers=2, num_heads=4, embed_dim=64),
    "train": dict(batch_size=16, max_iters=150, lr=4e-3, min_lr=4e-4, warmup_iters=20),
}
# benchmarks/block_variants.py: 4 layers of 96 (chapter 5's CPU model has 128; 96 makes 8E/3 a
# whole number) and context 64, 400 steps: 18 runs in 7 minutes on one CPU thread.
BENCH_CONFIG: dict = {
    "model": dict(max_len=64, num_layers=4, num_heads=4, embed_dim=96),
    "train": dict(batch_size=16, max_iters=400, lr=4e-3, min_lr=4e-4, warmup_iters=40),
}


def block_variants(embed_dim: int, num_heads: int) -> dict[str, dict]:
    """The `GPTConfig` settings of each variant in VARIANTS, for a model of this width."""
    swiglu = {"mlp": "swiglu", "mlp_hidden": round(8 * embed_dim / 3)}  # 3 E F ~ 2 E (4 E)
    gqa = {"num_kv_heads": num_heads // 2 if num_heads % 2 == 0 else 1}
    return {"gpt2": {}, "rope": {"positions": "rope"}, "rmsnorm": {"norm": "rmsnorm"},
            "swiglu": swiglu, "gqa": gqa,
            "llama": {"positions": "rope", "norm": "rmsnorm", **swiglu, **gqa}}


def compare_block_variants(train_ids: torch.Tensor, val_ids: torch.Tensor, model: dict,
                           train: dict, seeds: Sequence[int] = (0, 1, 2),
                           variants: Sequence[str] = VARIANTS, device: str = "cpu",
                           eval_batch: int = 64) -> list[dict]:
    """Train GPT(model + variant) with TrainConfig(train) for every seed and variant; return
    one row per run: variant, seed, params, val_loss (nats, on the whole of val_ids, read in
    windows of max_len) and seconds (the training loop's wall time).

    model: GPTConfig's settings without the block options (vocab_size is taken from the data
    when missing); train: TrainConfig's, its seed replaced by each seed, no evaluations
    during training."""
    settings = block_variants(model["embed_dim"], model["num_heads"])
    unknown = [v for v in variants if v not in settings]
    if unknown:
        raise ValueError(f"unknown variants {unknown}: choose from {list(settings)}")
    train_ids, val_ids = torch.as_tensor(train_ids), torch.as_tensor(val_ids)
    vocab = int(max(train_ids.max(), val_ids.max())) + 1
    rows = []
    for seed in seeds:
        for name in variants:
            cfg = GPTConfig(**{"vocab_size": vocab, **model, **settings[name]})
            torch.manual_seed(seed)  # the same initial random state for every variant
            gpt = GPT(cfg)
            tcfg = TrainConfig(**{**train, "seed": seed, "eval_interval": 0, "eval_iters": 0})
            log = train_model(gpt, train_ids, None, tcfg, device, progress=False)
            val = val_ids.to(next(gpt.parameters()).device)
            rows.append({"variant": name, "seed": seed, "params": gpt.num_params(),
                         "val_loss": estimate_loss(gpt, val, eval_batch),
                         "seconds": log.seconds})
    return rows


def summarize(rows: list[dict], baseline: str = "gpt2") -> dict[str, dict]:
    """Per variant: n runs, params (None where the rows have none), mean and std (sample,
    n - 1) of val_loss, and the mean and std of its difference from `baseline`'s run with the
    same seed (when there is one). Any ablation's rows fit: variant, seed, val_loss (and
    params); chapter 9's `book.ablation` uses it too."""
    base = {r["seed"]: r["val_loss"] for r in rows if r["variant"] == baseline}
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        losses = [r["val_loss"] for r in mine]
        deltas = [r["val_loss"] - base[r["seed"]] for r in mine if r["seed"] in base]
        out[name] = {"n": len(losses), "params": mine[0].get("params"),
                     "mean": statistics.fmean(losses), "std": _std(losses),
                     "delta_mean": statistics.fmean(deltas) if deltas else math.nan,
                     "delta_std": _std(deltas)}
    return out


def _std(values: list[float]) -> float:
    """Sample standard deviation; nan for fewer than two values."""
    return statistics.stdev(values) if len(values) > 1 else math.nan


def _spread(std: float, digits: int) -> str:
    """A standard deviation with `digits` decimals; '-' where there is none (one run)."""
    return f"{std:.{digits}f}" if math.isfinite(std) else "-"


def format_table(summary: dict[str, dict], baseline: str = "gpt2", params: bool = True,
                 digits: int = 4) -> str:
    """The summary as a text table: variant, parameters (unless params=False), val loss mean
    ± std, paired difference from the baseline, with `digits` decimals ('-' for the std of
    a single run). The first column widens for long names."""
    w = max([8, *map(len, summary)])
    count = f" {'params':>9}" if params else ""
    lines = [f"{'variant':<{w}}{count} {'n':>2}  {'val loss':>15}  "
             f"{'minus ' + baseline + ' (same seed)':>24}"]
    for name, s in summary.items():
        count = f" {s['params']:>9,}" if params else ""
        lines.append(f"{name:<{w}}{count} {s['n']:>2}  {s['mean']:{digits + 3}.{digits}f} ± "
                     f"{_spread(s['std'], digits)}  {s['delta_mean']:+{digits + 11}.{digits}f}"
                     f" ± {_spread(s['delta_std'], digits)}")
    return "\n".join(lines)
