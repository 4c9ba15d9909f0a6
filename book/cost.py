"""What a layer costs as the sequence grows (chapter 4): bytes kept for the backward pass and
FLOPs, both counted exactly, and wall time, for self-attention beside an LSTM of the same width.

    rows = cost.count_layers([64, 128, 256], embed_dim=64)
    rows[-1]["attention"].saved_bytes, rows[-1]["lstm"].flops   # exact, on any machine
    cost.time_layers([64, 128, 256])[-1]["lstm"]                 # seconds, on this one

The counts do not depend on the machine: `saved_bytes` adds up the storages autograd keeps for
the backward pass (`torch.autograd.graph.saved_tensors_hooks`), `flops` is what
`torch.utils.flop_counter.FlopCounterMode` counts for the matrix products of forward + backward.
Only `time_layers` depends on the machine and its load.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from book.timing import median_ms
from book.torch_nn import SelfAttention

__all__ = ["Cost", "count", "count_layers", "layers", "time_layers"]

Step = Callable[[], torch.Tensor]


@dataclass(frozen=True)
class Cost:
    """One layer at one length: bytes saved for the backward pass, FLOPs of forward + backward."""

    saved_bytes: int
    flops: int


def count(step: Step) -> Cost:
    """What `step()` followed by `.sum().backward()` costs.

    A tensor saved twice (or two views of one buffer) is counted once: the bytes are those of
    the distinct storages alive between the forward and the backward pass, parameters included.
    """
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with FlopCounterMode(display=False) as flops:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = step()
        out.sum().backward()
    return Cost(sum(storages.values()), flops.get_total_flops())


def layers(embed_dim: int, num_heads: int, seed: int = 0) -> dict[str, torch.nn.Module]:
    """The layers compared, all of width E = embed_dim: self-attention (`book.torch_nn`'s) and a
    one-layer LSTM with E inputs and E hidden units."""
    torch.manual_seed(seed)
    return {"attention": SelfAttention(embed_dim, num_heads),
            "lstm": torch.nn.LSTM(embed_dim, embed_dim, batch_first=True)}


def _steps(models: dict[str, torch.nn.Module], x: torch.Tensor) -> dict[str, Step]:
    """Forward passes on x (1, T, E): attention written out (it keeps the (nh, T, T) weights, as
    the formula does), attention through the fused kernel of `SelfAttention.forward`, the LSTM."""
    att, lstm = models["attention"], models["lstm"]
    return {"attention": lambda: att.forward_with_weights(x)[0],
            "attention_fused": lambda: att(x),
            "lstm": lambda: lstm(x)[0]}


def _inputs(lengths: Sequence[int], embed_dim: int, seed: int):
    """(T, x) for every T: x (1, T, E), random, requiring a gradient."""
    gen = torch.Generator().manual_seed(seed)
    for T in lengths:
        yield T, torch.randn(1, T, embed_dim, generator=gen, requires_grad=True)  # (B, T, E)


def count_layers(lengths: Sequence[int], embed_dim: int = 64, num_heads: int = 4,
                 seed: int = 0) -> list[dict]:
    """For each T in `lengths`: {"T": T, "attention": Cost, "attention_fused": Cost, "lstm":
    Cost} on one sequence (B = 1) of T vectors of width E.

    The counts run with oneDNN off: its fused LSTM kernel is invisible to the FLOP counter, and
    without it PyTorch runs the same products one time step at a time, where the counter sees
    them. The fused attention kernel is invisible to it too, so "attention_fused" has flops 0
    rather than a count of its projections alone that someone could read as attention's.
    """
    models, rows = layers(embed_dim, num_heads, seed), []
    for T, x in _inputs(lengths, embed_dim, seed):
        row: dict = {"T": T}
        for name, step in _steps(models, x).items():
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "TF32 acceleration", UserWarning)  # no GPU here
                with torch.backends.mkldnn.flags(enabled=False):
                    c = count(step)
            row[name] = Cost(c.saved_bytes, 0) if name == "attention_fused" else c
        rows.append(row)
    return rows


def time_layers(lengths: Sequence[int], embed_dim: int = 64, num_heads: int = 4,
                repeats: int = 3, seed: int = 0) -> list[dict]:
    """For each T: {"T": T, name: median seconds of forward + backward} for the same layers, with
    PyTorch's default kernels. Depends on the machine and its load: print it, never test it."""
    models, rows = layers(embed_dim, num_heads, seed), []
    for T, x in _inputs(lengths, embed_dim, seed):
        row: dict = {"T": T}
        for name, step in _steps(models, x).items():
            row[name] = median_ms(lambda: step().sum().backward(), repeats, warmup=1) / 1e3
        rows.append(row)
    return rows
