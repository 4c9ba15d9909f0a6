"""Chapter 2 checkers: nearest neighbours by cosine similarity, one skip-gram SGD step, the
gradient norms of an unrolled RNN, and attention as a soft lookup.

The references are private (underscore names) so that tab completion in a notebook doesn't hand
out the solutions. The gradient references are PyTorch autograd in float64, so a pass means
"agrees with torch"; torch is imported only when such a check runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from book.exercises._shared import TOL_F64, torch_module
from book.exercises.cases import Case
from book.exercises.check import checker

# ---------------------------------------------------------------------------------------------
# Nearest neighbours by cosine similarity
# ---------------------------------------------------------------------------------------------

_NEIGHBOURS_HINT = (
    "cos(a, b) = a·b / (‖a‖ ‖b‖). Divide every row of E by its length (np.linalg.norm(E, "
    "axis=1, keepdims=True)), take the dot products with row i, set row i's own similarity to "
    "-inf so that it is never chosen, and return np.argsort(-sims)[:k]."
)
_DOT_HINT = (
    "the dot product alone favours long vectors: here the longest row is not the one that "
    "points the same way as row i. Cosine similarity divides by both lengths."
)
_ZERO_HINT = (
    "a row of zeros has no direction: its cosine with anything is 0/0 = nan, which sorts in "
    "arbitrary places. Define it as 0: divide by np.maximum(norms, tiny) (tiny = 1e-12, say), "
    "so that a zero row's similarity is 0 — below every positive similarity and above every "
    "negative one."
)


@checker(
    "cosine_neighbours",
    what="integer indices equal to the reference's, most similar first, row i excluded, "
    "long vectors and zero rows, float32 input",
    hint=_NEIGHBOURS_HINT,
)
def check_cosine_neighbours() -> list[Case]:
    """Check `cosine_neighbours(E, i, k) -> indices (k,)`: the k rows of E (V, D) most
    cosine-similar to row i, most similar first, row i itself left out. A row of zeros has
    similarity 0 with everything. Ties do not occur in the cases."""
    return _neighbour_cases()


def _neighbour_cases() -> list[Case]:
    rng = np.random.default_rng(20)
    long_row = np.array([[1.0, 0.0], [0.9, 0.2], [5.0, 4.0], [-1.0, 0.1], [0.2, 1.0]])
    with_zero = rng.normal(size=(12, 4))
    with_zero[5] = 0.0
    inputs = [
        ("4 vectors in 2-D", np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.1]]), 0, 2,
         None),
        ("a long vector that points elsewhere", long_row, 0, 3, _DOT_HINT),
        ("50 random vectors in 8-D, k = 5", rng.normal(size=(50, 8)), 17, 5, None),
        ("a row of zeros, all 11 others ranked", with_zero, 2, 11, _ZERO_HINT),
        ("float32 vectors", rng.normal(size=(30, 6)).astype(np.float32), 29, 4, None),
    ]
    return [Case(name, (E, i, k), expected=_cosine_neighbours, dtype="any", hint=hint,
                 check=_integer_indices)
            for name, E, i, k, hint in inputs]


def _cosine_neighbours(E: np.ndarray, i: int, k: int) -> np.ndarray:
    """Reference: float64 cosine similarities, zero rows at 0, row i excluded."""
    E = np.asarray(E, dtype=np.float64)
    norms = np.linalg.norm(E, axis=1)
    sims = (E @ E[i]) / np.maximum(norms * norms[i], 1e-300)
    sims[i] = -np.inf
    return np.argsort(-sims, kind="stable")[:k]


def _integer_indices(out: Any, E: np.ndarray, i: int, k: int) -> str | None:
    arr = np.asarray(out)
    if arr.dtype.kind not in "iu":
        return f"return integer indices (np.argsort gives them), got dtype {arr.dtype}"
    if i in arr.tolist():
        return f"the result contains row i = {i} itself: leave it out"
    return None


# ---------------------------------------------------------------------------------------------
# One skip-gram SGD step
# ---------------------------------------------------------------------------------------------

_SGNS_HINT = (
    "with v = W_in[centre], s_o = W_out[context]·v and s_k = W_out[negatives[k]]·v: the loss "
    "-log σ(s_o) - Σ_k log σ(-s_k) has dL/ds_o = σ(s_o) - 1 and dL/ds_k = σ(s_k). So "
    "dv = (σ(s_o) - 1) W_out[context] + Σ_k σ(s_k) W_out[negatives[k]], "
    "du_context = (σ(s_o) - 1) v, du_k = σ(s_k) v. Compute every gradient from the OLD weights, "
    "then subtract lr × gradient from copies of W_in and W_out. (W_in[centre] with an integer "
    "index is a view into the table: once W_in changes, so does v, unless you copy it.)"
)
_DUPLICATE_HINT = (
    "a word drawn twice as a negative must get both updates. W_out[negatives] -= g keeps only "
    "one of them (fancy indexing writes each row once); np.add.at(W_out, negatives, -lr * g) "
    "adds them all, and so does a plain loop."
)
_SAME_WORD_HINT = (
    "here a negative is the context word itself: its row of W_out gets the positive update "
    "and the negative one, both computed from the old weights, added."
)


@checker(
    "sgns_step",
    what="both tables equal to torch autograd + SGD within rtol=1e-10, K = 1 to 5 "
    "negatives, a negative drawn twice, a negative equal to the context, inputs unchanged",
    hint=_SGNS_HINT,
)
def check_sgns_step() -> list[Case]:
    """Check `sgns_step(W_in, W_out, centre, context, negatives, lr) -> (W_in_new, W_out_new)`:
    one plain SGD step on the skip-gram negative-sampling loss of one pair,
    L = -log σ(u_o·v) - Σ_k log σ(-u_k·v) with v = W_in[centre], u_o = W_out[context],
    u_k = W_out[negatives[k]]. New arrays are returned; the inputs are left unchanged. It must
    agree with torch autograd and torch.optim.SGD."""
    return _sgns_cases()


def _sgns_cases() -> list[Case]:
    rng = np.random.default_rng(21)

    def tables(V: int, D: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(scale=0.5, size=(V, D)), rng.normal(scale=0.5, size=(V, D))

    inputs = [
        ("V = 5, D = 3, one negative", *tables(5, 3), 0, 1, np.array([2]), 0.1, None),
        ("V = 20, D = 8, five negatives", *tables(20, 8), 3, 7, np.array([1, 4, 9, 12, 19]),
         0.05, None),
        ("a negative drawn twice", *tables(10, 4), 2, 5, np.array([8, 3, 8]), 0.2,
         _DUPLICATE_HINT),
        ("a negative equal to the context", *tables(10, 4), 1, 6, np.array([6, 0]), 0.2,
         _SAME_WORD_HINT),
        ("the centre word among the negatives (a different table)", *tables(8, 5), 4, 2,
         np.array([4, 7]), 0.3, None),
    ]
    return [Case(name, (W_in, W_out, c, o, neg, lr), expected=_sgns_step, hint=hint,
                 **TOL_F64)
            for name, W_in, W_out, c, o, neg, lr, hint in inputs]


def _sgns_step(W_in: np.ndarray, W_out: np.ndarray, centre: int, context: int,
               negatives: np.ndarray, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Reference: torch autograd and torch.optim.SGD in float64."""
    torch = torch_module()
    w_in = torch.tensor(W_in, dtype=torch.float64, requires_grad=True)
    w_out = torch.tensor(W_out, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w_in, w_out], lr=lr)
    with torch.enable_grad():
        v = w_in[centre]
        neg = torch.as_tensor(np.asarray(negatives, dtype=np.int64))
        loss = -(torch.nn.functional.logsigmoid(w_out[context] @ v)
                 + torch.nn.functional.logsigmoid(-(w_out[neg] @ v)).sum())
        loss.backward()
    opt.step()
    return w_in.detach().numpy(), w_out.detach().numpy()


# ---------------------------------------------------------------------------------------------
# Gradient norms of an unrolled RNN
# ---------------------------------------------------------------------------------------------

_RNN_HINT = (
    "run the RNN forward and keep every h_t. The gradient of L = u·h_T starts as g = u at the "
    "last step. Going back from t = T to 1: da = g * (1 - h_t**2) (through the tanh), the "
    "gradient for x_t is W_ih.T @ da, and the gradient handed to h_{t-1} is W_hh.T @ da. "
    "Return the norms np.linalg.norm(dx_t) in time order, x_1 (row x[0]) first."
)
_VANISH_HINT = (
    "over 40 steps the gradient shrinks by many orders of magnitude; each value is compared "
    "relative to its own size (rtol=1e-8), so tiny values must be right too."
)


@checker(
    "rnn_grad_norms",
    what="norms equal to torch autograd's within rtol=1e-8, T = 1 to 40, vanishing and "
    "exploding weights",
    hint=_RNN_HINT,
)
def check_rnn_grad_norms() -> list[Case]:
    """Check `rnn_grad_norms(x, W_ih, W_hh, b, u) -> norms (T,)`: for the RNN
    h_t = tanh(W_ih x_t + W_hh h_{t-1} + b), t = 1 .. T, from h_0 = 0 over x (T, I) (row x[t - 1]
    is x_t), the norms ‖∂(u·h_T)/∂x_t‖ for t = 1 .. T, in time order. It must agree with torch
    autograd."""
    return _rnn_cases()


def _rnn_cases() -> list[Case]:
    rng = np.random.default_rng(22)

    def weights(I: int, H: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = 1 / np.sqrt(H)
        return (rng.uniform(-k, k, (H, I)), scale * rng.uniform(-k, k, (H, H)),
                rng.uniform(-k, k, H))

    inputs = [
        ("one step (T = 1)", 1, 3, 4, 1.0, None),
        ("T = 6, I = 3, H = 5", 6, 3, 5, 1.0, None),
        ("T = 40, the gradient vanishes", 40, 4, 8, 1.0, _VANISH_HINT),
        ("T = 30, large recurrent weights: it grows", 30, 4, 8, 4.0, None),
    ]
    cases = []
    for name, T, I, H, scale, hint in inputs:
        x = rng.normal(size=(T, I))
        u = rng.normal(size=H)
        cases.append(Case(name, (x, *weights(I, H, scale), u), expected=_rnn_grad_norms,
                          hint=hint, rtol=1e-8, atol=0.0))
    return cases


def _rnn_grad_norms(x: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray,
                    u: np.ndarray) -> np.ndarray:
    """Reference: torch autograd in float64."""
    torch = torch_module()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    W_ih_t, W_hh_t, b_t = (torch.tensor(a, dtype=torch.float64) for a in (W_ih, W_hh, b))
    with torch.enable_grad():
        h = torch.zeros(W_hh.shape[0], dtype=torch.float64)
        for t in range(len(x)):
            h = torch.tanh(W_ih_t @ xt[t] + W_hh_t @ h + b_t)
        (torch.tensor(u, dtype=torch.float64) @ h).backward()
    return xt.grad.norm(dim=1).numpy()


# ---------------------------------------------------------------------------------------------
# Attention as a soft lookup
# ---------------------------------------------------------------------------------------------

_LOOKUP_HINT = (
    "scores s = K @ q / temperature (one per key), weights = softmax(s) (subtract s.max() "
    "before np.exp), output = weights @ V: the weighted sum of the value rows. Return the pair "
    "(weights, output)."
)
_LOOKUP_LARGE_HINT = (
    "these scores are in the thousands: np.exp overflows to inf, and inf / inf is nan. Subtract "
    "the largest score first; softmax does not change."
)


@checker(
    "soft_lookup",
    what="(weights, output) within rtol=1e-10, temperatures from 0.01 to 100, scores in "
    "the thousands, one key",
    hint=_LOOKUP_HINT,
)
def check_soft_lookup() -> list[Case]:
    """Check `soft_lookup(q, K, V, temperature=1.0) -> (weights (N,), output (d_v,))`: the
    softmax of the scores K q / temperature, and the weighted sum of the rows of V (N, d_v)."""
    return _lookup_cases()


def _lookup_cases() -> list[Case]:
    rng = np.random.default_rng(23)
    K, V = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    q = np.array([1.0, 0.5])
    inputs = [
        ("5 keys in 2-D, temperature 1 (the default)", (q, K, V), {}, None),
        ("temperature 0.01: nearly a hard lookup", (q, K, V), {"temperature": 0.01}, None),
        ("temperature 100: nearly the mean of the values", (q, K, V), {"temperature": 100.0},
         None),
        ("scores in the thousands", (np.array([900.0, -300.0]), K, V), {}, _LOOKUP_LARGE_HINT),
        ("one key", (q, K[:1], V[:1]), {"temperature": 2.0}, None),
        ("8 keys in 16-D, temperature √16", (rng.normal(size=16), rng.normal(size=(8, 16)),
                                             rng.normal(size=(8, 4))), {"temperature": 4.0},
         None),
    ]
    return [Case(name, args, kwargs, expected=_soft_lookup, hint=hint, **TOL_F64)
            for name, args, kwargs, hint in inputs]


def _soft_lookup(q: np.ndarray, K: np.ndarray, V: np.ndarray, temperature: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    scores = K @ q / temperature
    w = np.exp(scores - scores.max())
    w /= w.sum()
    return w, w @ V

