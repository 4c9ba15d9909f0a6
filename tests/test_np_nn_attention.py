"""book.np_nn.attention against torch autograd (float64, 1e-8) and against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book import np_nn as A
from book import torch_nn
from book.gradcheck import numerical_grad

TOL = 1e-8


def close(a, b, tol: float = TOL) -> None:
    """Assert that two arrays (NumPy or torch) agree to `tol`, absolute and relative."""
    if isinstance(b, torch.Tensor):
        b = b.detach().cpu().numpy()
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter (biases included, which torch starts at 0) random values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def assert_grad_ok(analytic: np.ndarray, numeric: np.ndarray) -> None:
    scale = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
    rel = np.linalg.norm(analytic - numeric) / scale
    assert rel < 1e-6, f"relative error {rel:.2e}"


# ---------------------------------------------------------------------------------------------
# MultiHeadAttention against torch.nn.MultiheadAttention

# (B, T, S, E, nh, masks): masks is a subset of {"causal", "stack", "padding"}
MHA_CASES = {
    "basic": (2, 5, 5, 8, 2, ()),
    "T=S=1": (3, 1, 1, 6, 3, ()),
    "B=1": (1, 4, 4, 8, 4, ()),
    "cross T!=S": (2, 3, 6, 12, 3, ()),
    "causal": (2, 6, 6, 8, 2, ("causal",)),
    "(B*nh,T,S) mask": (2, 4, 5, 8, 2, ("stack",)),
    "key_padding": (3, 4, 5, 8, 2, ("padding",)),
    "causal+padding": (2, 5, 5, 8, 4, ("causal", "padding")),
    "one head": (2, 3, 4, 5, 1, ()),
}


def make_masks(B, T, S, nh, kinds, rng):
    """Boolean masks (True = may not attend) in which every query keeps at least one key."""
    attn_mask = kpm = None
    if "causal" in kinds:
        attn_mask = A.causal_mask(T, S)
    if "stack" in kinds:
        attn_mask = rng.random((B * nh, T, S)) < 0.4
        attn_mask[..., 0] = False  # key 0 stays visible to every query
    if "padding" in kinds:
        lengths = rng.integers(1, S + 1, size=B)
        lengths[0] = S - 1 if S > 1 else S  # some padding for sure
        kpm = np.arange(S)[None, :] >= lengths[:, None]  # (B, S): key j of row b is padding
    return attn_mask, kpm


def torch_mha(m, q, k, v, attn_mask, kpm):
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    to = lambda a: None if a is None else torch.from_numpy(a)  # noqa: E731
    out, w = m(tq, tk, tv, attn_mask=to(attn_mask), key_padding_mask=to(kpm))
    return tq, tk, tv, out, w


@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_matches_torch(case: str) -> None:
    B, T, S, E, nh, kinds = MHA_CASES[case]
    rng = np.random.default_rng(len(case))
    torch.manual_seed(0)
    m = randomize_(nn.MultiheadAttention(E, nh, batch_first=True, dtype=torch.float64), 1)
    q, k, v = rng.normal(size=(B, T, E)), rng.normal(size=(B, S, E)), rng.normal(size=(B, S, E))
    attn_mask, kpm = make_masks(B, T, S, nh, kinds, rng)
    dout = rng.normal(size=(B, T, E))

    tq, tk, tv, tout, tw = torch_mha(m, q, k, v, attn_mask, kpm)
    tout.backward(torch.from_numpy(dout))
    mha = A.MultiHeadAttention.from_torch(m)
    out, w = mha.forward(q, k, v, attn_mask=attn_mask, key_padding_mask=kpm)
    dq, dk, dv = mha.backward(dout)

    close(out, tout)
    close(w, tw)
    assert mha.attn.shape == (B, nh, T, S)
    close(mha.attn.mean(axis=1), tw)
    close(dq, tq.grad)
    close(dk, tk.grad)
    close(dv, tv.grad)
    named = dict(m.named_parameters())
    assert set(mha.grads) == set(named) == {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                            "out_proj.bias"}
    for name, p in named.items():
        close(mha.grads[name], p.grad)


def test_mha_self_attention_sums_gradients() -> None:
    B, T, E, nh = 2, 5, 8, 2
    rng = np.random.default_rng(3)
    m = randomize_(nn.MultiheadAttention(E, nh, batch_first=True, dtype=torch.float64), 2)
    x, dout = rng.normal(size=(B, T, E)), rng.normal(size=(B, T, E))
    tx = torch.tensor(x, requires_grad=True)
    mask = A.causal_mask(T)
    tout, tw = m(tx, tx, tx, attn_mask=torch.from_numpy(mask))
    tout.backward(torch.from_numpy(dout))
    mha = A.MultiHeadAttention.from_torch(m)
    out, w = mha.forward(x, x, x, attn_mask=mask)
    dq, dk, dv = mha.backward(dout)
    close(out, tout)
    close(w, tw)
    close(dq + dk + dv, tx.grad)
    for name, p in m.named_parameters():
        close(mha.grads[name], p.grad)


def test_mha_float32_runs_in_float32() -> None:
    m = nn.MultiheadAttention(16, 4, batch_first=True)
    x = np.random.default_rng(0).normal(size=(2, 7, 16))  # float64 in, cast to the parameters'
    mha = A.MultiHeadAttention.from_torch(m)
    out, w = mha.forward(x, x, x)
    dq, _, _ = mha.backward(np.ones_like(out))
    assert out.dtype == w.dtype == dq.dtype == mha.grads["in_proj_weight"].dtype == np.float32
    tx = torch.tensor(x, dtype=torch.float32)
    close(out, m(tx, tx, tx)[0], tol=1e-5)


def test_mha_init() -> None:
    mha = A.MultiHeadAttention(12, 3, dtype=np.float32, seed=1)
    assert mha.in_proj_weight.shape == (36, 12) and mha.in_proj_bias.shape == (36,)
    assert mha.out_proj_weight.shape == (12, 12) and mha.out_proj_bias.shape == (12,)
    assert mha.in_proj_weight.dtype == np.float32
    assert np.abs(mha.in_proj_weight).max() <= np.sqrt(6 / 48) and mha.in_proj_weight.std() > 0.05
    assert not np.array_equal(A.MultiHeadAttention(12, 3, seed=2).in_proj_weight,
                              mha.in_proj_weight)
    x = np.random.default_rng(0).normal(size=(2, 4, 12)).astype(np.float32)
    out, w = mha.forward(x, x, x)
    assert out.shape == (2, 4, 12) and w.shape == (2, 4, 4)
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# TransformerBlock against book.torch_nn.Block


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padding", [False, True])
def test_block_matches_torch(causal: bool, padding: bool) -> None:
    B, T, E, nh = 3, 6, 8, 2
    rng = np.random.default_rng(int(causal) + 2 * int(padding))
    torch.manual_seed(0)
    block = randomize_(torch_nn.Block(E, nh, causal=causal).double(), 5)
    x, dy = rng.normal(size=(B, T, E)), rng.normal(size=(B, T, E))
    kpm = np.arange(T)[None, :] >= np.array([T, T - 2, 3])[:, None] if padding else None

    tx = torch.tensor(x, requires_grad=True)
    ty = block(tx, key_padding_mask=None if kpm is None else torch.from_numpy(kpm))
    ty.backward(torch.from_numpy(dy))
    blk = A.TransformerBlock.from_torch(block)
    assert blk.causal == causal
    y = blk.forward(x, key_padding_mask=kpm)
    dx = blk.backward(dy)

    close(y, ty)
    close(dx, tx.grad)
    named = dict(block.named_parameters())
    assert set(blk.grads) == set(named) == set(blk.parameters())
    for name, p in named.items():
        close(blk.parameters()[name], p)
        close(blk.grads[name], p.grad)


def test_block_causal_argument_overrides() -> None:
    blk = A.TransformerBlock(8, 2, hidden=16, seed=3)
    x = np.random.default_rng(0).normal(size=(2, 5, 8))
    y_causal = blk.forward(x, causal=True)
    x2 = x.copy()
    x2[:, -1] = np.random.default_rng(1).normal(size=(2, 8))  # change the last position only
    np.testing.assert_array_equal(blk.forward(x2, causal=True)[:, :-1], y_causal[:, :-1])
    assert not np.allclose(blk.forward(x2)[:, :-1], blk.forward(x)[:, :-1])  # not causal by default
    assert blk.fc1.weight.shape == (16, 8)


def test_sinusoidal_positions() -> None:
    T, E = 7, 6
    pe = A.sinusoidal_positions(T, E)
    assert pe.shape == (T, E)
    t = np.arange(T)
    for i in range(E // 2):
        w = 1.0 / 10000 ** (2 * i / E)
        np.testing.assert_allclose(pe[:, 2 * i], np.sin(t * w), atol=1e-15)
        np.testing.assert_allclose(pe[:, 2 * i + 1], np.cos(t * w), atol=1e-15)
    assert A.sinusoidal_positions(3, 5).shape == (3, 5)  # odd E: the last dim is a sine
    np.testing.assert_allclose(A.sinusoidal_positions(3, 5)[:, 4],
                               np.sin(np.arange(3) / 10000**0.8))


def test_causal_mask_is_torch_convention() -> None:
    m = A.causal_mask(4, 6)
    expected = ~torch.ones(4, 6, dtype=torch.bool).tril()
    np.testing.assert_array_equal(m, expected.numpy())
    np.testing.assert_array_equal(A.causal_mask(3), np.triu(np.ones((3, 3), bool), 1))


# ---------------------------------------------------------------------------------------------
# small pieces against torch


def test_softmax_and_backward_match_torch() -> None:
    rng = np.random.default_rng(0)
    x, dp = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    for axis in (-1, 1):
        tx = torch.tensor(x, requires_grad=True)
        tp = torch.softmax(tx, dim=axis)
        tp.backward(torch.from_numpy(dp))
        p = A.softmax(x, axis=axis)
        close(p, tp)
        close(A.softmax_backward(p, dp, axis=axis), tx.grad)
    big = np.array([1000.0, 1001.0, -1000.0])  # exp(1000) overflows: only a stable softmax works
    close(A.softmax(big), torch.softmax(torch.tensor(big), 0))


def test_layernorm_matches_torch() -> None:
    rng = np.random.default_rng(1)
    ln_t = randomize_(nn.LayerNorm(6, eps=1e-3, dtype=torch.float64), 0)
    x, dy = 3 + 2 * rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    tx = torch.tensor(x, requires_grad=True)
    ty = ln_t(tx)
    ty.backward(torch.from_numpy(dy))
    ln = A.LayerNorm.from_torch(ln_t)
    assert ln.eps == 1e-3
    close(ln.forward(x), ty)
    close(ln.backward(dy), tx.grad)
    close(ln.grads["weight"], ln_t.weight.grad)
    close(ln.grads["bias"], ln_t.bias.grad)


def test_gelu_matches_torch_tanh() -> None:
    x = np.linspace(-6, 6, 101)
    dy = np.random.default_rng(2).normal(size=101)
    tx = torch.tensor(x, requires_grad=True)
    ty = nn.GELU(approximate="tanh")(tx)
    ty.backward(torch.from_numpy(dy))
    close(A.gelu(x), ty)
    close(A.gelu_backward(x, dy), tx.grad)
    assert not np.allclose(A.gelu(x), F.gelu(torch.tensor(x)).numpy(), atol=1e-6)  # not erf's


def test_linear_matches_torch() -> None:
    rng = np.random.default_rng(3)
    lin_t = nn.Linear(5, 3, dtype=torch.float64)
    x, dy = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 4, 3))
    tx = torch.tensor(x, requires_grad=True)
    ty = lin_t(tx)
    ty.backward(torch.from_numpy(dy))
    lin = A.Linear.from_torch(lin_t)
    close(lin.forward(x), ty)
    close(lin.backward(dy), tx.grad)
    close(lin.grads["weight"], lin_t.weight.grad)
    close(lin.grads["bias"], lin_t.bias.grad)


def test_sdpa_matches_torch() -> None:
    rng = np.random.default_rng(4)
    q, k = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(2, 3, 6, 5))
    v = rng.normal(size=(2, 3, 6, 7))
    mask = A.causal_mask(4, 6)
    out, w = A.scaled_dot_product_attention(q, k, v, mask)
    tq, tk, tv = map(torch.from_numpy, (q, k, v))
    expected = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.from_numpy(~mask))
    # (torch's SDPA takes True = may attend, the opposite of MultiheadAttention's masks)
    close(out, expected)
    assert np.all(w[..., mask] == 0)


# ---------------------------------------------------------------------------------------------
# finite differences, independent of torch (float64, central differences)


def test_fd_softmax() -> None:
    rng = np.random.default_rng(10)
    x, r = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    p = A.softmax(x)
    assert_grad_ok(A.softmax_backward(p, r), numerical_grad(lambda: np.sum(A.softmax(x) * r), x))


def test_fd_layernorm() -> None:
    rng = np.random.default_rng(11)
    ln = A.LayerNorm(5)
    ln.weight, ln.bias = rng.normal(size=5), rng.normal(size=5)
    x, r = rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    loss = lambda: np.sum(ln.forward(x) * r)  # noqa: E731
    loss()
    dx = ln.backward(r)
    grads = dict(ln.grads)
    assert_grad_ok(dx, numerical_grad(loss, x))
    for name, p in ln.parameters().items():
        assert_grad_ok(grads[name], numerical_grad(loss, p))


def test_fd_gelu() -> None:
    rng = np.random.default_rng(12)
    x, r = 2 * rng.normal(size=20), rng.normal(size=20)
    assert_grad_ok(A.gelu_backward(x, r), numerical_grad(lambda: np.sum(A.gelu(x) * r), x))


def test_fd_scaled_dot_product_attention() -> None:
    rng = np.random.default_rng(13)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
    mask = A.causal_mask(3, 5)
    r = rng.normal(size=(2, 3, 3))
    loss = lambda: np.sum(A.scaled_dot_product_attention(q, k, v, mask)[0] * r)  # noqa: E731
    _, w = A.scaled_dot_product_attention(q, k, v, mask)
    grads = A.scaled_dot_product_attention_backward(r, q, k, v, w)
    for g, x in zip(grads, (q, k, v)):
        assert_grad_ok(g, numerical_grad(loss, x))


def test_fd_mha() -> None:
    rng = np.random.default_rng(14)
    mha = A.MultiHeadAttention(4, 2, seed=3)
    mha.in_proj_bias[:] = rng.normal(size=12)
    mha.out_proj_bias[:] = rng.normal(size=4)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 4))
    kpm = np.array([[False] * 4, [False, False, False, True]])
    r = rng.normal(size=(2, 3, 4))
    loss = lambda: np.sum(mha.forward(q, k, v, key_padding_mask=kpm)[0] * r)  # noqa: E731
    loss()
    dq, dk, dv = mha.backward(r)
    grads = dict(mha.grads)
    for g, x in zip((dq, dk, dv), (q, k, v)):
        assert_grad_ok(g, numerical_grad(loss, x))
    for name, p in mha.parameters().items():
        assert_grad_ok(grads[name], numerical_grad(loss, p))


@pytest.mark.parametrize("causal", [False, True])
def test_fd_block(causal: bool) -> None:
    rng = np.random.default_rng(15)
    blk = A.TransformerBlock(4, 2, hidden=6, causal=causal, seed=4)
    for p in blk.parameters().values():
        p[...] = 0.5 * rng.normal(size=p.shape)
    x, r = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    loss = lambda: np.sum(blk.forward(x) * r)  # noqa: E731
    loss()
    dx = blk.backward(r)
    grads = dict(blk.grads)
    assert_grad_ok(dx, numerical_grad(loss, x))
    for name, p in blk.parameters().items():
        assert_grad_ok(grads[name], numerical_grad(loss, p))


# ---------------------------------------------------------------------------------------------
# bad input


def _mha_call(**changes):
    """Call MultiHeadAttention(8, 2) forward with B=2, T=3, S=4, changing some arguments."""
    mha = A.MultiHeadAttention(8, 2)
    args = {"query": np.zeros((2, 3, 8)), "key": np.zeros((2, 4, 8)), "value": np.zeros((2, 4, 8)),
            "attn_mask": None, "key_padding_mask": None}
    args.update(changes)
    return mha.forward(**args)


BAD_MHA = {
    "query rank": ({"query": np.zeros((3, 8))}, r"query must have shape \(B, T, E\) with E = 8"),
    "query E": ({"query": np.zeros((2, 3, 6))}, r"query must have shape \(B, T, E\) with E = 8"),
    "key E": ({"key": np.zeros((2, 4, 5))}, r"key must have shape \(B, S, E\) with E = 8"),
    "value rank": ({"value": np.zeros((2, 4, 8, 1))}, r"value must have shape \(B, S, E\)"),
    "kv length": ({"value": np.zeros((2, 5, 8))},
                  r"key and value must both have shape \(B, S, E\)"),
    "kv batch": ({"key": np.zeros((1, 4, 8)), "value": np.zeros((1, 4, 8))},
                 r"key and value must both have shape \(B, S, E\) with B = 2"),
    "mask shape": ({"attn_mask": np.zeros((3, 3), bool)},
                   r"shape \(T, S\) = \(3, 4\) or \(B·nh, T, S\) = \(4, 3, 4\)"),
    "mask 3d shape": ({"attn_mask": np.zeros((2, 3, 4), bool)}, r"\(B·nh, T, S\) = \(4, 3, 4\)"),
    "mask dtype": ({"attn_mask": np.zeros((3, 4))},
                   r"attn_mask must be a boolean array .* \(T, S\)"),
    "padding shape": ({"key_padding_mask": np.zeros((2, 3), bool)}, r"shape \(B, S\) = \(2, 4\)"),
    "padding dtype": ({"key_padding_mask": np.zeros((2, 4), int)}, r"boolean array .*\(B, S\)"),
    "fully masked": ({"key_padding_mask": np.array([[False] * 4, [True] * 4])},
                     r"key_padding_mask marks every key of sequence\(s\) \[1\]"),
}


@pytest.mark.parametrize("case", BAD_MHA)
def test_mha_bad_input(case: str) -> None:
    changes, message = BAD_MHA[case]
    with pytest.raises(ValueError, match=message):
        _mha_call(**changes)


def test_bad_dout_and_dy() -> None:
    mha = A.MultiHeadAttention(8, 2)
    x = np.zeros((2, 3, 8))
    mha.forward(x, x, x)
    with pytest.raises(ValueError, match=r"dout must have the output's shape \(B, T, E\) = \(2, 3"):
        mha.backward(np.zeros((2, 3, 4)))
    blk = A.TransformerBlock(8, 2)
    blk.forward(x)
    with pytest.raises(ValueError, match=r"dy must have the output's shape \(B, T, E\) = \(2, 3"):
        blk.backward(np.zeros((3, 8)))
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, E\) with E = 8"):
        blk.forward(np.zeros((3, 8)))
    ln = A.LayerNorm(8)
    with pytest.raises(ValueError, match=r"\(\.\.\., E\) with E = 8"):
        ln.forward(np.zeros((2, 5)))
    lin = A.Linear(8, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., in_features\) with in_features = 8"):
        lin.forward(np.zeros((2, 5)))


def test_sdpa_bad_input() -> None:
    q, k, v = np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 6))
    with pytest.raises(ValueError, match=r"\(\.\.\., T, d\), \(\.\.\., S, d\), \(\.\.\., S, dv\)"):
        A.scaled_dot_product_attention(q, np.zeros((2, 5, 3)), v)
    with pytest.raises(ValueError, match=r"\(\.\.\., T, d\), \(\.\.\., S, d\), \(\.\.\., S, dv\)"):
        A.scaled_dot_product_attention(q, k, np.zeros((2, 4, 6)))
    with pytest.raises(ValueError, match=r"scores' shape \(\.\.\., T, S\) = \(2, 3, 5\)"):
        A.scaled_dot_product_attention(q, k, v, np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="boolean"):
        A.scaled_dot_product_attention(q, k, v, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        A.scaled_dot_product_attention(q, k, v, np.ones((3, 5), bool))
    with pytest.raises(ValueError, match="shape of p"):
        A.softmax_backward(np.zeros((2, 3)), np.zeros((3, 2)))


UNSUPPORTED = {
    "kdim": (dict(kdim=4, vdim=4), "kdim=4"),
    "add_bias_kv": (dict(add_bias_kv=True), "add_bias_kv"),
    "add_zero_attn": (dict(add_zero_attn=True), "add_zero_attn"),
    "batch_first": (dict(batch_first=False), "batch_first=False"),
    "bias": (dict(bias=False), "bias=False"),
    "dropout": (dict(dropout=0.1), "dropout=0.1"),
}


@pytest.mark.parametrize("case", UNSUPPORTED)
def test_from_torch_unsupported(case: str) -> None:
    kwargs, message = UNSUPPORTED[case]
    kwargs = {"batch_first": True} | kwargs
    with pytest.raises(ValueError, match=message):
        A.MultiHeadAttention.from_torch(nn.MultiheadAttention(8, 2, **kwargs))


def test_heads_must_divide_embed_dim() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        A.MultiHeadAttention(10, 3)


def test_backward_before_forward_says_so() -> None:
    for layer, dy in [(A.LayerNorm(4), np.ones((2, 4))), (A.Linear(4, 3), np.ones((2, 3))),
                      (A.TransformerBlock(8, 2), np.ones((1, 3, 8)))]:
        with pytest.raises(RuntimeError, match="run forward first"):
            layer.backward(dy)


def test_mha_rejects_zero_heads_and_forgets_a_failed_forward() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        A.MultiHeadAttention(8, 0)
    mha = A.MultiHeadAttention(8, 2)
    x = np.ones((1, 3, 8))
    mha.forward(x, x, x)
    with pytest.raises(ValueError):
        mha.forward(x, x, x, attn_mask=np.zeros((3, 3)))  # a float mask is refused
    with pytest.raises(RuntimeError, match="forward before backward"):
        mha.backward(np.ones((1, 3, 8)))  # not the gradients of the earlier forward


def test_transformer_block_copies_a_block_without_biases() -> None:
    torch = pytest.importorskip("torch")
    from book.torch_nn import Block

    torch.manual_seed(0)
    block = Block(8, 2, causal=True, dropout=0.1, bias=False).double().eval()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    ours = A.TransformerBlock.from_torch(block)
    np.testing.assert_allclose(ours.forward(x.numpy()), block(x).detach().numpy(), atol=1e-12)
