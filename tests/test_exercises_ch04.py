"""Tests of chapter 4's checkers: correct solutions pass, the classic mistakes fail, and say why.

Each wrong "learner" function below is a mistake someone really makes: the exact GELU's
derivative for the tanh one, an autograd operation that assigns its gradient or forgets the
chain rule's upstream factor, a masked mean divided by T, a cross-entropy gradient without the
mean's 1/B.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

from book.autograd import Value
from book.exercises.ch04 import (
    check_gelu_grad,
    check_masked_mean,
    check_sin_op,
    check_softmax_cross_entropy_grad,
)

C, K = math.sqrt(2 / math.pi), 0.044715


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions -------------------------------------------------------------------------


def gelu_grad(x: np.ndarray, k3: float = 3 * K) -> np.ndarray:
    t = np.tanh(C * (x + K * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * C * (1 + k3 * x**2)


def make_sin(
    *,
    parents: bool = True,
    attach: bool = True,
    accumulate: bool = True,
    upstream: bool = True,
    local=math.cos,
):
    """A sin operation for the engine, correct by default, with one of the classic mistakes."""

    def sin(x: Value) -> Value:
        out = Value(math.sin(x.data), parents=(x,) if parents else (), op="sin")

        def _backward() -> None:
            g = local(x.data) * (out.grad if upstream else 1.0)
            x.grad = x.grad + g if accumulate else g

        if attach:
            out._backward = _backward
        return out

    return sin


def masked_mean(h: np.ndarray, pad_mask: np.ndarray) -> np.ndarray:
    keep = ~pad_mask  # (B, T)
    count = np.maximum(keep.sum(axis=1, keepdims=True), 1).astype(h.dtype)  # (B, 1)
    return (h * keep[:, :, None]).sum(axis=1) / count


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ce_grad(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    g = softmax(logits)
    g[np.arange(len(targets)), targets] -= 1
    return g / len(targets)


def test_correct_solutions_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_gelu_grad(gelu_grad).passed
    assert check_sin_op(make_sin()).passed
    assert check_masked_mean(masked_mean).passed
    assert check_softmax_cross_entropy_grad(ce_grad).passed
    out = capsys.readouterr().out
    assert out.count("✅") == 4 and "❌" not in out
    assert "rtol=1e-10" in out and " s " not in out  # a summary, no timings


def test_other_correct_ways_pass() -> None:
    x = sp.symbols("x")
    gelu = x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Float("0.044715") * x**3)))
    lambdified = sp.lambdify(x, sp.diff(gelu, x), "numpy")

    def sech_form(x: np.ndarray) -> np.ndarray:
        u = C * (x + K * x**3)
        return 0.5 * (1 + np.tanh(u)) + 0.5 * x * C * (1 + 3 * K * x**2) / np.cosh(u) ** 2

    def masked_mean_einsum(h, pad_mask):
        w = (~pad_mask).astype(h.dtype)  # (B, T)
        return np.einsum("bt,bte->be", w, h) / np.maximum(w.sum(axis=1), 1)[:, None]

    def ce_one_hot(logits, targets):
        one_hot = np.eye(logits.shape[1], dtype=logits.dtype)[targets]
        return (softmax(logits) - one_hot) / logits.shape[0]

    assert check_gelu_grad(lambda v: np.asarray(lambdified(v)).astype(v.dtype), quiet=True)
    assert check_gelu_grad(sech_form, quiet=True)
    assert check_sin_op(make_sin(), quiet=True)
    assert check_masked_mean(masked_mean_einsum, quiet=True)
    assert check_softmax_cross_entropy_grad(ce_one_hot, quiet=True)


def test_checks_leave_torch_random_state_and_grad_mode_alone() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with torch.no_grad():  # a notebook that turned autograd off still gets the right gradients
        assert check_gelu_grad(gelu_grad, quiet=True).passed
        assert check_sin_op(make_sin(), quiet=True).passed
        assert check_softmax_cross_entropy_grad(ce_grad, quiet=True).passed
    assert torch.equal(state, torch.get_rng_state())


def test_templates_are_not_attempted() -> None:
    for check in (
        check_gelu_grad,
        check_sin_op,
        check_masked_mean,
        check_softmax_cross_entropy_grad,
    ):
        result = check(_not_done, quiet=True)
        assert result.status == "not_attempted" and not result.passed


# --- GELU derivative ---------------------------------------------------------------------------


def test_gelu_grad_of_the_exact_erf_gelu_is_rejected_and_named() -> None:
    def erf_grad(x: np.ndarray) -> np.ndarray:
        phi = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
        cdf = 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
        return cdf + x * phi

    result = check_gelu_grad(erf_grad, quiet=True)
    assert result.reason == "property" and result.n_passed == 1  # x = 0: both slopes are ½
    assert "exact GELU" in result.message and "approximate='tanh'" in result.message


def test_gelu_grad_of_a_wrong_formula_fails() -> None:
    # 0.044715·x² instead of 3·0.044715·x²: the chain rule's inner derivative without the 3.
    missing_3 = check_gelu_grad(lambda x: gelu_grad(x, k3=K), quiet=True)
    assert missing_3.reason == "wrong_values" and missing_3.failed_case == "values from -4 to 4"
    assert "product rule" in missing_3.message and "sp.diff" in missing_3.message
    # Only the first term of the product rule.
    first_term = check_gelu_grad(lambda x: 0.5 * (1 + np.tanh(C * (x + K * x**3))), quiet=True)
    assert first_term.reason == "wrong_values" and first_term.n_passed == 2
    # GELU itself instead of its derivative.
    gelu = check_gelu_grad(lambda x: 0.5 * x * (1 + np.tanh(C * (x + K * x**3))), quiet=True)
    assert gelu.reason == "wrong_values" and "expected 0.5, got 0" in gelu.message


def test_gelu_grad_of_a_lambdified_expression_must_keep_float32() -> None:
    x = sp.symbols("x")
    gelu = x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + sp.Float("0.044715") * x**3)))
    result = check_gelu_grad(sp.lambdify(x, sp.diff(gelu, x), "numpy"), quiet=True)
    assert result.reason == "wrong_dtype" and "float32" in (result.failed_case or "")
    assert "lambdified" in result.message and ".astype(x.dtype)" in result.message


# --- sin as an autograd operation --------------------------------------------------------------


def test_sin_op_with_assignment_instead_of_accumulation_fails() -> None:
    result = check_sin_op(make_sin(accumulate=False), quiet=True)
    assert result.reason == "property" and result.failed_case == "sin(x) * x"
    assert result.n_passed == 4  # right wherever x has one use
    assert "x.grad is" in result.message and "torch autograd gives" in result.message
    assert "instead of adding to it (`+=`)" in result.message
    assert "accumulate" in result.message and "used twice" in result.message


def test_sin_op_without_the_upstream_gradient_fails() -> None:
    result = check_sin_op(make_sin(upstream=False), quiet=True)
    assert result.reason == "property" and result.failed_case == "sin(x) * y"
    assert "x.grad is" in result.message and "(y.grad is right)" in result.message
    assert "missing `* out.grad`" in result.message


def test_sin_op_without_backward_fails() -> None:
    result = check_sin_op(make_sin(attach=False), quiet=True)
    assert result.reason == "property" and result.failed_case == "sin(x)"
    assert "x.grad is 0," in result.message and "never sets out._backward" in result.message


def test_sin_op_without_parents_fails() -> None:
    result = check_sin_op(make_sin(parents=False), quiet=True)
    assert result.reason == "property" and result.failed_case == "sin(sin(x))"
    assert "does not list x in its .parents (it is ())" in result.message
    assert "never reaches x" in result.message


def test_sin_op_with_a_wrong_local_derivative_fails() -> None:
    result = check_sin_op(make_sin(local=lambda a: -math.cos(a)), quiet=True)
    assert result.reason == "property" and result.failed_case == "sin(x)"
    assert "d sin(x)/dx is cos(x) = 0.764842" in result.message
    at_output = check_sin_op(make_sin(local=lambda a: math.cos(math.sin(a))), quiet=True)
    assert "That is cos(out.data)" in at_output.message


def test_sin_op_with_a_wrong_forward_value_fails() -> None:
    def cos_forward(x: Value) -> Value:
        out = make_sin()(x)
        out.data = math.cos(x.data)
        return out

    result = check_sin_op(cos_forward, quiet=True)
    assert result.reason == "property" and "the output's value is" in result.message
    assert "why:" not in result.message  # the backward part is right: no made-up cause


def test_sin_op_returning_a_number_or_raising_fails() -> None:
    number = check_sin_op(lambda x: math.sin(x.data), quiet=True)
    assert number.reason == "property" and "returned a float (0.644" in number.message
    assert "not a Value" in number.message
    no_return = check_sin_op(lambda x: None, quiet=True)
    assert no_return.reason == "property" and "forget to `return out`" in no_return.message

    def odd_grad(x: Value) -> Value:  # a gradient that is not a number is reported, not raised
        out = make_sin()(x)
        out._backward = lambda: setattr(x, "grad", [0.0])
        return out

    odd = check_sin_op(odd_grad, quiet=True)
    assert odd.reason == "property" and "x.grad is [0.0]" in odd.message
    raised = check_sin_op(lambda x: Value(math.sin(x)), quiet=True)
    assert raised.reason == "raised" and "TypeError" in raised.message
    value = check_sin_op(make_sin()(Value(1.0)), quiet=True)  # sin(x) passed, not sin
    assert value.reason == "not_callable"


def test_sin_op_diagnosis_finds_nothing_in_a_correct_op() -> None:
    from book.exercises.ch04 import _diagnose_sin

    assert _diagnose_sin(make_sin()) is None
    assert _diagnose_sin(_not_done) is None  # a diagnosis never raises


def _sin_misbehaving_when_probed(action):
    """A sin that is wrong (no * out.grad) and runs `action` when out.grad is a probe value.

    The checker's diagnosis probes _backward with out.grad = 2.5; the expressions never do.
    """

    def sin(x: Value) -> Value:
        out = Value(math.sin(x.data), parents=(x,), op="sin")

        def _backward() -> None:
            if out.grad == 2.5:
                action()
            x.grad += math.cos(x.data)

        out._backward = _backward
        return out

    return sin


def test_sin_op_system_exit_in_the_diagnosis_does_not_escape() -> None:
    def leave() -> None:
        raise SystemExit("bye")

    result = check_sin_op(_sin_misbehaving_when_probed(leave), quiet=True)
    assert result.reason == "property" and "x.grad is" in result.message
    assert "why:" not in result.message  # the diagnosis gave up, the failure is still reported


def test_sin_op_a_hang_in_the_diagnosis_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from book.exercises import ch04

    monkeypatch.setattr(ch04, "_DIAGNOSIS_TIME_LIMIT", 0.2)

    def hang() -> None:
        while True:
            pass

    result = check_sin_op(_sin_misbehaving_when_probed(hang), quiet=True)
    assert result.reason == "property" and "x.grad is" in result.message


def test_sin_op_that_changes_its_input_is_told_so() -> None:
    correct = make_sin()

    def zeroing(x: Value) -> Value:
        out = correct(x)
        x.data = 0.0
        return out

    result = check_sin_op(zeroing, quiet=True)
    assert result.reason == "property"
    assert "changed its argument's .data in place (from 0.7 to 0)" in result.message


def test_sin_op_learner_line_is_the_learners_not_the_checkers() -> None:
    result = check_sin_op(math.sin, quiet=True)
    assert result.reason == "raised" and "recorded()" not in result.message


# --- masked mean -------------------------------------------------------------------------------


def test_masked_mean_dividing_by_T_fails() -> None:
    def by_T(h, pad_mask):
        return (h * ~pad_mask[:, :, None]).sum(axis=1) / h.shape[1]

    result = check_masked_mean(by_T, quiet=True)
    assert result.reason == "wrong_values" and "padding at the end" in (result.failed_case or "")
    assert "not by T" in result.message and "count of real tokens" in result.message


def test_masked_mean_with_nan_or_a_warning_on_an_all_padding_row_fails() -> None:
    def no_guard(h, pad_mask):
        keep = ~pad_mask
        return (h * keep[:, :, None]).sum(axis=1) / keep.sum(axis=1, keepdims=True)

    def where_guard(h, pad_mask):  # right values, but 0 / 0 (and a warning) on the way
        keep = ~pad_mask
        count = keep.sum(axis=1, keepdims=True)
        return np.where(count > 0, (h * keep[:, :, None]).sum(axis=1) / count, 0.0)

    for fn in (no_guard, where_guard):
        result = check_masked_mean(fn, quiet=True)
        assert result.reason == "raised" and "all padding" in (result.failed_case or "")
        assert "FloatingPointError" in result.message
        assert "np.maximum(count, 1)" in result.message


def test_masked_mean_with_the_opposite_mask_convention_fails() -> None:
    result = check_masked_mean(lambda h, pad_mask: masked_mean(h, ~pad_mask), quiet=True)
    assert result.status == "failed" and result.n_passed == 0
    assert "key_padding_mask" in result.message and "'real token'" in result.message


def test_masked_mean_assuming_right_padding_fails_on_left_padding() -> None:
    def by_length(h, pad_mask):
        n = (~pad_mask).sum(axis=1)
        rows = [h[b, : n[b]].sum(axis=0) / max(n[b], 1) for b in range(h.shape[0])]
        return np.stack(rows).astype(h.dtype)

    result = check_masked_mean(by_length, quiet=True)
    assert result.reason == "wrong_values" and "at the start" in (result.failed_case or "")


def test_masked_mean_that_upcasts_float32_fails() -> None:
    def int_counts(h, pad_mask):
        keep = ~pad_mask
        return (h * keep[:, :, None]).sum(axis=1) / np.maximum(keep.sum(axis=1), 1)[:, None]

    result = check_masked_mean(int_counts, quiet=True)
    assert result.reason == "wrong_dtype" and "float32" in (result.failed_case or "")
    assert "float32 / int64 gives float64" in result.message


# --- softmax cross-entropy gradient ------------------------------------------------------------


def test_ce_grad_without_the_mean_fails() -> None:
    result = check_softmax_cross_entropy_grad(lambda z, t: ce_grad(z, t) * len(t), quiet=True)
    assert result.reason == "wrong_values" and result.n_passed == 1  # B = 1 passes
    assert "B = 4" in (result.failed_case or "")
    assert "1/B is missing" in result.message and "the 1/B comes from the mean" in result.message


def test_ce_grad_with_an_unstable_softmax_fails_on_large_logits() -> None:
    def naive(z, t):
        e = np.exp(z)
        g = e / e.sum(axis=1, keepdims=True)
        g[np.arange(len(t)), t] -= 1
        return g / len(t)

    result = check_softmax_cross_entropy_grad(naive, quiet=True)
    assert result.reason == "not_finite" and "±1000" in (result.failed_case or "")
    assert "subtract each row's maximum" in result.message


def test_ce_grad_with_the_wrong_sign_or_dtype_fails() -> None:
    flipped = check_softmax_cross_entropy_grad(lambda z, t: -ce_grad(z, t), quiet=True)
    assert flipped.reason == "wrong_values" and flipped.n_passed == 0

    def float64_one_hot(z, t):
        return (softmax(z) - np.eye(z.shape[1])[t]) / len(t)

    upcast = check_softmax_cross_entropy_grad(float64_one_hot, quiet=True)
    assert upcast.reason == "wrong_dtype" and "dtype=logits.dtype" in upcast.message


def test_ce_grad_that_changes_the_logits_in_place_fails() -> None:
    def in_place(z, t):
        z -= z.max(axis=1, keepdims=True)
        return ce_grad(z, t)

    result = check_softmax_cross_entropy_grad(in_place, quiet=True)
    assert result.reason == "mutated_input" and "`logits`" not in result.message
    assert "`z`" in result.message
