"""Tests of chapter 3's checkers: correct NumPy solutions pass, the classic mistakes fail.

Each wrong "learner" function below is a mistake someone really makes: gates in the wrong order,
tanh for a gate, the GRU's reset gate in the wrong place, a softmax backward that forms the
Jacobian or forgets a term, a mask of the opposite convention.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book.exercises.ch03 import (
    check_causal_mask,
    check_gru_cell,
    check_gru_cell_backward,
    check_lstm_cell,
    check_softmax_backward,
)


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


def sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# --- correct solutions -------------------------------------------------------------------------


def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, act=sigmoid, order=(0, 1, 2, 3)):
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    blocks = np.split(z, 4, axis=1)
    zi, zf, zg, zo = (blocks[k] for k in order)
    i, f, g, o = act(zi), act(zf), np.tanh(zg), act(zo)
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def softmax_backward(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    return p * (dp - (dp * p).sum(axis=axis, keepdims=True))


def causal_mask(T: int) -> np.ndarray:
    return np.triu(np.ones((T, T), dtype=bool), k=1)


def _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh, variant="torch"):
    H = h.shape[1]
    gi = x @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    h_n = gh[:, 2 * H :]
    if variant == "torch":
        n = np.tanh(gi[:, 2 * H :] + r * h_n)
    elif variant == "bias outside r":
        n = np.tanh(gi[:, 2 * H :] + r * (h @ W_hh[2 * H :].T) + b_hh[2 * H :])
    elif variant == "r before W_hn":
        n = np.tanh(gi[:, 2 * H :] + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
    else:
        raise ValueError(variant)
    return r, z, n, h_n


def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh, variant="torch"):
    _, z, n, _ = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh, variant)
    return (1 - z) * n + z * h


def gru_cell_backward(dh_new, x, h, W_ih, W_hh, b_ih, b_hh, direct=True, dz_with_h=True):
    r, z, n, h_n = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
    g = dh_new
    dn = g * (1 - z)
    dz = g * (h - n) if dz_with_h else -g * n
    da_n = dn * (1 - n**2)
    da_r = da_n * h_n * r * (1 - r)
    da_z = dz * z * (1 - z)
    d_gi = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H)
    d_gh = np.concatenate([da_r, da_z, da_n * r], axis=1)  # (B, 3H)
    dh = d_gh @ W_hh + (g * z if direct else 0)
    return d_gi @ W_ih, dh, d_gi.T @ x, d_gh.T @ h, d_gi.sum(axis=0), d_gh.sum(axis=0)


def test_correct_solutions_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_lstm_cell(lstm_cell).passed
    assert check_softmax_backward(softmax_backward).passed
    assert check_causal_mask(causal_mask).passed
    assert check_gru_cell(gru_cell).passed
    assert check_gru_cell_backward(gru_cell_backward).passed
    out = capsys.readouterr().out
    assert out.count("✅") == 5 and "❌" not in out
    assert "rtol=1e-10" in out and " s " not in out  # a summary, no timings


def test_other_correct_ways_pass() -> None:
    def lstm_naive_sigmoid(x, h, c, W_ih, W_hh, b_ih, b_hh):
        return lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh, act=lambda v: 1 / (1 + np.exp(-v)))

    def softmax_backward_einsum(p, dp, axis=-1):
        pm, dm = np.moveaxis(p, axis, -1), np.moveaxis(dp, axis, -1)
        s = np.einsum("...i,...i->...", pm, dm)[..., None]
        return np.moveaxis(pm * (dm - s), -1, axis)

    assert check_lstm_cell(lstm_naive_sigmoid, quiet=True).passed
    assert check_softmax_backward(softmax_backward_einsum, quiet=True).passed
    assert check_causal_mask(lambda T: np.tri(T, T, 0, dtype=bool).T ^ np.eye(T, dtype=bool))


def test_checks_leave_torch_random_state_and_grad_mode_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with torch.no_grad():  # a notebook that turned autograd off still gets the right gradients
        assert check_gru_cell_backward(gru_cell_backward, quiet=True).passed
        assert check_softmax_backward(softmax_backward, quiet=True).passed
    assert check_lstm_cell(lstm_cell, quiet=True).passed
    assert torch.equal(state, torch.get_rng_state())


def test_templates_are_not_attempted() -> None:
    for check in (
        check_lstm_cell,
        check_softmax_backward,
        check_causal_mask,
        check_gru_cell,
        check_gru_cell_backward,
    ):
        result = check(_not_done, quiet=True)
        assert result.status == "not_attempted" and not result.passed


# --- LSTM --------------------------------------------------------------------------------------


def test_lstm_with_tanh_gates_fails() -> None:
    result = check_lstm_cell(lambda *a: lstm_cell(*a, act=np.tanh), quiet=True)
    assert result.status == "failed" and result.reason == "wrong_values"
    assert "element 0 of the returned tuple" in result.message  # h_new is named
    assert "tanh for a gate" in result.message and "[i; f; g; o]" in result.message


def test_lstm_with_tanh_gates_fails_the_saturated_case_alone() -> None:
    # Only the saturated case: what it is there for, whatever the earlier cases catch.
    from book.exercises import run_checks
    from book.exercises.ch03 import _cell_cases, _lstm_cell

    case = _cell_cases(4, _lstm_cell, with_c=True, seed=31)[3]
    assert "±30" in case.name
    tanh_gates = run_checks(
        lambda *a: lstm_cell(*a, act=np.tanh), [case], exercise="lstm_cell", quiet=True
    )
    swapped = run_checks(
        lambda *a: lstm_cell(*a, order=(0, 1, 3, 2)), [case], exercise="lstm_cell", quiet=True
    )
    assert tanh_gates.reason == swapped.reason == "wrong_values"
    assert "saturated" in tanh_gates.message


def test_lstm_with_gate_order_ifog_fails() -> None:
    result = check_lstm_cell(lambda *a: lstm_cell(*a, order=(0, 1, 3, 2)), quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 0
    assert "gate order" in result.message


def test_lstm_returning_c_first_or_only_h_fails() -> None:
    swapped = check_lstm_cell(lambda *a: lstm_cell(*a)[::-1], quiet=True)
    assert swapped.reason == "wrong_values" and "(h_new, c_new)" in swapped.message
    only_h = check_lstm_cell(lambda *a: lstm_cell(*a)[0], quiet=True)
    assert only_h.reason == "wrong_type" and "(h_new, c_new)" in only_h.message


def test_lstm_forgetting_the_hidden_bias_fails() -> None:
    def one_bias(x, h, c, W_ih, W_hh, b_ih, b_hh):
        return lstm_cell(x, h, c, W_ih, W_hh, b_ih, np.zeros_like(b_hh))

    result = check_lstm_cell(one_bias, quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 0


def test_lstm_that_upcasts_float32_fails() -> None:
    def upcast(x, *rest):
        return lstm_cell(x.astype(np.float64), *rest)

    result = check_lstm_cell(upcast, quiet=True)
    assert result.reason == "wrong_dtype" and "float32" in (result.failed_case or "")


# --- softmax backward --------------------------------------------------------------------------


def test_softmax_backward_without_the_subtraction_fails() -> None:
    result = check_softmax_backward(lambda p, dp, axis=-1: p * dp, quiet=True)
    assert result.reason == "wrong_values" and result.failed_case == "a 1-D vector"
    assert "sum to 0" in result.message and "p * (dp - s)" in result.message


def test_softmax_backward_ignoring_axis_fails_on_columns() -> None:
    result = check_softmax_backward(lambda p, dp, axis=-1: softmax_backward(p, dp), quiet=True)
    assert result.status == "failed" and "axis=0" in (result.failed_case or "")
    assert "keepdims=True" in result.message


def test_softmax_backward_sum_property_is_reported() -> None:
    from book.exercises.ch03 import _sums_to_zero

    p = np.full((2, 4), 0.25)
    assert _sums_to_zero(softmax_backward(p, np.arange(8.0).reshape(2, 4)), p, p) is None
    message = _sums_to_zero(np.ones((2, 4)), p, p) or ""
    assert "sum to 4, not 0 (sum number [0])" in message and "(1, ..., 1)" in message


def _jacobian_rows(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    """Correct, but forms each row's n × n Jacobian diag(p) − p pᵀ (128 MiB per row here)."""
    pm, dm = np.moveaxis(p, axis, -1), np.moveaxis(dp, axis, -1)
    flat_p, flat_d = pm.reshape(-1, pm.shape[-1]), dm.reshape(-1, dm.shape[-1])
    out = np.empty_like(flat_p)
    for row, (pr, dr) in enumerate(zip(flat_p, flat_d, strict=True)):
        jacobian = np.diag(pr) - np.outer(pr, pr)
        out[row] = jacobian @ dr
    return np.moveaxis(out.reshape(pm.shape), -1, axis)


def _jacobian_batched(p: np.ndarray, dp: np.ndarray, axis: int = -1) -> np.ndarray:
    """Correct, but forms every Jacobian at once: (..., n, n), 512 MiB for the large case."""
    pm, dm = np.moveaxis(p, axis, -1), np.moveaxis(dp, axis, -1)
    n = pm.shape[-1]
    jacobian = pm[..., :, None] * (np.eye(n, dtype=p.dtype) - pm[..., None, :])
    return np.moveaxis((jacobian @ dm[..., None])[..., 0], -1, axis)


@pytest.mark.parametrize("jacobian", [_jacobian_rows, _jacobian_batched])
def test_softmax_backward_forming_the_jacobian_uses_too_much_memory(jacobian) -> None:
    # Memory, not time, is judged: the verdict is the same on a fast, slow or loaded machine.
    result = check_softmax_backward(jacobian, quiet=True)
    assert result.n_passed == 5  # right on every small case
    assert result.reason in ("too_much_memory", "raised")  # raised: MemoryError, tiny machine
    assert "large batch" in (result.failed_case or "")
    assert "Jacobian" in result.message and "O(n)" in result.message


def test_softmax_backward_correct_solution_is_far_below_the_memory_limit() -> None:
    from book.exercises.ch03 import _BIG_MAX_MEMORY, _BIG_N, _BIG_ROWS
    from book.exercises.runner import call_learner

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(_BIG_N), size=_BIG_ROWS)
    dp = rng.normal(size=p.shape)
    call = call_learner(softmax_backward, (p, dp), measure_memory=True)
    assert call.error is None and call.peak_memory is not None
    assert call.peak_memory < _BIG_MAX_MEMORY / 10
    jacobian_row = _BIG_N * _BIG_N * 8
    assert _BIG_MAX_MEMORY < jacobian_row / 4  # and far below one row's Jacobian


def test_softmax_backward_has_no_wall_clock_judgement() -> None:
    from book.exercises.ch03 import check_softmax_backward as check

    assert all(case.time_limit is None for case in check.cases())


# --- causal mask -------------------------------------------------------------------------------


def test_causal_mask_of_the_opposite_convention_fails() -> None:
    result = check_causal_mask(lambda T: ~causal_mask(T), quiet=True)
    assert result.reason == "wrong_values" and result.failed_case == "T = 1"
    assert "True = allowed" in result.message and "~mask" in result.message
    lower = check_causal_mask(lambda T: np.tril(np.ones((T, T), dtype=bool)), quiet=True)
    assert lower.reason == "wrong_values"


def test_causal_mask_including_the_diagonal_fails() -> None:
    result = check_causal_mask(lambda T: np.triu(np.ones((T, T), dtype=bool)), quiet=True)
    assert result.reason == "wrong_values" and result.failed_case == "T = 1"


def test_causal_mask_of_ints_or_floats_fails_on_dtype() -> None:
    ints = check_causal_mask(lambda T: np.triu(np.ones((T, T), dtype=int), k=1), quiet=True)
    assert ints.reason == "wrong_dtype" and "expected bool, got int64" in ints.message
    assert "np.triu(np.ones((T, T), dtype=bool), k=1)" in ints.message
    floats = check_causal_mask(lambda T: np.triu(np.ones((T, T)), k=1), quiet=True)
    assert floats.reason == "wrong_dtype"


def test_causal_mask_of_the_wrong_shape_fails() -> None:
    result = check_causal_mask(lambda T: causal_mask(T + 1), quiet=True)
    assert result.reason == "wrong_shape" and "expected (1, 1), got (2, 2)" in result.message


# --- GRU ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["bias outside r", "r before W_hn"])
def test_gru_with_the_reset_gate_in_another_place_fails(variant: str) -> None:
    result = check_gru_cell(lambda *a: gru_cell(*a, variant=variant), quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 0
    assert "bias included" in result.message


def test_gru_with_z_and_one_minus_z_swapped_fails() -> None:
    def swapped(x, h, W_ih, W_hh, b_ih, b_hh):
        _, z, n, _ = _gru_parts(x, h, W_ih, W_hh, b_ih, b_hh)
        return z * n + (1 - z) * h

    result = check_gru_cell(swapped, quiet=True)
    assert result.reason == "wrong_values" and "z keeps the old state" in result.message


def test_gru_backward_missing_the_direct_path_names_dh() -> None:
    result = check_gru_cell_backward(lambda *a: gru_cell_backward(*a, direct=False), quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 0
    assert "element 1 of the returned tuple" in result.message  # dx (element 0) is right
    assert "(dx, dh, dW_ih, dW_hh, db_ih, db_hh)" in result.message
    assert "dh = dh_new * z + " in result.message


def test_gru_backward_with_dz_missing_its_h_term_fails() -> None:
    result = check_gru_cell_backward(lambda *a: gru_cell_backward(*a, dz_with_h=False), quiet=True)
    assert result.reason == "wrong_values"
    assert "element 0 of the returned tuple" in result.message


def test_gru_backward_in_the_wrong_order_or_incomplete_fails() -> None:
    def weights_first(*args):
        dx, dh, dW_ih, dW_hh, db_ih, db_hh = gru_cell_backward(*args)
        return dW_ih, dW_hh, db_ih, db_hh, dx, dh

    wrong_order = check_gru_cell_backward(weights_first, quiet=True)
    assert wrong_order.reason == "wrong_shape" and "element 0" in wrong_order.message
    incomplete = check_gru_cell_backward(lambda *a: gru_cell_backward(*a)[:4], quiet=True)
    assert incomplete.reason == "wrong_type" and "expected a tuple of 6, got 4" in (
        incomplete.message
    )
    assert "elements 0 to 5" in incomplete.message


def test_gru_backward_without_summing_over_the_batch_fails() -> None:
    def mean_over_batch(*args):
        dx, dh, dW_ih, dW_hh, db_ih, db_hh = gru_cell_backward(*args)
        b = args[1].shape[0]
        return dx, dh, dW_ih / b, dW_hh / b, db_ih / b, db_hh / b

    result = check_gru_cell_backward(mean_over_batch, quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 1  # B = 1 passes
    assert "element 2 of the returned tuple" in result.message
