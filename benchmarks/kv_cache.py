"""Cached against uncached greedy generation with chapter 5's GPT: the speed-up of a KV cache.

    python benchmarks/kv_cache.py [--lengths 16 32 64 128 248] [--repeats 5] [--threads 1]

`book.textgen.generate` feeds the whole context again for every new token; `generate_cached`
reads the prompt once and then each new token alone, keeping every layer's keys and values
(`GPT.forward_step`). The model has chapter 5's CPU shape (`CPU_CONFIG["model"]`: 4 layers of
128) with a longer context (--max-len, default 256, so that long generations fit) and random
weights: speed does not depend on what the model learnt. For each number of new tokens the two
run alternately, `--repeats` times each, on the CPU, so that a noisy neighbour slows both alike;
the ratio is of the medians. Both must produce the same tokens (checked).

Prints the torch version, its threads and BLAS, one line per length, and as its last line
`ratio_<n> <uncached / cached> ...` for every length n.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import torch

from book import textgen as tg


def torch_blas() -> str:
    """The BLAS torch's CPU build uses, from `torch.__config__.show()`."""
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return found[1] if found else "unknown"


def time_once(fn) -> tuple[float, torch.Tensor]:
    """Wall time of one call of fn() in seconds, and what it returned."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    """Time both ways for each length; print the medians and the ratio line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64, 128, 248],
                   help="numbers of new tokens (prompt + new − 1 must fit in --max-len)")
    p.add_argument("--prompt", type=int, default=8, help="prompt length in tokens")
    p.add_argument("--max-len", type=int, default=256, help="the model's context length")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch's intra-op threads")
    args = p.parse_args()
    if args.prompt + max(args.lengths) - 1 > args.max_len:
        p.error(f"--prompt {args.prompt} plus {max(args.lengths)} new tokens does not fit in "
                f"--max-len {args.max_len}: lower --lengths or raise --max-len")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = {**tg.CPU_CONFIG["model"], "max_len": args.max_len}
    model = tg.GPT(tg.GPTConfig(vocab_size=65, **shape)).eval()
    prompt = torch.randint(0, 65, (1, args.prompt))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS {torch_blas()}; "
          f"GPT {shape} ({model.num_params() / 1e6:.2f} M parameters), prompt {args.prompt} "
          f"tokens, batch 1, greedy, CPU, median of {args.repeats}")
    ratios = {}
    for n in args.lengths:
        plain_s, cached_s = [], []
        tg.generate_cached(model, prompt, n, greedy=True)  # warm-up, untimed
        for _ in range(args.repeats):
            t, plain = time_once(lambda: tg.generate(model, prompt, n, greedy=True))
            plain_s.append(t)
            t, cached = time_once(lambda: tg.generate_cached(model, prompt, n, greedy=True))
            cached_s.append(t)
            if not torch.equal(plain, cached):
                raise SystemExit(f"the cached generation of {n} tokens differs from generate's")
        a, b = statistics.median(plain_s), statistics.median(cached_s)
        ratios[n] = a / b
        print(f"{n:4d} new tokens: generate {1000 * a:8.1f} ms, generate_cached "
              f"{1000 * b:7.1f} ms ({1000 * b / n:.2f} ms per token), ratio {a / b:5.2f}")
    print(" ".join(f"ratio_{n} {r:.2f}" for n, r in ratios.items()))


if __name__ == "__main__":
    main()
