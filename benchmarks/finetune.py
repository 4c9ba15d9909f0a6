"""Chapter 6's pretrain-then-fine-tune on BBC News, with FINETUNE_SETTINGS: pretrain the GPT as a
language model on the training articles' text, then print the learning curve (test accuracy
against the number of labelled examples, pretrained against the same network from random
weights, mean ± std over the seeds), zero-shot accuracy against the majority class, and the
time of each part. `--probe` adds the curve with the body frozen (a linear probe);
`--zero-shot-grid` prints every prompt tried, on the validation and the test articles.
Last line: `acc100_pretrained … acc100_scratch … zero_shot … majority … pretrain_s …`.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/finetune.py --threads 1
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np
import torch

from book import data
from book import finetune as ft
from book.env import with_settings

# The prompts the zero-shot grid tries; the label words: the class names, then two hand-picked
# sets (a word the articles use for each topic). Choose on "val", report "test".
TEMPLATES = ["{text} {label}", "{text} . {label}", "{text} , {label}",
             "{text} . this is about {label}"]
LABEL_WORDS = {
    "class names": None,
    "topic words": ["business", "film", "government", "sport", "technology"],
    "other words": ["economy", "music", "election", "match", "computer"],
}


def clock() -> tuple[float, float]:
    """(wall, CPU) seconds now."""
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds since t0."""
    t1 = clock()
    return t1[0] - t0[0], t1[1] - t0[1]


def print_curve(rows: list[dict], title: str) -> dict:
    """Print sizes x inits as mean ± std (seeds); return summarise_curve's dict."""
    summary = ft.summarise_curve(rows)
    sizes = sorted({size for _, size in summary})
    inits = [i for i in ft.INITS if any(k[0] == i for k in summary)]
    print(f"\n{title}: test accuracy, mean ± std over seeds")
    print("labels  " + "".join(f"{i:>18}" for i in inits))
    for size in sizes:
        cells = "".join(f"{summary[(i, size)][0]:>11.3f} ± {summary[(i, size)][1]:.3f}"
                        for i in inits)
        print(f"{size:>6}  {cells}")
    return summary


def zero_shot_accuracy(lm, task, split: str, words, template: str, calibration) -> float:
    """Zero-shot accuracy on a split (its texts, its labels)."""
    labels = getattr(task, split).labels.numpy()
    pred = ft.zero_shot(lm, task.vocab, task.texts[split], words, template, calibration)
    return float((pred == labels).mean())


def main() -> None:
    """Parse the arguments, pretrain, run the curve and zero-shot, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="cpu", choices=sorted(ft.FINETUNE_SETTINGS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--sizes", default=None,
                        help="labelled set sizes, e.g. '[50, 100, None]' (None: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--probe", action="store_true", help="also the frozen-body curve")
    parser.add_argument("--zero-shot-grid", action="store_true")
    parser.add_argument("--set", nargs="*", default=[], metavar="A.B=VALUE",
                        help="changes to the settings, e.g. finetune.lr=1e-3 pretrain.lr=3e-3")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    s = with_settings(ft.FINETUNE_SETTINGS[args.settings], args.set)
    sizes = ast.literal_eval(args.sizes) if args.sizes else list(s["curve"]["sizes"])
    seeds = args.seeds or list(s["curve"]["seeds"])

    t0 = clock()
    task = ft.prepare_task(data.load("bbc_news", progress=False), **s["task"])
    prepare_s = since(t0)
    lm = ft.new_gpt(len(task.vocab), s["model"], seed=s["pretrain"]["seed"])
    print(f"settings {args.settings} {' '.join(args.set)}; vocabulary {len(task.vocab)} words; "
          f"LM text {len(task.lm_train):,} tokens (val {len(task.lm_val):,}); GPT "
          f"{lm.num_params():,} parameters; labelled train {len(task.train)}, test "
          f"{len(task.test)}; threads {torch.get_num_threads()}")
    t0 = clock()
    log = ft.pretrain(lm, task, s["pretrain"], args.device, progress=False)
    pretrain_s = since(t0)
    print("pretraining: " + ", ".join(f"step {h['step']} val_loss {h['val_loss']:.3f}"
                                      for h in log.history)
          + f"; {pretrain_s[0]:.1f} s wall, {pretrain_s[1]:.1f} s CPU")

    t0 = clock()
    rows = ft.learning_curve(lm, task, sizes, seeds, s, device=args.device, progress=False)
    curve_s = since(t0)
    summary = print_curve(rows, f"fine-tuned ({s['finetune']['steps']} steps each)")
    print(f"{len(rows)} runs in {curve_s[0]:.1f} s wall, {curve_s[1]:.1f} s CPU "
          f"(one run: {np.mean([r['train_s'] for r in rows]):.2f} s on average)")
    if args.probe:
        probe = ft.learning_curve(lm, task, sizes, seeds, s, freeze_body=True,
                                  device=args.device, progress=False)
        print_curve(probe, "linear probe (body frozen)")

    z = s["zero_shot"]
    calibration = task.texts["train"][:z["n_calibration"]]
    majority = float(np.bincount(task.test.labels.numpy()).max() / len(task.test))
    t0 = clock()
    zs_raw = zero_shot_accuracy(lm, task, "test", task.class_names, z["template"], None)
    zs = zero_shot_accuracy(lm, task, "test", task.class_names, z["template"], calibration)
    zero_s = since(t0)
    print(f"\nzero-shot on test, the class names after {z['template']!r}: calibrated {zs:.3f}, "
          f"raw {zs_raw:.3f}; majority class {majority:.3f}; {zero_s[0]:.1f} s wall")
    if args.zero_shot_grid:
        print("\nzero-shot grid: accuracy raw / calibrated, on val | test")
        for template in TEMPLATES:
            for name, words in LABEL_WORDS.items():
                words = words or task.class_names
                cells = [zero_shot_accuracy(lm, task, split, words, template, cal)
                         for split in ("val", "test") for cal in (None, calibration)]
                print(f"{template!r:34} {name:12} {cells[0]:.3f} / {cells[1]:.3f} | "
                      f"{cells[2]:.3f} / {cells[3]:.3f}", flush=True)

    key = 100 if ("pretrained", 100) in summary else min(k[1] for k in summary)
    print(f"acc{key}_pretrained {summary[('pretrained', key)][0]:.3f} "
          f"acc{key}_scratch {summary.get(('scratch', key), (float('nan'),))[0]:.3f} "
          f"zero_shot {zs:.3f} majority {majority:.3f} prepare_s {prepare_s[0]:.1f} "
          f"pretrain_s {pretrain_s[0]:.1f} pretrain_cpu_s {pretrain_s[1]:.1f} "
          f"curve_s {curve_s[0]:.1f} zero_shot_s {zero_s[0]:.1f}")


if __name__ == "__main__":
    main()
