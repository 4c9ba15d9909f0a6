"""book.symbolic: the SymPy proofs, and three-way agreement (SymPy, chapter 3's NumPy, torch)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch

from book import symbolic as S
from book.np_nn import (
    gelu,
    gelu_backward,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
)
from book.np_nn.recurrent import LSTM

TOL = 1e-10  # float64: all three compute the same formulas, so they agree to rounding
SEEDS = (0, 1, 2)

# ---------------------------------------------------------------------------------------------
# activations


def test_all_identities_are_proven():
    results = S.prove_identities()
    assert len(results) == 6
    assert all(results.values()), results


def test_a_wrong_identity_is_not_proven():
    # The prover must be able to say no: σ' = σ(1 + σ) and J = diag(p) + p pᵀ are false.
    f, df = S.derivative("sigmoid")
    assert not S._is_zero(df - f * (1 + f))
    J, formula = S.softmax_jacobian(3)
    z, p = S.softmax(3)
    assert not all(S._is_zero(e) for e in J - (sp.diag(*p) + p * p.T))
    assert all(S._is_zero(e) for e in J - formula)


def test_softmax_sums_to_one():
    _, p = S.softmax(4)
    assert sp.simplify(sum(p)) == 1


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unknown activation"):
        S.derivative("swish")


@pytest.mark.parametrize("name", sorted(S.ACTIVATIONS))
def test_lambdified_derivative_matches_finite_differences(name):
    f, df = S.lambdified(name)
    t = np.linspace(-4.05, 3.95, 81)  # avoids 0, where ReLU has no derivative
    eps = 1e-6
    numeric = (f(t + eps) - f(t - eps)) / (2 * eps)
    assert f(t).shape == df(t).shape == t.shape
    np.testing.assert_allclose(df(t), numeric, rtol=0, atol=1e-8)


def test_lambdified_gelu_tanh_matches_chapter_3():
    f, df = S.lambdified("gelu_tanh")
    t = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(f(t), gelu(t), rtol=0, atol=1e-14)
    np.testing.assert_allclose(df(t), gelu_backward(t, np.ones_like(t)), rtol=0, atol=1e-14)


def test_exact_and_tanh_gelu_are_close_but_not_equal():
    (g, _), (gt, _) = S.lambdified("gelu"), S.lambdified("gelu_tanh")
    t = np.linspace(-5, 5, 101)
    gap = np.abs(g(t) - gt(t)).max()
    assert 1e-5 < gap < 1e-3  # the tanh formula approximates x·Φ(x) to ~2e-4


# ---------------------------------------------------------------------------------------------
# curvature and learning rates


x, y = sp.symbols("x y", real=True)
QUADRATIC = (x**2 + 25 * y**2) / 2


def test_hessian_eigenvalues_and_max_stable_lr_of_the_quadratic():
    H, eigs = S.hessian_eigenvalues(QUADRATIC, [x, y])
    assert H == sp.Matrix([[1, 0], [0, 25]])
    assert eigs == [1, 25]
    assert S.max_stable_lr(QUADRATIC, [x, y]) == sp.Rational(2, 25)  # 0.08


def test_max_stable_lr_other_cases():
    _, eigs = S.hessian_eigenvalues(x**2 + x * y + y**2, [x, y])  # not diagonal: eigs 1 and 3
    assert eigs == [1, 3]
    assert S.max_stable_lr(x**2 + x * y + y**2, [x, y]) == sp.Rational(2, 3)
    assert S.max_stable_lr(x**4 + y**2, [x, y], point=(1, 0)) == sp.Rational(1, 6)  # H = (12, 2)
    assert S.max_stable_lr(x**4 + y**2, [x, y], point={x: 1, y: 0}) == sp.Rational(1, 6)
    assert S.max_stable_lr(-(x**2) - y**2, [x, y]) == sp.oo
    with pytest.raises(ValueError, match="not quadratic"):
        S.max_stable_lr(x**4 + y**2, [x, y])


def test_points_take_numbers_and_sympy_objects_exactly():
    f = x**4 + y**2
    assert S.max_stable_lr(f, [x, y], point=(Fraction(1, 2), 0)) == sp.Rational(2, 3)  # H = 3, 2
    assert S.max_stable_lr(f, [x, y], point=(sp.Rational(1, 2), np.int64(0))) == \
        sp.Rational(2, 3)
    assert S.max_stable_lr(f, [x, y], point=(0.5, 0.0)) == pytest.approx(2 / 3)
    a = sp.Symbol("a", positive=True)
    _, eigs = S.hessian_eigenvalues(f, [x, y], point={x: a, y: 0})
    assert set(eigs) == {2, 12 * a**2}


@pytest.mark.parametrize("bad", [
    "__import__('pathlib').Path(r'{marker}').touch() or 1",
    "1/2",
])
def test_strings_are_refused_and_never_run(tmp_path, bad):
    marker = tmp_path / "RAN"
    code = bad.format(marker=marker)
    for call in (S.hessian_eigenvalues, S.max_stable_lr):
        with pytest.raises(TypeError, match="not the string .* would run them as Python code"):
            call(x**4 + y**2, [x, y], point=[code, 0])
        with pytest.raises(TypeError, match="not the string"):
            call(x**4 + y**2, [x, y], point={x: code, y: 0})
        with pytest.raises(TypeError, match="not the string"):
            call(code, [x, y])
    assert not marker.exists()


def test_bad_variables_and_points_are_explained():
    with pytest.raises(TypeError, match="SymPy symbols"):
        S.hessian_eigenvalues(x**2, ["x"])
    with pytest.raises(TypeError, match="not a string"):
        S.hessian_eigenvalues(x**2, "x")
    with pytest.raises(TypeError, match="got a bool"):
        S.hessian_eigenvalues(x**2, [x], point=[True])
    with pytest.raises(TypeError, match="got list"):
        S.hessian_eigenvalues(x**2, [x], point=[[1]])
    with pytest.raises(ValueError, match="not among the variables"):
        S.hessian_eigenvalues(x**2, [x], point={y: 1})


def _gradient_descent(lr: float, steps: int = 3000) -> float:
    """|(x, y)| after gradient descent on (x² + 25 y²)/2 from (1, 1), in NumPy."""
    p = np.array([1.0, 1.0])
    curvature = np.array([1.0, 25.0])  # the gradient is (x, 25 y)
    for _ in range(steps):
        p = p - lr * curvature * p
    return float(np.linalg.norm(p))


def test_gradient_descent_diverges_just_above_the_limit_and_converges_just_below():
    limit = float(S.max_stable_lr(QUADRATIC, [x, y]))
    assert _gradient_descent(0.99 * limit) < 1e-6
    assert _gradient_descent(1.01 * limit) > 1e6


# ---------------------------------------------------------------------------------------------
# one LSTM step


def _lstm_values(I: int, H: int, B: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = {"x": (B, I), "h_prev": (B, H), "c_prev": (B, H), "W_ih": (4 * H, I),
              "W_hh": (4 * H, H), "b": (4 * H,), "dh": (B, H), "dc": (B, H)}
    return {name: rng.normal(size=shape) for name, shape in shapes.items()}


def _lstm_chapter3(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Chapter 3's LSTM on T = 1: y = h_1, so dy = dh carries the h-gradient; dc_n = dc."""
    I, H = v["x"].shape[1], v["h_prev"].shape[1]
    layer = LSTM(I, H)
    layer.weight_ih_l0, layer.weight_hh_l0 = v["W_ih"].copy(), v["W_hh"].copy()
    layer.bias_ih_l0, layer.bias_hh_l0 = v["b"].copy(), np.zeros(4 * H)
    layer.forward(v["x"][None], (v["h_prev"][None], v["c_prev"][None]))
    dx = layer.backward(v["dh"][None], dc_n=v["dc"][None])
    gates = {name: layer.gates[name][0] for name in ("i", "f", "g", "o", "c")}  # each (B, H)
    return {"x": dx[0], "h_prev": layer.dh0[0], "c_prev": layer.dc0[0],
            "W_ih": layer.grads["weight_ih_l0"], "W_hh": layer.grads["weight_hh_l0"],
            "b": layer.grads["bias_ih_l0"], "gates": gates}


def _lstm_torch(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    I, H = v["x"].shape[1], v["h_prev"].shape[1]
    m = torch.nn.LSTM(I, H).double()
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.tensor(v["W_ih"]))
        m.weight_hh_l0.copy_(torch.tensor(v["W_hh"]))
        m.bias_ih_l0.copy_(torch.tensor(v["b"]))
        m.bias_hh_l0.zero_()
    x, h0, c0 = (torch.tensor(v[n][None], requires_grad=True) for n in ("x", "h_prev", "c_prev"))
    _, (h1, c1) = m(x, (h0, c0))
    loss = (torch.tensor(v["dh"]) * h1[0]).sum() + (torch.tensor(v["dc"]) * c1[0]).sum()
    loss.backward()
    out = {"x": x.grad[0], "h_prev": h0.grad[0], "c_prev": c0.grad[0], "W_ih": m.weight_ih_l0.grad,
           "W_hh": m.weight_hh_l0.grad, "b": m.bias_ih_l0.grad}
    return {name: t.numpy() for name, t in out.items()}


@pytest.mark.parametrize("I, H, B", [(2, 2, 1), (3, 2, 1), (3, 2, 4)])
@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_step_three_way_agreement(I, H, B, seed):
    v = _lstm_values(I, H, B, seed)
    sym = S.lstm_step_gradients_numeric(**v)
    ch3, ref = _lstm_chapter3(v), _lstm_torch(v)
    for name in ("x", "h_prev", "c_prev", "W_ih", "W_hh", "b"):
        assert sym[name].shape == ref[name].shape, name
        np.testing.assert_allclose(sym[name], ch3[name], rtol=0, atol=TOL, err_msg=name)
        np.testing.assert_allclose(sym[name], ref[name], rtol=0, atol=TOL, err_msg=name)
    # The bias enters every pre-activation once per sequence, so ∂L/∂b = Σ_batch ∂L/∂a.
    da = np.concatenate([sym[f"a_{gate}"] for gate in "ifgo"], axis=-1)  # (B, 4H)
    np.testing.assert_allclose(da.sum(axis=0), ref["b"], rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_readable_gate_gradients_match_the_full_derivation(seed):
    v = _lstm_values(3, 2, 4, seed)
    sym, gates = S.lstm_step_gradients_numeric(**v), _lstm_chapter3(v)["gates"]
    readable = S.lstm_gate_gradients_readable()
    names = sp.symbols("i f g o c_t c_{t-1} dh dc", real=True)
    values = [gates[k] for k in "ifgoc"] + [v["c_prev"], v["dh"], v["dc"]]
    for key in ("a_i", "a_f", "a_g", "a_o", "c_prev"):
        f = sp.lambdify(names, readable[key], "numpy")
        np.testing.assert_allclose(f(*values), sym[key], rtol=0, atol=TOL, err_msg=key)


def test_readable_forget_gate_gradient_has_the_textbook_form():
    i, f, g, o, c_t, c_prev, dh, dc = sp.symbols("i f g o c_t c_{t-1} dh dc", real=True)
    dc_total = dc + dh * o * (1 - sp.tanh(c_t) ** 2)
    readable = S.lstm_gate_gradients_readable()
    expected = {"a_i": dc_total * g * i * (1 - i), "a_f": dc_total * c_prev * f * (1 - f),
                "a_g": dc_total * i * (1 - g**2), "a_o": dh * sp.tanh(c_t) * o * (1 - o),
                "c_prev": dc_total * f, "c_t": dc_total}
    for key, e in expected.items():
        assert sp.simplify(readable[key] - e) == 0, key


def test_readable_matrices_are_written_in_gate_values():
    grads = S.lstm_step_gradients_readable(2, 2, 1)
    weights = set(S.lstm_step(2, 2, 1).W_ih) | set(S.lstm_step(2, 2, 1).W_hh)
    assert not any(e.has(S.Sigmoid) for m in grads.values() for e in m)
    assert not (grads["W_ih"].free_symbols & weights)  # only x, gates, c's, dh, dc remain


@pytest.mark.parametrize("I, H, B", [(2, 2, 1), (3, 2, 2)])
def test_lstm_matrix_form_is_proven(I, H, B):
    assert S.lstm_matrix_form_holds(I, H, B)


def test_lstm_matrix_form_proof_can_fail(monkeypatch):
    right = S.lstm_step_gradients(1, 1, 1)
    wrong = dict(right, W_ih=2 * right["W_ih"])
    monkeypatch.setattr(S, "lstm_step_gradients", lambda I, H, B: wrong)
    assert not S.lstm_matrix_form_holds.__wrapped__(1, 1, 1)  # bypass the cached True


def test_lstm_numeric_checks_shapes():
    v = _lstm_values(2, 2, 1, 0)
    with pytest.raises(ValueError, match="W_hh must have shape"):
        S.lstm_step_gradients_numeric(**dict(v, W_hh=np.zeros((8, 3))))
    with pytest.raises(ValueError, match="dc must have shape"):
        S.lstm_step_gradients_numeric(**dict(v, dc=np.zeros((2, 2))))


def test_lstm_numeric_accepts_a_single_sequence_as_vectors():
    v = _lstm_values(3, 2, 1, 0)
    per_sequence = ("x", "h_prev", "c_prev", "dh", "dc")
    rows = S.lstm_step_gradients_numeric(**v)
    vectors = S.lstm_step_gradients_numeric(**{k: a[0] if k in per_sequence else a
                                               for k, a in v.items()})
    for name, a in rows.items():
        expected = a if name in ("W_ih", "W_hh", "b") else a[0]  # weights: no batch axis
        np.testing.assert_array_equal(vectors[name], expected, err_msg=name)


# ---------------------------------------------------------------------------------------------
# attention


def _attention_torch(q, k, v, dout):
    q, k, v = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
    ((weights @ v) * torch.tensor(dout)).sum().backward()
    return {"Q": q.grad.numpy(), "K": k.grad.numpy(), "V": v.grad.numpy()}


@pytest.mark.parametrize("T, S_, d, dv", [(2, 2, 2, 2), (3, 2, 2, 1), (2, 3, 3, 2)])
@pytest.mark.parametrize("seed", SEEDS)
def test_attention_three_way_agreement(T, S_, d, dv, seed):
    rng = np.random.default_rng(seed)
    batch = (4,)  # leading axes broadcast: one derivation serves the whole batch
    q, k = rng.normal(size=(*batch, T, d)), rng.normal(size=(*batch, S_, d))
    v, dout = rng.normal(size=(*batch, S_, dv)), rng.normal(size=(*batch, T, dv))
    sym = S.attention_gradients_numeric(q, k, v, dout)
    _, weights = scaled_dot_product_attention(q, k, v)
    ch3 = dict(zip("QKV", scaled_dot_product_attention_backward(dout, q, k, v, weights)))
    ref = _attention_torch(q, k, v, dout)
    for name in "QKV":
        assert sym[name].shape == ref[name].shape
        np.testing.assert_allclose(sym[name], ch3[name], rtol=0, atol=TOL, err_msg=name)
        np.testing.assert_allclose(sym[name], ref[name], rtol=0, atol=TOL, err_msg=name)


@pytest.mark.parametrize("shape", [(2, 2, 2, 2), (3, 2, 2, 1), (2, 3, 3, 2)])
def test_attention_matrix_form_is_proven(shape):
    assert S.prove_attention_matrix_form(*shape)


def test_attention_matrix_form_proof_can_fail(monkeypatch):
    def without_rowsum(T, S_, d, dv):  # a classic mistake: dS = P ⊙ dP, forgetting the rowsum
        s = S.attention(T, S_, d, dv)
        dS = s.P.multiply_elementwise(s.dO * s.V.T)
        return {"Q": dS * s.K / sp.sqrt(d), "K": dS.T * s.Q / sp.sqrt(d), "V": s.P.T * s.dO}

    monkeypatch.setattr(S, "attention_gradients_matrix_form", without_rowsum)
    assert not S.prove_attention_matrix_form.__wrapped__(1, 2, 1, 1)


def test_attention_numeric_checks_shapes():
    with pytest.raises(ValueError, match="need q"):
        S.attention_gradients_numeric(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2)),
                                      np.zeros((2, 2)))
