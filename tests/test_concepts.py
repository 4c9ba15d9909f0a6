"""book.concepts: the gradient-versus-distance measurement against torch autograd, the soft lookup,
the two spirals and the MLP's training run (the MLP itself: test_np_nn_mlp.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book import concepts
from book.np_nn import LSTM, RNN
from book.np_nn.mlp import MLP
from book.np_nn.optim import Adam


@pytest.mark.parametrize("layer_class", [RNN, LSTM])
def test_gradient_norms_by_distance_match_torch_autograd(layer_class):
    T, B, I, H = 12, 3, 4, 5
    layer = layer_class(I, H, seed=2)
    norms = concepts.gradient_norms_by_distance(layer, T=T, B=B, seed=7)
    torch_layer = getattr(torch.nn, layer_class.torch_name)(I, H, dtype=torch.float64)
    with torch.no_grad():
        for name, p in torch_layer.named_parameters():
            p.copy_(torch.from_numpy(layer.parameters()[name]))
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.standard_normal((T, B, I)), requires_grad=True)
    u = rng.standard_normal((B, H))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    y, _ = torch_layer(x)
    (y[-1] * torch.from_numpy(u)).sum().backward()
    expected = x.grad.norm(dim=2).mean(dim=1).flip(0).numpy()
    assert norms.shape == (T,)
    assert np.allclose(norms, expected, rtol=1e-10, atol=0)


def test_the_gradient_vanishes_for_a_small_rnn_and_explodes_for_a_large_one():
    small = RNN(8, 16, seed=1)
    large = RNN(8, 16, seed=1)
    large.weight_hh_l0 *= 5
    n_small = concepts.gradient_norms_by_distance(small, T=40, B=8)
    n_large = concepts.gradient_norms_by_distance(large, T=40, B=8)
    assert n_small[39] < 1e-6 * n_small[0]
    assert n_large[39] > 10 * n_large[0]


def test_soft_lookup_weights_output_and_limits():
    K = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    V = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    q = np.array([2.0, 1.0])
    scores, w, out = concepts.soft_lookup(q, K, V)
    assert np.allclose(scores, [2.0, 1.0, -2.0])
    e = np.exp(scores)
    assert np.allclose(w, e / e.sum()) and w.sum() == pytest.approx(1)
    assert np.allclose(out, w @ V)
    assert np.allclose(concepts.soft_lookup(q, K, V, temperature=1e-3)[2], V[0])
    assert np.allclose(concepts.soft_lookup(q, K, V, temperature=1e6)[2], V.mean(0), atol=1e-5)
    _, w_big, _ = concepts.soft_lookup(1000 * q, K, V)  # scores in the thousands
    assert np.all(np.isfinite(w_big)) and w_big[0] == pytest.approx(1)


def test_two_spirals():
    X, y = concepts.two_spirals(50, seed=3)
    assert X.shape == (100, 2) and y.tolist() == [0] * 50 + [1] * 50
    assert np.abs(X).max() < 3
    X2, _ = concepts.two_spirals(50, seed=3)
    assert np.array_equal(X, X2)
    # the second arm is the first turned by 180 degrees (up to the noise)
    X0, _ = concepts.two_spirals(50, noise=0.0, seed=3)
    assert np.allclose(X0[50:], -X0[:50])


def test_training_snapshots_and_a_linear_model_cannot_separate_spirals():
    X, y = concepts.two_spirals(100, seed=0)
    steps = concepts.log_spaced_steps(400, 8)
    assert steps[0] == 0 and steps[-1] == 400 and steps == sorted(set(steps))
    deep = concepts.train_mlp(MLP([2, 16, 16, 1]), X, y, 400, steps, grid_n=11)
    linear = concepts.train_mlp(MLP([2, 1]), X, y, 400, steps, grid_n=11)
    assert [s.step for s in deep] == steps
    assert deep[-1].grid.shape == (11, 11) and 0 <= deep[-1].grid.min() <= deep[-1].grid.max() <= 1
    assert deep[-1].loss < deep[0].loss
    assert deep[-1].train_acc > 0.9 > 0.8 > linear[-1].train_acc
    assert deep[-1].test_acc == deep[-1].train_acc  # no test set given: the training points


def test_train_mlp_takes_adam_steps_on_the_models_own_arrays():
    X, y = concepts.two_spirals(20, seed=2)
    mlp, twin = MLP([2, 6, 1], seed=4), MLP([2, 6, 1], seed=4)
    frames = concepts.train_mlp(mlp, X, y, steps=3, snapshot_steps=[3], lr=0.05, grid_n=3)
    adam = Adam(twin.parameters(), lr=0.05)
    for _ in range(3):
        adam.step(twin.loss_and_grads(X, y)[1])
    for name, p in mlp.parameters().items():
        assert np.array_equal(p, twin.parameters()[name]), name
    assert frames[0].loss == twin.loss(X, y)
