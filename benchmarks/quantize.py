"""Cheaper numbers: chapter 5's CPU GPT in float32, bf16, our int8 and PyTorch's dynamic int8.

    LLM_BOOK_DATA=/work/shared/data python benchmarks/quantize.py [--steps 300] [--repeats 15]

The model has chapter 5's CPU shape (`CPU_CONFIG["model"]`: 4 layers of 128, context 64) and is
trained here for --steps steps (default 300, a short run of `CPU_CONFIG["train"]`'s recipe
with the cosine fitted into those steps) on Tiny Shakespeare, so that the losses mean
something. Then four versions of it: float32; bf16 (every weight cast); `book.quantize`'s int8
(every untied Linear, per-channel scales; the tied embedding/head stays float32); PyTorch's
dynamic int8 (`torch.ao.quantization.quantize_dynamic` of the same Linears, per-tensor
scales). For each: bytes of weights (`quantize.model_bytes`), the validation loss on 16 fixed
batches of 16 windows (`estimate_loss`, seed 1234) and bits per character, and the median time
of a forward pass of one batch (16 x 64), the four run in turn --repeats times, on one thread.

Prints a table, then as its last line `<key> <fp32> <bf16> <int8> <torch_int8>` for the keys
bytes_ratio (of float32's), bpc (bits per character) and time_ratio (median forward time over
float32's), all on one line.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import torch

from book import data, quantize
from book import textgen as tg


def main() -> None:
    """Train briefly, quantize, and print bytes, losses and forward-pass times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    text = data.load("tinyshakespeare")
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)
    train_ids = torch.tensor(tok.encode(train_text))
    val_ids = torch.tensor(tok.encode(val_text))
    model = tg.GPT(tg.GPTConfig(vocab_size=tok.vocab_size, **tg.CPU_CONFIG["model"]))
    cfg = replace(tg.TrainConfig(**tg.CPU_CONFIG["train"]), max_iters=args.steps,
                  eval_interval=0, eval_iters=0)
    start = time.perf_counter()
    tg.train(model, train_ids, val_ids, cfg, progress=False)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); trained "
          f"{args.steps} steps in {time.perf_counter() - start:.0f} s")
    model.eval()

    models = {"float32": model,
              "bf16": tg.GPT(model.config).to(torch.bfloat16).eval(),
              "int8 (ours)": quantize.quantize_model(model),
              "int8 (torch dynamic)": quantize.torch_dynamic_int8(model)}
    models["bf16"].load_state_dict(model.state_dict())
    batch = tg.get_batch(val_ids, 16, model.config.max_len, torch.Generator().manual_seed(0))[0]
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.no_grad():
        for _ in range(args.repeats):
            for name, m in models.items():
                start = time.perf_counter()
                m(batch)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["float32"])
    print(f"{'model':22s} {'bytes':>9s} {'x fp32':>7s} {'val loss':>9s} {'bits/char':>9s} "
          f"{'forward ms':>10s} {'time / fp32':>11s}")
    summary: dict[str, list[str]] = {"bytes_ratio": [], "bpc": [], "time_ratio": []}
    for name, m in models.items():
        loss = tg.estimate_loss(m, val_ids, batch_size=16, eval_iters=16)
        size, t = quantize.model_bytes(m), statistics.median(times[name])
        summary["bytes_ratio"].append(f"{size / quantize.model_bytes(model):.3f}")
        summary["bpc"].append(f"{tg.bits_per_char(loss):.4f}")
        summary["time_ratio"].append(f"{t / base:.2f}")
        print(f"{name:22s} {size:9,d} {size / quantize.model_bytes(model):7.3f} {loss:9.4f} "
              f"{tg.bits_per_char(loss):9.4f} {t * 1e3:10.2f} {t / base:11.2f}")
    linears = [model.get_submodule(n).weight for n in quantize.quantizable_linears(model)]
    print(f"quantized Linear weights: {sum(w.numel() for w in linears):,d} of "
          f"{model.num_params():,d} parameters (the rest: embeddings, tied head, LayerNorms)")
    print(" ".join(f"{key} {' '.join(values)}" for key, values in summary.items()))


if __name__ == "__main__":
    main()
