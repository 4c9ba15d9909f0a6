"""Optimiser set-up and the learning-rate schedule shared by the course's PyTorch training loops.

`adamw(model, lr, ...)`: AdamW with weight decay on matrices and embeddings only.
`muon_adamw(model, lr, ...)`: Muon on the hidden matrices of the blocks, AdamW on the rest.
`warmup_cosine(step, lr, min_lr, warmup, total)`: a linear warm-up, then a cosine decay.
`train_steps(model, loss_of, batches_of_epoch, steps, lr, ...)`: the step-counted AdamW loop.
Chapter 4's classifiers (`book.classify`) and chapter 5's language models (`book.textgen`) both
train with the first two, so a change here changes both, and both chapters show the same code.
Chapter 6's tagger, translators and fine-tuned classifier all train with `train_steps`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from book.env import progress_bar, seed_everything

__all__ = ["MuonAdamW", "adamw", "muon_adamw", "train_steps", "warmup_cosine"]


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


class MuonAdamW:
    """Two optimisers stepped as one: `torch.optim.Muon` on the hidden matrices, AdamW on the
    embeddings, the head and every vector. Offers what the course's loops use of an optimiser:
    `param_groups` (both optimisers' groups: setting each group's "lr" sets the schedule for
    both), `zero_grad`, `step`, `state_dict` and `load_state_dict` (checkpoints)."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer) -> None:
        self.muon, self.adamw = muon, adamw

    @property
    def param_groups(self) -> list[dict]:
        return [*self.muon.param_groups, *self.adamw.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"muon", "adamw"}:
            raise ValueError("this optimizer state is not a MuonAdamW's (keys 'muon' and "
                             f"'adamw'); got keys {sorted(state)}: resume with the optimizer "
                             "the checkpoint was saved with")
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])


def muon_adamw(model: nn.Module, lr: float, weight_decay: float,
               betas: tuple[float, float] = (0.9, 0.999), hidden: str = "blocks."
               ) -> MuonAdamW:
    """Muon (momentum, then each matrix's update orthogonalised by Newton–Schulz iterations;
    Jordan et al., 2024) on the 2-D weights whose names start with `hidden` (the Transformer
    blocks' matrices), AdamW (`adamw`'s grouping) on everything else: the embeddings and the
    head tied to them, LayerNorm gains, biases. `adjust_lr_fn="match_rms_adamw"` scales Muon's
    update to AdamW's typical size (Liu et al., 2025), so that one learning rate and one
    schedule serve both."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    mats = [p for n, p in named if p.dim() == 2 and n.startswith(hidden)]
    if not mats:
        raise ValueError(f"no 2-D parameter of the model is named {hidden!r}...: Muon has "
                         "nothing to train; use adamw, or pass the prefix of the hidden layers")
    rest = [p for n, p in named if not (p.dim() == 2 and n.startswith(hidden))]
    muon = torch.optim.Muon(mats, lr=lr, weight_decay=weight_decay,
                            adjust_lr_fn="match_rms_adamw")
    groups = [{"params": [p for p in rest if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0}]
    return MuonAdamW(muon, torch.optim.AdamW(groups, lr=lr, betas=betas))


def train_steps(model: nn.Module, loss_of: Callable[[np.ndarray], torch.Tensor],
                batches_of_epoch: Callable[[int], Iterable[np.ndarray]], steps: int, lr: float,
                *, min_lr: float, warmup: int, weight_decay: float, clip: float, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = True,
                name: str | None = None) -> list[float]:
    """Train `model` for exactly `steps` AdamW steps; returns the loss of every step.

    `batches_of_epoch(epoch)` gives the index arrays of one pass over the data (a new order per
    epoch), and `loss_of(index)` the loss of that batch, so the caller owns its data and its
    loss, and this loop owns the rest: the learning rate (`warmup_cosine` from `lr` down to
    `min_lr`), zeroing the gradients, clipping their global norm at `clip` (a rare huge
    gradient, tamed), the step and a progress bar. Only parameters that require gradients are
    trained. Counted in steps, not epochs or seconds, and seeded (`seed_everything`: dropout),
    so the same call gives the same model on the same machine. The model ends in eval mode.
    """
    if steps < 1:
        raise ValueError(f"need steps >= 1; got {steps}")
    seed_everything(seed)
    model.to(device)
    opt = adamw(model, lr, weight_decay, device_type=torch.device(device).type)
    params = [p for p in model.parameters() if p.requires_grad]  # in the model's order
    if not params:
        raise ValueError("every parameter is frozen: nothing to train")
    losses: list[float] = []
    bar = progress_bar(steps, name or type(model).__name__, progress)
    model.train()
    epoch = 0
    while len(losses) < steps:
        empty = True
        for index in batches_of_epoch(epoch):
            empty = False
            if len(losses) == steps:
                break
            for group in opt.param_groups:
                group["lr"] = warmup_cosine(len(losses), lr, min_lr, warmup, steps)
            loss = loss_of(index)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update(1)
                if len(losses) % 50 == 0:
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        if empty:
            raise ValueError(f"epoch {epoch} has no batches: is the training data empty?")
        epoch += 1
    if bar is not None:
        bar.close()
    model.eval()
    return losses
