"""A pre-LayerNorm Transformer block in NumPy, forward and backward, mirroring
`book.torch_nn.Block` on the same weights (chapter 3; chapter 5's GPT is built from that block).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from book.np_nn.attention import MultiHeadAttention, causal_mask
from book.np_nn.functional import gelu, gelu_backward
from book.np_nn.layers import LayerNorm, Linear

__all__ = ["TransformerBlock"]


class TransformerBlock:
    """Pre-LayerNorm block: x + MHA(LN1(x)), then + Linear(GELU(Linear(LN2(x)))).

    Mirrors `book.torch_nn.Block`; `.grads` uses its `named_parameters()` names.
    """

    def __init__(self, embed_dim: int, num_heads: int, hidden: int | None = None, *,
                 causal: bool = False, dtype: Any = np.float64, seed: int = 0) -> None:
        hidden = 4 * embed_dim if hidden is None else hidden
        self.embed_dim, self.causal = embed_dim, causal
        self.ln1 = LayerNorm(embed_dim, dtype=dtype)
        self.attn = MultiHeadAttention(embed_dim, num_heads, dtype=dtype, seed=seed)
        self.ln2 = LayerNorm(embed_dim, dtype=dtype)
        self.fc1 = Linear(embed_dim, hidden, dtype=dtype, seed=seed + 1)  # torch: mlp.0
        self.fc2 = Linear(hidden, embed_dim, dtype=dtype, seed=seed + 2)  # torch: mlp.2
        self.grads: dict[str, np.ndarray] = {}

    @classmethod
    def from_torch(cls, block: Any) -> TransformerBlock:
        """Copy a `book.torch_nn.Block`, including its `causal` setting; a block built with
        `bias=False` gets zero biases. Dropout is not modelled: compare with `block.eval()`."""
        E, nh = block.attn.embed_dim, block.attn.num_heads
        if (type(block.ln1).__name__ != "LayerNorm" or type(block.mlp).__name__ != "Sequential"
                or block.attn.rope or block.attn.num_kv_heads != nh):
            raise ValueError("from_torch copies GPT-2's block only (LayerNorm, GELU MLP, "
                             "multi-head attention, no RoPE): build the Block with its default "
                             "norm, mlp, num_kv_heads and rope")
        blk = cls(E, nh, block.mlp[0].out_features, causal=block.attn.causal)
        blk.ln1, blk.ln2 = LayerNorm.from_torch(block.ln1), LayerNorm.from_torch(block.ln2)
        in_proj = Linear.from_torch(block.attn.in_proj)
        out_proj = Linear.from_torch(block.attn.out_proj)
        blk.attn.in_proj_weight, blk.attn.in_proj_bias = in_proj.weight, in_proj.bias
        blk.attn.out_proj_weight, blk.attn.out_proj_bias = out_proj.weight, out_proj.bias
        blk.fc1, blk.fc2 = Linear.from_torch(block.mlp[0]), Linear.from_torch(block.mlp[2])
        return blk

    def _named(self) -> dict[str, tuple[Any, str]]:
        """torch name -> (layer, its own parameter name)."""
        attn = {"attn.in_proj.weight": "in_proj_weight", "attn.in_proj.bias": "in_proj_bias",
                "attn.out_proj.weight": "out_proj.weight", "attn.out_proj.bias": "out_proj.bias"}
        named = {f"ln1.{n}": (self.ln1, n) for n in ("weight", "bias")}
        named |= {name: (self.attn, n) for name, n in attn.items()}
        named |= {f"ln2.{n}": (self.ln2, n) for n in ("weight", "bias")}
        named |= {f"mlp.0.{n}": (self.fc1, n) for n in ("weight", "bias")}
        named |= {f"mlp.2.{n}": (self.fc2, n) for n in ("weight", "bias")}
        return named

    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters by `Block.named_parameters()` name, the keys of `.grads`."""
        return {name: layer.parameters()[n] for name, (layer, n) in self._named().items()}

    def forward(self, x: np.ndarray, causal: bool | None = None,
                key_padding_mask: np.ndarray | None = None) -> np.ndarray:
        """Apply the block to x (B, T, E); `causal` defaults to the block's own setting."""
        x = np.asarray(x, dtype=self.ln1.weight.dtype)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"x must have shape (B, T, E) with E = {self.embed_dim}; "
                             f"got {x.shape}")
        causal = self.causal if causal is None else causal
        mask = causal_mask(x.shape[1]) if causal else None
        h = self.ln1.forward(x)
        a, _ = self.attn.forward(h, h, h, attn_mask=mask, key_padding_mask=key_padding_mask)
        x = x + a  # the residual path lets gradients skip the layer
        self.u = self.fc1.forward(self.ln2.forward(x))  # GELU's input, kept for its backward
        return x + self.fc2.forward(gelu(self.u))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Return dx from dy (B, T, E) and fill `.grads`."""
        if not hasattr(self, "u"):
            raise RuntimeError("TransformerBlock.backward needs the values of a forward() call: "
                               "run forward first")
        dy = np.asarray(dy, dtype=self.ln1.weight.dtype)
        if dy.shape != self.ln1.xhat.shape:
            raise ValueError(f"dy must have the output's shape (B, T, E) = {self.ln1.xhat.shape}; "
                             f"got {dy.shape}")
        # Each residual x + f(x) passes dy through unchanged and adds f's input gradient.
        dh = self.fc1.backward(gelu_backward(self.u, self.fc2.backward(dy)))
        dx = dy + self.ln2.backward(dh)
        dq, dk, dv = self.attn.backward(dx)
        dx = dx + self.ln1.backward(dq + dk + dv)  # self-attention: h was query, key and value
        self.grads = {name: layer.grads[n] for name, (layer, n) in self._named().items()}
        return dx
