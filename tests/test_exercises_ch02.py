"""Tests of chapter 2's checkers: correct solutions pass, the classic mistakes fail, and say why.

Each wrong "learner" function is a mistake people make: ranking by dot product instead of cosine,
nan for a zero vector, updating a repeated noise word once, a gradient taken from a view that
has already been updated, norms in reverse time order, a softmax that overflows.
"""

from __future__ import annotations

import numpy as np

from book.exercises.ch02 import (
    check_cosine_neighbours,
    check_rnn_grad_norms,
    check_sgns_step,
    check_soft_lookup,
)


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


# --- cosine neighbours --------------------------------------------------------------------------


def neighbours(E, i, k, *, normalise=True, safe=True):
    norms = np.linalg.norm(E, axis=1)
    if not normalise:
        sims = E @ E[i]
    elif safe:
        sims = (E @ E[i]) / np.maximum(norms * norms[i], 1e-12)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = E / norms[:, None]
        sims = unit @ unit[i]
    sims[i] = -np.inf
    return np.argsort(-sims)[:k]


def test_cosine_neighbours_correct_passes():
    assert check_cosine_neighbours(neighbours, quiet=True).passed


def test_cosine_neighbours_dot_product_fails_on_the_long_vector():
    result = check_cosine_neighbours(lambda E, i, k: neighbours(E, i, k, normalise=False),
                                     quiet=True)
    assert not result.passed and result.failed_case == "a long vector that points elsewhere"
    assert "favours long vectors" in result.message


def test_cosine_neighbours_nan_for_a_zero_row_fails_with_the_hint():
    result = check_cosine_neighbours(lambda E, i, k: neighbours(E, i, k, safe=False), quiet=True)
    assert not result.passed and "row of zeros" in result.failed_case
    assert "no direction" in result.message


def test_cosine_neighbours_including_itself_or_floats_fails():
    result = check_cosine_neighbours(
        lambda E, i, k: np.argsort(-(E @ E[i]) / np.linalg.norm(E, axis=1))[:k], quiet=True)
    assert not result.passed
    result = check_cosine_neighbours(lambda E, i, k: neighbours(E, i, k).astype(float),
                                     quiet=True)
    assert not result.passed and "integer indices" in result.message


def test_not_attempted():
    for check in (check_cosine_neighbours, check_sgns_step, check_rnn_grad_norms,
                  check_soft_lookup):
        assert check(_not_done, quiet=True).status == "not_attempted"


# --- one skip-gram step ------------------------------------------------------------------------


def sgns_step(W_in, W_out, centre, context, negatives, lr, *, accumulate=True, copy_v=True,
              in_place=False):
    if not in_place:
        W_in, W_out = W_in.copy(), W_out.copy()
    v = W_in[centre].copy() if copy_v else W_in[centre]
    u_o, u_n = W_out[context].copy(), W_out[negatives]
    g_o, g_n = sigmoid(u_o @ v) - 1, sigmoid(u_n @ v)
    W_in[centre] -= lr * (g_o * u_o + g_n @ u_n)
    W_out[context] -= lr * g_o * v
    if accumulate:
        np.add.at(W_out, negatives, -lr * g_n[:, None] * v)
    else:
        W_out[negatives] -= lr * g_n[:, None] * v
    return W_in, W_out


def test_sgns_step_correct_passes():
    assert check_sgns_step(sgns_step, quiet=True).passed


def test_sgns_step_that_drops_a_repeated_negative_fails_with_the_hint():
    result = check_sgns_step(lambda *a: sgns_step(*a, accumulate=False), quiet=True)
    assert not result.passed and result.failed_case == "a negative drawn twice"
    assert "np.add.at" in result.message


def test_sgns_step_through_a_view_fails():
    result = check_sgns_step(lambda *a: sgns_step(*a, copy_v=False), quiet=True)
    assert not result.passed and "view" in result.message


def test_sgns_step_that_changes_its_inputs_fails():
    result = check_sgns_step(lambda *a: sgns_step(*a, in_place=True), quiet=True)
    assert not result.passed and result.reason == "mutated_input"


# --- RNN gradient norms ------------------------------------------------------------------------


def rnn_grad_norms(x, W_ih, W_hh, b, u, *, tanh_grad=True):
    hs, h = [], np.zeros(W_hh.shape[0])
    for x_t in x:
        h = np.tanh(W_ih @ x_t + W_hh @ h + b)
        hs.append(h)
    out, dh = np.zeros(len(x)), u
    for t in reversed(range(len(x))):
        da = dh * (1 - hs[t] ** 2) if tanh_grad else dh
        out[t] = np.linalg.norm(W_ih.T @ da)
        dh = W_hh.T @ da
    return out


def test_rnn_grad_norms_correct_passes():
    assert check_rnn_grad_norms(rnn_grad_norms, quiet=True).passed


def test_rnn_grad_norms_reversed_or_without_tanh_fail():
    result = check_rnn_grad_norms(lambda *a: rnn_grad_norms(*a)[::-1].copy(), quiet=True)
    assert not result.passed and result.reason == "wrong_values"
    result = check_rnn_grad_norms(lambda *a: rnn_grad_norms(*a, tanh_grad=False), quiet=True)
    assert not result.passed and "1 - h_t**2" in result.message


# --- soft lookup -------------------------------------------------------------------------------


def soft_lookup(q, K, V, temperature=1.0, *, stable=True):
    s = K @ q / temperature
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(s - s.max()) if stable else np.exp(s)
        w = w / w.sum()
    return w, w @ V


def test_soft_lookup_correct_passes():
    assert check_soft_lookup(soft_lookup, quiet=True).passed


def test_soft_lookup_that_overflows_fails_with_the_hint():
    result = check_soft_lookup(lambda *a, **k: soft_lookup(*a, **k, stable=False), quiet=True)
    assert not result.passed and result.failed_case == "scores in the thousands"
    assert result.reason == "not_finite" and "Subtract the largest score" in result.message


def test_soft_lookup_that_ignores_the_temperature_fails():
    result = check_soft_lookup(lambda q, K, V, temperature=1.0: soft_lookup(q, K, V),
                               quiet=True)
    assert not result.passed and "temperature 0.01" in result.failed_case
