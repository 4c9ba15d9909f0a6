"""Chapter 8's scaling laws, reproduced small: train a family of character GPTs on Tiny
Shakespeare, fit L(N) = E + A / N^alpha to a size sweep and find the compute-optimal size with
an IsoFLOP sweep.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/scaling.py [--device cpu|cuda] [--preset gpu]

(a) size sweep: every size of the family trained for the same number of steps (same tokens D);
(b) IsoFLOP sweep: for each FLOP budget C, several sizes each trained on the D that spends C
(`book.scaling.isoflop_plan`). Every model is measured on the same validation tokens (the
whole validation split unless --val-tokens). Writes one row per model to --out (default
benchmarks/results/scaling.csv, header lines: command, device, torch, date, ...), prints the
fits, and as its last line `alpha … E … A … a … b … tokens_per_param … wall_s …`.

The "cpu" preset is sized for one CPU thread (about 15 minutes on a loaded 2-core machine);
"gpu" is a larger family and larger budgets for `--device cuda` (bf16 autocast, as
`book.textgen.train` does there), not yet run.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from book import env  # noqa: E402
from book import scaling as sc  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "scaling.csv"

_GPU_SIZES = sc.sizes([(64, 2), (96, 3), (128, 4), (192, 4), (256, 6), (384, 6), (512, 8)],
                      head_dim=32)
PRESETS: dict[str, dict] = {
    "cpu": dict(family=sc.SIZE_SWEEP, size_steps=1000, grid=sc.ISOFLOP_GRID, settings={}),
    # untested: a sketch of the same study at GPU scale (N from 0.1M to 25M, context 256)
    "gpu": dict(family=_GPU_SIZES, size_steps=5000,
                grid={1e14: _GPU_SIZES[0:5], 1e15: _GPU_SIZES[1:6], 1e16: _GPU_SIZES[2:7]},
                settings=dict(batch_size=64, max_len=256, lr=1.5e-3, lr_width=384,
                              max_lr=3e-3, warmup_iters=100)),
}


def parse_args() -> argparse.Namespace:
    """Device, preset, and what to run."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps")
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="sizes, steps and budgets (default: gpu on cuda, cpu elsewhere)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--size-steps", type=int, default=None, help="steps per model, size sweep")
    p.add_argument("--val-tokens", type=int, default=None,
                   help="validate on the first N validation tokens (default: all 111,540)")
    p.add_argument("--only", choices=["size", "isoflop"], default=None, help="one sweep only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args()


def main() -> None:
    """Run the sweeps, write the CSV, print the fits."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = env.device(args.device)
    preset = PRESETS[args.preset or ("gpu" if device.type == "cuda" else "cpu")]
    settings = {**sc.TRAIN_SETTINGS, **preset["settings"]}
    data = sc.load_data(args.val_tokens)
    T = settings["max_len"]
    n_val = (len(data.val_ids) - 1) // T * T
    print(f"device {device.type} | torch {torch.__version__} | {torch.get_num_threads()} "
          f"threads | settings {settings} | validation: {n_val:,} tokens predicted",
          flush=True)

    jobs = []  # (sweep, size, steps)
    if args.only in (None, "size"):
        steps = args.size_steps or preset["size_steps"]
        jobs += [("size", s, steps) for s in preset["family"]]
    if args.only in (None, "isoflop"):
        plan = sc.isoflop_plan(preset["grid"], data.vocab_size, T, settings["batch_size"])
        jobs += [("isoflop", s, steps) for _, s, steps in plan]
    rows = []
    for sweep, size, steps in jobs:
        r = sc.train_size(size, data, steps=steps, sweep=sweep, seed=args.seed,
                          device=str(device), settings=preset["settings"])
        rows.append(r)
        print(f"{sweep:8s} {size.name:9s} N {r['N']:>9,} D {r['tokens']:>11,} C "
              f"{r['flops']:.2e} val {r['val_loss']:.4f} train {r['train_loss']:.4f} "
              f"{r['seconds']:6.1f} s", flush=True)
    wall = time.perf_counter() - T0

    gpu = f" ({env.gpu_name()})" if device.type == "cuda" else ""
    header = {
        "command": "python " + " ".join(map(shlex.quote, ["benchmarks/scaling.py"]
                                                   + sys.argv[1:])),
        "device": f"{device.type}{gpu}, {torch.get_num_threads()} torch thread(s), "
                  f"{platform.processor() or platform.machine()}",
        "torch": torch.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "data": f"Tiny Shakespeare, characters (V = {data.vocab_size}), nanoGPT's 90/10 split; "
                f"val_loss on the first {n_val:,} validation tokens, windows of {T}",
        "train": f"{settings}, seed {args.seed}; peak lr = min(max_lr, lr x lr_width / "
                 "embed_dim); flops = tokens x book.scale.flops_per_token(...).training",
        "wall_s": f"{wall:.0f}",
        "load": "load average (1, 5, 15 min) at the end: "
                + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    sc.write_csv(args.out, rows, header)
    print(f"wrote {len(rows)} rows to {args.out}")

    summary = {"wall_s": wall}
    size_rows = [r for r in rows if r["sweep"] == "size"]
    if len(size_rows) >= 3:
        fit = sc.fit_power_law([r["N"] for r in size_rows], [r["val_loss"] for r in size_rows])
        print(f"size sweep: L(N) = {fit.E:.3f} + {fit.A:.3g} / N^{fit.alpha:.3f}; residuals "
              + " ".join(f"{x:+.3f}" for x in fit.residuals))
        summary.update(alpha=fit.alpha, E=fit.E, A=fit.A)
    if args.only in (None, "isoflop"):
        iso = sc.fit_isoflop(rows)
        for C, n, d, lo, p in zip(iso.budgets, iso.N_opt, iso.D_opt, iso.loss_opt,
                                  iso.parabolas):
            where = "inside" if p.inside else "OUTSIDE (extrapolated)"
            print(f"C {C:.2e}: N* {n:,.0f} ({where} the sizes trained), D* {d:,.0f}, "
                  f"D*/N* {d / n:.1f}, loss {lo:.4f}")
        print(f"N* ∝ C^{iso.a:.3f}, D* ∝ C^{iso.b:.3f} (Hoffmann et al. 2022: about 0.5 "
              f"each, about 20 tokens per parameter)")
        summary.update(a=iso.a, b=iso.b,
                       tokens_per_param=float(np.exp(np.mean(np.log(iso.tokens_per_param)))))
    print(" ".join(f"{k} {v:.4g}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
