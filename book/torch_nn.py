"""The chapter-3 models in PyTorch: self-attention, a pre-LayerNorm Transformer block, a tiny
Transformer and an LSTM tagger; chapter 6's encoder-decoder pieces built on them:
cross-attention and the decoder block; and chapter 8's options of the block since GPT-2: rotary
positions (`rotary`), `RMSNorm`, the `SwiGLU` MLP and grouped-query attention.

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

# What cross-attention reads: the encoder's output (B, S, E), or the keys and values that
# CrossAttention.memory_heads made of it, each (B, nh, S, hd)
Memory = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

__all__ = ["Block", "CrossAttention", "DecoderBlock", "LSTMTagger", "RMSNorm", "SelfAttention",
           "SwiGLU", "TinyTransformer", "make_norm", "rotary"]

NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "swiglu")


def rotary(x: torch.Tensor, start: int = 0, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (RoPE, Su et al. 2021): x (B, h, T, hd), or any (..., T, hd),
    at positions start..start+T-1, each pair of features turned by an angle proportional to its
    position.

    Pairing convention: adjacent features (x[..., 2i], x[..., 2i+1]) form pair i (the RoFormer
    paper's, and Meta's Llama code's; Hugging Face's Llama pairs i with i + hd/2 instead, the
    same idea with the features permuted). Pair i at position m turns by m * theta_i, theta_i =
    base^(-2i/hd): the first pairs spin fast, the last ones slowly. A rotation keeps lengths,
    and q_m . k_n = (R_m q) . (R_n k) = q . R_(n-m) k depends on m and n only through n - m.
    """
    T, hd = x.shape[-2:]
    dtype = torch.promote_types(x.dtype, torch.float32)  # angles of long contexts need >= fp32
    theta = base ** (-torch.arange(0, hd, 2, device=x.device, dtype=dtype) / hd)  # (hd/2,)
    pos = torch.arange(start, start + T, device=x.device, dtype=dtype)             # (T,)
    angle = pos[:, None] * theta[None, :]                  # (T, hd/2)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]                    # (..., T, hd/2): pair i = (x1, x2)
    turned = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., hd/2, 2)
    return turned.flatten(-2)                              # back to (..., T, hd), pairs adjacent


class RMSNorm(nn.Module):
    """x / rms(x) * weight, rms(x) = sqrt(mean(x^2) + eps) over the features (Zhang & Sennrich
    2019): LayerNorm without subtracting the mean and without a bias; Llama's norm."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps  # LayerNorm's default, so that the two differ by the mean only
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., dim) -> (..., dim), each vector scaled to root-mean-square 1, then weighted."""
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def make_norm(norm: str, dim: int, bias: bool = True) -> nn.Module:
    """The normalisation a block (or a GPT's final norm) uses: "layernorm" (GPT-2's, with a bias
    when `bias`) or "rmsnorm" (Llama's, a weight only)."""
    if norm == "layernorm":
        return nn.LayerNorm(dim, bias=bias)
    if norm == "rmsnorm":
        return RMSNorm(dim)
    raise ValueError(f"unknown norm {norm!r}: use one of {NORMS}")


class SwiGLU(nn.Module):
    """The gated MLP of PaLM and Llama (Shazeer 2020): down(silu(gate(x)) * up(x)), that is
    W2 (silu(W1 x) * W3 x) with W1 = gate, W3 = up (E -> F) and W2 = down (F -> E).

    Three F x E matrices where GELU's MLP has two, so an equal-parameter comparison takes
    F = 8E/3 instead of 4E (`book.scale.TransformerShape` counts it so).
    """

    def __init__(self, embed_dim: int, hidden: int, *, dropout: float = 0.0,
                 bias: bool = True) -> None:
        super().__init__()
        self.gate = nn.Linear(embed_dim, hidden, bias=bias)
        self.up = nn.Linear(embed_dim, hidden, bias=bias)
        self.down = nn.Linear(hidden, embed_dim, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., E) -> (..., E): the gate (SiLU, x * sigmoid(x)) scales the up projection."""
        return self.drop(self.down(F.silu(self.gate(x)) * self.up(x)))


class SelfAttention(nn.Module):
    """Multi-head self-attention on (B, T, E), with `F.scaled_dot_product_attention`.

    `in_proj` is one Linear(E, 3E), so its weight has `nn.MultiheadAttention`'s in_proj layout
    (the query, key and value projections stacked). `causal=True` lets position t see positions
    <= t only (GPT's); `dropout` drops attention weights and the output while training.

    Chapter 8's options: `num_kv_heads` < num_heads is grouped-query attention (Ainslie et al.
    2023): only num_kv_heads key and value heads, each shared by a group of num_heads /
    num_kv_heads consecutive query heads (1 is multi-query attention), so in_proj is
    Linear(E, E + 2 nkv hd) and the KV cache shrinks by num_heads / num_kv_heads. `rope=True`
    turns q and k by their positions (`rotary`) before the scores.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, causal: bool = False,
                 dropout: float = 0.0, bias: bool = True, num_kv_heads: int | None = None,
                 rope: bool = False, rope_base: float = 10000.0) -> None:
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be a multiple of num_heads "
                             f"({num_heads}), which must be at least 1")
        num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
        if num_kv_heads < 1 or num_heads % num_kv_heads != 0:
            raise ValueError(f"num_kv_heads ({num_kv_heads}) must divide num_heads "
                             f"({num_heads}): each key/value head serves a whole group")
        if rope and (embed_dim // num_heads) % 2:
            raise ValueError(f"rope turns pairs of features: the head size E / num_heads = "
                             f"{embed_dim // num_heads} must be even")
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, causal
        self.num_kv_heads, self.head_dim = num_kv_heads, embed_dim // num_heads
        self.dropout, self.rope, self.rope_base = dropout, rope, rope_base
        kv_dim = num_kv_heads * self.head_dim  # E unless grouped-query attention
        self.in_proj = nn.Linear(embed_dim, embed_dim + 2 * kv_dim, bias=bias)  # q, k, v at once
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_drop = nn.Dropout(dropout)

    def _check(self, x: torch.Tensor, name: str = "x") -> None:
        """ValueError unless x is (B, T, E) with this layer's E."""
        if x.dim() != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"{name} must have shape (B, T, E) with E = {self.embed_dim}; "
                             f"got {tuple(x.shape)}")

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, T, h hd) -> (B, h, T, hd): each head gets its own slice of hd = E / nh features."""
        B, T, _ = t.shape
        return t.view(B, T, -1, self.head_dim).transpose(1, 2)

    def _heads(self, x: torch.Tensor, start: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q (B, nh, T, hd), k and v (B, nkv, T, hd) from x (B, T, E) at positions start.."""
        self._check(x)
        kv_dim = self.num_kv_heads * self.head_dim
        # (B, T, E + 2 kv_dim) -> (B, T, E), 2 x (B, T, kv_dim); kv_dim = E without GQA
        q, k, v = self.in_proj(x).split([self.embed_dim, kv_dim, kv_dim], dim=-1)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)
        if self.rope:  # positions enter here, as turns of q and k (v is not turned)
            q, k = rotary(q, start, self.rope_base), rotary(k, start, self.rope_base)
        return q, k, v

    def _share(self, kv: torch.Tensor) -> torch.Tensor:
        """Grouped-query attention: (B, nkv, S, hd) -> (B, nh, S, hd), key/value head j
        repeated for query heads j g .. j g + g - 1, g = nh / nkv. Nothing to do without GQA."""
        g = self.num_heads // self.num_kv_heads
        return kv if g == 1 else kv.repeat_interleave(g, dim=1)

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

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                key_padding_mask: torch.Tensor | None) -> torch.Tensor:
        """Attention of queries q (B, nh, T, hd) over keys k and values v (B, nkv, S, hd),
        heads merged and projected: (B, T, E)."""
        p = self.dropout if self.training else 0.0
        k, v = self._share(k), self._share(v)
        if key_padding_mask is None:
            # is_causal (rather than a mask) lets SDPA pick a kernel that skips the masked half
            y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, dropout_p=p)
        else:
            allowed = self._allowed(q.shape[2], key_padding_mask, q.device)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        return self._out(y)

    def _attend_with_weights(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                             key_padding_mask: torch.Tensor | None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """`_attend` written out step by step, with its weights (B, nh, T, S). No dropout."""
        k, v = self._share(k), self._share(v)
        att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, nh, T, hd) @ (B, nh, hd, S)
        allowed = self._allowed(q.shape[2], key_padding_mask, q.device)
        if allowed is not None:
            att = att.masked_fill(~allowed, float("-inf"))
        att = att.softmax(dim=-1)  # (B, nh, T, S): each query's weights over the keys
        return self._out(att @ v), att

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x (B, T, E) -> (B, T, E). key_padding_mask: boolean (B, T), True = padding (as in
        nn.MultiheadAttention)."""
        return self._attend(*self._heads(x), key_padding_mask)

    def forward_with_weights(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(output (B, T, E), attention weights (B, nh, T, T)), written out step by step:
        SDPA never materialises the weights (that is what makes it fast). No dropout."""
        return self._attend_with_weights(*self._heads(x), key_padding_mask)

    def prefill(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """`forward` over a whole prompt x (B, T, E) that also returns its keys and values:
        (output (B, T, E), cache (k, v), each (B, nkv, T, hd)), to be extended by `step`.

        The same computation as `forward` (so the same output, bit for bit); a decoder that
        generates reads the prompt once with this, then one new position at a time with `step`.
        """
        q, k, v = self._heads(x)
        return self._attend(q, k, v, None), (k, v)

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Causal attention for ONE new position, as a decoder writes token by token: x
        (B, 1, E) is the newest position, cache the keys and values (k, v), each
        (B, nkv, t, hd), of the t positions before it (None for the first); with RoPE, x is
        read at position t. Returns (output (B, 1, E), the cache with the new position's k
        and v appended).

        The earlier positions' keys and values never change (they cannot see the new one), so
        keeping them costs one position per step instead of the whole prefix: the output
        equals `forward` over the prefix at its last position. No dropout.
        """
        if not self.causal or x.dim() != 3 or x.shape[1] != 1:
            raise ValueError(f"step needs causal attention and x of shape (B, 1, E); got "
                             f"causal={self.causal}, x {tuple(x.shape)}")
        t = 0 if cache is None else cache[0].shape[2]
        q, k, v = self._heads(x, start=t)               # (B, nh or nkv, 1, hd)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)         # (B, nkv, t + 1, hd)
            v = torch.cat([cache[1], v], dim=2)
        # no mask: the newest position may see every position up to itself, which is all
        y = F.scaled_dot_product_attention(q, self._share(k), self._share(v))
        return self._out(y), (k, v)


class CrossAttention(SelfAttention):
    """Multi-head attention of one sequence over another: the queries come from x (B, T, E)
    (the decoder), the keys and values from memory (B, S, E) (the encoder's output).

    Everything but the projections is SelfAttention's: the same `in_proj` weight (its first E
    rows make the queries from x, the other 2E the keys and values from memory), the same
    heads, softmax and output projection. Nothing is hidden from the decoder here (no causal
    mask): every target position may look at every real source position.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dropout: float = 0.0,
                 bias: bool = True) -> None:
        super().__init__(embed_dim, num_heads, causal=False, dropout=dropout, bias=bias)

    def memory_heads(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys and values (k, v), each (B, nh, S, hd), of memory (B, S, E): a decoder
        that writes token by token computes them once per sentence and passes them as
        `memory` at every step."""
        self._check(memory, "memory")
        E, w, b = self.embed_dim, self.in_proj.weight, self.in_proj.bias
        k, v = F.linear(memory, w[E:], None if b is None else b[E:]).split(E, dim=-1)  # (B, S, E)
        return self._split_heads(k), self._split_heads(v)

    def _cross_heads(self, x: torch.Tensor, memory: Memory, key_padding_mask:
                     torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q (B, nh, T, hd) from x, k and v (B, nh, S, hd) from memory, after checks."""
        self._check(x)
        k, v = memory if isinstance(memory, tuple) else self.memory_heads(memory)
        B, S = k.shape[0], k.shape[2]
        if x.shape[0] != B:
            raise ValueError(f"x and memory must have the same batch size; got {x.shape[0]} "
                             f"and {B}")
        if key_padding_mask is not None and (key_padding_mask.shape != (B, S)
                                             or key_padding_mask.dtype != torch.bool):
            raise ValueError(f"key_padding_mask must be boolean (B, S) = {(B, S)}, True at the "
                             f"memory's padding; got {key_padding_mask.dtype} "
                             f"{tuple(key_padding_mask.shape)}")
        E, w, b = self.embed_dim, self.in_proj.weight, self.in_proj.bias
        q = F.linear(x, w[:E], None if b is None else b[:E])              # (B, T, E)
        return self._split_heads(q), k, v

    def forward(self, x: torch.Tensor, memory: Memory,
                key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, E), memory (B, S, E) (or its `memory_heads`) -> (B, T, E).
        key_padding_mask: boolean (B, S), True at the memory's padding, which gets weight 0."""
        return self._attend(*self._cross_heads(x, memory, key_padding_mask), key_padding_mask)

    def forward_with_weights(self, x: torch.Tensor, memory: Memory,
                             key_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(output (B, T, E), weights (B, nh, T, S)): row t of a head is how target position t
        spreads its attention over the S source positions (it sums to 1). No dropout."""
        return self._attend_with_weights(*self._cross_heads(x, memory, key_padding_mask),
                                         key_padding_mask)


class Block(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x)).

    The one Transformer block of the course: chapter 3 checks it against the NumPy
    `book.np_nn.TransformerBlock`, chapter 4's classifier stacks it without a mask of the future,
    chapter 5's GPT stacks it with `causal=True`, dropout and no biases. Chapter 8's options,
    what changed since GPT-2 (Llama uses all four): norm="rmsnorm", mlp="swiglu" (with
    `hidden` F), num_kv_heads (grouped-query attention) and rope=True (see SelfAttention).
    """

    def __init__(self, embed_dim: int, num_heads: int, hidden: int | None = None, *,
                 causal: bool = False, dropout: float = 0.0, bias: bool = True,
                 norm: str = "layernorm", mlp: str = "gelu", num_kv_heads: int | None = None,
                 rope: bool = False, rope_base: float = 10000.0) -> None:
        super().__init__()
        if mlp not in MLPS:
            raise ValueError(f"unknown mlp {mlp!r}: use one of {MLPS}")
        hidden = 4 * embed_dim if hidden is None else hidden
        self.ln1 = make_norm(norm, embed_dim, bias)
        self.attn = SelfAttention(embed_dim, num_heads, causal=causal, dropout=dropout, bias=bias,
                                  num_kv_heads=num_kv_heads, rope=rope, rope_base=rope_base)
        self.ln2 = make_norm(norm, embed_dim, bias)
        if mlp == "gelu":
            # GPT-2's GELU (the tanh form); mlp.0 and mlp.2 are the Linear layers (NumPy's fc1, fc2)
            self.mlp = nn.Sequential(nn.Linear(embed_dim, hidden, bias=bias),
                                     nn.GELU(approximate="tanh"),
                                     nn.Linear(hidden, embed_dim, bias=bias), nn.Dropout(dropout))
        else:
            self.mlp = SwiGLU(embed_dim, hidden, dropout=dropout, bias=bias)

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block's second half: x + mlp(ln2(x)), position by position."""
        return x + self.mlp(self.ln2(x))

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x (B, T, E) -> (B, T, E)."""
        x = x + self.attn(self.ln1(x), key_padding_mask)  # residual: gradients skip the layer
        return self._feed_forward(x)

    def forward_with_weights(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(output (B, T, E), the attention weights (B, nh, T, T)); no dropout."""
        a, att = self.attn.forward_with_weights(self.ln1(x), key_padding_mask)
        return self._feed_forward(x + a), att


class DecoderBlock(Block):
    """A Transformer decoder block (Vaswani et al. 2017), pre-LayerNorm: a causal Block with
    cross-attention between its two halves,

        x = x + self_attn(ln1(x))              target positions see themselves and the past
        x = x + cross(ln_cross(x), memory)     ... and every real source position
        x = x + mlp(ln2(x))

    The self-attention and the MLP are Block's own (`attn`, `ln1`, `mlp`, `ln2`, causal);
    `ln_cross` and `cross` are what the decoder adds. The target needs no padding mask: its
    padding is at the end, and the causal mask already keeps every real position from looking
    right, so padding only changes padding positions, which the loss leaves out.
    """

    def __init__(self, embed_dim: int, num_heads: int, hidden: int | None = None, *,
                 dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__(embed_dim, num_heads, hidden, causal=True, dropout=dropout, bias=bias)
        self.ln_cross = nn.LayerNorm(embed_dim, bias=bias)
        self.cross = CrossAttention(embed_dim, num_heads, dropout=dropout, bias=bias)

    def forward(self, x: torch.Tensor, memory: Memory,
                memory_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, E) the target so far, memory (B, S, E) the encoded source, its padding mask
        (B, S) True at padding -> (B, T, E)."""
        x = x + self.attn(self.ln1(x))
        x = x + self.cross(self.ln_cross(x), memory, memory_padding_mask)
        return self._feed_forward(x)

    def step(self, x: torch.Tensor, memory: Memory, memory_padding_mask: torch.Tensor | None,
             cache: tuple[torch.Tensor, torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """`forward` for one new target position x (B, 1, E), with the self-attention's cache
        of the earlier ones (see SelfAttention.step); memory is best given as
        `self.cross.memory_heads(memory)`, computed once. Returns (output (B, 1, E), cache)."""
        a, cache = self.attn.step(self.ln1(x), cache)
        x = x + a
        x = x + self.cross(self.ln_cross(x), memory, memory_padding_mask)
        return self._feed_forward(x), cache

    def forward_with_weights(self, x: torch.Tensor, memory: torch.Tensor,
                             memory_padding_mask: torch.Tensor | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output (B, T, E), self-attention weights (B, nh, T, T), cross-attention weights
        (B, nh, T, S)); no dropout."""
        a, self_att = self.attn.forward_with_weights(self.ln1(x))
        x = x + a
        c, cross_att = self.cross.forward_with_weights(self.ln_cross(x), memory,
                                                       memory_padding_mask)
        return self._feed_forward(x + c), self_att, cross_att


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
