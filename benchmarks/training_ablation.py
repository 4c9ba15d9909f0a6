"""How to optimise training (chapter 9): chapter 5's GPT recipe ablated one knob at a time, with
several seeds, on Tiny Shakespeare's characters.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/training_ablation.py [--seeds 0 1 2 3 4]
        [--variants baseline "lr x3" ...] [--steps N] [--out PATH] [--range-out PATH]

For every seed: a learning-rate range test (`book.ablation.lr_range_test`, the curve written to
--range-out, default benchmarks/results/training_ablation_range.csv), then the baseline and every
variant (`book.ablation.BENCHMARK`: a 2-layer GPT of width 64, context 64, 300 steps of 16
windows at the baseline batch; the batch-size variants train on as many tokens), each
measured once at the end on the whole validation split. One row per run goes to --out (default
benchmarks/results/training_ablation.csv), under '# key: value' header lines (command, device,
torch, date, settings; `book.scaling.write_csv`). Prints a line per run, the table of paired
differences from the baseline (`book.ablation.format_table`), and as its last line
`<variant> <mean paired difference> ...`. One CPU thread.
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

import torch  # noqa: E402

from book import ablation as ab  # noqa: E402
from book import env  # noqa: E402
from book import scaling as sc  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    """Run the range tests and the ablation, print the table, write the two CSVs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(ab.BENCHMARK["seeds"]))
    p.add_argument("--variants", nargs="+", default=list(ab.VARIANTS), choices=list(ab.VARIANTS))
    p.add_argument("--steps", type=int, default=None, help="steps at the baseline batch size")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", type=Path, default=RESULTS / "training_ablation.csv")
    p.add_argument("--range-out", type=Path, default=RESULTS / "training_ablation_range.csv")
    args = p.parse_args()
    if "baseline" not in args.variants:
        p.error("--variants must include 'baseline': every variant is compared with it")
    torch.set_num_threads(args.threads)
    device = env.device(args.device)
    settings = {**ab.BENCHMARK, "seeds": tuple(args.seeds), "variants": tuple(args.variants)}
    if args.steps is not None:
        settings["steps"] = args.steps

    corpus = sc.load_data()  # chapter 5's characters, nanoGPT's split
    train_ids, val_ids = corpus.train_ids, corpus.val_ids
    shown = {k: v for k, v in settings.items() if k != "recipe"}
    print(f"device {device.type} | torch {torch.__version__} | {torch.get_num_threads()} "
          f"thread(s) | {shown} | baseline {settings['recipe']}", flush=True)

    curves = []
    for seed in settings["seeds"]:
        test = ab.lr_range_test(settings["model"], train_ids, seed, device=str(device),
                                recipe=settings["recipe"], **settings["range_test"])
        curves += [{"seed": seed, "step": i, "lr": lr, "loss": loss}
                   for i, (lr, loss) in enumerate(zip(test.lrs, test.losses))]
        print(f"range test, seed {seed}: {len(test.lrs)} steps"
              f"{' (stopped: the loss blew up)' if test.stopped_early else ''}, suggests "
              f"lr {test.suggestion():.2g}", flush=True)

    def show(r: dict) -> None:
        print(f"{r['variant']:<16} seed {r['seed']}: {r['steps']:>4} steps, train "
              f"{r['train_loss']:.4f}, val {r['val_loss']:.4f}, {r['seconds']:.1f} s",
              flush=True)

    rows = ab.run_ablation(train_ids, val_ids, settings, str(device), on_row=show)
    summary = ab.summarize(rows, "baseline")
    print(ab.format_table(summary, "baseline", params=False))
    wall = time.perf_counter() - T0
    print(f"whole sweep: {wall / 60:.1f} min")

    gpu = f" ({env.gpu_name()})" if device.type == "cuda" else ""
    header = {
        "command": shlex.join(["python", "benchmarks/training_ablation.py", *sys.argv[1:]]),
        "device": f"{device.type}{gpu}, {torch.get_num_threads()} torch thread(s), "
                  f"{platform.processor() or platform.machine()}",
        "torch": torch.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "data": f"Tiny Shakespeare, characters (V = {corpus.vocab_size}), nanoGPT's 90/10 split; "
                "val_loss in nats on the whole validation split, windows of max_len; "
                "train_loss: mean batch loss of the last 10% of steps",
        "model": str(settings["model"]),
        "baseline": str(settings["recipe"]),
        "steps": f"{settings['steps']} at the baseline batch size; every run trains on "
                 f"{rows[0]['tokens']:,} tokens",
        "seeds": " ".join(map(str, settings["seeds"])),
        "range_test": f"{settings['range_test']}, curves in {args.range_out.name}",
        "wall_s": f"{wall:.0f}",
        "load": "load average (1, 5, 15 min) at the end: "
                + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    sc.write_csv(args.out, rows, header, ab.COLUMNS)
    sc.write_csv(args.range_out, curves, {**header, "what": "learning-rate range test curves"},
                 ab.RANGE_COLUMNS)
    print(f"wrote {len(rows)} rows to {args.out} and {len(curves)} to {args.range_out}")
    print(" ".join(f"{name.replace(' ', '_')} {s['delta_mean']:+.4f}"
                   for name, s in summary.items()))


if __name__ == "__main__":
    main()
