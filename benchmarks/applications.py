"""Chapter 6 in one run: its CPU configurations trained and scored as the chapter scores them.

- translation: the LSTM with additive attention and the Transformer (TRANSLATE_SETTINGS),
  test BLEU with beam search (Chinese by character, every reference);
- named entities: the BiLSTM tagger with and without a CRF (TAGGER_SETTINGS), the one with the
  better dev F1 scored by entity F1 on the WNUT-17 test set;
- sentiment: the bag of words and the BiLSTM (SST2_SETTINGS), the one with the better accuracy on
  GLUE's dev set scored on our held-out SST-2 test split;
- pretrain, then fine-tune (FINETUNE_SETTINGS): test accuracy with 100 labelled BBC articles,
  pretrained and fine-tuned against the same network from scratch, mean over the seeds.

Last line, exactly: `bleu_lstm A bleu_transformer B ner_f1 C sst2_acc D finetuned_acc_100 E
scratch_acc_100 F` (BLEU and F1 ×100, accuracies as fractions). About 6 minutes on one thread.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/applications.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from book import classify, data, metrics, tagging
from book import finetune as ft
from book import translate as tr
from book.env import with_settings


def translation(device: str) -> dict[str, float]:
    """Test BLEU (beam search) of both translators."""
    s = tr.TRANSLATE_SETTINGS["cpu"]
    cmn = data.load("cmn_eng")
    train = tr.filter_pairs(cmn.train, **s["data"]["filter"])
    sources, references = tr.references_by_source(tr.filter_pairs(cmn.test, **s["data"]["filter"]))
    out = {}
    for kind in ("lstm", "transformer"):
        model = tr.build_translator(kind, train, s, seed=0)
        tr.train_translator(model, train, device=device, progress=False, **s[kind]["train"])
        hypotheses = tr.translate(model, sources, beam=s["decode"]["beam"],
                                  alpha=s["decode"]["alpha"], max_len=s["decode"]["max_len"],
                                  device=device)
        out[kind] = tr.chinese_bleu(hypotheses, references).score
    return out


def named_entities(device: str) -> float:
    """WNUT-17 test entity F1 (×100) of the tagger with the better dev F1."""
    wnut = data.load("wnut17")
    best = (-1.0, 0.0)
    for crf in (False, True):
        s = with_settings(tagging.TAGGER_SETTINGS["cpu"], [f"model.crf={crf}"])
        model = tagging.build_tagger(wnut.train, s, seed=0)
        tagging.train_tagger(model, wnut.train, device=device, progress=False, **s["train"])
        f1 = {}
        for split in ("val", "test"):
            sentences = getattr(wnut, split)
            pred = tagging.predict_tags(model, [list(x.tokens) for x in sentences], device=device)
            f1[split] = metrics.entity_scores([list(x.tags) for x in sentences], pred).micro.f1
        best = max(best, (f1["val"], f1["test"]))
    return 100 * best[1]


def sentiment(device: str) -> float:
    """SST-2 accuracy on our held-out test split of the classifier with the better dev accuracy."""
    sst2 = data.load("sst2")
    s = classify.SST2_SETTINGS
    bow = classify.TfidfLogReg(**s["tfidf_logreg"])
    bow.fit(sst2.train.texts, sst2.train.labels)
    scores = [(bow.accuracy(sst2.val.texts, sst2.val.labels),
               bow.accuracy(sst2.test.texts, sst2.test.labels))]
    model, enc, _ = classify.train_chapter_model("lstm", sst2, device=device, seed=0,
                                                 progress=False, settings=s)
    scores.append((classify.evaluate(model, enc.val, device),
                   classify.evaluate(model, enc.test, device)))
    return max(scores)[1]


def pretrain_then_finetune(device: str) -> tuple[float, float]:
    """Mean test accuracy with 100 labelled articles: (pretrained, from scratch)."""
    s = ft.FINETUNE_SETTINGS["cpu"]
    task = ft.prepare_task(data.load("bbc_news"), **s["task"])
    lm = ft.new_gpt(len(task.vocab), s["model"], seed=0)
    ft.pretrain(lm, task, s["pretrain"], device=device, progress=False)
    curve = ft.summarise_curve(ft.learning_curve(lm, task, sizes=[100],
                                                 seeds=s["curve"]["seeds"], settings=s,
                                                 device=device, progress=False))
    return curve["pretrained", 100][0], curve["scratch", 100][0]


def main() -> None:
    """Run the four parts, print each one's time, then the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    t = time.perf_counter()
    bleu = translation(args.device)
    print(f"translation: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    ner_f1 = named_entities(args.device)
    print(f"named entities: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    sst2_acc = sentiment(args.device)
    print(f"sentiment: {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    pretrained, scratch = pretrain_then_finetune(args.device)
    print(f"pretrain, then fine-tune: {time.perf_counter() - t:.0f} s", flush=True)
    seeds = list(ft.FINETUNE_SETTINGS["cpu"]["curve"]["seeds"])
    print(f"total {time.perf_counter() - start:.0f} s on {args.device}, "
          f"{torch.get_num_threads()} thread(s); fine-tuning means over seeds {seeds} "
          f"(numpy {np.__version__}, torch {torch.__version__})")
    print(f"bleu_lstm {bleu['lstm']:.2f} bleu_transformer {bleu['transformer']:.2f} "
          f"ner_f1 {ner_f1:.2f} sst2_acc {sst2_acc:.4f} finetuned_acc_100 {pretrained:.4f} "
          f"scratch_acc_100 {scratch:.4f}")


if __name__ == "__main__":
    main()
