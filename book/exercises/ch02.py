"""Chapter 2 checkers: nearest neighbours by cosine similarity, one skip-gram SGD step, the
gradient norms of an unrolled RNN, and attention as a soft lookup.

The references are private (underscore names) so that tab completion in a notebook doesn't hand
out the solutions. The gradient references are PyTorch autograd in float64, so a pass means
"agrees with torch"; torch is imported only when such a check runs. Grading adds hidden cases of
the same kinds, drawn from the instructor's seed (`_*_grading`).
"""

from __future__ import annotations

from collections.abc import Callable
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


# Hidden tables are redrawn until the similarities that decide the answer are this far apart,
# so that float32 rounding (or another order of the sums) can't swap two neighbours.
_MIN_SIM_GAP = 1e-4


def _neighbours_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random tables and k, a long vector, a zero row, float32; no near-ties."""

    def sizes(v: tuple[int, int], d: tuple[int, int]) -> tuple[int, int]:
        return int(rng.integers(*v)), int(rng.integers(*d))

    V1, D1 = sizes((4, 9), (2, 5))
    k1 = int(rng.integers(1, V1 - 1))
    V3, D3 = sizes((30, 61), (5, 11))
    k3 = int(rng.integers(3, 9))
    V4, D4 = sizes((8, 15), (3, 6))
    V5, D5 = sizes((20, 41), (4, 9))
    k5 = int(rng.integers(2, 7))
    inputs = [
        (f"{V1} vectors in {D1}-D, k = {k1}", *_separated_table(rng, V1, D1, k1), k1, None),
        ("a long vector that points elsewhere", *_long_vector_table(rng), _DOT_HINT),
        (f"{V3} random vectors in {D3}-D, k = {k3}", *_separated_table(rng, V3, D3, k3), k3,
         None),
        (f"a row of zeros, all {V4 - 1} others ranked",
         *_separated_table(rng, V4, D4, V4 - 1, zero_row=True), V4 - 1, _ZERO_HINT),
        ("float32 vectors", *_separated_table(rng, V5, D5, k5, np.float32), k5, None),
    ]
    return [Case(name, (E, i, k), expected=_cosine_neighbours, dtype="any", hint=hint,
                 check=_integer_indices)
            for name, E, i, k, hint in inputs]


def _cosines(E: np.ndarray, i: int) -> np.ndarray:
    """Row i's float64 cosine similarities with every row (0 for a zero row), itself -inf."""
    E = np.asarray(E, dtype=np.float64)
    norms = np.linalg.norm(E, axis=1)
    sims = (E @ E[i]) / np.maximum(norms * norms[i], 1e-300)
    sims[i] = -np.inf
    return sims


def _well_separated(E: np.ndarray, i: int, k: int) -> bool:
    """Whether the k + 1 largest similarities to row i (the answer and the next) are apart."""
    top = np.sort(_cosines(E, i))[::-1][: k + 1]
    top = top[np.isfinite(top)]
    return bool(len(top) < 2 or np.diff(top).min() < -_MIN_SIM_GAP)


def _separated_table(
    rng: np.random.Generator, V: int, D: int, k: int, dtype: Any = np.float64,
    *, zero_row: bool = False,
) -> tuple[np.ndarray, int]:
    """A random (V, D) table and a row i whose k nearest neighbours are clear (no near-ties)."""
    for _ in range(1000):
        E = rng.normal(size=(V, D)).astype(dtype)
        i = int(rng.integers(V))
        if zero_row:
            E[(i + int(rng.integers(1, V))) % V] = 0.0  # any row but i
        if _well_separated(E, i, k):
            return E, i
    raise RuntimeError("no well-separated table drawn")  # ~never: near-ties are rare


def _long_vector_table(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """A small table where the row with the largest dot product with row i is not among its k
    most cosine-similar rows: it points elsewhere but is long."""
    for _ in range(1000):
        V, D = int(rng.integers(5, 9)), int(rng.integers(2, 4))
        k = int(rng.integers(1, 4))
        E, i = _separated_table(rng, V, D, k)
        j = int(np.argsort(-_cosines(E, i), kind="stable")[k])  # the first row left out
        dots = E @ E[i]
        if _cosines(E, i)[j] <= 0.1:
            continue  # a row pointing away would need to be negative-long; draw again
        others = np.delete(dots, [i, j])
        E[j] *= max(3.0, 2 * others.max() / dots[j]) * rng.uniform(1.0, 2.0)
        return E, i, k
    raise RuntimeError("no table with a long vector drawn")


@checker(
    "cosine_neighbours",
    what="integer indices equal to the reference's, most similar first, row i excluded, "
    "long vectors and zero rows, float32 input",
    hint=_NEIGHBOURS_HINT,
    grading=_neighbours_grading,
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
    return np.argsort(-_cosines(E, i), kind="stable")[:k]


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


def _sgns_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random tables, words and rates; 1 to 5 negatives, one drawn twice, one
    equal to the context, one equal to the centre."""

    def case(name: str, V_range: tuple[int, int], n_other: int,
             negatives: Callable[[int, int, list[int]], list[int]], hint: str | None) -> Case:
        # A centre, a context and n_other more words, all different; `negatives` picks the
        # negatives from them: (centre, context, others) -> words.
        V, D = int(rng.integers(*V_range)), int(rng.integers(3, 9))
        W_in, W_out = rng.normal(scale=0.5, size=(V, D)), rng.normal(scale=0.5, size=(V, D))
        centre, context, *others = (int(w) for w in rng.choice(V, 2 + n_other, replace=False))
        neg = rng.permutation(np.array(negatives(centre, context, others), dtype=np.int64))
        lr = float(rng.uniform(0.05, 0.3))
        return Case(name.format(V=V, D=D), (W_in, W_out, centre, context, neg, lr),
                    expected=_sgns_step, hint=hint, **TOL_F64)

    K = int(rng.integers(2, 6))
    return [
        case("V = {V}, D = {D}, one negative", (5, 11), 1, lambda c, o, w: w, None),
        case(f"V = {{V}}, D = {{D}}, {K} negatives", (12, 26), K, lambda c, o, w: w, None),
        case("a negative drawn twice", (8, 13), int(rng.integers(2, 4)),
             lambda c, o, w: [*w, w[0]], _DUPLICATE_HINT),
        case("a negative equal to the context", (8, 13), int(rng.integers(1, 3)),
             lambda c, o, w: [*w, o], _SAME_WORD_HINT),
        case("the centre word among the negatives (a different table)", (6, 11),
             int(rng.integers(1, 3)), lambda c, o, w: [*w, c], None),
    ]


@checker(
    "sgns_step",
    what="both tables equal to torch autograd + SGD within rtol=1e-10, K = 1 to 5 "
    "negatives, a negative drawn twice, a negative equal to the context, inputs unchanged",
    hint=_SGNS_HINT,
    grading=_sgns_grading,
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


def _rnn_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random sizes, weights and inputs; T = 1, a short T, vanishing over 30 to
    45 steps, exploding with large recurrent weights."""

    def sizes(i: tuple[int, int], h: tuple[int, int]) -> tuple[int, int]:
        return int(rng.integers(*i)), int(rng.integers(*h))

    I1, H1 = sizes((2, 6), (2, 7))
    T2, (I2, H2) = int(rng.integers(2, 11)), sizes((2, 6), (3, 8))
    T3, (I3, H3) = int(rng.integers(30, 46)), sizes((3, 6), (6, 11))
    T4, (I4, H4) = int(rng.integers(20, 31)), sizes((3, 6), (6, 11))
    return [
        _rnn_case(rng, f"one step (T = 1), I = {I1}, H = {H1}", 1, I1, H1, 1.0, None),
        _rnn_case(rng, f"T = {T2}, I = {I2}, H = {H2}", T2, I2, H2, 1.0, None),
        _rnn_case(rng, f"T = {T3}, the gradient vanishes", T3, I3, H3, 1.0, _VANISH_HINT),
        _rnn_case(rng, f"T = {T4}, large recurrent weights: it grows", T4, I4, H4,
                  float(rng.uniform(3.5, 4.5)), None),
    ]


@checker(
    "rnn_grad_norms",
    what="norms equal to torch autograd's within rtol=1e-8, T = 1 to 40, vanishing and "
    "exploding weights",
    hint=_RNN_HINT,
    grading=_rnn_grading,
)
def check_rnn_grad_norms() -> list[Case]:
    """Check `rnn_grad_norms(x, W_ih, W_hh, b, u) -> norms (T,)`: for the RNN
    h_t = tanh(W_ih x_t + W_hh h_{t-1} + b), t = 1 .. T, from h_0 = 0 over x (T, I) (row x[t - 1]
    is x_t), the norms ‖∂(u·h_T)/∂x_t‖ for t = 1 .. T, in time order. It must agree with torch
    autograd."""
    return _rnn_cases()


def _rnn_cases() -> list[Case]:
    rng = np.random.default_rng(22)
    inputs = [
        ("one step (T = 1)", 1, 3, 4, 1.0, None),
        ("T = 6, I = 3, H = 5", 6, 3, 5, 1.0, None),
        ("T = 40, the gradient vanishes", 40, 4, 8, 1.0, _VANISH_HINT),
        ("T = 30, large recurrent weights: it grows", 30, 4, 8, 4.0, None),
    ]
    return [_rnn_case(rng, *setup) for setup in inputs]


def _rnn_case(rng: np.random.Generator, name: str, T: int, I: int, H: int, scale: float,
              hint: str | None) -> Case:
    """A case with inputs x (T, I), u (H,) and weights drawn from rng, W_hh scaled by `scale`."""
    x = rng.normal(size=(T, I))
    u = rng.normal(size=H)
    k = 1 / np.sqrt(H)
    weights = (rng.uniform(-k, k, (H, I)), scale * rng.uniform(-k, k, (H, H)),
               rng.uniform(-k, k, H))
    return Case(name, (x, *weights, u), expected=_rnn_grad_norms, hint=hint, rtol=1e-8,
                atol=0.0)


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


def _lookup_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: random keys, values and queries; small and large temperatures, scores in
    the thousands, one key, temperature √d."""

    def table(N: int, d: int, d_v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return rng.normal(size=d), rng.normal(size=(N, d)), rng.normal(size=(N, d_v))

    N, d, d_v = int(rng.integers(3, 9)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    q, K, V = table(N, d, d_v)
    cold, hot = float(rng.uniform(0.005, 0.02)), float(rng.uniform(50.0, 200.0))
    # A query whose largest score, in absolute value, is positive and in the thousands.
    q_big, K_big, V_big = table(int(rng.integers(3, 9)), d, d_v)
    scores = K_big @ q_big
    q_big *= rng.uniform(1000.0, 3000.0) / scores[np.argmax(np.abs(scores))]
    q1, K1, V1 = table(1, d, d_v)
    d_big = int(rng.integers(4, 33))
    inputs = [
        (f"{N} keys in {d}-D, temperature 1 (the default)", (q, K, V), {}, None),
        (f"temperature {cold:.3g}: nearly a hard lookup", (q, K, V), {"temperature": cold},
         None),
        (f"temperature {hot:.3g}: nearly the mean of the values", (q, K, V),
         {"temperature": hot}, None),
        ("scores in the thousands", (q_big, K_big, V_big), {}, _LOOKUP_LARGE_HINT),
        ("one key", (q1, K1, V1), {"temperature": float(rng.uniform(0.5, 4.0))}, None),
        (f"{N + 3} keys in {d_big}-D, temperature √{d_big}", table(N + 3, d_big, d_v),
         {"temperature": float(np.sqrt(d_big))}, None),
    ]
    return [Case(name, args, kwargs, expected=_soft_lookup, hint=hint, **TOL_F64)
            for name, args, kwargs, hint in inputs]


@checker(
    "soft_lookup",
    what="(weights, output) within rtol=1e-10, temperatures from 0.01 to 100, scores in "
    "the thousands, one key",
    hint=_LOOKUP_HINT,
    grading=_lookup_grading,
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

