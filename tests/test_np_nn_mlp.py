"""book.np_nn.mlp.MLP: the hand-written backward pass against finite differences and torch, and
the parameters() dict that Adam and the chapter use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book.concepts import two_spirals
from book.gradcheck import numerical_grad, rel_error
from book.np_nn.mlp import MLP


def test_parameters_are_named_by_layer_and_are_the_arrays_themselves():
    mlp = MLP([2, 5, 4, 1], seed=1)
    params = mlp.parameters()
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [p.shape for p in params.values()] == [(2, 5), (5,), (5, 4), (4,), (4, 1), (1,)]
    params["b3"] += 1.0  # the arrays themselves: updating them changes the model
    assert mlp.bs[-1][0] == 1.0
    X = np.zeros((3, 2))
    assert np.allclose(mlp.forward(X)[0], np.tanh(np.tanh(X @ mlp.Ws[0]) @ mlp.Ws[1]) @ mlp.Ws[2]
                       + 1.0)


def test_mlp_gradients_match_finite_differences_and_torch():
    X, y = two_spirals(10, seed=0)
    mlp = MLP([2, 5, 4, 1], seed=1)
    loss, grads = mlp.loss_and_grads(X, y)
    params = mlp.parameters()
    assert list(grads) == list(params)
    for name, p in params.items():
        assert grads[name].shape == p.shape
        assert rel_error(grads[name], numerical_grad(lambda: mlp.loss(X, y), p)) < 1e-7
    t = {name: torch.tensor(p, requires_grad=True) for name, p in params.items()}
    h = torch.from_numpy(X)
    for n in (1, 2):
        h = torch.tanh(h @ t[f"W{n}"] + t[f"b{n}"])
    z = (h @ t["W3"] + t["b3"])[:, 0]
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(z, torch.from_numpy(y * 1.0))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for name, p in t.items():
        assert rel_error(grads[name], p.grad.numpy()) < 1e-12


def test_predict_proba_is_the_sigmoid_of_the_logit_even_far_out():
    mlp = MLP([2, 1], seed=0)
    mlp.Ws[0][:] = [[1000.0], [0.0]]
    p = mlp.predict_proba(np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))
    assert np.all(np.isfinite(p)) and p.tolist() == [0.0, 0.5, 1.0]


def test_mlp_rejects_a_bad_shape():
    with pytest.raises(ValueError, match="inputs, hidden"):
        MLP([2, 4, 2])
