"""book.np_nn.optim.Adam: the same steps as torch.optim.Adam, in place, on a dict or a list."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book.np_nn.optim import Adam

# A loss with a different curvature per coordinate, so that Adam's per-coordinate scaling
# matters: L = Σ a ⊙ θ² / 2 + Σ sin(θ), gradient a ⊙ θ + cos(θ).
SCALES = {"W": np.array([[1.0, 30.0, 0.1], [5.0, 0.5, 2.0]]), "b": np.array([0.01, 100.0])}


def _grads(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: SCALES[k] * p + np.cos(p) for k, p in params.items()}


@pytest.mark.parametrize("hyper", [{}, {"betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_takes_torch_optim_adams_steps(hyper):
    rng = np.random.default_rng(0)
    ours = {k: rng.standard_normal(s.shape) for k, s in SCALES.items()}
    theirs = {k: torch.tensor(p, requires_grad=True) for k, p in ours.items()}
    adam = Adam(ours, lr=0.05, **hyper)
    torch_adam = torch.optim.Adam(theirs.values(), lr=0.05, **hyper)
    start = {k: p.copy() for k, p in ours.items()}
    for step in range(25):
        adam.step(_grads(ours))
        torch_adam.zero_grad()
        for k, p in theirs.items():
            p.grad = torch.from_numpy(_grads({k: p.detach().numpy()})[k])
        torch_adam.step()
        for k in ours:
            np.testing.assert_allclose(ours[k], theirs[k].detach().numpy(), rtol=1e-12,
                                       atol=1e-14, err_msg=f"{k} after step {step + 1}")
    assert adam.t == 25
    assert all(np.abs(ours[k] - start[k]).max() > 0.1 for k in ours)  # it did move


def test_the_first_step_moves_every_coordinate_by_lr():
    # m̂ = g and v̂ = g² after one step: the update is lr · g / (|g| + ε), about lr · sign(g)
    p = np.array([3.0, -2.0, 0.5])
    Adam([p], lr=0.1).step([np.array([1e-3, -50.0, 7.0])])
    np.testing.assert_allclose(p, [2.9, -1.9, 0.4], rtol=1e-5)


def test_adam_updates_the_callers_arrays_and_follows_lr_changes():
    W, b = np.ones((2, 2), np.float32), np.zeros(2, np.float32)
    adam = Adam([W, b], lr=0.5)
    adam.step([np.ones((2, 2), np.float32), -np.ones(2, np.float32)])
    assert W.dtype == np.float32 and np.allclose(W, 0.5) and np.allclose(b, 0.5)
    adam.lr = 0.0  # a schedule may set it between steps
    adam.step([np.ones((2, 2), np.float32), -np.ones(2, np.float32)])
    assert np.allclose(W, 0.5) and np.allclose(b, 0.5)


def test_adam_refuses_mismatched_gradients_and_bad_parameters():
    adam = Adam({"w": np.zeros(3)})
    with pytest.raises(ValueError, match="dict of 1"):
        adam.step([np.zeros(3)])
    with pytest.raises(ValueError, match="keys"):
        adam.step({"v": np.zeros(3)})
    with pytest.raises(ValueError, match="shape"):
        adam.step({"w": np.zeros(4)})
    with pytest.raises(TypeError, match="float NumPy array"):
        Adam([np.zeros(3, np.int64)])
    with pytest.raises(TypeError, match="float NumPy array"):
        Adam([[0.0, 1.0]])
    with pytest.raises(ValueError, match="betas"):
        Adam([np.zeros(3)], betas=(1.0, 0.999))
