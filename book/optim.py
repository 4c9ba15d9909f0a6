"""Optimiser set-up and the learning-rate schedule shared by the course's PyTorch training loops.

`adamw(model, lr, ...)`: AdamW with weight decay on matrices and embeddings only.
`warmup_cosine(step, lr, min_lr, warmup, total)`: a linear warm-up, then a cosine decay.
Chapter 4's classifiers (`book.classify`) and chapter 5's language models (`book.textgen`) both
train with these, so a change here changes both, and both chapters show the same code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["adamw", "warmup_cosine"]


def warmup_cosine(step: int, lr: float, min_lr: float, warmup: int, total: int) -> float:
    """Learning rate at `step`: linear warm-up to `lr` over `warmup` steps, then a cosine down
    to `min_lr` at step `total`, and `min_lr` after that."""
    if step < warmup:
        # start small: Adam's first estimates of the gradients' scale are poor
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


def adamw(model: nn.Module, lr: float, weight_decay: float,
          betas: tuple[float, float] = (0.9, 0.999), device_type: str = "cpu") -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices and embeddings (2+ dimensions) only.

    Decay pulls weights towards 0. Biases and LayerNorm gains are left out: they are few, decay
    buys little there, and pulling a gain towards 0 shrinks the signal it scales. On CUDA the
    fused kernel updates all the parameters in a few launches instead of several per tensor.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas,
                             fused=True if device_type == "cuda" else None)
