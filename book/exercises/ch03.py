"""Chapter 3 checkers: LSTM and GRU cells, the softmax backward pass, the causal mask.

The learner writes NumPy functions; the references are PyTorch (`torch.nn.LSTMCell`,
`torch.nn.GRUCell`, autograd) in float64, loaded with the same weights, so a pass means "agrees
with torch". The references are private (underscore names) so that tab completion in a notebook
doesn't hand out the solutions; they return the input's dtype. torch is imported only when a
check runs. Grading adds hidden cases of the same kinds, drawn from the instructor's seed
(`_*_grading`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from book.exercises._shared import to_np, to_t, tol_for, torch_module
from book.exercises.cases import MATHS_KINDS, STRUCTURE_KINDS, Case, Hint
from book.exercises.check import checker
from book.np_nn import softmax

# Forward passes are a few matrix products and elementwise functions (TOL_F64, TOL_F32).
# Gradients add up products over the batch and the hidden units, and some entries come out of
# cancellations close to 0, so they get a slightly larger absolute tolerance.
_TOL_GRAD_F64 = {"rtol": 1e-10, "atol": 1e-11}
_TOL_GRAD_F32 = {"rtol": 1e-5, "atol": 1e-5}

# The large softmax case: 4 rows of 4096 probabilities. The O(n) formula allocates a few arrays
# of the input's size (128 KiB each); the n × n Jacobian of one row is 4096² floats (128 MiB),
# 512 MiB for the batch. The memory limit sits far from both, so the verdict does not depend on
# the machine or its load (a time limit did: a loaded machine failed correct solutions). Where
# memory is shorter than a Jacobian, it fails with a MemoryError instead.
_BIG_ROWS, _BIG_N = 4, 4096
_BIG_MAX_MEMORY = 16 * 2**20
_BIG_NAME = f"a large batch ({_BIG_ROWS} × {_BIG_N}) without an n × n Jacobian"

_LSTM_HINT = (
    "z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh has shape (B, 4H); torch stacks the gates' rows "
    "in the order [i; f; g; o], so i = z[:, :H], f = z[:, H:2H], g = z[:, 2H:3H] and "
    "o = z[:, 3H:]. The two classic mistakes: another gate order (e.g. i, f, o, g), and tanh "
    "for a gate — i, f and o are fractions in (0, 1) and need σ; only the candidate g uses "
    "tanh (even well-known write-ups get this wrong). Then c' = f*c + i*g and h' = o*tanh(c')."
)
_LSTM_ORDER_HINT = Hint(
    "return the pair (h_new, c_new): element 0 is h_new and element 1 is c_new, both (B, H).",
    STRUCTURE_KINDS,
)
_SIZES_HINT = Hint(
    "W_ih is (gates·H, I) and W_hh is (gates·H, H), as in torch: x @ W_ih.T and h @ W_hh.T "
    "are both (B, gates·H).",
    frozenset({"raised", "wrong_shape"}),
)
_SATURATED_HINT = (
    "here the pre-activations are about ±30, so every gate is saturated: σ(-30) ≈ 1e-13 closes "
    "the gate, but tanh(-30) = -1 would flip the sign of what passes through it; and with "
    "gates swapped, a closed gate opens."
)

_SOFTMAX_BACKWARD_HINT = (
    "with s = sum(dp * p, axis=axis, keepdims=True) the result is p * (dp - s): two elementwise "
    "products and one sum, no Jacobian. It must sum to 0 along `axis`: softmax outputs always "
    "sum to 1, so adding the same number to every score changes nothing, and the gradient has "
    "no component in that direction. A result that is just p * dp forgot the '- s'."
)
_SOFTMAX_AXIS_HINT = Hint(
    "take the sum along `axis` (not always the last one) with keepdims=True, so that s "
    "broadcasts back against dp.",
    MATHS_KINDS | {"raised"},
)
_SOFTMAX_BIG_HINT = Hint(
    f"this input is {_BIG_ROWS} rows of {_BIG_N} probabilities: the Jacobian of one row is "
    f"{_BIG_N} × {_BIG_N} numbers ({_BIG_N**2 * 8 // 2**20} MiB), and you never need it — "
    "row j of J·dp is p_j (dp_j − Σ_k p_k dp_k), so p * (dp - s) computes all of it in O(n).",
    frozenset({"too_much_memory", "too_slow", "raised"}),
)

_CAUSAL_HINT = (
    "mask[i, j] is True where query i may NOT attend to key j, i.e. for j > i (the future): "
    "the convention of a boolean attn_mask in torch.nn.MultiheadAttention and nn.Transformer, "
    "whose True positions get -inf before the softmax. A mask that is True on and below the "
    "diagonal is the opposite convention (True = allowed, what F.scaled_dot_product_attention "
    "expects); invert it with ~mask."
)
_CAUSAL_DTYPE_HINT = Hint(
    "return a bool array of shape (T, T), e.g. np.triu(np.ones((T, T), dtype=bool), k=1): "
    "torch reads a float mask as numbers to add to the scores, not as 'masked or not'.",
    frozenset({"wrong_dtype"}),
)

_GRU_HINT = (
    "gi = x @ W_ih.T + b_ih and gh = h @ W_hh.T + b_hh, both (B, 3H), with torch's row order "
    "[r; z; n]. r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), and the reset gate multiplies the "
    "whole hidden-side term, bias included: n = tanh(gi_n + r * gh_n) with gh_n = W_hn h + b_hn "
    "(not r * (W_hn h) + b_hn, and not W_hn (r * h)). Then h' = (1 - z) * n + z * h: z keeps "
    "the old state."
)
_GRU_BACKWARD_HINT = (
    "redo the forward pass, keeping r, z, n and gh_n, then go back line by line. From "
    "h_new = (1 - z) * n + z * h: dn = dh_new * (1 - z), dz = dh_new * (h - n). Through tanh "
    "and σ: da_n = dn * (1 - n**2), da_r = da_n * gh_n * r * (1 - r), da_z = dz * z * (1 - z). "
    "The x side's gradient is [da_r, da_z, da_n], the h side's [da_r, da_z, da_n * r]. h reaches "
    "h_new twice, directly through z * h and through W_hh: dh = dh_new * z + (h side) @ W_hh. "
    "Weight and bias gradients sum over the batch."
)
_GRU_BACKWARD_ORDER_HINT = Hint(
    "return the tuple (dx, dh, dW_ih, dW_hh, db_ih, db_hh) in that order (elements 0 to 5), "
    "each with the shape of the input it is the gradient of.",
    STRUCTURE_KINDS,
)


# ---------------------------------------------------------------------------------------------
# LSTM cell
# ---------------------------------------------------------------------------------------------


def _lstm_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random sizes and weights, I ≠ H, saturated gates, float32."""
    return _cell_cases_from(rng, _drawn_cell_setups(rng), 4, _lstm_cell, with_c=True)


@checker(
    "lstm_cell",
    what="(h_new, c_new) equal to torch.nn.LSTMCell's within rtol=1e-10 (1e-5 for float32), "
    "B = 1, I ≠ H, saturated gates, float32 stays float32",
    hint=_LSTM_HINT,
    grading=_lstm_grading,
)
def check_lstm_cell() -> list[Case]:
    """Check `lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new)`: one LSTM step.

    Shapes: x (B, I); h and c (B, H); W_ih (4H, I); W_hh (4H, H); b_ih and b_hh (4H,), in
    torch's layout and gate order [i; f; g; o]. With z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh:
    i, f, o = σ(z_i), σ(z_f), σ(z_o); g = tanh(z_g); c' = f⊙c + i⊙g; h' = o⊙tanh(c').
    It must agree with `torch.nn.LSTMCell` loaded with the same weights, and keep the inputs'
    dtype (float32 stays float32).
    """
    return _cell_cases(4, _lstm_cell, with_c=True, seed=31)


def _lstm_cell(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference: torch.nn.LSTMCell in float64 with these weights; returned in x's dtype."""
    torch = torch_module()
    cell = _torch_cell(torch.nn.LSTMCell, W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        h_new, c_new = cell(to_t(x), (to_t(h), to_t(c)))
    return to_np(h_new, x), to_np(c_new, x)


# ---------------------------------------------------------------------------------------------
# GRU cell and its backward pass
# ---------------------------------------------------------------------------------------------


def _gru_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random sizes and weights, I ≠ H, saturated gates, float32."""
    return _cell_cases_from(rng, _drawn_cell_setups(rng), 3, _gru_cell, with_c=False)


def _gru_backward_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: the GRU cell's hidden kinds, each with a random upstream gradient."""
    cells = _cell_cases_from(rng, _drawn_cell_setups(rng), 3, _gru_cell, with_c=False)
    return _with_upstream(rng, cells)


@checker(
    "gru_cell",
    what="h_new equal to torch.nn.GRUCell's within rtol=1e-10 (1e-5 for float32), B = 1, "
    "I ≠ H, saturated gates, float32 stays float32",
    hint=_GRU_HINT,
    grading=_gru_grading,
)
def check_gru_cell() -> list[Case]:
    """Check `gru_cell(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new`: one GRU step, as torch does it.

    Shapes: x (B, I); h (B, H); W_ih (3H, I); W_hh (3H, H); b_ih and b_hh (3H,), rows in the
    order [r; z; n]. r = σ(W_ir x + b_ir + W_hr h + b_hr); z = σ(W_iz x + b_iz + W_hz h + b_hz);
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h.
    It must agree with `torch.nn.GRUCell` and keep the inputs' dtype.
    """
    return _cell_cases(3, _gru_cell, with_c=False, seed=32)


@checker(
    "gru_cell_backward",
    what="(dx, dh, dW_ih, dW_hh, db_ih, db_hh) equal to torch autograd's within rtol=1e-10 "
    "(1e-5 for float32), B = 1, I ≠ H, saturated gates, float32 stays float32",
    hint=_GRU_BACKWARD_HINT,
    grading=_gru_backward_grading,
)
def check_gru_cell_backward() -> list[Case]:
    """Check `gru_cell_backward(dh_new, x, h, W_ih, W_hh, b_ih, b_hh)`: the GRU step's gradients.

    Given the upstream gradient dh_new (B, H) of h_new = gru_cell(x, h, ...), it returns the
    tuple (dx, dh, dW_ih, dW_hh, db_ih, db_hh), each shaped like its input: the gradients of
    sum(h_new * dh_new), as torch autograd computes them through `torch.nn.GRUCell`.
    """
    return _gru_backward_cases()


def _gru_cell(
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> np.ndarray:
    """Reference: torch.nn.GRUCell in float64 with these weights; returned in x's dtype."""
    torch = torch_module()
    cell = _torch_cell(torch.nn.GRUCell, W_ih, W_hh, b_ih, b_hh)
    with torch.no_grad():
        return to_np(cell(to_t(x), to_t(h)), x)


def _gru_cell_backward(
    dh_new: np.ndarray,
    x: np.ndarray,
    h: np.ndarray,
    W_ih: np.ndarray,
    W_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Reference: autograd of sum(GRUCell(x, h) * dh_new) in float64; in x's dtype."""
    torch = torch_module()
    cell = _torch_cell(torch.nn.GRUCell, W_ih, W_hh, b_ih, b_hh)
    x_t, h_t = to_t(x).requires_grad_(True), to_t(h).requires_grad_(True)
    with torch.enable_grad():  # the notebook may have turned autograd off
        (cell(x_t, h_t) * to_t(dh_new)).sum().backward()
    grads = (x_t.grad, h_t.grad, cell.weight_ih.grad, cell.weight_hh.grad)
    return tuple(to_np(g, x) for g in (*grads, cell.bias_ih.grad, cell.bias_hh.grad))


def _gru_backward_cases() -> list[Case]:
    """The GRU cell's inputs, each with an upstream gradient dh_new in front."""
    rng = np.random.default_rng(33)
    return _with_upstream(rng, _cell_cases(3, _gru_cell, with_c=False, seed=34))


def _with_upstream(rng: np.random.Generator, cell_cases: list[Case]) -> list[Case]:
    """GRU backward cases: each GRU cell case's inputs with an upstream gradient dh_new drawn
    from rng in front."""
    cases = []
    for case in cell_cases:
        x, h = case.args[0], case.args[1]
        dh_new = rng.normal(size=h.shape).astype(x.dtype)
        tol = tol_for(x, _TOL_GRAD_F64, _TOL_GRAD_F32)
        cases.append(
            Case(
                case.name,
                (dh_new, *case.args),
                expected=_gru_cell_backward,
                hint=_GRU_BACKWARD_ORDER_HINT,
                **tol,
            )
        )
    return cases


# ---------------------------------------------------------------------------------------------
# Inputs shared by the cells
# ---------------------------------------------------------------------------------------------


# name, B, I, H, weight scale (about ±30 pre-activations at 12), dtype, case hint
_CellSetup = tuple[str, int, int, int, float, type, str | Hint | None]


def _cell_cases(
    n_gates: int, reference: Callable[..., Any], *, with_c: bool, seed: int
) -> list[Case]:
    """Cases for an LSTM (4 gates, with a cell state c) or GRU (3 gates) step, easiest first."""
    f64, f32 = np.float64, np.float32
    setups: list[_CellSetup] = [
        ("one example (B = 1), I = H = 3", 1, 3, 3, 0.5, f64, None),
        ("input size ≠ hidden size (B = 2, I = 5, H = 3)", 2, 5, 3, 0.5, f64, _SIZES_HINT),
        ("random batch (B = 4, I = 6, H = 8)", 4, 6, 8, 0.5, f64, None),
        ("large pre-activations (about ±30)", 3, 4, 5, 12.0, f64, _SATURATED_HINT),
        ("float32 inputs (the result stays float32)", 3, 4, 5, 0.5, f32, None),
    ]
    return _cell_cases_from(
        np.random.default_rng(seed), setups, n_gates, reference, with_c=with_c
    )


def _drawn_cell_setups(rng: np.random.Generator) -> list[_CellSetup]:
    """Setups of the visible kinds with sizes (and the saturating scale) drawn from rng."""

    def sizes(b: tuple[int, int], i: tuple[int, int], h: tuple[int, int]) -> tuple[int, ...]:
        return tuple(int(rng.integers(*r)) for r in (b, i, h))

    f64, f32 = np.float64, np.float32
    n = int(rng.integers(2, 7))
    b2 = int(rng.integers(1, 5))
    i2, h2 = (int(v) for v in rng.choice(np.arange(2, 9), size=2, replace=False))
    b3, i3, h3 = sizes((2, 7), (2, 9), (2, 10))
    b4, i4, h4 = sizes((2, 6), (3, 7), (3, 8))
    b5, i5, h5 = sizes((2, 6), (2, 8), (2, 8))
    return [
        (f"one example (B = 1), I = H = {n}", 1, n, n, 0.5, f64, None),
        (f"input size ≠ hidden size (B = {b2}, I = {i2}, H = {h2})", b2, i2, h2, 0.5, f64,
         _SIZES_HINT),
        (f"random batch (B = {b3}, I = {i3}, H = {h3})", b3, i3, h3, 0.5, f64, None),
        ("large pre-activations (about ±30)", b4, i4, h4, float(rng.uniform(10.0, 14.0)), f64,
         _SATURATED_HINT),
        ("float32 inputs (the result stays float32)", b5, i5, h5, 0.5, f32, None),
    ]


def _cell_cases_from(
    rng: np.random.Generator,
    setups: list[_CellSetup],
    n_gates: int,
    reference: Callable[..., Any],
    *,
    with_c: bool,
) -> list[Case]:
    """A cell case per setup, with inputs and weights drawn from rng."""
    cases = []
    for name, b, i, h, scale, dtype, hint in setups:
        x = rng.normal(size=(b, i))
        state = [rng.normal(size=(b, h))]
        if with_c:
            state.append(rng.normal(scale=2.0, size=(b, h)))
        weights = [
            rng.normal(scale=scale / np.sqrt(i), size=(n_gates * h, i)),
            rng.normal(scale=scale / np.sqrt(h), size=(n_gates * h, h)),
            rng.normal(scale=scale, size=n_gates * h),
            rng.normal(scale=scale, size=n_gates * h),
        ]
        args = tuple(a.astype(dtype) for a in (x, *state, *weights))
        hints = tuple(Hint(h) if isinstance(h, str) else h for h in (hint,) if h is not None)
        if with_c:
            hints += (_LSTM_ORDER_HINT,)
        cases.append(Case(name, args, expected=reference, hint=hints, **tol_for(x.astype(dtype))))
    return cases


# ---------------------------------------------------------------------------------------------
# softmax backward
# ---------------------------------------------------------------------------------------------


def _softmax_backward_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random sizes and values, axis 0, causal attention, float32, and the large
    batch with new values."""

    def probs(shape: tuple[int, ...], axis: int = -1) -> np.ndarray:
        return softmax(rng.normal(scale=2.0, size=shape), axis)

    n = int(rng.integers(2, 10))
    rows, cols = (int(v) for v in rng.integers(2, 8, size=2))
    B, heads, T = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(3, 8))
    scores = rng.normal(scale=2.0, size=(B, heads, T, T))
    scores[..., np.triu(np.ones((T, T), dtype=bool), k=1)] = -np.inf
    inputs = [
        (f"a 1-D vector (n = {n})", probs((n,)), None, None, None),
        (f"2-D batch ({rows} × {cols}), each row (axis=-1)", probs((rows, cols)), None, None,
         None),
        (f"2-D batch ({cols} × {rows}), each column (axis=0)", probs((cols, rows), 0), 0,
         _SOFTMAX_AXIS_HINT, None),
        (f"4-D attention weights ({B}, {heads}, {T}, {T}), causal", softmax(scores, -1), -1,
         None, None),
        ("float32 inputs (the result stays float32)", probs((rows, cols)).astype(np.float32),
         None, None, None),
        (_BIG_NAME, probs((_BIG_ROWS, _BIG_N)), None, _SOFTMAX_BIG_HINT, _BIG_MAX_MEMORY),
    ]
    return [
        _softmax_backward_case(name, p, rng.normal(size=p.shape).astype(p.dtype), axis, hint,
                               memory)
        for name, p, axis, hint, memory in inputs
    ]


@checker(
    "softmax_backward",
    what="values equal to torch autograd's within rtol=1e-10 (1e-5 for float32) along axis "
    "-1 and 0 and on 4-D attention weights, summing to 0 along axis, and memory O(n) on a "
        f"{_BIG_ROWS} × {_BIG_N} batch (no Jacobian)",
    hint=_SOFTMAX_BACKWARD_HINT,
    grading=_softmax_backward_grading,
)
def check_softmax_backward() -> list[Case]:
    """Check `softmax_backward(p, dp, axis=-1) -> dz`: the backward pass of softmax along `axis`.

    p = softmax(z, axis) is the forward output and dp the upstream gradient (same shape); dz is
    the vector–Jacobian product p ⊙ (dp − Σ_axis(dp ⊙ p)), which sums to 0 along `axis`. It must
    agree with torch autograd, keep the dtype, and need memory O(n) on a 4 × 4096 batch, where
    each row's n × n Jacobian takes 128 MiB.
    """
    return _softmax_backward_cases()


def _softmax_backward_cases() -> list[Case]:
    """The inputs softmax_backward is checked on, easiest first."""
    rng = np.random.default_rng(35)

    def probs(shape: tuple[int, ...], axis: int = -1) -> np.ndarray:
        return softmax(rng.normal(scale=2.0, size=shape), axis)

    scores = rng.normal(scale=2.0, size=(2, 3, 5, 5))  # (B, heads, T, T)
    scores[..., np.triu(np.ones((5, 5), dtype=bool), k=1)] = -np.inf
    attention = softmax(scores, -1)  # zeros above the diagonal
    p32 = probs((3, 7)).astype(np.float32)
    # name, p, axis (None: left to the default), case hint, memory limit (None: none)
    inputs = [
        ("a 1-D vector", probs((5,)), None, None, None),
        ("2-D batch, each row (axis=-1)", probs((3, 6)), None, None, None),
        ("2-D batch, each column (axis=0)", probs((4, 3), 0), 0, _SOFTMAX_AXIS_HINT, None),
        ("4-D attention weights (B, heads, T, T), causal", attention, -1, None, None),
        ("float32 inputs (the result stays float32)", p32, None, None, None),
        (_BIG_NAME, probs((_BIG_ROWS, _BIG_N)), None, _SOFTMAX_BIG_HINT, _BIG_MAX_MEMORY),
    ]
    cases = []
    for name, p, axis, hint, memory in inputs:
        dp = rng.normal(size=p.shape).astype(p.dtype)
        cases.append(_softmax_backward_case(name, p, dp, axis, hint, memory))
    return cases


def _softmax_backward_case(
    name: str,
    p: np.ndarray,
    dp: np.ndarray,
    axis: int | None,
    hint: Hint | None,
    memory: int | None,
) -> Case:
    """A softmax_backward case; axis=None leaves `axis` out of the call (the default, -1)."""
    kwargs = {} if axis is None else {"axis": axis}
    return Case(
        name,
        (p, dp),
        kwargs,
        expected=_softmax_backward,
        check=_sums_to_zero,
        hint=hint,
        max_memory=memory,
        **tol_for(p),
    )


def _softmax_backward(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    """Reference: torch autograd through softmax at scores log(p) (softmax(log p) = p)."""
    torch = torch_module()
    with np.errstate(divide="ignore"):  # masked positions: log(0) = -inf, probability 0 again
        z = to_t(np.log(np.asarray(p, dtype=np.float64))).requires_grad_(True)
    with torch.enable_grad():
        torch.softmax(z, dim=axis).backward(to_t(dp))
    return to_np(z.grad, p)


def _sums_to_zero(out: Any, p: np.ndarray, dp: np.ndarray, axis: int = -1) -> str | None:
    """The gradient of softmax has no component along (1, ..., 1): it sums to 0 along axis."""
    dz = np.asarray(out, dtype=np.float64)
    tol = tol_for(p)
    sums = dz.sum(axis=axis)
    # Values each within atol + rtol·|expected| can make a sum off by the sum of those: allow 2×.
    allowed = 2 * (tol["rtol"] * np.abs(dz).sum(axis=axis) + dz.shape[axis] * tol["atol"])
    off = np.abs(sums) > allowed
    if not off.any():
        return None
    index = tuple(int(i) for i in np.argwhere(off)[0])
    where = f" (sum number {list(index)})" if index else ""
    return (
        f"the values along axis {axis} sum to {np.asarray(sums)[index]:.6g}, not 0{where}: "
        "softmax outputs sum to 1 whatever the scores, so the gradient must vanish along "
        "(1, ..., 1)"
    )


# ---------------------------------------------------------------------------------------------
# causal mask
# ---------------------------------------------------------------------------------------------


_CAUSAL_SIZES = (1, 2, 5, 64)


def _causal_mask_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: four sizes T from 2 to 40, none of the visible ones, smallest first."""
    sizes = [t for t in range(2, 41) if t not in _CAUSAL_SIZES]
    return [_causal_case(int(t)) for t in sorted(rng.choice(sizes, size=4, replace=False))]


@checker(
    "causal_mask",
    what="bool (T, T) masks for T = 1, 2, 5, 64, True exactly where key j > query i "
    "(nn.MultiheadAttention's attn_mask convention)",
    hint=_CAUSAL_HINT,
    grading=_causal_mask_grading,
)
def check_causal_mask() -> list[Case]:
    """Check `causal_mask(T) -> mask`: a bool (T, T) array, True where query i may NOT see key j.

    That is mask[i, j] = (j > i), the convention of a boolean attn_mask in
    `torch.nn.MultiheadAttention` (True positions are masked out; note that
    `F.scaled_dot_product_attention` reads a boolean mask the other way round). The dtype must
    be bool.
    """
    return [_causal_case(t) for t in _CAUSAL_SIZES]


def _causal_case(T: int) -> Case:
    """The mask of size T, compared with the reference (dtype included)."""
    return Case(f"T = {T}", (T,), expected=_causal_mask, hint=_CAUSAL_DTYPE_HINT)


def _causal_mask(T: int) -> np.ndarray:
    """Reference: True strictly above the diagonal."""
    index = np.arange(T)
    return index[None, :] > index[:, None]


# ---------------------------------------------------------------------------------------------
# torch cells
# ---------------------------------------------------------------------------------------------


def _torch_cell(
    cell_type: Any, W_ih: np.ndarray, W_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray
) -> Any:
    """A float64 torch RNN cell holding these weights.

    skip_init builds it without drawing random initial weights, so a check never moves torch's
    global random state (a seeded notebook gives the same numbers whether or not it ran).
    """
    torch = torch_module()
    hidden, inputs = np.shape(W_hh)[1], np.shape(W_ih)[1]
    cell = torch.nn.utils.skip_init(cell_type, inputs, hidden, dtype=torch.float64)
    with torch.no_grad():
        for param, value in zip(
            (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
            (W_ih, W_hh, b_ih, b_hh),
            strict=True,
        ):
            param.copy_(to_t(value))
    return cell
