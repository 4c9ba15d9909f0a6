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

__all__ = ["Block", "LSTMTagger", "SelfAttention", "TinyTransformer"]


class SelfAttention(nn.Module):
    """Multi-head self-attention on (B, T, E), with `F.scaled_dot_product_attention`.

    `in_proj` is one Linear(E, 3E), so its weight has `nn.MultiheadAttention`'s in_proj layout
    (the query, key and value projections stacked). `causal=True` lets position t see positions
    <= t only (GPT's); `dropout` drops attention weights and the output while training.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, causal: bool = False,
                 dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be a multiple of num_heads "
                             f"({num_heads}), which must be at least 1")
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, causal
        self.dropout = dropout
        self.in_proj = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)  # q, k, v in one matmul
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_drop = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v, each (B, nh, T, hd), from x (B, T, E)."""
        if x.dim() != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"x must have shape (B, T, E) with E = {self.embed_dim}; "
                             f"got {tuple(x.shape)}")
        B, T, E = x.shape
        nh, hd = self.num_heads, E // self.num_heads
        q, k, v = self.in_proj(x).split(E, dim=-1)  # (B, T, 3E) -> 3 × (B, T, E)
        q = q.view(B, T, nh, hd).transpose(1, 2)  # (B, T, E) -> (B, T, nh, hd) -> (B, nh, T, hd)
        k = k.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        v = v.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        return q, k, v

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

    def _out(self, y: torch.Tensor) -> torch.Tensor:
        """Merge the heads of y (B, nh, T, hd) and project: (B, T, E)."""
        B, nh, T, hd = y.shape
        y = y.transpose(1, 2).reshape(B, T, nh * hd)  # -> (B, T, nh, hd) -> (B, T, E)
        return self.out_drop(self.out_proj(y))

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x (B, T, E) -> (B, T, E). key_padding_mask: boolean (B, T), True = padding (as in
        nn.MultiheadAttention)."""
        q, k, v = self._heads(x)
        p = self.dropout if self.training else 0.0
        if key_padding_mask is None:
            # is_causal (rather than a mask) lets SDPA pick a kernel that skips the masked half
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, dropout_p=p)
        else:
            allowed = self._allowed(x.shape[1], key_padding_mask, x.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        return self._out(y)

    def forward_with_weights(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(output (B, T, E), attention weights (B, nh, T, T)), written out step by step:
        SDPA never materialises the weights (that is what makes it fast). No dropout."""
        q, k, v = self._heads(x)
        att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, nh, T, hd) @ (B, nh, hd, T)
        allowed = self._allowed(x.shape[1], key_padding_mask, x.device)
        if allowed is not None:
            att = att.masked_fill(~allowed, float("-inf"))
        att = att.softmax(dim=-1)  # (B, nh, T, T): each query's weights over the keys
        return self._out(att @ v), att


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)).

    The one Transformer block of the course: chapter 3 checks it against the NumPy
    `book.np_nn.TransformerBlock`, chapter 4's classifier stacks it without a mask of the future,
    chapter 5's GPT stacks it with `causal=True`, dropout and no biases.
    """

    def __init__(self, embed_dim: int, num_heads: int, hidden: int | None = None, *,
                 causal: bool = False, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        hidden = 4 * embed_dim if hidden is None else hidden
        self.ln1 = nn.LayerNorm(embed_dim, bias=bias)
        self.attn = SelfAttention(embed_dim, num_heads, causal=causal, dropout=dropout, bias=bias)
        self.ln2 = nn.LayerNorm(embed_dim, bias=bias)
        # GPT-2's GELU (the tanh form); mlp.0 and mlp.2 are the Linear layers (NumPy's fc1, fc2)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden, bias=bias),
                                 nn.GELU(approximate="tanh"),
                                 nn.Linear(hidden, embed_dim, bias=bias), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x (B, T, E) -> (B, T, E)."""
        x = x + self.attn(self.ln1(x), key_padding_mask)  # residual: gradients skip the layer
        return x + self.mlp(self.ln2(x))

    def forward_with_weights(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(output (B, T, E), the attention weights (B, nh, T, T)); no dropout."""
        a, att = self.attn.forward_with_weights(self.ln1(x), key_padding_mask)
        x = x + a
        return x + self.mlp(self.ln2(x)), att


class TinyTransformer(nn.Module):
    """Token embedding + sinusoidal positions, `num_layers` Blocks, final LayerNorm, linear head."""

    def __init__(self, vocab_size: int, embed_dim: int, num_heads: int, num_layers: int,
                 max_len: int, causal: bool = True) -> None:
        super().__init__()
        self.max_len = max_len
        self.tok_emb = nn.Embedding(vocab_size, embed_dim)
        # The same encodings as the NumPy code; a buffer moves with .to(device) but is not trained.
        pos = torch.from_numpy(sinusoidal_positions(max_len, embed_dim)).float()
        self.register_buffer("pos", pos, persistent=False)  # (max_len, E)
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads, causal=causal)
                                    for _ in range(num_layers))
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
            x, att = block.forward_with_weights(x)
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
