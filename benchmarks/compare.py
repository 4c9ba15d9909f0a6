"""Chapter 9's questions, measured larger: which model at an equal compute budget, a classifier
against a generator, and how much data (learning curves).

    LLM_BOOK_DATA=/work/shared/data python benchmarks/compare.py [--size benchmark|notebook]
        [--only lm classify datasize] [--csv DIR]

On one CPU thread, with the settings of `book.compare.BENCHMARK` and `book.datasize.BENCHMARK`
(default) or their NOTEBOOK versions (the chapter's; this times them):

- lm: Kneser-Ney n-grams of several orders (counted, no FLOPs), then a GPT and a char LSTM
  trained for the steps that spend each FLOP budget, per seed; all scored on the same
  validation characters (nats and bits per character), with training and scoring speed;
- classify: chapter 4's TF-IDF logistic regression against class-conditional word n-gram
  language models + Bayes' rule, on 10 .. 1,779 training articles of BBC News;
- datasize: one small GPT trained for a fixed number of steps on nested slices of 10k .. 1M
  characters of the training split; training and validation loss.

With --csv DIR (benchmarks/results), writes compare_lm.csv, compare_classify.csv and
datasize.csv there (with a _notebook suffix for the notebook sizes), each under '# key:
value' lines (command, device, torch, date), by `book.scaling.write_csv`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import torch

from book import compare, data, datasize, scaling
from book import textgen as tg

LM_COLUMNS = ("model", "kind", "seed", "budget", "params", "flops", "steps", "tokens",
              "val_loss", "bpc", "train_s", "train_tok_s", "eval_tok_s")
CLASSIFY_COLUMNS = ("model", "kind", "n_train", "seed", "val_acc", "test_acc", "test_nll",
                    "fit_s", "predict_s")


def header(seconds: float, note: str) -> dict[str, str]:
    """The '# key: value' lines: how, where and when the rows were made."""
    return {"command": f"python {' '.join(sys.argv)}",
            "device": f"cpu, {torch.get_num_threads()} torch thread(s), {platform.machine()}; "
                      f"took {seconds:.0f} s wall, load average {os.getloadavg()[0]:.1f} at "
                      "the end",
            "torch": torch.__version__,
            "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
            "data": note}


def run_lm(s: dict) -> list[dict]:
    text = data.load("tinyshakespeare", progress=False)
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)
    train_ids, val_ids = torch.tensor(tok.encode(train_text)), torch.tensor(tok.encode(val_text))
    rows, _ = compare.equal_compute(train_ids, val_ids, tok.vocab_size, **s)
    print(f"{'model':8s} {'seed':>4s} {'budget':>8s} {'steps':>6s} {'val':>6s} {'bpc':>6s} "
          f"{'train tok/s':>11s}")
    for r in rows:
        print(f"{r['model']:8s} {r['seed']:4d} {r['budget']:8.1e} {r['steps']:6d} "
              f"{r['val_loss']:6.3f} {r['bpc']:6.3f} {r['train_tok_s']:11,.0f}")
    return rows


def run_classify(s: dict) -> list[dict]:
    rows = compare.classifier_comparison(data.load("bbc_news", progress=False), **s)
    for r in rows:
        print(f"{r['model']:36s} n={r['n_train']:5d} seed {r['seed']} val {r['val_acc']:.3f} "
              f"test {r['test_acc']:.3f} nll {r['test_nll']:7.3f} fit {r['fit_s']:5.1f} s")
    return rows


def run_datasize(s: dict) -> list[dict]:
    rows = datasize.learning_curve(scaling.load_data(), **s)
    for r in rows:
        print(f"{r['chars']:9,d} chars seed {r['seed']} epochs {r['epochs']:6.1f} train "
              f"{r['train_loss']:.3f} val {r['val_loss']:.3f} gap {r['gap']:+.3f} "
              f"{r['seconds']:5.1f} s")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=("benchmark", "notebook"), default="benchmark")
    p.add_argument("--only", nargs="+", choices=("lm", "classify", "datasize"),
                   default=["lm", "classify", "datasize"])
    p.add_argument("--csv", type=Path, default=None, help="folder for the CSVs")
    args = p.parse_args()
    torch.set_num_threads(1)
    big = args.size == "benchmark"
    cmp, ds = (compare.BENCHMARK, datasize.BENCHMARK) if big else \
        (compare.NOTEBOOK, datasize.NOTEBOOK)
    suffix = "" if big else "_notebook"
    jobs = {"lm": (lambda: run_lm(cmp["lm"]), "compare_lm", LM_COLUMNS,
                   "Tiny Shakespeare characters (V = 65), nanoGPT's 90/10 split; every model "
                   "scored on the characters of the validation split's 64-character windows"),
            "classify": (lambda: run_classify(cmp["classify"]), "compare_classify",
                         CLASSIFY_COLUMNS, "BBC News, chapter 4's split (1,779 / 223 / 223)"),
            "datasize": (lambda: run_datasize(ds), "datasize", datasize.COLUMNS,
                         "Tiny Shakespeare characters; val_loss on the whole validation split "
                         "(every window once), train_loss on the first train_eval_tokens "
                         "tokens of each training slice")}
    summary = []
    for name in args.only:
        job, stem, columns, note = jobs[name]
        t0 = time.perf_counter()
        print(f"--- {name} ({args.size} sizes)")
        rows = job()
        seconds = time.perf_counter() - t0
        summary.append(f"{name}_s={seconds:.0f}")
        if args.csv is not None:
            path = args.csv / f"{stem}{suffix}.csv"
            scaling.write_csv(path, rows, header(seconds, note), columns)
            print(f"wrote {path}")
    print("compare " + " ".join(summary))


if __name__ == "__main__":
    main()
