"""Train and test chapter 4's three classifiers on BBC News with the chapter's settings.

    LLM_BOOK_DATA=/path/to/mirror python benchmarks/classify.py [--device cpu] [--seed 0]
    LLM_BOOK_DATA=/path/to/mirror python benchmarks/classify.py --ablation [--seeds 0 1 2]

TF-IDF + logistic regression (NumPy), the BiLSTM and the Transformer encoder (PyTorch), each
with `book.classify.CHAPTER_SETTINGS`, the same functions the chapter calls. Prints each model's
validation and test accuracy and wall time (vocabulary, encoding, word vectors and training
included), the per-epoch times, and as its last line exactly
`tfidf_logreg <acc> lstm <acc> transformer <acc>` (test accuracy, 4 decimals).

--ablation answers "what closed the gap": it trains both neural models with the chapter's
settings and with one setting changed at a time (`book.classify.ABLATION_CHANGES`: random instead
of SVD-initialised embeddings, 128 instead of 512 tokens, plain mean pooling, a 10x smaller
learning rate, no dropout), and all of those changes at once, over several seeds. It prints the
mean and spread of the VALIDATION accuracy (the variants are compared on it; the test split is
for the chosen settings only) and writes every run, validation and test accuracy, to
`book/results/classify_ablation.csv`, which the chapter reads and displays.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from book import classify, data, env


def ablation(bbc, device, seeds: list[int], csv_path: str, variants: list[str]) -> None:
    """Train both neural models for every variant and seed; write every run's validation and
    test accuracy to csv_path (row by row, so an interrupted run keeps what it finished) and
    print the validation accuracy's mean [min, max].

    Variants are compared on the validation split: the test split is kept for the settings
    finally chosen, so that choosing them cannot flatter the test accuracy the chapter reports.
    """
    print(f"ablation over seeds {seeds}: validation accuracy mean [min, max]")
    command = (f"python benchmarks/classify.py --ablation --seeds {' '.join(map(str, seeds))} "
               f"--variants {' '.join(variants)} --device {device}")
    meta = {"command": command, "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "machine": f"{env.report()} | {torch.get_num_threads()} threads"}
    rows, all_settings = [], classify.ablation_settings()
    for name in variants:
        cells = []
        for model_name in ("lstm", "transformer"):
            if name == "mean_pooling" and model_name == "transformer":
                continue  # the Transformer pools by the mean already: the chapter's run
            accs = []
            for seed in seeds:
                model, enc, hist = classify.train_chapter_model(
                    model_name, bbc, device=device, seed=seed, progress=False,
                    settings=all_settings[name])
                best = hist["best_epoch"]
                rows.append(dict(variant=name, model=model_name, seed=seed, best_epoch=best,
                                 val_acc=f"{hist['val_acc'][best - 1]:.4f}",
                                 test_acc=f"{classify.evaluate(model, enc.test, device):.4f}"))
                classify.write_ablation(rows, csv_path, meta)
                accs.append(hist["val_acc"][best - 1])
            cells.append(f"{model_name} {np.mean(accs):.4f} [{min(accs):.4f}, {max(accs):.4f}]")
        print(f"{name:18s} " + "  ".join(cells), flush=True)
    print(f"wrote {len(rows)} runs to {csv_path}")


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
    parser.add_argument("--csv", default=str(classify.ABLATION_CSV),
                        help="where --ablation writes its runs (default: the chapter's file)")
    parser.add_argument("--variants", nargs="+", default=list(classify.ABLATION_CHANGES),
                        choices=list(classify.ABLATION_CHANGES), help="for --ablation")
    args = parser.parse_args()
    device = env.device(args.device)
    print(f"{env.report()} | {torch.get_num_threads()} threads | running on {device}")
    start = time.perf_counter()
    bbc = data.load("bbc_news", progress=False)
    print(f"{bbc} loaded in {time.perf_counter() - start:.1f} s")
    if args.ablation:
        ablation(bbc, device, args.seeds, args.csv, args.variants)
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
