"""Train chapter 5's character-level GPT on Tiny Shakespeare and report its validation loss.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/textgen.py [--device cpu|cuda] [overrides]

Uses `book.textgen.CPU_MUON_CONFIG` (chapter 5's CPU model trained with Muon; `--config cpu`:
CPU_CONFIG, the chapter's AdamW recipe) or GPU_CONFIG on a CUDA device, the same code the
chapter calls; any setting can be overridden from the command line (see --help), so a script can
try several configurations in turn (benchmarks/textgen_gpu_sweep.py). The clock starts when the
process starts: --max-seconds (default: the recipe's budget_s) is a budget counted from there,
imports, data, compilation and warm-up included, and training stops when it is spent. The
validation loss is measured once, at the end, on the whole validation split (the last 10% of
the text, nanoGPT's split).

Prints a line with the device and the configuration, the model's size, a summary of the run
(with the model FLOPs utilisation on CUDA), and as its last line exactly
`val_loss <nats> wall_s <seconds> tokens_per_s <training tokens per second>`.
`--csv FILE` also appends the run to a CSV file (`CSV_FIELDS`: date, device, command, settings,
and where the time went: start-up, compilation and warm-up, steady training, evaluation).

torch.compile keeps what it compiled in `TORCHINDUCTOR_CACHE_DIR`, which this script sets, unless
it is set already, to the course's cache folder (`book.data.fetching.cache_dir()/torchinductor`)
rather than a temporary one: the first run of a configuration compiles cold, the next ones find
its kernels there. Set the variable to an empty folder to time a cold start.
"""

from __future__ import annotations

import statistics
import time

T0 = time.perf_counter()  # before the imports: they are part of what a user waits for

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402

from book.data.fetching import cache_dir  # noqa: E402  (imports no torch)

# before torch: where torch.compile keeps its compiled kernels between runs (see above)
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(cache_dir() / "torchinductor"))

import torch  # noqa: E402

from book import data, env  # noqa: E402
from book import textgen as tg  # noqa: E402

PEAK_FLOPS = {"cuda": 989e12}  # H200 (and H100 SXM) dense bf16 tensor-core peak

# command-line flag -> (section of the config, key, type)
OVERRIDES = {
    "batch_size": ("train", int), "lr": ("train", float), "min_lr": ("train", float),
    "max_iters": ("train", int), "warmup": ("train", int),
    "eval_interval": ("train", int), "eval_iters": ("train", int), "seed": ("train", int),
    "weight_decay": ("train", float), "compile": ("train", None),
    "compile_mode": ("train", str),
    "num_layers": ("model", int), "num_heads": ("model", int), "embed_dim": ("model", int),
    "max_len": ("model", int), "dropout": ("model", float),
}
KEY = {"warmup": "warmup_iters"}  # flags whose config key has another name


def parse_args() -> argparse.Namespace:
    """The device, the recipe to start from, and any overrides of its settings."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best here)")
    p.add_argument("--config", choices=["cpu", "cpu-muon", "gpu"], default=None,
                   help="the recipe to start from (default: gpu on CUDA, cpu-muon elsewhere)")
    p.add_argument("--optimizer", choices=tg.OPTIMIZERS, default=None,
                   help="adamw or muon (default: the recipe's)")
    for name, (_, typ) in OVERRIDES.items():
        flag = "--" + name.replace("_", "-")
        if typ is None:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        else:
            p.add_argument(flag, type=typ, default=None)
    p.add_argument("--max-seconds", type=float, default=None,
                   help="time budget from process start (default: the recipe's budget_s)")
    p.add_argument("--no-time-limit", action="store_true", help="no time budget: count steps")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default on the CPU: 1 or all, whichever runs a "
                        "probe faster now)")
    p.add_argument("--val-tokens", type=int, default=None,
                   help="evaluate on the first N validation tokens only (quick tests)")
    p.add_argument("--sample", type=int, default=0,
                   help="print this many generated characters (after the timing)")
    p.add_argument("--progress", action="store_true", help="show a tqdm progress bar")
    p.add_argument("--csv", type=Path, default=None,
                   help="append this run to a CSV file (made, with its header, if missing)")
    return p.parse_args()


RECIPES = {"cpu": tg.CPU_CONFIG, "cpu-muon": tg.CPU_MUON_CONFIG, "gpu": tg.GPU_CONFIG}


def settings(args: argparse.Namespace, device: torch.device
             ) -> tuple[dict, dict, float | None, str]:
    """(model settings, train settings, budget in seconds or None, optimizer): the recipe with
    the command line's overrides."""
    name = args.config or ("gpu" if device.type == "cuda" else "cpu-muon")
    recipe = RECIPES[name]
    model_kw, train_kw = dict(recipe["model"]), dict(recipe["train"])
    for flag, (section, _) in OVERRIDES.items():
        value = getattr(args, flag)
        if value is not None:
            (model_kw if section == "model" else train_kw)[KEY.get(flag, flag)] = value
    if train_kw.get("compile_mode") and not train_kw.get("compile"):
        train_kw["compile"] = True  # a compile mode means compiling
    seconds = args.max_seconds if args.max_seconds is not None else recipe["budget_s"]
    optimizer = args.optimizer or recipe.get("optimizer", "adamw")
    return model_kw, train_kw, None if args.no_time_limit else seconds, optimizer


PARALLEL_GAIN = 1.5  # all threads only when they multiply at least this much faster than one


def probe_threads(repeats: int = 5) -> tuple[int, str]:
    """1 or all of torch's threads for this run, from a probe that multiplies matrices of the
    CPU model's sizes: all threads only if they are at least PARALLEL_GAIN times faster than
    one (the median of `repeats` timings each). On two idle cores two threads are about twice
    as fast; beside another busy process they are no faster over a probe, and during training
    they wait for each other (one run that took two threads on a near tie trained half as many
    steps: benchmarks/README.md)."""
    a, b = torch.randn(1024, 128), torch.randn(128, 512)
    most, times = torch.get_num_threads(), {}
    for n in dict.fromkeys((most, 1)):
        torch.set_num_threads(n)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(50):
                a @ b
            runs.append(time.perf_counter() - start)
        times[n] = statistics.median(runs)
    chosen = most if times[most] * PARALLEL_GAIN <= times[1] else 1
    torch.set_num_threads(chosen)
    return chosen, ", ".join(f"{n} thread(s) {1e3 * t:.1f} ms" for n, t in times.items())


CSV_FIELDS = ("date_utc", "device", "command", "optimizer", "model", "train", "budget_s",
              "steps", "tokens", "ready_s", "warmup_s", "train_s", "eval_s", "wall_s",
              "steady_tokens_per_s", "mfu", "val_loss")


def check_csv(path: Path) -> bool:
    """Whether `path` is a new (or empty) file; a file with other columns than CSV_FIELDS stops
    the script, untouched (checked before training, so that no run is wasted)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    if tuple(header) != CSV_FIELDS:
        raise SystemExit(f"{path} has other columns ({', '.join(header)}); give --csv a new "
                         "file, or one this script wrote")
    return False


def append_csv(path: Path, row: dict) -> None:
    """Add `row` (keys: CSV_FIELDS) to the CSV file at `path`, with the header first if the
    file is new."""
    new = check_csv(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def main() -> None:
    """Train, evaluate on the whole validation split, print the summary lines."""
    args = parse_args()
    if args.csv is not None:
        check_csv(args.csv)
    device = env.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    elif device.type == "cpu":
        threads, probe = probe_threads()
        print(f"threads: {threads} (probe: {probe})", flush=True)
    model_kw, train_kw, seconds, optimizer = settings(args, device)
    cfg = tg.TrainConfig(**train_kw)
    gpu = f" ({env.gpu_name()})" if device.type == "cuda" else ""
    print(f"device {device.type}{gpu} | torch {torch.__version__} | "
          f"{torch.get_num_threads()} threads | model {model_kw} | train {asdict(cfg)} | "
          f"optimizer {optimizer} | budget {seconds} s",
          flush=True)

    text = data.load("tinyshakespeare", progress=False)
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)  # 65 characters, all of which occur in the training part
    train_ids = torch.tensor(tok.encode(train_text))
    val_ids = torch.tensor(tok.encode(val_text))[: args.val_tokens]
    env.seed_everything(cfg.seed)
    model = tg.GPT(tg.GPTConfig(vocab_size=tok.vocab_size, **model_kw))
    ready = time.perf_counter() - T0
    print(f"{model.num_params() / 1e6:.2f} M parameters, {model.flops_per_token() / 1e6:.1f} "
          f"MFLOP per token; {len(train_ids):,} training and {len(val_ids):,} validation tokens; "
          f"ready after {ready:.1f} s", flush=True)
    if cfg.compile:
        print(f"torch.compile (mode {cfg.compile_mode or 'default'}) caches in "
              f"{os.environ['TORCHINDUCTOR_CACHE_DIR']}", flush=True)

    budget = None if seconds is None else tg.Budget(seconds, t0=T0)
    log = tg.train(model, train_ids, val_ids, cfg, device, progress=args.progress, budget=budget,
                   optimizer=optimizer)
    for row in log.history:
        print(" ".join(f"{k} {v:.4g}" for k, v in row.items()))
    # the whole split; no gradients are kept, so 4 times the training batch fits
    t_eval = time.perf_counter()
    val_loss = tg.estimate_loss(model, val_ids.to(device), 4 * cfg.batch_size)
    wall = time.perf_counter() - T0
    eval_s = wall - (t_eval - T0)
    tokens_per_s = log.tokens / log.seconds
    # the first 5 steps compile and warm up; the rest ran at the steady speed
    steady_s = ((log.steps - 5) * cfg.batch_size * model.config.max_len
                / log.steady_tokens_per_s) if log.steady_tokens_per_s else log.seconds
    warmup_s = log.seconds - steady_s
    summary = (f"steps {log.steps} | {log.tokens / 1e6:.1f} M tokens in {log.seconds:.1f} s "
               f"({warmup_s:.1f} s of them compiling and warming up) | steady "
               f"{log.steady_tokens_per_s:,.0f} tokens/s | evaluation {eval_s:.2f} s | val "
               f"bits/char {tg.bits_per_char(val_loss):.3f}")
    mfu = None
    if device.type in PEAK_FLOPS:
        mfu = log.steady_tokens_per_s * model.flops_per_token() / PEAK_FLOPS[device.type]
        summary += f" | MFU {100 * mfu:.1f}% of {PEAK_FLOPS[device.type] / 1e12:.0f} TFLOP/s"
    print(summary)
    if args.csv is not None:
        append_csv(args.csv, {
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device": device.type + gpu, "command": shlex.join(["python", *sys.argv]),
            "optimizer": optimizer, "model": json.dumps(model_kw), "train": json.dumps(asdict(cfg)),
            "budget_s": seconds, "steps": log.steps, "tokens": log.tokens,
            "ready_s": round(ready, 2), "warmup_s": round(warmup_s, 2),
            "train_s": round(log.seconds, 2), "eval_s": round(eval_s, 2),
            "wall_s": round(wall, 2), "steady_tokens_per_s": round(log.steady_tokens_per_s),
            "mfu": "" if mfu is None else round(mfu, 4), "val_loss": round(val_loss, 4)})
    if args.sample:
        idx = torch.tensor([tok.encode("\n")], device=device)
        out = tg.generate(model, idx, args.sample, top_k=20,
                          generator=torch.Generator(device=device).manual_seed(0))
        print(tok.decode(out[0].tolist()))
    print(f"val_loss {val_loss:.4f} wall_s {wall:.1f} tokens_per_s {tokens_per_s:.1f}",
          flush=True)  # the sweep times a run to this line


if __name__ == "__main__":
    main()
