"""Train and test chapter 4's three classifiers on BBC News with the chapter's settings.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/classify.py [--device cpu] [--seed 0]
    LLM_BOOK_DATA=/path/to/mirror python benchmarks/classify.py --ablation [--seeds 0 1 2]

TF-IDF + logistic regression (NumPy), the BiLSTM and the Transformer encoder (PyTorch), each
with `book.classify.CHAPTER_SETTINGS`, the same functions the chapter calls. Prints each model's
validation and test accuracy and wall time (vocabulary, encoding, word vectors and training
included), the per-epoch times, and as its last line exactly
`tfidf_logreg <acc> lstm <acc> transformer <acc>` (test accuracy, 4 decimals).

--ablation answers "what closed the gap": it trains both neural models with the chapter's
settings and with one setting changed at a time (random instead of SVD-initialised embeddings,
128 instead of 512 tokens, plain mean pooling, a 10x smaller learning rate, no dropout), and all
of those changes at once, over several seeds, and prints the mean and spread of test accuracy.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from book import classify, data, env


def _variants() -> dict[str, dict]:
    """The chapter's settings, each with one change, and with all the changes together."""
    base = classify.CHAPTER_SETTINGS

    def changed(*edits) -> dict:
        s = copy.deepcopy(base)
        for edit in edits:
            edit(s)
        return s

    def random_embeddings(s):
        s["word_vectors"] = None

    def short(s):
        s["max_len"] = 128

    def mean_pooling(s):
        s["lstm"]["model"]["pooling"] = "mean"  # the Transformer pools by the mean already

    def small_lr(s):
        for m in ("lstm", "transformer"):
            s[m]["train"]["lr"] /= 10

    def no_dropout(s):
        for m in ("lstm", "transformer"):
            s[m]["model"].update(dropout=0.0, embed_dropout=0.0)

    edits = dict(random_embeddings=random_embeddings, max_len_128=short,
                 mean_pooling=mean_pooling, lr_div_10=small_lr, no_dropout=no_dropout)
    variants = {"chapter": copy.deepcopy(base)}
    variants.update({name: changed(e) for name, e in edits.items()})
    variants["all_changes"] = changed(*edits.values())
    return variants


def ablation(bbc, device, seeds: list[int]) -> None:
    """Test accuracy of both neural models for every variant and seed: mean, min, max."""
    print(f"ablation over seeds {seeds}: test accuracy mean [min, max]")
    for name, settings in _variants().items():
        cells = []
        for model_name in ("lstm", "transformer"):
            accs = []
            for seed in seeds:
                model, enc, _ = classify.train_chapter_model(
                    model_name, bbc, device=device, seed=seed, progress=False,
                    settings=settings)
                accs.append(classify.evaluate(model, enc.test, device))
            cells.append(f"{model_name} {np.mean(accs):.4f} [{min(accs):.4f}, {max(accs):.4f}]")
        print(f"{name:18s} " + "  ".join(cells), flush=True)


def main() -> None:
    """Train the three models in turn, then print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best here)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show tqdm progress bars")
    parser.add_argument("--ablation", action="store_true",
                        help="what each chapter setting is worth (several seeds; minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="seeds for --ablation")
    args = parser.parse_args()
    device = env.device(args.device)
    print(f"{env.report()} | {torch.get_num_threads()} threads | running on {device}")
    start = time.perf_counter()
    bbc = data.load("bbc_news", progress=False)
    print(f"{bbc} loaded in {time.perf_counter() - start:.1f} s")
    if args.ablation:
        ablation(bbc, device, args.seeds)
        print(f"ablation: {time.perf_counter() - start:.1f} s")
        return

    acc, total = {}, time.perf_counter()
    t = time.perf_counter()
    env.seed_everything(args.seed)
    baseline = classify.TfidfLogReg(**classify.CHAPTER_SETTINGS["tfidf_logreg"])
    baseline.fit(bbc.train.texts, bbc.train.labels)
    acc["tfidf_logreg"] = baseline.accuracy(bbc.test.texts, bbc.test.labels)
    print(f"tfidf_logreg: val {baseline.accuracy(bbc.val.texts, bbc.val.labels):.4f} "
          f"test {acc['tfidf_logreg']:.4f}  {time.perf_counter() - t:.1f} s "
          f"({len(baseline.vocab)} features)")

    for name in ("lstm", "transformer"):
        t = time.perf_counter()
        model, enc, hist = classify.train_chapter_model(name, bbc, device=device, seed=args.seed,
                                                        progress=args.progress)
        acc[name] = classify.evaluate(model, enc.test, device)
        n_params = sum(p.numel() for p in model.parameters())
        epochs = " ".join(f"{s:.1f}" for s in hist["epoch_s"])
        best = hist["best_epoch"]
        print(f"{name}: val {hist['val_acc'][best - 1]:.4f} "
              f"(epoch {best} of {len(hist['val_acc'])}) "
              f"test {acc[name]:.4f}  {time.perf_counter() - t:.1f} s "
              f"({n_params:,} parameters; epochs {epochs} s, median "
              f"{np.median(hist['epoch_s']):.1f} s)")

    print(f"all three: {time.perf_counter() - total:.1f} s")
    print(" ".join(f"{k} {v:.4f}" for k, v in acc.items()))


if __name__ == "__main__":
    main()
