"""Chapter 6's named-entity taggers on WNUT-17: the BiLSTM (softmax per token) and the
BiLSTM-CRF, with TAGGER_SETTINGS, scored by entity-level F1 (seqeval, its default mode) on the
dev and test sets. `--variant NAME` changes one setting (see VARIANTS); `--device cuda` with
`--settings gpu` runs the GPU recipe. Last line: `variant … dev_f1 … test_f1 … train_s …`.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/tagging.py --variant softmax
"""

from __future__ import annotations

import argparse
import time

import torch
from seqeval.metrics import f1_score

from book import data, tagging
from book.env import with_settings


def load_wnut17() -> dict[str, list]:
    """The three splits as lists of (tokens, tags), from `book.data` (the shared task's files)."""
    wnut = data.load("wnut17")
    return {"train": wnut.train, "dev": wnut.val, "test": wnut.test}


# Each variant changes one or two things in the chosen settings (benchmarks/README.md has
# what each measured).
VARIANTS = {
    "chapter": [],
    "softmax": ["model.crf=False"],
    "softmax_unconstrained": ["model.crf=False", "model.constrained=False"],
    "crf_unconstrained": ["model.constrained=False"],
    "no_chars": ["model.char_channels=0"],
    "softmax_no_chars": ["model.crf=False", "model.char_channels=0"],
    "cased": ["encoder.lowercase=False"],
    "min_freq_1": ["encoder.min_freq=1"],
    "dropout_0": ["model.dropout=0.0"],
    "dropout_0.5": ["model.dropout=0.5"],
    "word_dropout_0.1": ["model.word_dropout=0.1"],
    "word_dropout_0.25": ["model.word_dropout=0.25"],
    "chars_64": ["model.char_channels=64"],
    "hidden_100": ["model.hidden_size=100"],
}


def run(variant: str, settings_name: str, device: str, seed: int,
        overrides: list[str] | None = None) -> dict:
    """Train one variant (then `overrides`, 'a.b=value' strings) and measure it."""
    s = with_settings(tagging.TAGGER_SETTINGS[settings_name], VARIANTS[variant] + (overrides or []))
    s["train"]["seed"] = seed
    data = load_wnut17()
    model = tagging.build_tagger(data["train"], s, seed=seed)
    start, cpu = time.perf_counter(), time.process_time()
    losses = tagging.train_tagger(model, data["train"], device=device, progress=False,
                                  **s["train"])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    out = {"variant": variant, "train_s": train_s, "cpu_s": cpu_s,
           "final_loss": sum(losses[-50:]) / 50}
    start = time.perf_counter()
    for split in ("dev", "test"):
        gold = [tags for _, tags in data[split]]
        pred = tagging.predict_tags(model, [toks for toks, _ in data[split]], device=device)
        out[f"{split}_f1"] = 100 * f1_score(gold, pred)
    out["eval_s"] = time.perf_counter() - start
    return out


def main() -> None:
    """Parse the arguments, run the variants, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", nargs="+", default=["chapter", "softmax"],
                        choices=sorted(VARIANTS))
    parser.add_argument("--settings", default="cpu", choices=sorted(tagging.TAGGER_SETTINGS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="A.B=VALUE",
                        help="further changes, e.g. model.dropout=0.3 train.steps=900")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for variant in args.variant:
        for seed in args.seed:
            r = run(variant, args.settings, args.device, seed, args.set)
            extra = f" set {','.join(args.set)}" if args.set else ""
            print(f"variant {r['variant']}{extra} seed {seed} dev_f1 {r['dev_f1']:.2f} "
                  f"test_f1 {r['test_f1']:.2f} train_s {r['train_s']:.1f} cpu_s {r['cpu_s']:.1f} "
                  f"eval_s {r['eval_s']:.1f} loss {r['final_loss']:.3f}", flush=True)


if __name__ == "__main__":
    main()
