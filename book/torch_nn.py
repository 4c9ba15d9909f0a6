"""The chapter-3 models in PyTorch: self-attention, a pre-LayerNorm Transformer block, a tiny
Transformer and an LSTM tagger.

Nothing here names a device: build a model, `.to(device)` it, and feed it tensors on that device.
`Block` has the same parameters as `book.np_nn.attention.TransformerBlock`, which can copy it
(`TransformerBlock.from_torch`) and check its own backward pass against autograd.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from book.np_nn import sinusoidal_positions

__all__ = ["Block", "CausalSelfAttention", "LSTMTagger", "SelfAttention", "TinyTransformer"]


class SelfAttention(nn.Module):
    """Multi-head self-attention on (B, T, E), with `F.scaled_dot_product_attention`.

    `in_proj` is one Linear(E, 3E), so its weight has `nn.MultiheadAttention`'s in_proj layout
    (the query, key and value projections stacked).
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = False) -> None:
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, causal
        self.in_proj = nn.Linear(embed_dim, 3 * embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _allowed(self, T: int, key_padding_mask: torch.Tensor | None,
                 device: torch.device) -> torch.Tensor | None:
        """Boolean mask, True where a query MAY attend (SDPA's convention, opposite to MHA's)."""
        allowed = None
        if self.causal:
            allowed = torch.ones(T, T, dtype=torch.bool, device=device).tril()  # (T, T)
        if key_padding_mask is not None:
            keep = ~key_padding_mask[:, None, None, :]  # (B, T) -> (B, 1, 1, T): all heads, queries
            allowed = keep if allowed is None else allowed & keep  # (B, 1, T, T)
        return allowed

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                return_weights: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, E) -> (B, T, E); with return_weights=True, (out, weights (B, nh, T, T)).

        key_padding_mask: boolean (B, T), True = padding (as in nn.MultiheadAttention).
        """
        if x.dim() != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"x must have shape (B, T, E) with E = {self.embed_dim}; "
                             f"got {tuple(x.shape)}")
        B, T, E = x.shape
        nh, hd = self.num_heads, E // self.num_heads
        q, k, v = self.in_proj(x).split(E, dim=-1)  # (B, T, 3E) -> 3 × (B, T, E)
        q = q.view(B, T, nh, hd).transpose(1, 2)  # (B, T, E) -> (B, T, nh, hd) -> (B, nh, T, hd)
        k = k.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        v = v.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        if return_weights:
            # SDPA never materialises the weights (that is what makes it fast), so compute them.
            allowed = self._allowed(T, key_padding_mask, x.device)
            att = q @ k.transpose(-2, -1) / math.sqrt(hd)  # (B, nh, T, hd) @ (B, nh, hd, T)
            if allowed is not None:
                att = att.masked_fill(~allowed, float("-inf"))
            att = att.softmax(dim=-1)  # (B, nh, T, T)
            y = att @ v  # (B, nh, T, hd)
        elif key_padding_mask is None:
            # is_causal (rather than a mask) lets SDPA pick a kernel that skips the masked half
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        else:
            allowed = self._allowed(T, key_padding_mask, x.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        y = y.transpose(1, 2).reshape(B, T, E)  # (B, nh, T, hd) -> (B, T, nh, hd) -> (B, T, E)
        out = self.out_proj(y)
        return (out, att) if return_weights else out


class CausalSelfAttention(SelfAttention):
    """`SelfAttention` in which position t sees only positions ≤ t (GPT's)."""

    def __init__(self, embed_dim: int, num_heads: int) -> None:
        super().__init__(embed_dim, num_heads, causal=True)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, embed_dim: int, num_heads: int, hidden: int | None = None,
                 causal: bool = False) -> None:
        super().__init__()
        hidden = 4 * embed_dim if hidden is None else hidden
        self.ln1 = nn.LayerNorm(embed_dim)
        self.attn = SelfAttention(embed_dim, num_heads, causal)
        self.ln2 = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden), nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, embed_dim))

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None,
                return_weights: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, E) -> (B, T, E); with return_weights=True, (y, weights (B, nh, T, T))."""
        if return_weights:
            a, att = self.attn(self.ln1(x), key_padding_mask, return_weights=True)
        else:
            a, att = self.attn(self.ln1(x), key_padding_mask), None
        x = x + a  # residual connections: the gradient reaches early layers unchanged
        x = x + self.mlp(self.ln2(x))
        return (x, att) if return_weights else x


class TinyTransformer(nn.Module):
    """Token embedding + sinusoidal positions, `n_layers` Blocks, final LayerNorm, linear head."""

    def __init__(self, vocab_size: int, embed_dim: int, n_heads: int, n_layers: int,
                 max_len: int, causal: bool = True) -> None:
        super().__init__()
        self.max_len = max_len
        self.tok_emb = nn.Embedding(vocab_size, embed_dim)
        # The same encodings as the NumPy code; a buffer moves with .to(device) but is not trained.
        pos = torch.from_numpy(sinusoidal_positions(max_len, embed_dim)).float()
        self.register_buffer("pos", pos, persistent=False)  # (max_len, E)
        self.blocks = nn.ModuleList(Block(embed_dim, n_heads, causal=causal)
                                    for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, vocab_size)

    def _embed(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequence length {T} is longer than max_len = {self.max_len}")
        return self.tok_emb(idx) + self.pos[:T]  # (B, T, E) + (T, E)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> logits (B, T, vocab_size)."""
        x = self._embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention weights of every layer and head for idx (B, T): (L, B, nh, T, T)."""
        x, weights = self._embed(idx), []
        for block in self.blocks:
            x, att = block(x, return_weights=True)
            weights.append(att)
        return torch.stack(weights)


class LSTMTagger(nn.Module):
    """Embedding -> one-layer LSTM -> a linear layer at every time step; ids are batch first (B, T).

    The LSTM itself is sequence-first (PyTorch's default), so `book.np_nn.LSTM.from_torch` can
    load it and reproduce its gates step by step.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_size: int, num_tags: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size)
        self.head = nn.Linear(hidden_size, num_tags)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> tag scores (B, T, num_tags)."""
        x = self.embed(idx).transpose(0, 1)  # (T, B, embed_dim): the LSTM reads time first
        h, _ = self.lstm(x)                  # (T, B, hidden_size): the state after each token
        return self.head(h).transpose(0, 1)  # (B, T, num_tags)
