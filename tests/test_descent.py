"""book.descent: update rules equal torch.optim's; the valley's stability limit is 2/λ_max."""

import numpy as np
import pytest
import sympy as sp
import torch

from book.descent import LOSSES, descent_path, loss_grid

VALLEY, SADDLE = LOSSES["valley"], LOSSES["saddle"]

# (optimizer, our hyperparameters, the torch optimiser that should take the very same steps)
TORCH_TWINS = [
    ("sgd", {}, lambda p, lr: torch.optim.SGD([p], lr=lr)),
    ("momentum", {}, lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9)),
    ("momentum", {"beta": 0.5}, lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.5)),
    ("adam", {}, lambda p, lr: torch.optim.Adam([p], lr=lr)),
    ("adam", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
     lambda p, lr: torch.optim.Adam([p], lr=lr, betas=(0.8, 0.99), eps=1e-6)),
]


def _torch_path(loss, make_optimizer, lr, steps):
    # The losses are polynomials, so lambdify's "math" version works on tensors unchanged.
    f = sp.lambdify(loss.symbols, loss.expr, "math")
    p = torch.tensor(loss.start, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(p, lr)
    path = [p.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(p[0], p[1]).backward()
        opt.step()
        path.append(p.detach().clone())
    return torch.stack(path).numpy()


def _steps_to(loss, path, tol=1e-3):
    """Index of the first iterate with loss < tol (None if never)."""
    below = np.flatnonzero(loss.f(path[:, 0], path[:, 1]) < tol)
    return int(below[0]) if below.size else None


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("optimizer, hyper, twin", TORCH_TWINS)
def test_update_rules_match_torch_optim(name, optimizer, hyper, twin):
    loss = LOSSES[name]
    lr = {"sgd": 0.07, "momentum": 0.03, "adam": 0.1}[optimizer]
    ours = descent_path(loss, optimizer, lr, 20, **hyper)
    assert np.abs(ours - _torch_path(loss, twin, lr, 20)).max() < 1e-10


def test_momentum_by_hand():
    # PyTorch's heavy ball, as descent_path has it: u ← βu + g, θ ← θ − ηu, from u = 0.
    # (The textbook v ← βv − ηg, θ ← θ + v is the same with v = −ηu, while η is constant.)
    # On the valley the gradient at (x, y) is (x, 25y).
    lr, beta = 0.03, 0.9
    t0 = np.array(VALLEY.start)
    g0 = t0 * [1, 25]
    t1 = t0 - lr * g0
    g1 = t1 * [1, 25]
    t2 = t1 - lr * (beta * g0 + g1)
    path = descent_path(VALLEY, "momentum", lr, 2)
    np.testing.assert_allclose(path, [t0, t1, t2], rtol=0, atol=1e-15)


def test_the_stability_limit_is_two_over_the_largest_hessian_eigenvalue():
    hessian = sp.hessian(VALLEY.expr, VALLEY.symbols)
    assert hessian.eigenvals() == {1: 1, 25: 1}
    lr_max = 2 / max(hessian.eigenvals())
    assert lr_max == sp.Rational(2, 25)

    converged = descent_path(VALLEY, "sgd", 0.07, 500)[-1]
    assert VALLEY.f(*converged) < 1e-12
    diverged = descent_path(VALLEY, "sgd", 0.09, 500)
    assert np.isnan(diverged[-1]).all()
    # every listed learning rate, including 0.079 and 0.081, lands on the side 2/λ_max predicts
    for lr in VALLEY.learning_rates:
        path = descent_path(VALLEY, "sgd", lr, 2000)
        assert np.isnan(path[-1]).any() == (lr > lr_max), lr


def test_momentum_and_adam_reach_the_valley_floor_first():
    for lr in (0.02, 0.03):  # stable for all three; in steps of about lr, Adam crosses the box
        sgd, momentum, adam = (_steps_to(VALLEY, descent_path(VALLEY, o, lr, 1000))
                               for o in ("sgd", "momentum", "adam"))
        assert momentum < sgd / 1.5 and adam < sgd / 1.5, (lr, sgd, momentum, adam)


def test_saddle_paths_escape_to_a_minimum():
    hessian = sp.hessian(SADDLE.expr, SADDLE.symbols).subs({s: 0 for s in SADDLE.symbols})
    assert sorted(hessian.eigenvals()) == [-1, 1]  # a saddle at the origin
    np.testing.assert_array_equal(SADDLE.grad(0.0, 0.0), [0.0, 0.0])
    for optimizer in ("sgd", "momentum", "adam"):
        end = descent_path(SADDLE, optimizer, 0.05, 400)[-1]
        np.testing.assert_allclose(end, [0, 1], atol=1e-3)
    slow = descent_path(SADDLE, "sgd", 0.01, 300)
    assert abs(slow[-1, 1]) < 0.5  # lr = 0.01 still lingers near the ridge, as the note says
    hopping = descent_path(SADDLE, "sgd", 1.1, 400)
    assert np.isfinite(hopping).all() and abs(hopping[-1, 1] - hopping[-2, 1]) > 0.1
    assert np.isnan(descent_path(SADDLE, "sgd", 2.5, 50)[-1]).all()


def test_a_diverged_path_keeps_its_shape_and_ends_in_nan():
    path = descent_path(VALLEY, "sgd", 0.2, 100)
    assert path.shape == (101, 2)
    finite = np.isfinite(path).all(axis=1)
    first_nan = int(np.argmin(finite))
    assert 0 < first_nan < 100 and not finite[first_nan:].any() and finite[:first_nan].all()
    assert np.abs(path[:first_nan]).max() <= 1e6


def test_descent_path_refuses_unknown_names():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        descent_path(VALLEY, "rmsprop", 0.1, 3)
    with pytest.raises(TypeError, match="no hyperparameter"):
        descent_path(VALLEY, "sgd", 0.1, 3, beta=0.9)


@pytest.mark.parametrize("name", LOSSES)
def test_loss_grid_and_lambdified_functions(name):
    loss = LOSSES[name]
    X, Y, Z = loss_grid(loss, n=51)
    assert X.shape == Y.shape == Z.shape == (51, 51)
    assert (X[0, 0], X[0, -1], Y[0, 0], Y[-1, 0]) == loss.box
    x, y = loss.symbols
    point = {x: 0.3, y: -0.7}
    assert Z[10, 20] == pytest.approx(float(loss.expr.subs({x: X[10, 20], y: Y[10, 20]})))
    grad = [float(sp.diff(loss.expr, s).subs(point)) for s in (x, y)]
    np.testing.assert_allclose(loss.grad(0.3, -0.7), grad, rtol=1e-14)
    xmin, xmax, ymin, ymax = loss.box
    assert xmin < loss.start[0] < xmax and ymin < loss.start[1] < ymax
