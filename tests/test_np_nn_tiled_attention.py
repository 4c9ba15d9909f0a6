"""book.np_nn.tiled_attention (FlashAttention's online softmax) against plain softmax attention."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from book.np_nn.attention import (
    causal_mask,
    merge_softmax_blocks,
    scaled_dot_product_attention,
    tiled_attention,
)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference relative to the largest entry of the reference b."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def qkv(shape_q, S, dv, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    *lead, T, d = shape_q
    q = scale * rng.standard_normal((*lead, T, d))
    k = scale * rng.standard_normal((*lead, S, d))
    v = rng.standard_normal((*lead, S, dv))
    return q, k, v


# (q shape (..., T, d), S, dv)
SHAPES = {"square": ((7, 4), 7, 3), "batched heads": ((2, 3, 10, 8), 10, 5),
          "T<S": ((3, 6), 11, 2), "T>S": ((9, 4), 5, 4), "one key": ((4, 3), 1, 2)}


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("block_size", [1, 2, 3, 4, 5, 64])
@pytest.mark.parametrize("name", list(SHAPES))
def test_tiled_attention_equals_softmax_attention(name, block_size, causal) -> None:
    shape_q, S, dv = SHAPES[name]
    q, k, v = qkv(shape_q, S, dv, seed=block_size)
    mask = causal_mask(q.shape[-2], S) if causal else None
    want, _ = scaled_dot_product_attention(q, k, v, mask)
    got = tiled_attention(q, k, v, block_size, causal=causal)
    assert got.shape == want.shape
    assert rel_err(got, want) <= 1e-12


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_tiled_attention_survives_scores_where_a_naive_exp_overflows(causal) -> None:
    T, d = 12, 4
    rng = np.random.default_rng(1)
    # scores q·k/√d of about ±1e3: exp(1e3) is inf in float64 (its largest is about e^709)
    q = rng.choice([-1.0, 1.0], (T, d)) * np.sqrt(1e3)
    k = rng.choice([-1.0, 1.0], (T, d)) * np.sqrt(1e3)
    v = rng.standard_normal((T, 3))
    scores = q @ k.T / np.sqrt(d)
    assert np.abs(scores).max() >= 1e3
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(scores)).any()  # the naive softmax would give inf/inf = NaN
    mask = causal_mask(T) if causal else None
    want, _ = scaled_dot_product_attention(q, k, v, mask)
    for block_size in (1, 5, 12):
        got = tiled_attention(q, k, v, block_size, causal=causal)
        assert np.isfinite(got).all()
        assert rel_err(got, want) <= 1e-12


def test_merge_softmax_blocks_is_softmax_over_the_union_of_keys() -> None:
    rng = np.random.default_rng(2)
    s, v = 30.0 * rng.standard_normal((4, 7)), rng.standard_normal((7, 3))  # 4 queries, 7 keys

    def part(cols):
        m = s[:, cols].max(axis=1)
        p = np.exp(s[:, cols] - m[:, None])
        return m, p.sum(axis=1), p @ v[cols]

    m, l, o = merge_softmax_blocks(part(slice(0, 3)), part(slice(3, 7)))
    w = np.exp(s - s.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(m, s.max(axis=1), rtol=0, atol=0)
    assert rel_err(o / l[:, None], w @ v) <= 1e-12
    # the order of the parts does not matter, and an empty part (m = −inf) changes nothing
    m2, l2, o2 = merge_softmax_blocks(part(slice(3, 7)), part(slice(0, 3)))
    assert rel_err(o2 / l2[:, None], w @ v) <= 1e-12
    empty = (np.full(4, -np.inf), np.zeros(4), np.zeros((4, 3)))
    m3, l3, o3 = merge_softmax_blocks(empty, (m, l, o))
    np.testing.assert_array_equal(o3, o)
    np.testing.assert_array_equal(l3, l)


def peak_bytes(fn, *args, **kwargs) -> int:
    """Peak memory that NumPy allocates while fn runs (tracemalloc sees NumPy's buffers)."""
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_tiled_attention_never_forms_the_T_by_T_matrix(causal) -> None:
    T, d, block = 1024, 16, 32
    q, k, v = qkv((T, d), T, d, seed=3)
    square = T * T * 8  # bytes of one (T, T) float64 matrix
    mask = causal_mask(T) if causal else None
    # the measurement sees the (T, T) matrix when there is one ...
    assert peak_bytes(scaled_dot_product_attention, q, k, v, mask) >= square
    # ... and tiling needs O(T·(block + d)): here (T, block) scores, a few (T, d) and (T,) arrays
    peak = peak_bytes(tiled_attention, q, k, v, block, causal=causal)
    assert peak <= 6 * T * (block + d) * 8
    assert peak <= square / 5


def test_tiled_attention_rejects_bad_input() -> None:
    q, k, v = qkv((4, 3), 4, 2)
    with pytest.raises(ValueError, match="block_size"):
        tiled_attention(q, k, v, 0)
    with pytest.raises(ValueError, match="block_size"):
        tiled_attention(q, k, v, 2.5)
    with pytest.raises(ValueError, match="same d"):
        tiled_attention(q, k[:, :2], v, 2)
    with pytest.raises(ValueError, match="at least one key"):
        tiled_attention(q, k[:0], v[:0], 2)
