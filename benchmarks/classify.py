"""Train and test chapter 4's three classifiers on BBC News with the chapter's settings.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/classify.py [--device cpu] [--seed 0]

TF-IDF + logistic regression (NumPy), the BiLSTM and the Transformer encoder (PyTorch), each
with `book.classify.CHAPTER_SETTINGS`, the same functions the chapter calls. Prints each model's
validation and test accuracy and wall time (vocabulary, encoding, word vectors and training
included), the per-epoch times, and as its last line exactly
`tfidf_logreg <acc> lstm <acc> transformer <acc>` (test accuracy, 4 decimals).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from book import classify, data, env


def main() -> None:
    """Train the three models in turn, then print the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best here)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="show tqdm progress bars")
    args = parser.parse_args()
    device = env.device(args.device)
    print(f"{env.report()} | {torch.get_num_threads()} threads | running on {device}")
    start = time.perf_counter()
    bbc = data.load("bbc_news", progress=False)
    print(f"{bbc} loaded in {time.perf_counter() - start:.1f} s")

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
        print(f"{name}: val {hist['val_acc'][best - 1]:.4f} (epoch {best} of {len(hist['val_acc'])}) "
              f"test {acc[name]:.4f}  {time.perf_counter() - t:.1f} s "
              f"({n_params:,} parameters; epochs {epochs} s, median "
              f"{np.median(hist['epoch_s']):.1f} s)")

    print(f"all three: {time.perf_counter() - total:.1f} s")
    print(" ".join(f"{k} {v:.4f}" for k, v in acc.items()))


if __name__ == "__main__":
    main()
