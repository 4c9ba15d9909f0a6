"""Chapter 6's English -> Chinese translators on Tatoeba (cmn_eng): the two baselines, the LSTM
encoder-decoder with additive attention and the Transformer, trained with TRANSLATE_SETTINGS,
scored by corpus BLEU (Chinese by character; every Tatoeba translation of a test sentence is a
reference; book.metrics, checked against sacrebleu here), greedy and with beam search.
`--set` changes settings (e.g. transformer.train.steps=1000); `--device cuda --settings gpu`
runs the GPU recipe. Last line: `most_common … lookup … lstm_greedy … … transformer_beam …`.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/translate.py
"""

from __future__ import annotations

import argparse
import time

import sacrebleu
import torch

from book import data
from book import translate as tr
from book.env import with_settings


def score(hyps: list[str], refs: list[list[str]]) -> float:
    """book.metrics' BLEU, after checking that sacrebleu (tokenize="zh") gives the same."""
    ours = tr.chinese_bleu(hyps, refs).score
    n = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(n)]
    theirs = sacrebleu.corpus_bleu(hyps, streams, tokenize="zh").score
    if abs(ours - theirs) > 1e-6:
        raise AssertionError(f"book.metrics BLEU {ours} but sacrebleu {theirs}")
    return ours


def run_model(kind: str, train: list, sources: list[str], refs: list[list[str]], s: dict,
              device: str) -> dict:
    """Train one model and measure it, greedy and with beam search."""
    model = tr.build_translator(kind, train, s, seed=s[kind]["train"]["seed"])
    start, cpu = time.perf_counter(), time.process_time()
    losses = tr.train_translator(model, train, device=device, progress=False, **s[kind]["train"])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    out = {"train_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
           "loss": sum(losses[-50:]) / len(losses[-50:]),
           "params": sum(p.numel() for p in model.parameters())}
    decode = s["decode"]
    start = time.perf_counter()
    greedy = tr.translate(model, sources, max_len=decode["max_len"], device=device)
    out["greedy_s"] = time.perf_counter() - start
    start = time.perf_counter()
    beam = tr.translate(model, sources, beam=decode["beam"], alpha=decode["alpha"],
                        max_len=decode["max_len"], device=device)
    out["beam_s"] = time.perf_counter() - start
    out["greedy"], out["beam"] = score(greedy, refs), score(beam, refs)
    out["examples"] = list(zip(sources, greedy, beam))
    return out


def main() -> None:
    """Parse the arguments, run the baselines and the models, print what they reach."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["lstm", "transformer"],
                        choices=["lstm", "transformer"])
    parser.add_argument("--settings", default="cpu", choices=sorted(tr.TRANSLATE_SETTINGS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--split", default="test", choices=["val", "test"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a busy 2-core machine, 2 are slower)")
    parser.add_argument("--examples", type=int, default=5, help="translations to print")
    parser.add_argument("--set", nargs="*", default=[], metavar="A.B.C=VALUE",
                        help="changes, e.g. transformer.train.steps=1000 decode.alpha=1.0")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    s = with_settings(tr.TRANSLATE_SETTINGS[args.settings], args.set)
    d = data.load("cmn_eng")
    train = tr.filter_pairs(d.train, **s["data"]["filter"])
    # test sentences are chosen by their English length only: the reference's length is
    # not something a translator may know
    evaluation = tr.filter_pairs(getattr(d, args.split), s["data"]["filter"]["max_words"])
    sources, refs = tr.references_by_source(evaluation)
    print(f"train {len(train)} pairs; {args.split} {len(evaluation)} pairs, {len(sources)} "
          f"distinct English sentences, {sum(map(len, refs)) / len(refs):.2f} references each;"
          f" torch threads {torch.get_num_threads()}", flush=True)
    results = {}
    start = time.perf_counter()
    results["most_common"] = score([tr.most_common_translation(train)] * len(sources), refs)
    lookup = tr.LookupTranslator.build(train)
    results["lookup"] = score(lookup.translate(sources), refs)
    print(f"baselines: most_common {results['most_common']:.2f} lookup {results['lookup']:.2f} "
          f"({len(lookup.table)} words, {time.perf_counter() - start:.1f} s)", flush=True)
    for kind in args.models:
        r = run_model(kind, train, sources, refs, s, args.device)
        results[f"{kind}_greedy"], results[f"{kind}_beam"] = r["greedy"], r["beam"]
        print(f"{kind}: {r['params']:,} parameters, train {r['train_s']:.1f} s (cpu "
              f"{r['cpu_s']:.1f} s), final loss {r['loss']:.3f}; BLEU greedy {r['greedy']:.2f} "
              f"({r['greedy_s']:.1f} s), beam {s['decode']['beam']} {r['beam']:.2f} "
              f"({r['beam_s']:.1f} s)", flush=True)
        every = max(1, len(sources) // max(1, args.examples))   # short to long sentences
        for en, g, b in r["examples"][::every][:args.examples]:
            print(f"    {en}  ->  {g}  |  {b}")
    extra = f" set {','.join(args.set)}" if args.set else ""
    print(" ".join(f"{k} {v:.2f}" for k, v in results.items()) + extra, flush=True)


if __name__ == "__main__":
    main()
