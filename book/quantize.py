"""Cheaper numbers (chapter 8): int8 weight quantization, written out.

    q, scale = quantize.quantize_per_channel(w)       # int8 (N, K), float32 (N,)
    w_hat = quantize.dequantize(q, scale)             # |w_hat - w| <= scale / 2 per element
    small = quantize.quantize_model(gpt)              # a copy with every Linear in int8
    quantize.model_bytes(gpt), quantize.model_bytes(small)

Symmetric quantization maps a row of weights onto the integers -127..127 with one float scale
per row: scale = max|w_row| / 127, q = round(w / scale). Rounding moves each weight by at most
half a step, scale / 2. One scale per output row (per channel) instead of one for the whole
matrix (per tensor) keeps a row of small weights from being rounded with the step of the
largest row. -128 is left unused so that the range is symmetric and -q never overflows.

`Int8Linear` keeps the int8 weights and their scales (buffers: they are not trained) and the
float bias, and rebuilds the float weight at every forward pass: the saving is in memory (a
quarter of float32), not in time; PyTorch's dynamic quantization
(`torch.ao.quantization.quantize_dynamic`) multiplies in int8 instead.

Weight tying: our GPT's head shares its weight with the token embedding (book/textgen/
models.py). `quantize_model` leaves any Linear whose weight is also held by another module in
float, so the embedding and the head stay float32: quantizing the head would either quantize
the embedding too, or untie them and store a second copy of the matrix.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Int8Linear", "dequantize", "model_bytes", "quantizable_linears",
           "quantize_model", "quantize_per_channel", "quantize_per_tensor", "torch_dynamic_int8"]


def _check(w: torch.Tensor, bits: int) -> int:
    """The largest integer `bits` allow (127 for 8), after checking w and bits."""
    if not isinstance(w, torch.Tensor) or w.dim() != 2 or not w.is_floating_point():
        shape = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
        raise ValueError(f"expected a 2-D float weight matrix (out_features, in_features), got "
                         f"{shape}; reshape it first, e.g. w.reshape(w.shape[0], -1)")
    if not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer from 2 to 8 (the integers are stored as "
                         f"int8), got {bits!r}")
    if not torch.isfinite(w).all():
        raise ValueError("the weights hold inf or NaN: they cannot be quantized; find where "
                         "they came from first")
    return 2 ** (bits - 1) - 1


def quantize_per_channel(w: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row quantization: (q int8 (N, K), scale float32 (N,)), w ~ q * scale[:, None].

    scale = max|w_row| / qmax with qmax = 2^(bits-1) - 1 (127 for 8 bits); a row of zeros gets
    scale 1. q = round(w / scale), clamped to [-qmax, qmax].
    """
    qmax = _check(w, bits)
    w = w.detach().float()
    scale = w.abs().amax(dim=1) / qmax                            # (N,)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / scale[:, None]).clamp(-qmax, qmax)        # (N, K)
    return q.to(torch.int8), scale


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The float32 weights q * scale: one scale per row (scale (N,)) or for all (a 0-dim scale)."""
    scale = scale.float()
    return q.float() * (scale[:, None] if scale.dim() == 1 else scale)


def quantize_per_tensor(w: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric quantization with ONE scale for the whole matrix: (q int8, 0-dim scale).

    For comparison with `quantize_per_channel`: every row is rounded with the step of the
    largest weight anywhere in the matrix.
    """
    qmax = _check(w, bits)
    w = w.detach().float()
    scale = w.abs().max() / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / scale).clamp(-qmax, qmax)
    return q.to(torch.int8), scale


class Int8Linear(nn.Module):
    """A Linear layer that stores its weight as int8 with one float32 scale per output row.

    forward(x) = x @ (q * scale)^T + bias: the weight is dequantized at each call, so the
    result is the float Linear's within the rounding error (at most scale / 2 per weight).
    """

    def __init__(self, q: torch.Tensor, scale: torch.Tensor,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        if q.dtype != torch.int8 or q.dim() != 2 or scale.shape != (q.shape[0],):
            raise ValueError(f"expected int8 weights (N, K) and N scales, got {q.dtype} "
                             f"{tuple(q.shape)} and scales {tuple(scale.shape)}; build it with "
                             "Int8Linear.from_linear(linear)")
        self.out_features, self.in_features = q.shape
        self.register_buffer("weight_q", q)
        self.register_buffer("scale", scale.float())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(),
                                                           requires_grad=False)

    @classmethod
    def from_linear(cls, linear: nn.Linear, bits: int = 8) -> Int8Linear:
        """An Int8Linear with `linear`'s weight quantized per output row and its bias kept."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"expected an nn.Linear, got {type(linear).__name__}")
        q, scale = quantize_per_channel(linear.weight, bits)
        return cls(q, scale.to(linear.weight.device), linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., K) -> (..., N), with the dequantized weight."""
        w = dequantize(self.weight_q, self.scale).to(x.dtype)
        return F.linear(x, w, None if self.bias is None else self.bias.to(x.dtype))

    def extra_repr(self) -> str:
        """in_features, out_features and bias, as nn.Linear shows them."""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def quantizable_linears(model: nn.Module) -> list[str]:
    """Names of the nn.Linear modules whose weight no other module shares.

    A tied Linear (our GPT's head, which shares the token embedding's weight) is left out: it
    stays float, so that the embedding keeps its exact values and the matrix is stored once.
    """
    owners: dict[int, int] = {}
    for module in model.modules():
        for p in module.parameters(recurse=False):
            owners[id(p)] = owners.get(id(p), 0) + 1
    return [name for name, m in model.named_modules()
            if isinstance(m, nn.Linear) and owners[id(m.weight)] == 1]


def quantize_model(model: nn.Module, bits: int = 8) -> nn.Module:
    """A copy of `model` with every untied nn.Linear replaced by an `Int8Linear`, in eval mode.

    The original is not changed. Tied Linears (see `quantizable_linears`), embeddings and
    LayerNorms stay float.
    """
    small = copy.deepcopy(model).eval()
    for name in quantizable_linears(small):
        parent_name, _, child = name.rpartition(".")
        parent = small.get_submodule(parent_name) if parent_name else small
        setattr(parent, child, Int8Linear.from_linear(getattr(parent, child), bits))
    return small


def torch_dynamic_int8(model: nn.Module) -> nn.Module:
    """PyTorch's own dynamic int8 quantization of the same Linears as `quantize_model`.

    `torch.ao.quantization.quantize_dynamic` (CPU only) stores each weight in int8 with one
    scale per tensor and, at each call, quantizes the activations too and multiplies in int8.
    It returns a copy. In torch 2.13 it warns that torch.ao.quantization is deprecated (in
    favour of the separate torchao package); those warnings are silenced here, nothing else.
    """
    names = set(quantizable_linears(model))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*deprecated.*",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*deprecated.*", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), names,
                                                      dtype=torch.qint8)


def model_bytes(model: nn.Module) -> int:
    """Bytes of a model's parameters and buffers (shared ones counted once; int8 = 1 byte),
    and of the packed weights and biases of PyTorch's dynamically quantized Linears, which are
    neither."""
    tensors = [*model.parameters(), *model.buffers()]
    for m in model.modules():
        if isinstance(m, torch.ao.nn.quantized.dynamic.Linear):
            bias = m.bias()  # m.weight(), m.bias(): the packed int8 weight, the float bias
            tensors += [m.weight()] + ([] if bias is None else [bias])
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total
