"""Attention in NumPy, forward and hand-written backward (chapter 3): masks, scaled dot-product
attention, multi-head attention, sinusoidal positions; and (chapter 8) tiled attention with an
online softmax, FlashAttention's algorithm, which never forms the (T, S) matrix of scores.

Every layer keeps what its backward pass needs from the last `forward` call, `backward(dout)`
returns the gradient with respect to its input(s) and fills `.grads`, keyed like the parameters of
the PyTorch module it mirrors, so each can be checked against `torch.autograd` (`from_torch`).

Shapes: B batch, T query positions, S key positions, E embedding size, nh heads of size hd = E/nh.
Masks follow torch's boolean convention: True means "may NOT attend".

Compute happens in the parameters' dtype: float64 for gradient checks, float32 for speed.
Speed matters here (the chapter times this against PyTorch), so: projections and their weight
gradients are single 2-D matrix products on (B·T, E); heads are made contiguous once, because
batched `np.matmul` on contiguous (B, nh, T, hd) stacks is fastest; big (B, nh, T, S) arrays are
updated in place (`out=`, `-=`) instead of making temporaries. (Measured on 2 CPU cores: one 2-D
matmul beats einsum over (B, T) 16×; a 4-D, a 3-D and a Python loop of 2-D matmuls over the heads
are within 20% of each other, strided head views 35% slower.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from book.np_nn.functional import (
    _float_array,
    _softmax_,
    _softmax_backward_,
    _to_numpy,
)

__all__ = [
    "MultiHeadAttention",
    "causal_mask",
    "merge_softmax_blocks",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "sinusoidal_positions",
    "tiled_attention",
]


def causal_mask(T: int, S: int | None = None) -> np.ndarray:
    """Boolean (T, S) mask, True where query i may NOT attend to key j (j > i), as torch expects."""
    S = T if S is None else S
    return np.triu(np.ones((T, S), dtype=bool), k=1)


def _check_mask(mask: Any, scores_shape: tuple[int, ...], what: str) -> np.ndarray:
    """`mask` as a boolean array that broadcasts to `scores_shape`, or ValueError saying so."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"{what} must be a boolean array (True = may not attend); "
                         f"got dtype {mask.dtype}")
    try:
        ok = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{what} must broadcast to the scores' shape (..., T, S) = "
                         f"{scores_shape}; got {mask.shape}")
    # torch returns NaN for a query that may attend to nothing (softmax of all −inf); we refuse,
    # because a NaN would silently spread through everything computed after it.
    if mask.all(axis=-1).any():
        raise ValueError("the mask hides every key from some query (a row of the (T, S) mask is "
                         "all True): its softmax would be 0/0 = NaN. Leave every query a key.")
    return mask


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray,
                                 mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """softmax(q kᵀ/√d, masked) v; q (..., T, d), k (..., S, d), v (..., S, dv) -> (out, weights).

    `out` is (..., T, dv), `weights` (..., T, S). `mask` is boolean, True = may not attend, and
    broadcasts to (..., T, S). A query that may attend to nothing raises ValueError (torch would
    give NaN).
    """
    q, k, v = _float_array(q), _float_array(k), _float_array(v)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"q, k, v must be (..., T, d), (..., S, d), (..., S, dv); "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise ValueError(f"q, k, v must be (..., T, d), (..., S, d), (..., S, dv) with the same d "
                         f"and S; got {q.shape}, {k.shape}, {v.shape}")
    scores = q @ k.swapaxes(-1, -2)  # (..., T, d) @ (..., d, S) -> (..., T, S)
    # Without 1/√d, scores of random d-dim vectors grow like √d and the softmax saturates.
    scores *= 1.0 / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = _check_mask(mask, scores.shape, "mask")
        np.copyto(scores, -np.inf, where=mask)  # exp(−inf) = 0: masked keys get zero weight
    weights = _softmax_(scores)
    return weights @ v, weights  # (..., T, S) @ (..., S, dv) -> (..., T, dv)


def scaled_dot_product_attention_backward(
        dout: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray,
        weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dq, dk, dv) of scaled dot-product attention, given the forward's weights."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    dv = weights.swapaxes(-1, -2) @ dout  # (..., S, T) @ (..., T, dv) -> (..., S, dv)
    dweights = dout @ v.swapaxes(-1, -2)  # (..., T, dv) @ (..., dv, S) -> (..., T, S)
    # Masked positions have weight 0, so the softmax backward gives them zero gradient by itself.
    dscores = _softmax_backward_(weights, dweights)
    dq = dscores @ k  # (..., T, S) @ (..., S, d) -> (..., T, d)
    dk = dscores.swapaxes(-1, -2) @ q  # (..., S, T) @ (..., T, d) -> (..., S, d)
    dq *= scale  # scaling the small (T, d) results is cheaper than scaling the (T, S) dscores
    dk *= scale
    return dq, dk, dv


# ---------------------------------------------------------------------------------------------
# tiled attention with an online softmax (chapter 8)

SoftmaxBlock = tuple[np.ndarray, np.ndarray, np.ndarray]  # (m (..., T), l (..., T), o (..., T, dv))


def merge_softmax_blocks(a: SoftmaxBlock, b: SoftmaxBlock) -> SoftmaxBlock:
    """Merge two partial softmax-attention results over disjoint sets of keys into one.

    Each part is (m, l, o) for the same queries: m (..., T) the largest score it has seen, l the
    sum of exp(score − m) over its keys, o (..., T, dv) the sum of exp(score − m) · value, not
    yet divided by l. Over the union of the keys the largest score is m = max(m1, m2); a part's
    exponentials were taken relative to its own m_i, so multiplying them by exp(m_i − m) ≤ 1
    re-bases them on m. Then softmax attention over all keys is o / l[..., None].

    m may be −inf for a part with no keys (l = 0, o = 0), but not for both parts.
    """
    (m1, l1, o1), (m2, l2, o2) = a, b
    m = np.maximum(m1, m2)
    a1, a2 = np.exp(m1 - m), np.exp(m2 - m)  # (..., T), each ≤ 1, one of them exactly 1
    l = a1 * l1 + a2 * l2  # noqa: E741 (l is the paper's name for the running sum)
    o = a1[..., None] * o1 + a2[..., None] * o2  # (..., T, 1) broadcast over the dv features
    return m, l, o


def tiled_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, block_size: int,
                    causal: bool = False) -> np.ndarray:
    """softmax(q kᵀ/√d) v computed over blocks of `block_size` keys: q (..., T, d), k (..., S, d),
    v (..., S, dv) -> (..., T, dv), equal to `scaled_dot_product_attention` to round-off.

    The online softmax of FlashAttention (Dao et al., 2022): for each block of keys it takes the
    (..., T, block) scores, their row maximum m, l = Σ exp(score − m) and o = Σ exp(score − m) v,
    and merges them into the running (m, l, o) with `merge_softmax_blocks`; at the end out = o/l.
    The (T, S) matrix of scores is never formed: the extra memory is the (T, block) scores of
    one block plus the running (T,) m, l and (T, dv) o, O(T·(block + dv)) instead of O(T·S).
    (FlashAttention also tiles the queries, so that one tile of q, k, v fits a GPU's fast on-chip
    memory; here the queries stay whole, which is enough to show the memory saving.)

    causal=True hides key j from query i when j > i (as `causal_mask`); blocks that a query
    cannot see at all are skipped for it, as FlashAttention skips them.
    """
    q, k, v = _float_array(q), _float_array(k), _float_array(v)
    if q.ndim < 2 or k.shape[-1] != q.shape[-1] or v.ndim < 2 or v.shape[-2] != k.shape[-2]:
        raise ValueError(f"q, k, v must be (..., T, d), (..., S, d), (..., S, dv) with the same d "
                         f"and S; got {q.shape}, {k.shape}, {v.shape}")
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a whole number of keys, at least 1; "
                         f"got {block_size!r}")
    scale = 1.0 / math.sqrt(q.shape[-1])
    T, S = q.shape[-2], k.shape[-2]
    state: SoftmaxBlock | None = None
    for j0 in range(0, S, block_size):
        j1 = min(j0 + block_size, S)
        # Causal: queries i < j0 see none of keys j0..j1-1; the rest see at least key j0.
        i0 = j0 if causal else 0
        if i0 >= T:
            break
        s = q[..., i0:, :] @ k[..., j0:j1, :].swapaxes(-1, -2)  # (..., T-i0, d) @ (..., d, b)
        s *= scale
        if causal:  # key j hidden from query i when j > i: the upper triangle, shifted
            hidden = np.arange(j0, j1)[None, :] > np.arange(i0, T)[:, None]  # (T-i0, b)
            np.copyto(s, -np.inf, where=hidden)
        m = s.max(axis=-1)  # (..., T-i0): finite, each of these queries sees key j0
        np.subtract(s, m[..., None], out=s)
        np.exp(s, out=s)  # ≤ 1: no overflow whatever the scores; hidden keys give exp(−inf) = 0
        block = (m, s.sum(axis=-1), s @ v[..., j0:j1, :])  # o: (..., T-i0, b) @ (..., b, dv)
        if state is None:  # the first block is seen by every query
            state = block
        elif i0 == 0:
            state = merge_softmax_blocks(state, block)
        else:  # only queries i0.. take part; the earlier ones keep what they have
            m_old, l_old, o_old = state
            m_new, l_new, o_new = merge_softmax_blocks(
                (m_old[..., i0:], l_old[..., i0:], o_old[..., i0:, :]), block)
            m_old[..., i0:], l_old[..., i0:], o_old[..., i0:, :] = m_new, l_new, o_new
    if state is None:
        raise ValueError(f"attention needs at least one key and one query; got q {q.shape}, "
                         f"k {k.shape}")
    m, l, o = state  # noqa: E741
    o /= l[..., None]
    return o


# ---------------------------------------------------------------------------------------------
# multi-head attention


class MultiHeadAttention:
    """`torch.nn.MultiheadAttention(E, nh, batch_first=True)` in NumPy, with a backward pass.

    Supported: kdim = vdim = E, with bias, no add_bias_kv, no add_zero_attn, dropout 0, and boolean
    masks (True = may not attend). Parameters have torch's names and layouts: `in_proj_weight`
    (3E, E) stacks the query, key and value projections; `out_proj_weight` is (E, E).
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dtype: Any = np.float64,
                 seed: int = 0) -> None:
        if not isinstance(num_heads, int) or num_heads < 1 or embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim ({embed_dim}) must be a multiple of num_heads "
                             f"({num_heads}), which must be a whole number of at least 1")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        E = embed_dim
        rng = np.random.default_rng(seed)
        # torch's init: Xavier-uniform for the stacked (3E, E) in_proj, U(±1/√E) for out_proj,
        # zero biases. Both keep the activations' variance roughly constant through the layer.
        a = math.sqrt(6.0 / (E + 3 * E))
        self.in_proj_weight = rng.uniform(-a, a, (3 * E, E)).astype(dtype)
        self.in_proj_bias = np.zeros(3 * E, dtype=dtype)
        b = 1.0 / math.sqrt(E)
        self.out_proj_weight = rng.uniform(-b, b, (E, E)).astype(dtype)
        self.out_proj_bias = np.zeros(E, dtype=dtype)
        self.grads: dict[str, np.ndarray] = {}
        self.attn: np.ndarray | None = None  # per-head weights (B, nh, T, S) of the last forward
        self._cache: tuple | None = None  # what backward needs from the last forward

    @classmethod
    def from_torch(cls, m: Any) -> MultiHeadAttention:
        """Copy a `torch.nn.MultiheadAttention(E, nh, batch_first=True)` (see the class doc)."""
        problems = []
        if not m.batch_first:
            problems.append("batch_first=False (use batch_first=True)")
        if not m._qkv_same_embed_dim:
            problems.append(f"kdim={m.kdim}, vdim={m.vdim} different from embed_dim={m.embed_dim}")
        if m.in_proj_bias is None or m.out_proj.bias is None:
            problems.append("bias=False")
        if m.bias_k is not None:
            problems.append("add_bias_kv=True")
        if m.add_zero_attn:
            problems.append("add_zero_attn=True")
        if m.dropout != 0:
            problems.append(f"dropout={m.dropout} (must be 0)")
        if problems:
            raise ValueError("unsupported nn.MultiheadAttention: " + "; ".join(problems) +
                             ". Supported: kdim = vdim = embed_dim, bias, batch_first, dropout 0.")
        mha = cls(m.embed_dim, m.num_heads)
        mha.in_proj_weight = _to_numpy(m.in_proj_weight)
        mha.in_proj_bias = _to_numpy(m.in_proj_bias)
        mha.out_proj_weight = _to_numpy(m.out_proj.weight)
        mha.out_proj_bias = _to_numpy(m.out_proj.bias)
        return mha

    def parameters(self) -> dict[str, np.ndarray]:
        """The parameters by name, the keys of `.grads` (torch's `named_parameters()` names)."""
        return {"in_proj_weight": self.in_proj_weight, "in_proj_bias": self.in_proj_bias,
                "out_proj.weight": self.out_proj_weight, "out_proj.bias": self.out_proj_bias}

    def _input(self, x: Any, name: str, shape: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"{name} must have shape {shape} with E = {self.embed_dim}; "
                             f"got {x.shape}")
        return x.astype(self.in_proj_weight.dtype, copy=False)

    def _mask(self, attn_mask: Any, key_padding_mask: Any, B: int, T: int,
              S: int) -> np.ndarray | None:
        """Both masks merged into one boolean mask that broadcasts to (B, nh, T, S), or None."""
        nh, mask = self.num_heads, None
        if attn_mask is not None:
            attn_mask = np.asarray(attn_mask)
            if attn_mask.dtype != np.bool_ or attn_mask.shape not in ((T, S), (B * nh, T, S)):
                raise ValueError(f"attn_mask must be a boolean array (True = may not attend) of "
                                 f"shape (T, S) = {(T, S)} or (B·nh, T, S) = {(B * nh, T, S)}; "
                                 f"got {attn_mask.dtype} {attn_mask.shape}")
            mask = attn_mask.reshape(-1, nh, T, S) if attn_mask.ndim == 3 else attn_mask
            # (B·nh, T, S) -> (B, nh, T, S): torch numbers the stack batch-major, b·nh + h
        if key_padding_mask is not None:
            kpm = np.asarray(key_padding_mask)
            if kpm.dtype != np.bool_ or kpm.shape != (B, S):
                raise ValueError(f"key_padding_mask must be a boolean array (True = padding) of "
                                 f"shape (B, S) = {(B, S)}; got {kpm.dtype} {kpm.shape}")
            if kpm.all(axis=-1).any():
                rows = np.flatnonzero(kpm.all(axis=-1)).tolist()
                raise ValueError(f"key_padding_mask marks every key of sequence(s) {rows} as "
                                 "padding (a row of it is all True): their queries would have "
                                 "nothing to attend to. Give each sequence at least one real "
                                 "token.")
            kpm = kpm[:, None, None, :]  # (B, S) -> (B, 1, 1, S): the same for all heads, queries
            mask = kpm if mask is None else mask | kpm
        return mask

    def _split_heads(self, x2: np.ndarray, B: int, T: int) -> np.ndarray:
        # (B·T, E) -> (B, T, nh, hd) -> (B, nh, T, hd), copied once so that the batched matmuls
        # of attention run on contiguous (T, hd) blocks.
        x = x2.reshape(B, T, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(x)

    def _merge_heads(self, x: np.ndarray) -> np.ndarray:
        B, nh, T, hd = x.shape
        return x.transpose(0, 2, 1, 3).reshape(B * T, nh * hd)  # (B, nh, T, hd) -> (B·T, E)

    def forward(self, query: np.ndarray, key: np.ndarray, value: np.ndarray,
                attn_mask: np.ndarray | None = None,
                key_padding_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Attend from query (B, T, E) to key, value (B, S, E); return (out, weights).

        out is (B, T, E); weights (B, T, S) are averaged over the heads, as torch returns them by
        default; the per-head weights stay in `self.attn` (B, nh, T, S). Masks are boolean:
        attn_mask (T, S) or (B·nh, T, S), True = may not attend; key_padding_mask (B, S),
        True = padding.
        """
        self._cache = None  # a forward that fails leaves nothing for backward to misuse
        query = self._input(query, "query", "(B, T, E)")
        key = self._input(key, "key", "(B, S, E)")
        value = self._input(value, "value", "(B, S, E)")
        (B, T, E), S = query.shape, key.shape[1]
        if key.shape != value.shape or key.shape[0] != B:
            raise ValueError(f"key and value must both have shape (B, S, E) with B = {B} (the "
                             f"query's); got key {key.shape}, value {value.shape}")
        mask = self._mask(attn_mask, key_padding_mask, B, T, S)

        # in_proj_weight stacks Wq, Wk, Wv (each (E, E)); split views, no copies.
        Wq, Wk, Wv = np.split(self.in_proj_weight, 3)
        bq, bk, bv = np.split(self.in_proj_bias, 3)
        xq, xk, xv = query.reshape(B * T, E), key.reshape(B * S, E), value.reshape(B * S, E)
        q = self._split_heads(xq @ Wq.T + bq, B, T)  # (B, nh, T, hd)
        k = self._split_heads(xk @ Wk.T + bk, B, S)  # (B, nh, S, hd)
        v = self._split_heads(xv @ Wv.T + bv, B, S)  # (B, nh, S, hd)
        y, self.attn = scaled_dot_product_attention(q, k, v, mask)  # (B, nh, T, hd), (B, nh, T, S)
        y2 = self._merge_heads(y)  # (B·T, E)
        out = y2 @ self.out_proj_weight.T
        out += self.out_proj_bias
        self._cache = (xq, xk, xv, q, k, v, y2)
        return out.reshape(B, T, E), self.attn.mean(axis=1)  # (B·T, E) -> (B, T, E)

    def backward(self, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gradients (dquery, dkey, dvalue) from dout (B, T, E); fills `.grads`.

        For self-attention (one array passed as query, key and value) its gradient is the sum of
        the three.
        """
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        xq, xk, xv, q, k, v, y2 = self._cache
        B, nh, T, hd = q.shape
        E, S = self.embed_dim, k.shape[2]
        dout = np.asarray(dout, dtype=self.in_proj_weight.dtype)
        if dout.shape != (B, T, E):
            raise ValueError(f"dout must have the output's shape (B, T, E) = {(B, T, E)}; "
                             f"got {dout.shape}")
        dout2 = dout.reshape(B * T, E)  # (B, T, E) -> (B·T, E)
        self.grads = {"out_proj.weight": dout2.T @ y2, "out_proj.bias": dout2.sum(axis=0)}
        dy = self._split_heads(dout2 @ self.out_proj_weight, B, T)  # (B, nh, T, hd)
        dq, dk, dv = scaled_dot_product_attention_backward(dy, q, k, v, self.attn)

        dW = np.empty_like(self.in_proj_weight)  # (3E, E), filled block by block
        db = np.empty_like(self.in_proj_bias)
        dxs = []
        for i, (dh, x) in enumerate(((dq, xq), (dk, xk), (dv, xv))):
            dh2 = self._merge_heads(dh)  # (B·T or B·S, E)
            np.matmul(dh2.T, x, out=dW[i * E:(i + 1) * E])
            db[i * E:(i + 1) * E] = dh2.sum(axis=0)
            dxs.append(dh2 @ self.in_proj_weight[i * E:(i + 1) * E])
        self.grads["in_proj_weight"], self.grads["in_proj_bias"] = dW, db
        dquery = dxs[0].reshape(B, T, E)  # (B·T, E) -> (B, T, E)
        return dquery, dxs[1].reshape(B, S, E), dxs[2].reshape(B, S, E)  # (B·S, E) -> (B, S, E)


# ---------------------------------------------------------------------------------------------
# positions


def sinusoidal_positions(T: int, E: int, *, dtype: Any = np.float64) -> np.ndarray:
    """Positional encodings (T, E) of Vaswani et al. 2017: sin on even dims, cos on odd dims."""
    pos = np.arange(T)[:, None]  # (T, 1)
    # Dims 2i and 2i+1 share the frequency 1/10000^(2i/E): wavelengths from 2π to about 10000·2π.
    freq = 10000.0 ** (-np.arange(0, E, 2) / E)  # (⌈E/2⌉,)
    pe = np.empty((T, E))
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq[: E // 2])
    return pe.astype(dtype)
