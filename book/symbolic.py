"""Symbolic derivations with SymPy (chapter 4): the calculus behind the NumPy code of chapter 3.

Chapter 3 wrote every backward pass by hand. Here SymPy derives the same derivatives from the
forward equations alone, and *proves* the identities the hand-written code relies on:

- activations: σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU' = Heaviside, the two GELUs, and the softmax
  Jacobian diag(p) − p pᵀ (`derivative`, `prove_identities`, `lambdified` for plots);
- gradient descent: the Hessian's eigenvalues and the largest stable learning rate 2/λ_max
  (`hessian_eigenvalues`, `max_stable_lr`);
- one LSTM step: every partial derivative of L = Σ dh ⊙ h_t + Σ dc ⊙ c_t by `sp.diff`
  (`lstm_step_gradients`; written in the gate values: `lstm_step_gradients_readable`, and per unit
  `lstm_gate_gradients_readable`; chapter 3's matrix form proven: `lstm_matrix_form_holds`;
  in NumPy: `lstm_step_gradients_numeric`);
- attention: ∂L/∂Q, ∂L/∂K, ∂L/∂V of L = Σ dO ⊙ softmax(QKᵀ/√d) V by `sp.diff`, proven equal to
  the matrix formulas of chapter 3 (`attention_gradients`, `prove_attention_matrix_form`,
  `attention_gradients_numeric`).

A proof here means `sp.simplify(lhs - rhs) == 0` (or `sp.expand`, where the difference is a
polynomial in the same building blocks): SymPy reduced the difference to exactly zero for every
value of the symbols, not just at the points a numerical test happens to try.

Derivations are cached (`functools.lru_cache`), so a notebook pays for each one once. The numeric
evaluators turn the symbolic results into NumPy functions with `sp.lambdify`, which is how the tests
compare them, to 1e-10 in float64, with chapter 3's code and with torch.autograd.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "ACTIVATIONS",
    "AttentionSymbols",
    "LSTM_GRADIENTS",
    "LSTMStep",
    "Sigmoid",
    "activation",
    "attention",
    "attention_gradients",
    "attention_gradients_matrix_form",
    "attention_gradients_numeric",
    "derivative",
    "hessian_eigenvalues",
    "lambdified",
    "lstm_gate_gradients_readable",
    "lstm_matrix_form_holds",
    "lstm_step",
    "lstm_step_gradients",
    "lstm_step_gradients_numeric",
    "lstm_step_gradients_readable",
    "max_stable_lr",
    "prove_attention_matrix_form",
    "prove_identities",
    "softmax",
    "softmax_jacobian",
]

x = sp.Symbol("x", real=True)  # the variable of every scalar activation


# ---------------------------------------------------------------------------------------------
# activations


def _Phi(t: sp.Expr) -> sp.Expr:
    """Standard normal CDF Φ(t) = (1 + erf(t/√2)) / 2."""
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


GELU_A = sp.Rational(44715, 1000000)  # 0.044715 as an exact fraction: floats would spoil proofs
GELU_C = sp.sqrt(2 / sp.pi)  # √(2/π)

ACTIVATIONS: dict[str, sp.Expr] = {
    "sigmoid": 1 / (1 + sp.exp(-x)),
    "tanh": sp.tanh(x),
    "relu": sp.Piecewise((0, x < 0), (x, True)),
    "gelu_tanh": x / 2 * (1 + sp.tanh(GELU_C * (x + GELU_A * x**3))),  # what chapter 3 uses
    "gelu": x * _Phi(x),  # the exact GELU, x·Φ(x)
}


def activation(name: str) -> sp.Expr:
    """The activation `name` (a key of ACTIVATIONS) as a SymPy expression in `x`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


@functools.lru_cache(maxsize=None)
def derivative(name: str) -> tuple[sp.Expr, sp.Expr]:
    """(f, f') for the activation `name`, f' derived by `sp.diff`."""
    f = activation(name)
    return f, sp.diff(f, x)


def softmax(n: int) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(z, p): a vector of n symbols z_k and its softmax p_k = e^{z_k} / Σ_j e^{z_j}."""
    z = sp.ImmutableMatrix(sp.symbols(f"z_1:{n + 1}", real=True))
    e = z.applyfunc(sp.exp)
    return z, e / sum(e)


@functools.lru_cache(maxsize=None)
def softmax_jacobian(n: int = 3) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """(J, diag(p) − p pᵀ): the Jacobian ∂p_i/∂z_j derived by `sp.diff`, and the formula."""
    z, p = softmax(n)
    J = p.jacobian(z)
    return sp.ImmutableMatrix(J), sp.ImmutableMatrix(sp.diag(*p) - p * p.T)


def _is_zero(expr: sp.Expr) -> bool:
    """True only if SymPy simplifies expr to exactly 0 (so: an identity, for all values)."""
    return sp.simplify(expr) == 0


def _prove_sigmoid() -> bool:
    f, df = derivative("sigmoid")
    return _is_zero(df - f * (1 - f))


def _prove_tanh() -> bool:
    # sp.diff(tanh) returns 1 − tanh² by a built-in rule, which would prove nothing; so start
    # from the definition tanh = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ) (`.rewrite(sp.exp)`) and differentiate that.
    t = sp.tanh(x).rewrite(sp.exp)
    return _is_zero(sp.diff(t, x) - (1 - t**2))


def _prove_softmax_jacobian() -> bool:
    J, formula = softmax_jacobian(3)
    return all(_is_zero(e) for e in J - formula)


def _prove_relu() -> bool:
    # ReLU' is 1 for x > 0 and 0 for x < 0 (undefined at 0): check each side with a symbol u > 0.
    _, df = derivative("relu")
    u = sp.Symbol("u", positive=True)
    return all(_is_zero(df.subs(x, s) - sp.Heaviside(s)) for s in (u, -u))


def _prove_gelu_tanh() -> bool:
    # The formula in chapter 3's gelu_backward: 0.5 (1 + t) + 0.5 x (1 − t²) √(2/π) (1 + 3a x²).
    _, df = derivative("gelu_tanh")
    t = sp.tanh(GELU_C * (x + GELU_A * x**3))
    formula = (1 + t) / 2 + x / 2 * (1 - t**2) * GELU_C * (1 + 3 * GELU_A * x**2)
    return _is_zero(df - formula)


def _prove_gelu() -> bool:
    # (x Φ(x))' = Φ(x) + x φ(x), φ the standard normal density.
    _, df = derivative("gelu")
    phi = sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)
    return _is_zero(df - (_Phi(x) + x * phi))


_IDENTITIES: dict[str, Callable[[], bool]] = {
    "sigmoid' = σ(1 − σ)": _prove_sigmoid,
    "tanh' = 1 − tanh²": _prove_tanh,
    "softmax Jacobian = diag(p) − p pᵀ (n = 3)": _prove_softmax_jacobian,
    "relu' = Heaviside (x ≠ 0)": _prove_relu,
    "gelu_tanh' = chapter 3's gelu_backward formula": _prove_gelu_tanh,
    "gelu' = Φ + x φ": _prove_gelu,
}


@functools.lru_cache(maxsize=None)
def prove_identities() -> dict[str, bool]:
    """Each identity the NumPy code relies on -> True if proven (simplify(lhs − rhs) == 0)."""
    return {name: prove() for name, prove in _IDENTITIES.items()}


_np_erf = np.vectorize(math.erf, otypes=[float])  # NumPy has no erf (and SciPy is not required)


def _numpy_function(expr: sp.Expr) -> Callable[[Any], np.ndarray]:
    """expr(x) as a NumPy function that returns an array of x's shape (also for constants)."""
    f = sp.lambdify(x, expr, modules=[{"erf": _np_erf}, "numpy"])

    def f_np(t: Any) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        return np.broadcast_to(np.asarray(f(t), dtype=float), t.shape).copy()

    return f_np


@functools.lru_cache(maxsize=None)
def lambdified(name: str) -> tuple[Callable[[Any], np.ndarray], Callable[[Any], np.ndarray]]:
    """(f, f') of the activation `name` as NumPy functions, e.g. for plotting."""
    f, df = derivative(name)
    return _numpy_function(f), _numpy_function(df)


# ---------------------------------------------------------------------------------------------
# gradient descent: curvature and the largest stable learning rate


def _exact(value: Any, what: str) -> sp.Expr:
    """A number or SymPy object as a SymPy object; strings and anything else are refused.

    Strings are refused because turning them into expressions (`sp.sympify`, `sp.parse_expr`)
    runs them as Python code.
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise TypeError(f"{what} must be a number or a SymPy expression, got a bool ({value})")
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (float, np.floating)):
        return sp.Float(float(value))
    if isinstance(value, str):
        raise TypeError(f"{what} must be a number or a SymPy expression, not the string "
                        f"{value!r:.60}: strings are not parsed, because parsing would run them "
                        "as Python code. Write e.g. 0.5, Fraction(1, 2) or sp.Rational(1, 2).")
    raise TypeError(f"{what} must be a number (int, float, Fraction) or a SymPy expression, "
                    f"got {type(value).__name__}")


def _at(point: Mapping[sp.Symbol, Any] | Sequence[Any] | None,
        variables: Sequence[sp.Symbol]) -> dict:
    """`point` (a dict, or values in the order of `variables`) as a substitution dict."""
    if point is None:
        return {}
    if isinstance(point, Mapping):
        unknown = [k for k in point if k not in variables]
        if unknown:
            raise ValueError(f"point names {unknown}, which are not among the variables "
                             f"{list(variables)}")
        return {v: _exact(p, f"point[{v}]") for v, p in point.items()}
    if isinstance(point, (str, bytes)):
        raise TypeError("point must be a dict or a sequence of numbers, not a string")
    if len(point) != len(variables):
        raise ValueError(f"point has {len(point)} values for {len(variables)} variables")
    return {v: _exact(p, f"the value of {v} in point") for v, p in zip(variables, point)}


def _checked_symbols(variables: Sequence[sp.Symbol]) -> list[sp.Symbol]:
    """The variables as a list, each checked to be a SymPy Symbol (not a string to parse)."""
    if isinstance(variables, (str, bytes)):
        raise TypeError("variables must be a sequence of SymPy symbols, e.g. [x, y], not a "
                        "string")
    out = list(variables)
    for v in out:
        if not isinstance(v, sp.Symbol):
            raise TypeError(f"variables must be SymPy symbols (sp.symbols('x y')), got {v!r:.60}")
    return out


def hessian_eigenvalues(expr: sp.Expr, variables: Sequence[sp.Symbol],
                        point: Mapping | Sequence | None = None
                        ) -> tuple[sp.ImmutableMatrix, list[sp.Expr]]:
    """(Hessian, its eigenvalues with multiplicity), at `point` if given, else symbolic.

    Sorted from smallest to largest when they are numbers.
    """
    variables = _checked_symbols(variables)
    H = sp.hessian(_exact(expr, "expr"), variables).subs(_at(point, variables))
    eigs = [value for value, mult in H.eigenvals().items() for _ in range(mult)]
    if all(e.is_real and e.is_number for e in eigs):
        eigs.sort(key=float)
    return sp.ImmutableMatrix(H), eigs


def max_stable_lr(expr: sp.Expr, variables: Sequence[sp.Symbol],
                  point: Mapping | Sequence | None = None) -> sp.Expr:
    """The learning rate 2/λ_max above which gradient descent diverges on a quadratic.

    On f = ½ xᵀHx, one step multiplies the component along an eigenvector by (1 − lr·λ); that
    shrinks it only if |1 − lr·λ| < 1, i.e. lr < 2/λ, for every λ. A non-quadratic f has a Hessian
    that changes from point to point, so there pass `point`: the limit then holds near it.
    Returns sp.oo when no eigenvalue is positive (no curvature limits the step).
    """
    H, eigs = hessian_eigenvalues(expr, variables, point)
    if H.free_symbols & set(variables):
        raise ValueError("the Hessian depends on the variables (f is not quadratic): pass point=")
    lam_max = sp.Max(*eigs)
    if lam_max.is_number and lam_max <= 0:
        return sp.oo
    return sp.simplify(2 / lam_max)


# ---------------------------------------------------------------------------------------------
# one LSTM step


class Sigmoid(sp.Function):
    """σ(a) = 1/(1 + e⁻ᵃ) as one SymPy function, so that long expressions stay readable.

    Its derivative rule σ' = σ(1 − σ) is what `prove_identities()` proves for 1/(1 + e⁻ˣ);
    `.rewrite(sp.exp)` gives the explicit formula back.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, a: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-a))

    def _latex(self, printer: Any) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


def _np_sigmoid(a: Any) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a)))  # = 1/(1 + e⁻ᵃ), without overflow


_LAMBDIFY_MODULES = [{"Sigmoid": _np_sigmoid}, "numpy"]


def _symbols(name: str, rows: int, cols: int, matrix: bool = False) -> sp.ImmutableMatrix:
    """A rows×cols matrix of real symbols name_{r,c}, counted from 1.

    A column (cols = 1) that is not a `matrix` (like W_ih when I = 1) gets one index: name_{r}.
    """
    def entry(r: int, c: int) -> sp.Symbol:
        index = f"{r + 1}" if cols == 1 and not matrix else f"{r + 1},{c + 1}"
        return sp.Symbol(f"{name}_{{{index}}}", real=True)
    return sp.ImmutableMatrix(rows, cols, entry)


@dataclass(frozen=True)
class LSTMStep:
    """Symbols and forward expressions of one LSTM step; columns are sequences (B of them)."""

    x: sp.ImmutableMatrix  # (I, B) input x_t
    h_prev: sp.ImmutableMatrix  # (H, B) h_{t-1}
    c_prev: sp.ImmutableMatrix  # (H, B) c_{t-1}
    W_ih: sp.ImmutableMatrix  # (4H, I), blocks [i; f; g; o] as in torch
    W_hh: sp.ImmutableMatrix  # (4H, H)
    b: sp.ImmutableMatrix  # (4H, 1): b_ih + b_hh, which always appear together
    dh: sp.ImmutableMatrix  # (H, B) upstream gradient reaching h_t
    dc: sp.ImmutableMatrix  # (H, B) upstream gradient reaching c_t
    a: sp.ImmutableMatrix  # (4H, B) symbols standing for the pre-activations [a^i; a^f; a^g; a^o]
    a_value: sp.ImmutableMatrix  # (4H, B) what they stand for: W_ih x + W_hh h_{t-1} + b
    c: sp.ImmutableMatrix  # (H, B) c_t, written in the symbols a
    h: sp.ImmutableMatrix  # (H, B) h_t, written in the symbols a
    loss_a: sp.Expr  # L = Σ dh ⊙ h_t + Σ dc ⊙ c_t, written in the symbols a
    loss: sp.Expr  # the same L written in x, h_{t-1}, c_{t-1}, W_ih, W_hh, b

    @property
    def inputs(self) -> dict[str, sp.ImmutableMatrix]:
        """The independent variables, in the order of lstm_step_gradients_numeric's arguments."""
        names = ("x", "h_prev", "c_prev", "W_ih", "W_hh", "b", "dh", "dc")
        return {name: getattr(self, name) for name in names}


@functools.lru_cache(maxsize=None)
def lstm_step(I: int = 2, H: int = 2, B: int = 1) -> LSTMStep:
    """The forward equations of one LSTM step exactly as in chapter 3, on symbolic matrices."""
    x, h_prev, c_prev = _symbols("x", I, B), _symbols("h^{t-1}", H, B), _symbols("c^{t-1}", H, B)
    W_ih = _symbols("W^{ih}", 4 * H, I, matrix=True)
    W_hh = _symbols("W^{hh}", 4 * H, H, matrix=True)
    b = _symbols("b", 4 * H, 1)
    dh, dc = _symbols("dh", H, B), _symbols("dc", H, B)
    a = sp.ImmutableMatrix.vstack(*(_symbols(f"a^{{{gate}}}", H, B) for gate in "ifgo"))
    a_value = W_ih * x + W_hh * h_prev + b * sp.ones(1, B)  # b is added to every column
    a_i, a_f, a_g, a_o = (a[k * H:(k + 1) * H, :] for k in range(4))
    i, f, o = a_i.applyfunc(Sigmoid), a_f.applyfunc(Sigmoid), a_o.applyfunc(Sigmoid)
    g = a_g.applyfunc(sp.tanh)
    c = f.multiply_elementwise(c_prev) + i.multiply_elementwise(g)  # c_t = f c_{t-1} + i g
    h = o.multiply_elementwise(c.applyfunc(sp.tanh))  # h_t = o tanh(c_t)
    loss_a = sum(dh.multiply_elementwise(h)) + sum(dc.multiply_elementwise(c))
    loss = loss_a.xreplace(dict(zip(a, a_value)))
    return LSTMStep(x, h_prev, c_prev, W_ih, W_hh, b, dh, dc, a, sp.ImmutableMatrix(a_value),
                    sp.ImmutableMatrix(c), sp.ImmutableMatrix(h), loss_a, loss)


LSTM_GRADIENTS = ("a_i", "a_f", "a_g", "a_o", "c_prev", "h_prev", "x", "W_ih", "W_hh", "b")


@functools.lru_cache(maxsize=None)
def lstm_step_gradients(I: int = 2, H: int = 2, B: int = 1) -> dict[str, sp.ImmutableMatrix]:
    """∂L/∂(each of LSTM_GRADIENTS), by `sp.diff`, each a matrix of its variable's shape.

    "a_i" ... "a_o" are the pre-activation gradients: L is differentiated with respect to the
    symbols a, then a's value W_ih x + W_hh h_{t-1} + b is put in. Everything else is
    differentiated directly from L written in the inputs; SymPy applies the chain rule itself.
    """
    s = lstm_step(I, H, B)
    a_value = dict(zip(s.a, s.a_value))
    grads = {}
    for k, gate in enumerate("ifgo"):
        block = s.a[k * H:(k + 1) * H, :]
        grads[f"a_{gate}"] = block.applyfunc(lambda a: sp.diff(s.loss_a, a).xreplace(a_value))
    for name in LSTM_GRADIENTS[4:]:
        grads[name] = getattr(s, name).applyfunc(lambda v: sp.diff(s.loss, v))
    return grads


@functools.lru_cache(maxsize=None)
def lstm_step_gradients_readable(I: int = 2, H: int = 2, B: int = 1
                                 ) -> dict[str, sp.ImmutableMatrix]:
    """lstm_step_gradients with the gate values and c_t renamed, so that they fit on a page.

    σ(a^i value) becomes i_k (and f_k, o_k likewise), tanh(a^g value) becomes g_k, and the
    expression of the new cell state becomes c^t_k (k the unit; with B > 1, k,b for sequence b).
    """
    s, grads = lstm_step(I, H, B), lstm_step_gradients(I, H, B)
    a_value = dict(zip(s.a, s.a_value))
    names = {}
    for k, gate in enumerate("ifgo"):
        values = s.a_value[k * H:(k + 1) * H, :].applyfunc(sp.tanh if gate == "g" else Sigmoid)
        names |= dict(zip(values, _symbols(gate, H, B)))
    c_t = dict(zip(s.c.xreplace(a_value), _symbols("c^{t}", H, B)))
    # c_t first: its expression contains the gate values, which the second rename would change.
    return {name: m.applyfunc(lambda e: sp.factor_terms(e.xreplace(c_t).xreplace(names)))
            for name, m in grads.items()}


@functools.lru_cache(maxsize=None)
def lstm_matrix_form_holds(I: int = 2, H: int = 2, B: int = 1) -> bool:
    """Prove that the `sp.diff` results have chapter 3's matrix form, with da = ∂L/∂a (4H, B):

    ∂L/∂W_ih = da xᵀ, ∂L/∂W_hh = da h_{t-1}ᵀ, ∂L/∂b = da 1 (sum over the batch),
    ∂L/∂x = W_ihᵀ da, ∂L/∂h_{t-1} = W_hhᵀ da, ∂L/∂c_{t-1} = (dc + dh ⊙ o ⊙ (1 − tanh² c_t)) ⊙ f.

    Both sides are polynomials in the same σ(...) and tanh(...) terms, so `sp.expand` of the
    difference reaching 0 is a proof (and much faster than simplify).
    """
    s, grads = lstm_step(I, H, B), lstm_step_gradients(I, H, B)
    da = sp.ImmutableMatrix.vstack(*(grads[f"a_{gate}"] for gate in "ifgo"))
    a_value = dict(zip(s.a, s.a_value))
    c, o = s.c.xreplace(a_value), s.a_value[3 * H:, :].applyfunc(Sigmoid)
    f = s.a_value[H:2 * H, :].applyfunc(Sigmoid)
    dc_total = s.dc + s.dh.multiply_elementwise(o).multiply_elementwise(
        c.applyfunc(lambda e: 1 - sp.tanh(e) ** 2))
    expected = {
        "W_ih": da * s.x.T, "W_hh": da * s.h_prev.T, "b": da * sp.ones(B, 1),
        "x": s.W_ih.T * da, "h_prev": s.W_hh.T * da, "c_prev": dc_total.multiply_elementwise(f),
    }
    return all(sp.expand(e) == 0 for name, m in expected.items() for e in grads[name] - m)


@functools.lru_cache(maxsize=None)
def lstm_gate_gradients_readable() -> dict[str, sp.Expr]:
    """Per-unit ∂L/∂a^i, ∂L/∂a^f, ∂L/∂a^g, ∂L/∂a^o, ∂L/∂c_{t-1}, written in the gate values.

    One unit, scalars: L = dh·o·tanh(c_t) + dc·c_t with c_t = f c_{t-1} + i g. SymPy
    differentiates with i, f, o = σ(a^·) and g = tanh(a^g); then σ(a^i) is renamed i (and so on)
    and the expression f c_{t-1} + i g is renamed c_t, and the common factors are pulled out.
    Key "c_t" holds the total gradient reaching c_t, dc + dh·o·(1 − tanh² c_t), which every
    other entry contains.
    """
    a = {gate: sp.Symbol(f"a^{{{gate}}}", real=True) for gate in "ifgo"}
    c_prev, c_t, dh, dc = sp.symbols("c_{t-1} c_t dh dc", real=True)
    i, f, o = Sigmoid(a["i"]), Sigmoid(a["f"]), Sigmoid(a["o"])
    g = sp.tanh(a["g"])
    c = f * c_prev + i * g
    L = dh * o * sp.tanh(c) + dc * c
    # the names to show: gate symbols for the gate values, c_t for the new cell state
    names = {i: sp.Symbol("i", real=True), f: sp.Symbol("f", real=True),
             g: sp.Symbol("g", real=True), o: sp.Symbol("o", real=True)}

    def readable(expr: sp.Expr) -> sp.Expr:
        return sp.factor_terms(expr.xreplace({c: c_t}).xreplace(names))

    out = {f"a_{gate}": readable(sp.diff(L, a[gate])) for gate in "ifgo"}
    out["c_prev"] = readable(sp.diff(L, c_prev))
    out["c_t"] = readable(sp.diff(L.xreplace({c: c_t}), c_t))
    return out


@functools.lru_cache(maxsize=None)
def _lstm_numeric_function(I: int, H: int) -> Callable[..., list]:
    """lstm_step_gradients(I, H, 1) lambdified: scalar arguments in, flat list of entries out."""
    s, grads = lstm_step(I, H, 1), lstm_step_gradients(I, H, 1)
    args = [v for m in s.inputs.values() for v in m]  # row-major, like NumPy's flattening
    outs = [e for name in LSTM_GRADIENTS for e in grads[name]]
    # cse=True: the σ(...) and tanh(...) terms shared by many entries are computed once.
    return sp.lambdify(args, outs, modules=_LAMBDIFY_MODULES, cse=True)


def lstm_step_gradients_numeric(x: Any, h_prev: Any, c_prev: Any, W_ih: Any, W_hh: Any, b: Any,
                                dh: Any, dc: Any) -> dict[str, np.ndarray]:
    """The symbolic LSTM-step gradients evaluated in NumPy (float64), keyed like LSTM_GRADIENTS.

    x is (I,) or (..., I); h_prev, c_prev, dh, dc are (H,) or (..., H), one row per sequence
    (torch's layout); W_ih (4H, I), W_hh (4H, H), b (4H,) = b_ih + b_hh. Gradients of x, h_prev,
    c_prev and the pre-activations a_i ... a_o have the per-sequence shape; those of W_ih, W_hh, b
    are summed over the sequences. The derivation is done once per (I, H) for one sequence, and
    NumPy broadcasting evaluates it for all sequences at once.
    """
    x, h_prev, c_prev, dh, dc = (np.asarray(v, dtype=float) for v in (x, h_prev, c_prev, dh, dc))
    W_ih, W_hh, b = (np.asarray(v, dtype=float) for v in (W_ih, W_hh, b))
    I, H, batch = x.shape[-1], h_prev.shape[-1], x.shape[:-1]
    shapes = {"h_prev": h_prev, "c_prev": c_prev, "dh": dh, "dc": dc}
    for name, v in shapes.items():
        if v.shape != (*batch, H):
            raise ValueError(f"{name} must have shape {(*batch, H)}, got {v.shape}")
    summed_over_batch = {"W_ih": (4 * H, I), "W_hh": (4 * H, H), "b": (4 * H,)}
    for name, v in (("W_ih", W_ih), ("W_hh", W_hh), ("b", b)):
        if v.shape != (shape := summed_over_batch[name]):
            raise ValueError(f"{name} must have shape {shape}, got {v.shape}")
    # One argument per symbol: per-sequence values are arrays over the batch, weights are scalars.
    # Unpacking np.moveaxis(v, -1, 0) splits (..., n) into n arrays of shape (...).
    args = [*np.moveaxis(x, -1, 0), *np.moveaxis(h_prev, -1, 0), *np.moveaxis(c_prev, -1, 0),
            *W_ih.ravel(), *W_hh.ravel(), *b.ravel(),
            *np.moveaxis(dh, -1, 0), *np.moveaxis(dc, -1, 0)]
    flat = iter(np.broadcast_to(v, batch) for v in _lstm_numeric_function(I, H)(*args))
    sizes = {"x": I, "h_prev": H, "c_prev": H, "W_ih": 4 * H * I, "W_hh": 4 * H * H, "b": 4 * H}
    out = {}
    for name in LSTM_GRADIENTS:
        entries = np.stack([next(flat) for _ in range(sizes.get(name, H))], axis=-1)  # (..., n)
        if name in summed_over_batch:
            entries = entries.reshape(-1, entries.shape[-1]).sum(axis=0)  # over all sequences
            entries = entries.reshape(summed_over_batch[name])
        out[name] = entries
    return out


# ---------------------------------------------------------------------------------------------
# scaled dot-product attention


@dataclass(frozen=True)
class AttentionSymbols:
    """Symbols and forward expressions of softmax(QKᵀ/√d) V with an upstream gradient dO."""

    Q: sp.ImmutableMatrix  # (T, d)
    K: sp.ImmutableMatrix  # (S, d)
    V: sp.ImmutableMatrix  # (S, dv)
    dO: sp.ImmutableMatrix  # (T, dv)
    scores: sp.ImmutableMatrix  # (T, S) QKᵀ/√d
    P: sp.ImmutableMatrix  # (T, S) row-wise softmax of the scores
    O: sp.ImmutableMatrix  # (T, dv) P V
    loss: sp.Expr  # L = Σ dO ⊙ O


@functools.lru_cache(maxsize=None)
def attention(T: int = 2, S: int = 2, d: int = 2, dv: int = 2) -> AttentionSymbols:
    """The forward pass of scaled dot-product attention on symbolic matrices."""
    Q, K = _symbols("Q", T, d, matrix=True), _symbols("K", S, d, matrix=True)
    V, dO = _symbols("V", S, dv, matrix=True), _symbols("dO", T, dv, matrix=True)
    scores = Q * K.T / sp.sqrt(d)
    E = scores.applyfunc(sp.exp)
    P = sp.ImmutableMatrix(T, S, lambda t, j: E[t, j] / sum(E[t, :]))  # each row sums to 1
    O = P * V
    return AttentionSymbols(Q, K, V, dO, sp.ImmutableMatrix(scores), P, sp.ImmutableMatrix(O),
                            sum(dO.multiply_elementwise(O)))


@functools.lru_cache(maxsize=None)
def attention_gradients(T: int = 2, S: int = 2, d: int = 2, dv: int = 2
                        ) -> dict[str, sp.ImmutableMatrix]:
    """{"Q": ∂L/∂Q, "K": ∂L/∂K, "V": ∂L/∂V}, each entry derived by `sp.diff` of L."""
    s = attention(T, S, d, dv)
    return {name: getattr(s, name).applyfunc(lambda v: sp.diff(s.loss, v)) for name in "QKV"}


@functools.lru_cache(maxsize=None)
def attention_gradients_matrix_form(T: int = 2, S: int = 2, d: int = 2, dv: int = 2
                                    ) -> dict[str, sp.ImmutableMatrix]:
    """The same gradients by chapter 3's matrix formulas, on the same symbols:

    dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K/√d, dK = dSᵀ Q/√d.
    """
    s = attention(T, S, d, dv)
    P, dP = s.P, s.dO * s.V.T
    rowsum = (dP.multiply_elementwise(P)) * sp.ones(S, 1)  # (T, 1): Σ_j dP_tj P_tj per row
    dS = P.multiply_elementwise(dP - rowsum * sp.ones(1, S))
    return {"Q": dS * s.K / sp.sqrt(d), "K": dS.T * s.Q / sp.sqrt(d), "V": P.T * s.dO}


def _exponentials_as_symbols(expr: sp.Expr, scores: sp.ImmutableMatrix) -> sp.Expr:
    """expr with every e^{m·score_k} (m a number) replaced by E_k^m, E_k a positive symbol."""
    # SymPy merges e^u · e^u into e^{2u}, so a plain e^u -> E rename would miss those.
    E = [sp.Symbol(f"E_{{{k + 1}}}", positive=True) for k in range(len(scores))]

    def rename(e: sp.exp) -> sp.Expr:
        for simplify_ratio in (lambda r: r, sp.cancel):  # the quick way first
            for score, symbol in zip(scores, E):
                m = simplify_ratio(e.args[0] / score)
                if m.is_Rational:
                    return symbol**m
        raise ValueError(f"{e} is not a power of an exponentiated score")

    return expr.xreplace({e: rename(e) for e in expr.atoms(sp.exp)})


@functools.lru_cache(maxsize=None)
def prove_attention_matrix_form(T: int = 2, S: int = 2, d: int = 2, dv: int = 2) -> bool:
    """True if every entry of attention_gradients − attention_gradients_matrix_form is 0.

    The rewrite that makes this fast: every e^{score} is replaced by a positive symbol E_k. Both
    sides become rational functions of the E's and the matrix entries, and the difference is 0
    even with the E's as independent numbers — more than needed, since the real E's are the
    exponentials. For a rational function, `sp.cancel` (one fraction, common factors removed)
    is 0 exactly when the function is; it is about 10× faster than `sp.simplify`, which is still
    asked before answering False.
    """
    s = attention(T, S, d, dv)
    derived = attention_gradients(T, S, d, dv)
    formula = attention_gradients_matrix_form(T, S, d, dv)
    for name in "QKV":
        for diff in derived[name] - formula[name]:
            rational = _exponentials_as_symbols(diff, s.scores)
            if sp.cancel(rational) != 0 and not _is_zero(rational):
                return False
    return True


@functools.lru_cache(maxsize=None)
def _attention_numeric_function(T: int, S: int, d: int, dv: int) -> Callable[..., list]:
    """attention_gradients lambdified: scalar arguments in, flat list of entries out."""
    s, grads = attention(T, S, d, dv), attention_gradients(T, S, d, dv)
    args = [v for m in (s.Q, s.K, s.V, s.dO) for v in m]
    return sp.lambdify(args, [e for name in "QKV" for e in grads[name]], cse=True)


def attention_gradients_numeric(q: Any, k: Any, v: Any, dout: Any) -> dict[str, np.ndarray]:
    """The symbolic attention gradients evaluated in NumPy: {"Q": dq, "K": dk, "V": dv}.

    q (..., T, d), k (..., S, d), v (..., S, dv), dout (..., T, dv), leading axes broadcast.
    The lambdified softmax has no max-subtraction, so keep the scores moderate (|score| < 700).
    """
    q, k, v, dout = (np.asarray(a, dtype=float) for a in (q, k, v, dout))
    (T, d), (S, dv) = q.shape[-2:], v.shape[-2:]
    if k.shape[-2:] != (S, d) or dout.shape[-2:] != (T, dv):
        raise ValueError(f"need q (..., T, d), k (..., S, d), v (..., S, dv), dout (..., T, dv); "
                         f"got {q.shape}, {k.shape}, {v.shape}, {dout.shape}")
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], dout.shape[:-2])
    # One argument per symbol, row-major like the symbols: a[..., r, c] over the batch axes.
    args = [a[..., r, c] for a in (q, k, v, dout)
            for r in range(a.shape[-2]) for c in range(a.shape[-1])]
    flat = _attention_numeric_function(T, S, d, dv)(*args)
    flat = [np.broadcast_to(e, batch) for e in flat]
    out, start = {}, 0
    for name, (rows, cols) in (("Q", (T, d)), ("K", (S, d)), ("V", (S, dv))):
        block = np.stack(flat[start:start + rows * cols], axis=-1)  # (..., rows·cols)
        out[name] = block.reshape(*batch, rows, cols)
        start += rows * cols
    return out
