"""Gradient descent, momentum and Adam on two 2-D losses whose shape one can see (chapter 4).

Each loss is written once, as a SymPy expression; its NumPy value and gradient are derived
from it by `sympy.lambdify`, so the formula in the text and the numbers in the plots agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from book.np_nn.optim import Adam

x, y = sp.symbols("x y", real=True)


@dataclass(frozen=True)
class Loss:
    """A 2-D loss: formula, NumPy versions, and what is worth plotting."""

    name: str
    expr: sp.Expr
    symbols: tuple[sp.Symbol, sp.Symbol]
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]  # works on grids too
    grad: Callable[[float, float], np.ndarray]  # (∂f/∂x, ∂f/∂y) at one point
    box: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax of the plots
    start: tuple[float, float]
    learning_rates: tuple[float, ...]
    note: str


def make_loss(name: str, expr: sp.Expr, box: tuple[float, float, float, float],
              start: tuple[float, float], learning_rates: tuple[float, ...], note: str) -> Loss:
    """A Loss from a SymPy expression in x and y; f and grad come from lambdify."""
    f = sp.lambdify((x, y), expr, "numpy")
    dfdx, dfdy = (sp.lambdify((x, y), sp.diff(expr, s), "numpy") for s in (x, y))
    return Loss(name, expr, (x, y), f, lambda a, b: np.array([dfdx(a, b), dfdy(a, b)], dtype=float),
                tuple(box), tuple(start), tuple(learning_rates), note)


LOSSES = {
    "valley": make_loss(
        "valley",
        (x**2 + 25 * y**2) / 2,
        box=(-1.25, 1.25, -0.5, 0.5),
        start=(-1.0, 0.3),
        learning_rates=(0.01, 0.03, 0.07, 0.079, 0.081, 0.09),
        note="A narrow valley. The Hessian is diag(1, 25): gradient descent multiplies y by "
        "(1 − 25·lr) each step, so it diverges once lr > 2/25 = 0.08, while x shrinks only "
        "by (1 − lr): the steep direction caps the learning rate, the flat one sets the pace. "
        "At lr = 0.03, momentum and Adam reach f < 10⁻³ in about 50 steps, plain descent in "
        "about 100 (Adam moves about lr per step whatever the slope, so this depends on the "
        "distance from the start).",
    ),
    "saddle": make_loss(
        "saddle",
        (x**2 - y**2) / 2 + y**4 / 4,
        box=(-2, 2, -1.6, 1.6),
        start=(-1.8, 0.01),
        learning_rates=(0.01, 0.05, 0.2, 0.5, 0.9, 1.1, 2.5),
        note="A saddle at (0, 0), Hessian diag(1, −1), between two minima at (0, ±1) where "
        "f = −1/4. Started just off the ridge, gradient descent first slides into the saddle, "
        "lingers while y grows by (1 + lr) per step, then escapes (with lr = 0.01, not within "
        "300 steps). The quartic term walls the view in. At the minima the Hessian is "
        "diag(1, 2), so for lr > 1 gradient descent no longer settles: at 1.1 it hops between "
        "two points either side of the minimum, at 2.5 it is thrown out.",
    ),
}

HYPER = {  # default hyperparameters of each optimiser (PyTorch's defaults)
    "sgd": {},
    "momentum": {"beta": 0.9},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


def descent_path(loss: Loss, optimizer: str, lr: float, steps: int, **hyper: float) -> np.ndarray:
    """The iterates θ₀ … θ_steps, shape (steps + 1, 2); rows after a divergence are NaN."""
    if optimizer not in HYPER:
        raise ValueError(f"optimizer must be one of {sorted(HYPER)}, not {optimizer!r}")
    h = {**HYPER[optimizer], **hyper}
    if unknown := set(h) - set(HYPER[optimizer]):
        raise TypeError(f"{optimizer} has no hyperparameter {sorted(unknown)}")
    path = np.full((steps + 1, 2), np.nan)  # NaN rows are simply not drawn by matplotlib
    theta = np.array(loss.start, dtype=float)  # every optimiser below updates it in place
    path[0] = theta
    velocity = np.zeros(2)  # momentum: a decaying sum of past gradients
    if optimizer == "adam":  # running means of the gradient and its square, bias-corrected
        adam = Adam([theta], lr, betas=(h["beta1"], h["beta2"]), eps=h["eps"])
    for t in range(1, steps + 1):
        g = loss.grad(*theta)
        if optimizer == "sgd":
            theta -= lr * g  # θ ← θ − η ∇f
        elif optimizer == "momentum":
            velocity = h["beta"] * velocity + g  # u ← β u + ∇f   (PyTorch's heavy ball)
            theta -= lr * velocity  # θ ← θ − η u
        elif optimizer == "adam":
            adam.step([g])  # θ ← θ − η m̂/(√v̂ + ε), see book.np_nn.optim.Adam
        if not np.all(np.isfinite(theta)) or np.abs(theta).max() > 1e6:
            break  # diverged: leave this row and the rest NaN, so the plot keeps its scale
        path[t] = theta
    return path


def loss_grid(loss: Loss, n: int = 201) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, Y, Z = f(X, Y) on an n × n grid over the loss's box, for contour plots and heat maps."""
    xmin, xmax, ymin, ymax = loss.box
    X, Y = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    return X, Y, loss.f(X, Y)
