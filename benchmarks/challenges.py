"""Chapter 8's three challenges, measured: data noise, memorisation, one attention head.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/challenges.py [--size benchmark|notebook]
        [--only noise memorisation heads] [--csv DIR]

Runs `book.challenges`' experiments on Tiny Shakespeare with the sizes of `challenges.BENCHMARK`
(default) or `challenges.NOTEBOOK` (the chapter's; this times them), on one CPU thread:

- noise: the same small GPT trained on 0 / 10 / 30 % character noise (`corrupt`), for each
  seed; validation loss and bits per character on the CLEAN validation split;
- memorisation: a small GPT trained on a small slice of the training split; at each
  checkpoint, the share of greedy continuations of prompts from the slice and from held-out
  text that equal the text's own (`continuation_match`);
- heads: a small GPT's mean attention by offset (what the attention view shows), then the
  validation loss with each head ablated (`ablate_heads`), with every previous-token head
  ablated together, and where the focus head's ablation raises the loss.

With --csv DIR, writes challenges_<table>.csv there (challenges_<table>_notebook.csv for the
notebook sizes), with header lines: command, device, torch, date. The last line printed is
machine-readable: `challenges key=value ...`.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from book import challenges as ch
from book import data


def write_csv(path: Path, rows: list[dict], seconds: float, cpu_seconds: float) -> None:
    """rows as CSV, after comment lines saying how they were made."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    with path.open("w", newline="") as f:
        f.write(f"# command: python {' '.join(sys.argv)}\n")
        f.write(f"# device: cpu ({cpu}), {torch.get_num_threads()} thread(s); this experiment "
                f"took {seconds:.0f} s wall, {cpu_seconds:.0f} s of CPU, load average "
                f"{os.getloadavg()[0]:.1f} at the end\n")
        f.write(f"# torch: {torch.__version__}, Python {platform.python_version()}\n")
        f.write(f"# date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def fmt(row: dict) -> dict:
    """Floats rounded for a CSV or a table."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def run_noise(text: str, s: dict, summary: dict) -> list[dict]:
    rows = ch.noise_experiment(text, **s)
    print(f"noise: {s['steps']} steps per run; validation on the clean split")
    print(f"{'fraction':>8s} {'seed':>4s} {'val loss':>8s} {'bits/char':>9s} {'s':>5s}")
    for r in rows:
        print(f"{r['fraction']:8.2f} {r['seed']:4d} {r['val_loss']:8.4f} {r['bpc']:9.4f} "
              f"{r['seconds']:5.1f}")
    clean = {r["seed"]: r["bpc"] for r in rows if r["fraction"] == 0}
    for f in s["fractions"]:
        bpc = [r["bpc"] for r in rows if r["fraction"] == f]
        rise = [r["bpc"] - clean[r["seed"]] for r in rows if r["fraction"] == f]
        spread = f" (seeds {min(bpc):.3f}..{max(bpc):.3f})" if len(bpc) > 1 else ""
        # a model that knew the clean text's next character for sure and mixed in the noise
        # would lose -log2(1 - f) bits on clean text: the cost of the noise in the output alone
        print(f"  {f:.0%} noise: mean {statistics.mean(bpc):.3f} bits/char{spread}, "
              f"+{statistics.mean(rise):.3f} over clean, paired by seed (output noise alone "
              f"would cost at most {0.0 - math.log2(1 - f) if f < 1 else math.inf:.3f})")
        summary[f"noise_bpc_{round(f * 100)}"] = f"{statistics.mean(bpc):.3f}"
    return rows


def run_memorisation(text: str, s: dict, summary: dict) -> list[dict]:
    rows = ch.memorisation_experiment(text, **s)
    print(f"memorisation: {s['slice_chars']} training characters, prompts of {s['prompt_len']}, "
          f"continuations of {s['cont_len']}, {s['num_prompts']} prompts each")
    print(f"{'step':>5s} {'loss tr':>7s} {'loss ho':>7s} | {'exact tr':>8s} {'prefix tr':>9s} "
          f"| {'exact ho':>8s} {'prefix ho':>9s}")
    for r in rows:
        print(f"{r['step']:5d} {r['train_loss']:7.3f} {r['heldout_loss']:7.3f} | "
              f"{r['train_exact']:8.3f} {r['train_prefix']:9.2f} | {r['heldout_exact']:8.3f} "
              f"{r['heldout_prefix']:9.2f}")
    first = next((r["step"] for r in rows if r["train_exact"] >= 0.5), None)
    summary |= {"mem_train_exact": f"{rows[-1]['train_exact']:.3f}",
                "mem_heldout_exact": f"{max(r['heldout_exact'] for r in rows):.3f}",
                "mem_half_at_step": first}
    return rows


def run_heads(text: str, s: dict, summary: dict) -> tuple[list[dict], list[dict]]:
    out = ch.head_ablation_experiment(text, **s)
    offsets, ablated, base = out["offsets"], out["ablated"], out["base"]
    L, nh, D = offsets.shape
    print(f"heads: {L} layers x {nh} heads, {s['steps']} steps; validation loss {base:.4f}")
    print(f"{'head':>5s} " + " ".join(f"{'off ' + str(d):>6s}" for d in range(D))
          + f" {'ablated':>8s} {'rise':>7s}")
    rows = []
    for l in range(L):
        for h in range(nh):
            rise = ablated[l, h].item() - base
            print(f"{l}.{h:<3d} " + " ".join(f"{offsets[l, h, d].item():6.3f}" for d in range(D))
                  + f" {ablated[l, h].item():8.4f} {rise:+7.4f}")
            rows.append(fmt({"heads": f"{l}.{h}", **{f"offset_{d}": offsets[l, h, d].item()
                                                       for d in range(D)},
                             "val_loss": ablated[l, h].item(), "rise": rise}))
    group = "+".join(f"{l}.{h}" for l, h in out["prev_heads"])
    rows.append(fmt({"heads": group or "none", **{f"offset_{d}": "" for d in range(D)},
                     "val_loss": out["all_prev"], "rise": out["all_prev"] - base}))
    rows.append(fmt({"heads": "none", **{f"offset_{d}": "" for d in range(D)},
                     "val_loss": base, "rise": 0.0}))
    fl, fh = out["focus"]
    top = divmod(int(ablated.argmax()), nh)
    rank = int((ablated > ablated[fl, fh]).sum()) + 1
    print(f"focus head {fl}.{fh} (most weight on offset 1: {offsets[fl, fh, 1]:.3f}): ablated "
          f"+{ablated[fl, fh] - base:.4f}, rank {rank} of {L * nh} by loss rise; the largest "
          f"rise is head {top[0]}.{top[1]} (+{ablated.max() - base:.4f})")
    print(f"all previous-token heads ({group or 'none'}) together: +{out['all_prev'] - base:.4f}")
    print("focus head's loss rise by the class of the previous character:")
    char_rows = []
    for key, (n, r) in sorted(out["by_class"].items(), key=lambda kv: -kv[1][1]):
        print(f"  {key:8s} {n:7d} {r:+.4f}")
        char_rows.append(fmt({"group": "class", "key": key, "count": n, "rise": r}))
    common = [(k, v) for k, v in out["by_char"].items() if v[0] >= 100]
    for key, (n, r) in sorted(common, key=lambda kv: -kv[1][1]):
        char_rows.append(fmt({"group": "char", "key": repr(key), "count": n, "rise": r}))
    print("  characters seen 100+ times, largest rises: " + ", ".join(
        f"{r['key']} {r['rise']:+.3f}" for r in char_rows if r["group"] == "char")[:300])
    summary |= {"heads_focus": f"{fl}.{fh}", "heads_focus_off1": f"{offsets[fl, fh, 1]:.3f}",
                "heads_focus_rise": f"{ablated[fl, fh] - base:.4f}", "heads_focus_rank": rank,
                "heads_top": f"{top[0]}.{top[1]}", "heads_top_rise": f"{ablated.max() - base:.4f}",
                "heads_prev_all_rise": f"{out['all_prev'] - base:.4f}"}
    return rows, char_rows


def main() -> None:
    """Run the chosen experiments; print tables, a summary line; write CSVs if asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=["benchmark", "notebook"], default="benchmark")
    parser.add_argument("--only", nargs="+", choices=["noise", "memorisation", "heads"],
                        default=["noise", "memorisation", "heads"])
    parser.add_argument("--csv", type=Path, default=None, help="folder for the CSV files")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = ch.BENCHMARK if args.size == "benchmark" else ch.NOTEBOOK
    text = data.load("tinyshakespeare")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), sizes: {args.size}")
    summary: dict = {}
    start_all = time.perf_counter()
    for name in args.only:
        start, start_cpu = time.perf_counter(), time.process_time()
        if name == "noise":
            tables = {"noise": [fmt(r) for r in run_noise(text, settings[name], summary)]}
        elif name == "memorisation":
            tables = {"memorisation": [fmt(r) for r in run_memorisation(text, settings[name],
                                                                        summary)]}
        else:
            heads, chars = run_heads(text, settings[name], summary)
            tables = {"heads": heads, "heads_chars": chars}
        # CPU time too: on a shared machine the wall time depends on the other processes
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        summary[f"{name}_s"], summary[f"{name}_cpu_s"] = f"{seconds:.1f}", f"{cpu:.1f}"
        print(f"[{name}: {seconds:.1f} s wall, {cpu:.1f} s CPU]\n")
        if args.csv is not None:
            args.csv.mkdir(parents=True, exist_ok=True)
            for table, rows in tables.items():
                suffix = "" if args.size == "benchmark" else "_notebook"
                write_csv(args.csv / f"challenges_{table}{suffix}.csv", rows, seconds, cpu)
    summary["total_s"] = f"{time.perf_counter() - start_all:.1f}"
    summary["load_avg"] = f"{os.getloadavg()[0]:.1f}"
    print("challenges " + " ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
