"""book.np_nn.recurrent: RNN and LSTM forward/BPTT against torch.autograd and finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from book.gradcheck import numerical_grad
from book.np_nn import LSTM, RNN, sigmoid

PARAMS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
SHAPES = [  # (T, B, I, H)
    (1, 1, 1, 1),
    (1, 1, 3, 2),
    (4, 3, 5, 4),
    (6, 2, 2, 7),
    (50, 3, 4, 5),
]


def _run_torch(m, x, h0, c0, dy, dh_n, dc_n):
    """Outputs and gradients of a torch module, as a dict of NumPy arrays."""
    x, h0, c0 = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    m.zero_grad()
    if isinstance(m, torch.nn.LSTM):
        y, (h_n, c_n) = m(x, (h0, c0))
        torch.autograd.backward([y, h_n, c_n], [torch.tensor(a) for a in (dy, dh_n, dc_n)])
        out = {"c_n": c_n, "dc0": c0.grad}
    else:
        y, h_n = m(x, h0)
        torch.autograd.backward([y, h_n], [torch.tensor(dy), torch.tensor(dh_n)])
        out = {}
    out.update(y=y, h_n=h_n, dx=x.grad, dh0=h0.grad)
    out.update({name: getattr(m, name).grad for name in PARAMS})
    return {k: v.detach().numpy() for k, v in out.items()}


def _run_numpy(layer, x, h0, c0, dy, dh_n, dc_n):
    """Outputs and gradients of a NumPy layer, keyed like `_run_torch`."""
    if isinstance(layer, LSTM):
        y, (h_n, c_n) = layer.forward(x, (h0, c0))
        dx = layer.backward(dy, dh_n, dc_n)
        out = {"c_n": c_n, "dc0": layer.dc0}
    else:
        y, h_n = layer.forward(x, h0)
        dx = layer.backward(dy, dh_n)
        out = {}
    out.update(y=y, h_n=h_n, dx=dx, dh0=layer.dh0, **layer.grads)
    return out


def _random_inputs(T, B, I, H, dtype=np.float64, seed=0):
    """x, h0, c0 and upstream gradients dy, dh_n, dc_n."""
    rng = np.random.default_rng(seed)
    shapes = [(T, B, I), (1, B, H), (1, B, H), (T, B, H), (1, B, H), (1, B, H)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


# --- against torch.autograd -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [RNN, LSTM])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "T{}B{}I{}H{}".format(*s))
def test_matches_torch_float64(cls, shape) -> None:
    T, B, I, H = shape
    torch.manual_seed(1)
    m = getattr(torch.nn, cls.__name__)(I, H, dtype=torch.float64)
    inputs = _random_inputs(T, B, I, H)
    want = _run_torch(m, *inputs)
    got = _run_numpy(cls.from_torch(m), *inputs)
    assert got.keys() == want.keys()
    for key in want:
        assert got[key].shape == want[key].shape, key
        np.testing.assert_allclose(got[key], want[key], rtol=1e-8, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_float32_layer_matches_torch_and_stays_float32(cls) -> None:
    T, B, I, H = 8, 3, 5, 6
    torch.manual_seed(2)
    m = getattr(torch.nn, cls.__name__)(I, H)  # float32
    layer = cls.from_torch(m)
    assert all(p.dtype == np.float32 for p in layer.parameters().values())
    inputs = _random_inputs(T, B, I, H, dtype=np.float32)
    want = _run_torch(m, *inputs)
    got = _run_numpy(layer, *inputs)
    for key in want:
        assert got[key].dtype == np.float32, key
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)
    # float64 input to a float32 layer is cast, not promoted
    x32 = inputs[0]
    y64 = layer.forward(x32.astype(np.float64))[0]
    assert y64.dtype == np.float32
    np.testing.assert_array_equal(y64, layer.forward(x32)[0])


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_default_state_is_zeros_and_backward_is_repeatable(cls) -> None:
    layer = cls(3, 4, seed=3)
    x, h0, c0, dy, _, _ = _random_inputs(5, 2, 3, 4)
    zeros = np.zeros_like(h0)
    y = layer.forward(x)[0]
    y0 = layer.forward(x, (zeros, zeros) if cls is LSTM else zeros)[0]
    np.testing.assert_array_equal(y, y0)
    dx1, grads1 = layer.backward(dy), layer.grads
    dx2, grads2 = layer.backward(dy), layer.grads
    np.testing.assert_array_equal(dx1, dx2)  # backward does not consume the forward's values
    assert grads1 is not grads2  # overwritten, not accumulated
    for name in PARAMS:
        np.testing.assert_array_equal(grads1[name], grads2[name])


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_a_layer_that_needs_no_input_gradient_skips_dx_and_nothing_else(cls) -> None:
    x, h0, c0, dy, dh_n, dc_n = _random_inputs(5, 2, 3, 4)
    state = (h0, c0) if cls is LSTM else h0
    upstream = (dy, dh_n, dc_n) if cls is LSTM else (dy, dh_n)
    full, data = cls(3, 4, seed=1), cls(3, 4, seed=1, needs_input_grad=False)
    for layer in (full, data):
        layer.forward(x, state)
    assert full.backward(*upstream).shape == x.shape
    assert data.backward(*upstream) is None
    for name in PARAMS:
        np.testing.assert_array_equal(full.grads[name], data.grads[name])  # bit for bit
    np.testing.assert_array_equal(full.dh0, data.dh0)
    data.needs_input_grad = True  # an attribute: it can be switched back
    np.testing.assert_array_equal(data.backward(*upstream), full.backward(*upstream))


# --- finite differences (independent of torch) ------------------------------------------------


def _loss(layer, x, h0, c0, r_y, r_h, r_c) -> float:
    """Scalar loss sum(y R) + sum(h_n R2) (+ sum(c_n R3)) whose gradients are dy=R, dh_n=R2, ..."""
    if isinstance(layer, LSTM):
        y, (h_n, c_n) = layer.forward(x, (h0, c0))
        return float(np.sum(y * r_y) + np.sum(h_n * r_h) + np.sum(c_n * r_c))
    y, h_n = layer.forward(x, h0)
    return float(np.sum(y * r_y) + np.sum(h_n * r_h))


@pytest.mark.parametrize("cls", [RNN, LSTM])
@pytest.mark.parametrize("shape", [(3, 2, 3, 2), (1, 1, 2, 3)], ids=["T3B2I3H2", "T1B1I2H3"])
def test_gradients_match_finite_differences(cls, shape) -> None:
    T, B, I, H = shape
    layer = cls(I, H, seed=4)
    x, h0, c0, r_y, r_h, r_c = _random_inputs(T, B, I, H, seed=5)
    dx = _run_numpy(layer, x, h0, c0, r_y, r_h, r_c)["dx"]  # upstream gradients = the R's
    analytic = dict(layer.grads, x=dx, h0=layer.dh0)
    arrays = dict(layer.parameters(), x=x, h0=h0)
    if cls is LSTM:
        analytic["c0"], arrays["c0"] = layer.dc0, c0
    for name, a in arrays.items():
        numeric = numerical_grad(lambda: _loss(layer, x, h0, c0, r_y, r_h, r_c), a)
        err = np.linalg.norm(numeric - analytic[name]) / np.linalg.norm(numeric + analytic[name])
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


# --- the LSTM's gates -------------------------------------------------------------------------


def test_lstm_gates_follow_the_equations() -> None:
    T, B, I, H = 6, 3, 4, 5
    layer = LSTM(I, H, seed=6)
    x, h0, c0, *_ = _random_inputs(T, B, I, H, seed=7)
    y, (h_n, c_n) = layer.forward(x, (h0, c0))
    gates = layer.gates
    assert sorted(gates) == sorted("ifgoch")
    assert all(gates[k].shape == (T, B, H) for k in gates)
    for k in "ifo":
        assert np.all((gates[k] > 0) & (gates[k] < 1)), k
    assert np.all(np.abs(gates["g"]) < 1)
    i, f, g, o, c, h = (gates[k] for k in "ifgoch")
    c_prev = np.concatenate([c0, c[:-1]])  # (T, B, H): c_{t-1}
    np.testing.assert_allclose(c, f * c_prev + i * g, atol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(c), atol=1e-12)
    np.testing.assert_allclose(h, y, atol=1e-12)
    np.testing.assert_allclose(c[-1:], c_n, atol=1e-12)
    # i from its own equation, with torch's row order [i; f; g; o] in the stacked weights
    h_prev = np.concatenate([h0, h[:-1]])
    W_ii, W_hi = layer.weight_ih_l0[:H], layer.weight_hh_l0[:H]
    b_i = layer.bias_ih_l0[:H] + layer.bias_hh_l0[:H]
    z_i = x @ W_ii.T + h_prev @ W_hi.T + b_i  # (T, B, H)
    np.testing.assert_allclose(i, 1 / (1 + np.exp(-z_i)), atol=1e-12)


# --- bad input --------------------------------------------------------------------------------


STATE = r"must have shape \(1, B, H\) = \(1, 2, 4\)"
BAD_INPUTS = [  # (label, shapes that replace the good ones in `_forward_backward`, message regex)
    ("x 2-D", {"x": (5, 3)}, r"3-D \(T, B, I\).*batch_first"),
    ("x 4-D", {"x": (5, 2, 3, 1)}, r"3-D \(T, B, I\).*batch_first"),
    ("x features", {"x": (5, 2, 6)}, r"x must have shape \(T, B, 3\)"),
    ("T = 0", {"x": (0, 2, 3)}, r"T ≥ 1"),
    ("B = 0", {"x": (5, 0, 3)}, r"B ≥ 1"),
    ("h0 batch", {"h0": (1, 3, 4)}, "h0 " + STATE),
    ("h0 2-D", {"h0": (2, 4)}, "h0 " + STATE),
    ("dy", {"dy": (5, 2, 3)}, r"dy must have shape \(T, B, H\) = \(5, 2, 4\)"),
    ("dh_n", {"dh_n": (1, 3, 4)}, "dh_n " + STATE),
    ("c0", {"c0": (1, 2, 5)}, "c0 " + STATE),  # LSTM only
    ("dc_n", {"dc_n": (1, 3, 4)}, "dc_n " + STATE),  # LSTM only
]


def _forward_backward(cls, **shapes) -> None:
    """Forward and backward of a layer with I=3, H=4 on zeros of good shapes, unless overridden."""
    good = {"x": (5, 2, 3), "dy": (5, 2, 4), "h0": (1, 2, 4), "c0": (1, 2, 4)}
    good |= {"dh_n": (1, 2, 4), "dc_n": (1, 2, 4)}
    a = {name: np.zeros(shape) for name, shape in (good | shapes).items()}
    layer = cls(3, 4)
    if cls is LSTM:
        layer.forward(a["x"], (a["h0"], a["c0"]))
        layer.backward(a["dy"], a["dh_n"], a["dc_n"])
    else:
        layer.forward(a["x"], a["h0"])
        layer.backward(a["dy"], a["dh_n"])


@pytest.mark.parametrize(
    "cls, shapes, pattern",
    [
        pytest.param(cls, shapes, pattern, id=f"{cls.__name__}-{label}")
        for cls in (RNN, LSTM)
        for label, shapes, pattern in BAD_INPUTS
        if cls is LSTM or label not in ("c0", "dc_n")
    ],
)
def test_bad_input_raises_value_error_naming_the_shape(cls, shapes, pattern) -> None:
    _forward_backward(cls)  # the good shapes pass
    with pytest.raises(ValueError, match=pattern):
        _forward_backward(cls, **shapes)


def test_lstm_state_must_be_a_pair() -> None:
    with pytest.raises(ValueError, match=r"pair \(h0, c0\)"):
        LSTM(3, 4).forward(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)),))


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_backward_before_forward_is_a_clear_error(cls) -> None:
    with pytest.raises(RuntimeError, match="forward"):
        cls(3, 4).backward(np.zeros((5, 2, 4)))


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"num_layers": 2}, "num_layers=2"),
        ({"bidirectional": True}, "bidirectional"),
        ({"batch_first": True}, "batch_first"),
        ({"bias": False}, "bias=False"),
    ],
)
@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_from_torch_rejects_what_it_cannot_represent(cls, kwargs, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        cls.from_torch(getattr(torch.nn, cls.__name__)(3, 4, **kwargs))


def test_from_torch_rejects_relu_proj_size_and_the_wrong_module() -> None:
    with pytest.raises(ValueError, match="nonlinearity='relu'"):
        RNN.from_torch(torch.nn.RNN(3, 4, nonlinearity="relu"))
    with pytest.raises(ValueError, match="proj_size=2"):
        LSTM.from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ValueError, match="torch.nn.LSTM"):
        LSTM.from_torch(torch.nn.RNN(3, 4))
    with pytest.raises(ValueError, match="float32 or float64"):
        LSTM.from_torch(torch.nn.LSTM(3, 4, dtype=torch.float16))


# --- parameters and sigmoid -------------------------------------------------------------------


@pytest.mark.parametrize("cls, gates", [(RNN, 1), (LSTM, 4)])
def test_init_is_torch_like(cls, gates) -> None:
    I, H = 3, 16
    layer = cls(I, H, dtype=np.float32, seed=8)
    G = gates * H
    shapes = {k: v.shape for k, v in layer.parameters().items()}
    assert shapes == dict(zip(PARAMS, [(G, I), (G, H), (G,), (G,)]))
    for name, p in layer.parameters().items():
        assert p is getattr(layer, name)  # the arrays themselves: updating them updates the layer
        assert p.dtype == np.float32
        assert np.abs(p).max() <= 1 / np.sqrt(H) and p.std() > 0.5 / np.sqrt(3 * H)
    same = cls(I, H, dtype=np.float32, seed=8)
    assert all(np.array_equal(p, same.parameters()[k]) for k, p in layer.parameters().items())
    other = cls(I, H, dtype=np.float32, seed=9)
    assert not np.array_equal(layer.weight_hh_l0, other.weight_hh_l0)


def test_sigmoid_is_exact_and_never_overflows() -> None:
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        big = np.array([-1e4, -800.0, 0.0, 800.0, 1e4], dtype=np.float32)
        s = sigmoid(big)
    assert s.dtype == np.float32
    np.testing.assert_array_equal(s, [0, 0, 0.5, 1, 1])
    z = np.array([-1.0, 2.0])
    out = sigmoid(z, out=z)
    assert out is z
    np.testing.assert_allclose(z, [1 / (1 + np.e), 1 / (1 + np.exp(-2))], rtol=1e-14)
    assert sigmoid(np.array([0, 1])).dtype == np.float64  # integers become floats


def test_sizes_and_state_are_checked() -> None:
    with pytest.raises(TypeError, match="whole numbers"):
        RNN(4.5, 5)
    lstm = LSTM(3, 4)
    x = np.zeros((2, 1, 3))
    with pytest.raises(ValueError, match="pair"):
        lstm.forward(x, np.zeros((2, 1, 1, 4)))  # an array, not the pair (h0, c0)
