"""What changed in the Transformer block since GPT-2, measured on Tiny Shakespeare (chapter 8).

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/block_variants.py [--seeds 0 1 2]
        [--variants gpt2 rope ...] [--max-iters N] [--config bench|live] [--csv PATH]

Trains chapter 5's character-level GPT (`book.textgen.variants.BENCH_CONFIG`: 4 layers of 96,
4 heads, context 64, 400 steps of 16 windows) once per variant and seed, at equal steps: the
GPT-2 block, then RoPE, RMSNorm, SwiGLU (F = round(8E/3) = 256, so its three matrices hold
exactly the 2 x 4E x E of GELU's two), grouped-query attention (2 key/value heads for 4 query
heads), and all four (Llama's block). For one seed every variant starts from the same random
state and sees the same batches. The validation loss is measured once, at the end, on the
whole validation split (nanoGPT's last 10%), in windows of the context length. One CPU thread.

Prints one line per run, a table (mean ± sample std over the seeds, and the paired difference
from the GPT-2 block), writes every run to the CSV (default benchmarks/results/
block_variants.csv; its header comment lines hold the command, date, device and versions), and
prints as its last line `<variant> <mean val_loss> ...` for every variant.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from book import data
from book import textgen as tg
from book.textgen import variants as bv

CSV = Path(__file__).resolve().parent / "results" / "block_variants.csv"


def main() -> None:
    """Run the sweep, print the table, write the CSV."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=list(bv.VARIANTS), choices=bv.VARIANTS)
    p.add_argument("--config", choices=["bench", "live"], default="bench",
                   help="BENCH_CONFIG (default) or the chapter's LIVE_CONFIG")
    p.add_argument("--max-iters", type=int, default=None, help="training steps per run")
    p.add_argument("--threads", type=int, default=1, help="torch's intra-op threads")
    p.add_argument("--csv", default=str(CSV), help="where to write the runs ('' = nowhere)")
    args = p.parse_args()
    t0 = time.perf_counter()

    torch.set_num_threads(args.threads)
    recipe = bv.BENCH_CONFIG if args.config == "bench" else bv.LIVE_CONFIG
    train = dict(recipe["train"])
    if args.max_iters is not None:
        train["max_iters"] = args.max_iters
    text = data.load("tinyshakespeare")
    tok = tg.CharTokenizer(text)
    train_text, val_text = tg.nanogpt_split(text)
    train_ids, val_ids = torch.tensor(tok.encode(train_text)), torch.tensor(tok.encode(val_text))
    model = {"vocab_size": tok.vocab_size, **recipe["model"]}
    machine = (f"Python {platform.python_version()} | torch {torch.__version__} | device cpu "
               f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
               f"average {os.getloadavg()[0]:.1f} at the start) | {torch.get_num_threads()} "
               "thread(s)")
    print(f"{machine}; GPT {recipe['model']}, train {train}, seeds {args.seeds}")

    rows = []
    for seed in args.seeds:
        for name in args.variants:
            row, = bv.compare_block_variants(train_ids, val_ids, model, train, seeds=(seed,),
                                             variants=(name,))
            rows.append(row)
            print(f"{name:<8} seed {seed}: {row['params']:,} parameters, val loss "
                  f"{row['val_loss']:.4f}, {row['seconds']:.1f} s", flush=True)
    summary = bv.summarize(rows)
    print(bv.format_table(summary))
    wall = time.perf_counter() - t0
    print(f"whole sweep: {wall / 60:.1f} min")

    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            command = shlex.join(["python", "benchmarks/block_variants.py", *sys.argv[1:]])
            f.write(f"# command: {command}\n")
            f.write(f"# date: {datetime.date.today().isoformat()}\n")
            f.write(f"# machine: {machine}; whole sweep {wall / 60:.1f} min\n")
            f.write(f"# model: {recipe['model']}; train: {train}; val_loss in nats on the "
                    "whole validation split\n")
            w = csv.DictWriter(f, ["variant", "seed", "params", "val_loss", "train_seconds"])
            w.writeheader()
            for r in rows:
                w.writerow({"variant": r["variant"], "seed": r["seed"], "params": r["params"],
                            "val_loss": f"{r['val_loss']:.4f}",
                            "train_seconds": f"{r['seconds']:.1f}"})
        print(f"wrote {args.csv}")
    print(" ".join(f"{name} {s['mean']:.4f}" for name, s in summary.items()))


if __name__ == "__main__":
    main()
