"""The settings the chapter and `benchmarks/textgen.py` both use, defined once.

Each recipe has the model's shape ("model", for `GPTConfig`), how to train it ("train", for
`TrainConfig`) and, for the benchmark, a time budget in seconds ("budget_s", for `Budget`;
the chapter trains for a fixed number of steps instead, so that its outputs repeat).
`vocab_size` is not here: it comes from the tokenizer. How each recipe was chosen, with the
runs behind it, is in benchmarks/README.md.
"""

from __future__ import annotations

__all__ = ["CPU_CONFIG", "CPU_MUON_CONFIG", "GPU_CONFIG"]

CPU_CONFIG: dict = {
    # nanoGPT's CPU model (4 layers of 128, context 64), more steps at a higher learning rate.
    "model": dict(max_len=64, num_layers=4, num_heads=4, embed_dim=128, dropout=0.0, bias=False),
    "train": dict(batch_size=16, max_iters=2500, lr=4e-3, min_lr=4e-4, warmup_iters=50,
                  weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=500, eval_iters=16),
    "budget_s": 110.0,
}

CPU_MUON_CONFIG: dict = {
    # CPU_CONFIG's model and steps trained with Muon on the blocks' matrices and AdamW on the
    # rest (`book.optim.muon_adamw`), at a peak learning rate of 1e-2: the CPU benchmark's
    # default (benchmarks/README.md has the ablation). Chapter 5 trains with CPU_CONFIG.
    "model": CPU_CONFIG["model"],
    "train": {**CPU_CONFIG["train"], "lr": 1e-2},
    "optimizer": "muon",
    "budget_s": 115.0,  # training stops here; the evaluation on the whole split takes ~4 s more
}

GPU_CONFIG: dict = {
    # nanoGPT's shakespeare_char model (6 layers of 384, context 256), with dropout 0.1 where
    # nanoGPT has 0.2; the data stays on the GPU, no evaluation before the end, the cosine
    # fitted into the time budget.
    "model": dict(max_len=256, num_layers=6, num_heads=6, embed_dim=384, dropout=0.1, bias=False),
    "train": dict(batch_size=128, max_iters=5000, lr=1.5e-3, min_lr=1.5e-4, warmup_iters=50,
                  weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=0, eval_iters=0,
                  compile=False),
    "budget_s": 19.0,
}
