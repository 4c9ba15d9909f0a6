"""Sweep configurations of chapter 5's GPU recipe on one CUDA GPU, each run its own process.

    LLM_BOOK_DATA=/path/to/data python benchmarks/textgen_gpu_sweep.py [--group speedrun]
        [--csv benchmarks/results/textgen_gpu_sweep.csv] [--only NAME ...] [--dry-run]

Each configuration runs `benchmarks/textgen.py --device cuda` with its own flags in a new
process (imports, CUDA start-up, data, compilation and the final evaluation on the whole
validation split all count), which appends its row to the CSV file (`textgen.py --csv`: date,
device, command, settings, and where the time went). A run is timed twice: by its own clock,
from its first line (`wall_s`), and here, from launching the process to its result line, the
interpreter's start-up included (`launch`); the goal is judged by the later of the two.

Groups:
- `speedrun` (default): the goal of a validation loss of at most GOAL_LOSS within GOAL_SECONDS
  from launch. AdamW as `GPU_CONFIG` has it, then Muon on the blocks' matrices at several
  learning rates, batch sizes, dropout and depths, then torch.compile: a cold start (an empty
  compile cache), a warm one, and CUDA graphs (`--compile-mode reduce-overhead`). Every run gets
  the same training budget, BUDGET_S, which leaves the evaluation inside the goal.
  Then the best configuration that met the time goal is run `--repeat` more times, one after
  the other, and the script says whether every repeat met both goals.
- `recipe`: the sweep of 2026-11-28 that chose `GPU_CONFIG` (18-19 s budgets).

Prints each run's configuration and summary lines, then a table of all runs; exit status 0
when the repeats all met the goal (or with --dry-run, or for the recipe group), 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "textgen.py"
GOAL_LOSS, GOAL_SECONDS = 1.47, 10.0
RUN_TIMEOUT_S = 300
BUDGET_S = "9.3"  # training stops here; the evaluation (~0.2 s) and the start-up before
#                   the benchmark's clock fit in the rest

# name -> flags for textgen.py (besides --device cuda and --csv)
SPEEDRUN = {
    "adamw": ["--max-seconds", BUDGET_S],
    "muon-lr1.5e-3": ["--optimizer", "muon", "--max-seconds", BUDGET_S],
    "muon-lr3e-3": ["--optimizer", "muon", "--lr", "3e-3", "--min-lr", "3e-4",
                    "--max-seconds", BUDGET_S],
    "muon-lr5e-3": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                    "--max-seconds", BUDGET_S],
    "muon-lr8e-3": ["--optimizer", "muon", "--lr", "8e-3", "--min-lr", "8e-4",
                    "--max-seconds", BUDGET_S],
    "muon-lr5e-3-batch64": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                            "--batch-size", "64", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-batch256": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                             "--batch-size", "256", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-dropout0": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                             "--dropout", "0", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-4layers": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                            "--num-layers", "4", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-warmup20": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                             "--warmup", "20", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-compile-cold": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                                 "--compile", "--max-seconds", "60"],
    "muon-lr5e-3-compile-warm": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                                 "--compile", "--max-seconds", BUDGET_S],
    "muon-lr5e-3-cudagraphs-cold": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                                    "--compile-mode", "reduce-overhead", "--max-seconds", "60"],
    "muon-lr5e-3-cudagraphs-warm": ["--optimizer", "muon", "--lr", "5e-3", "--min-lr", "5e-4",
                                    "--compile-mode", "reduce-overhead",
                                    "--max-seconds", BUDGET_S],
}
# Compiled runs: each pair has a compile cache of its own, empty when the sweep starts, so the
# "cold" run compiles from nothing and the "warm" one after it finds its kernels.
CACHES = {"muon-lr5e-3-compile-cold": "compile", "muon-lr5e-3-compile-warm": "compile",
          "muon-lr5e-3-cudagraphs-cold": "cudagraphs",
          "muon-lr5e-3-cudagraphs-warm": "cudagraphs"}

RECIPE = {  # 2026-11-28: what chose GPU_CONFIG
    "gpu-config": [],
    "batch256-lr2e-3-dropout0": ["--batch-size", "256", "--lr", "2e-3", "--min-lr", "2e-4",
                                 "--dropout", "0"],
    "batch256-lr2e-3-dropout0.2": ["--batch-size", "256", "--lr", "2e-3", "--min-lr", "2e-4",
                                   "--dropout", "0.2"],
    "lr2e-3": ["--lr", "2e-3", "--min-lr", "2e-4"],
    "batch64-lr1e-3": ["--batch-size", "64", "--lr", "1e-3", "--min-lr", "1e-4"],
    "8x512": ["--num-layers", "8", "--embed-dim", "512", "--num-heads", "8"],
    "compile-45s": ["--compile", "--max-seconds", "45"],
    "1500-steps": ["--no-time-limit", "--max-iters", "1500"],
}
GROUPS = {"speedrun": SPEEDRUN, "recipe": RECIPE}


def run(name: str, flags: list[str], table: Path, python: str, env: dict) -> dict | None:
    """Run one configuration, print its lines but the per-step ones; return the row it added
    to `table` with `launch_s` added, or None if it failed.

    `launch_s` is measured here, from starting the process to its last line (the validation
    loss): it counts the interpreter's start-up, which the benchmark's own clock (`wall_s`, from
    its first line) cannot see, and not the exit after the result."""
    before = len(rows(table))
    cmd = [python, str(BENCH), "--device", "cuda", *flags, "--csv", str(table)]
    print(f"=== {name}: {' '.join(cmd[1:])}", flush=True)
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        except OSError as e:  # the interpreter could not be started
            print(f"    could not start {python}: {e}", flush=True)
            return None
        killed = threading.Event()
        timer = threading.Timer(RUN_TIMEOUT_S, lambda: (killed.set(), proc.kill()))
        timer.start()
        launch_s, lines = None, []
        try:
            for line in proc.stdout:
                if line.startswith("val_loss "):
                    launch_s = time.perf_counter() - start
                if not line.startswith("step "):
                    lines.append("    " + line.rstrip("\n"))
            returncode = proc.wait()
        finally:
            timer.cancel()
        print("\n".join(lines), flush=True)
        if returncode:
            err.seek(0)
            why = (f"stopped after {RUN_TIMEOUT_S} s" if killed.is_set()
                   else f"exit status {returncode}")
            print(f"    FAILED ({why}):\n" + "\n".join(
                "    " + line for line in err.read().strip().splitlines()[-15:]), flush=True)
            return None
    added = rows(table)[before:]
    if not added or launch_s is None:
        print("    FAILED: no result (no CSV row or no val_loss line)", flush=True)
        return None
    return {**added[-1], "launch_s": f"{launch_s:.2f}"}


def seconds(row: dict) -> float:
    """The time a run is judged by: the later of its own clock and the launch-to-result one."""
    return max(float(row["wall_s"]), float(row["launch_s"]))


def rows(table: Path) -> list[dict]:
    """The CSV file's rows (none if it does not exist yet)."""
    if not table.exists():
        return []
    with table.open(newline="") as f:
        return list(csv.DictReader(f))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--group", choices=sorted(GROUPS), default="speedrun")
    p.add_argument("--csv", type=Path, default=ROOT / "benchmarks" / "results" /
                   "textgen_gpu_sweep.csv", help="where the runs' rows go (appended)")
    p.add_argument("--only", nargs="+", default=None, help="run only these configurations")
    p.add_argument("--repeat", type=int, default=3,
                   help="speedrun: runs of the best configuration after the sweep")
    p.add_argument("--python", default=sys.executable, help="the interpreter with torch")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = p.parse_args()
    configs = GROUPS[args.group]
    unknown = sorted(set(args.only or ()) - set(configs))
    if unknown:
        p.error(f"no configuration {', '.join(unknown)} in group {args.group}; there are: "
                f"{', '.join(configs)}")
    names = [n for n in configs if args.only is None or n in args.only]
    if args.dry_run:
        for name in names:
            print(f"{name}: {args.python} {BENCH.relative_to(ROOT)} --device cuda "
                  f"{' '.join(configs[name])} --csv {args.csv}")
        return 0
    if not os.environ.get("LLM_BOOK_DATA"):
        p.error("set LLM_BOOK_DATA to a folder with tinyshakespeare/input.txt (a copy of the "
                "course's data mirror)")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryDirectory(prefix="sweep-compile-caches-") as caches:
        envs = {name: {**env, "TORCHINDUCTOR_CACHE_DIR": str(Path(caches) / CACHES[name])}
                if name in CACHES else env for name in names}
        done = {}  # name -> its CSV row
        for name in names:
            row = run(name, configs[name], args.csv, args.python, envs[name])
            if row is not None:
                done[name] = row
        print("\n" + summary(done))
        if args.group != "speedrun":
            return 0
        in_time = {n: r for n, r in done.items() if seconds(r) <= GOAL_SECONDS}
        if not in_time:
            print(f"no run finished within {GOAL_SECONDS} s: nothing to repeat")
            return 1
        best = min(in_time, key=lambda n: float(in_time[n]["val_loss"]))
        print(f"\nbest within {GOAL_SECONDS} s: {best}, val_loss {in_time[best]['val_loss']}; "
              f"{args.repeat} more runs of it, one after the other:")
        repeats = {f"{best} #{i + 1}": run(f"{best} #{i + 1}", configs[best], args.csv,
                                           args.python, envs[best])
                   for i in range(args.repeat)}
    met = sum(r is not None and float(r["val_loss"]) <= GOAL_LOSS
              and seconds(r) <= GOAL_SECONDS for r in repeats.values())
    print("\n" + summary({n: r for n, r in repeats.items() if r is not None}))
    print(f"goal (val_loss <= {GOAL_LOSS} within {GOAL_SECONDS} s from launch) met in {met} of "
          f"{args.repeat} repeats")
    return 0 if met == args.repeat else 1


def summary(done: dict[str, dict]) -> str:
    """A table of runs: name, validation loss, seconds (the benchmark's clock, then from launch
    to result), steps, where the time went, MFU."""
    lines = [f"{'run':32} {'val_loss':>8} {'wall_s':>6} {'launch':>6} {'steps':>6} "
             f"{'ready':>5} {'warm-up':>7} {'eval':>5} {'MFU':>6}"]
    for name, r in done.items():
        mfu = f"{100 * float(r['mfu']):5.1f}%" if r["mfu"] else "     -"
        lines.append(f"{name:32} {float(r['val_loss']):8.4f} {float(r['wall_s']):6.1f} "
                     f"{float(r['launch_s']):6.1f} {r['steps']:>6} {float(r['ready_s']):5.1f} "
                     f"{float(r['warmup_s']):7.1f} {float(r['eval_s']):5.2f} {mfu}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
