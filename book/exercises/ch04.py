"""Chapter 4 checkers: the GELU derivative, a new operation for the autograd engine, the masked
mean of a padded batch and the gradient of softmax cross-entropy.

The references are PyTorch autograd in float64 (plain NumPy in float64 for the masked mean), so a
pass means "agrees with torch". They are private (underscore names) so that tab completion in a
notebook doesn't hand out the solutions, and return the input's dtype. torch and the autograd
engine are imported only when a check runs. Each checker also draws hidden grading cases of the
same kinds from a seeded generator (`grading=`: new values, shapes, lengths and targets).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from book.exercises._shared import float_dtype, to_np, to_t, tol_for, torch_module
from book.exercises.cases import Case, Hint
from book.exercises.check import checker
from book.exercises.runner import call_learner

# Each result here is a handful of elementwise operations or one sum (TOL_F64, TOL_F32).
# The diagnosis of a wrong sin probes the learner's node a few times; it never needs long.
_DIAGNOSIS_TIME_LIMIT = 2.0

# ---------------------------------------------------------------------------------------------
# GELU derivative
# ---------------------------------------------------------------------------------------------

_GELU_HINT = (
    "with u = √(2/π)·(x + 0.044715·x³), GELU(x) = ½·x·(1 + tanh u). The product rule, then the "
    "chain rule through tanh (tanh' = 1 − tanh²), give GELU'(x) = ½·(1 + tanh u) + "
    "½·x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715·x²). Or let SymPy do it: d = sp.diff(gelu, x), "
    "then f = sp.lambdify(x, d, 'numpy') evaluates it on whole arrays."
)
_GELU_LARGE_HINT = (
    "for large |x|, tanh u is ±1: the derivative is 0 far left and 1 far right. 1 − tanh²u "
    "and 1/cosh²u both give 0 there; np.cosh overflows only past |u| ≈ 710."
)
_GELU_F32_HINT = Hint(
    "a lambdified SymPy expression computes constants such as sqrt(2) and pi with NumPy, as "
    "float64 scalars, and those promote a float32 array to float64 (so does np.sqrt(2 / np.pi) "
    "in hand-written code; math.sqrt gives a Python float, which doesn't): convert at the end "
    "with .astype(x.dtype).",
    frozenset({"dtype_promoted"}),
)

# Inputs of the case that tells the tanh approximation from the exact (erf) GELU: the two
# derivatives differ most, by up to ~9e-4, around |x| = 2.
_ERF_PROBE = np.array([-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0])


def _gelu_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new values, shapes and magnitudes of the same kinds as the visible ones."""
    signs = rng.choice([-1.0, 1.0], size=int(rng.integers(4, 9)))
    f32 = rng.normal(scale=3.0, size=tuple(rng.integers(2, 6, size=2))).astype(np.float32)
    # name, x, case hint
    inputs = [
        (
            "values from -4 to 4",
            np.sort(rng.uniform(-4.0, 4.0, size=int(rng.integers(9, 25)))),
            None,
        ),
        # within ±20, as the visible case; from |x| = 6 on, GELU' is 0 or 1 up to ~1e-9
        ("large |x| (6 to 20)", signs * rng.uniform(6.0, 20.0, size=signs.size), _GELU_LARGE_HINT),
        ("random 2-D array", rng.normal(scale=2.0, size=tuple(rng.integers(2, 7, size=2))), None),
        ("random 3-D array", rng.normal(scale=2.0, size=tuple(rng.integers(2, 5, size=3))), None),
        ("float32 input (the result stays float32)", f32, _GELU_F32_HINT),
        ("a 0-d array (one number)", np.array(rng.uniform(-4.0, 4.0)), None),
    ]
    return [
        Case(name, (x,), expected=_gelu_grad, hint=hint, **tol_for(x)) for name, x, hint in inputs
    ]


@checker(
    "gelu_grad",
    what="values equal to torch autograd's through nn.GELU(approximate='tanh') within "
    "rtol=1e-10 (1e-5 for float32), the tanh form and not the erf one, x up to ±20, 1-D to "
    "3-D and 0-d arrays, float32 stays float32",
    hint=_GELU_HINT,
    grading=_gelu_grading,
)
def check_gelu_grad() -> list[Case]:
    """Check `gelu_grad(x) -> np.ndarray`: the derivative of GELU's tanh approximation.

    GELU(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GPT-2's, torch's
    `nn.GELU(approximate="tanh")`); its derivative is taken elementwise, for arrays of any shape,
    and returned in x's shape and dtype (float32 stays float32; a 0-d input may come back as a
    0-d array or a NumPy scalar). It must agree with torch autograd. The derivative of the exact
    GELU, x·Φ(x), is a different function (up to ~1e-3 away) and does not pass.
    """
    return _gelu_cases()


def _gelu_cases() -> list[Case]:
    """The inputs gelu_grad is checked on, easiest first."""
    rng = np.random.default_rng(41)
    f32 = rng.normal(scale=3.0, size=(3, 4)).astype(np.float32)
    # name, x, case hint
    inputs = [
        ("x = 0", np.array([0.0]), None),
        ("values from -4 to 4", np.linspace(-4.0, 4.0, 17), None),
        (
            "large |x| (±10, ±20): the derivative tends to 0 and 1",
            np.array([-20.0, -10.0, 10.0, 20.0]),
            _GELU_LARGE_HINT,
        ),
        ("random 2-D array", rng.normal(scale=2.0, size=(4, 5)), None),
        ("random 3-D array", rng.normal(scale=2.0, size=(2, 3, 4)), None),
        ("float32 input (the result stays float32)", f32, _GELU_F32_HINT),
        ("a 0-d array (one number)", np.array(1.5), None),
    ]
    cases = [
        Case(
            name,
            (x,),
            expected=_gelu_grad,
            hint=hint,
            **tol_for(x),
        )
        for name, x, hint in inputs
    ]
    # Right after x = 0 (where both GELUs have slope ½): a property case that fails only an
    # output equal to the exact GELU's derivative, to say so; anything else wrong is left to the
    # reference comparison of the next case.
    erf_case = Case(
        "the tanh approximation, not the exact (erf) GELU, at x = ±0.5 to ±3",
        (_ERF_PROBE.copy(),),
        check=_not_the_erf_gelu,
    )
    return [cases[0], erf_case, *cases[1:]]


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    """Reference: torch autograd through nn.GELU(approximate='tanh') in float64; x's dtype."""
    torch = torch_module()
    xt = to_t(x).requires_grad_(True)
    with torch.enable_grad():  # the notebook may have turned autograd off
        torch.nn.functional.gelu(xt, approximate="tanh").sum().backward()
    return to_np(xt.grad, x)


def _exact_gelu_grad(x: np.ndarray) -> np.ndarray:
    """Φ(x) + x·φ(x), the derivative of the exact GELU x·Φ(x), via torch autograd in float64."""
    torch = torch_module()
    xt = to_t(x).requires_grad_(True)
    with torch.enable_grad():
        torch.nn.functional.gelu(xt).sum().backward()
    return xt.grad.numpy()


def _not_the_erf_gelu(out: Any, x: np.ndarray) -> str | None:
    """A problem only when `out` is the derivative of the exact GELU rather than the tanh one."""
    try:
        got = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if got.shape != x.shape or not np.allclose(got, _exact_gelu_grad(x), rtol=1e-7, atol=1e-9):
        return None
    want = _gelu_grad(x)
    i = int(np.argmax(np.abs(got - want)))
    return (
        "these are the derivative of the exact GELU, x·Φ(x) (torch's default nn.GELU()), not of "
        f"its tanh approximation: at x = {x[i]:g} you return {got[i]:.6g}, the tanh form's "
        f"derivative is {want[i]:.6g}. The two GELUs are close (their slopes differ by up to "
        "~1e-3), but they are different functions, and this exercise is about the tanh one, "
        "GPT-2's and nn.GELU(approximate='tanh')'s: differentiate "
        "½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) itself."
    )


# ---------------------------------------------------------------------------------------------
# A new operation for the autograd engine: sin
# ---------------------------------------------------------------------------------------------

_SIN_HINT = (
    "the contract of an operation: out = Value(math.sin(x.data), parents=(x,), op='sin'); "
    "then a closure that ADDS the local derivative times out's own gradient to the parent's: "
    "def _backward(): x.grad += math.cos(x.data) * out.grad; attach it with "
    "out._backward = _backward, and return out."
)
_SIN_TIMES_Y_HINT = (
    "here sin(x) is not the last node: its gradient out.grad is ∂(output)/∂sin(x) = y, not 1, "
    "and the chain rule multiplies the local derivative cos(x) by it."
)
_SIN_SIN_HINT = (
    "two of your nodes in a row: the outer one's _backward must pass cos(sin x) · 1 to the "
    "inner one, whose _backward then multiplies by its own out.grad."
)
_SIN_SQUARE_HINT = (
    "x * x is a node between x and sin: backward() finds it only through sin's .parents, and "
    "only once it has run its _backward does x get a gradient (2x · cos(x²))."
)
_SIN_TWICE_HINT = (
    "x is used twice here, by sin and by the product, and each use sends x its own share of "
    "the gradient: x.grad is the sum of the two (sin(x) + x·cos(x))."
)
_SIN_NO_PARENTS = (
    "your sin(x) does not list x in its .parents ({parents}). backward() finds the nodes to "
    "visit by following .parents from the output, so it never reaches x or anything x was "
    "computed from: in sin(x * x) the product is never visited, its _backward never runs, "
    "and x gets no gradient. Create the node with parents=(x,)."
)
_SIN_NO_BACKWARD = (
    "your sin(x) never sets out._backward, so it is still the do-nothing default of a leaf: "
    "backward() calls it and no gradient flows from sin back to x. Define the closure and "
    "attach it: out._backward = _backward."
)
_SIN_BACKWARD_DOES_NOTHING = (
    "calling your sin(x)._backward() with out.grad = 1 left x.grad at 0: the closure must add "
    "to the parent's gradient, x.grad += math.cos(x.data) * out.grad (not to out.grad, and "
    "reading out.grad when it runs, not when sin is called)."
)
_SIN_WRONG_LOCAL = (
    "with out.grad = 1 and x = {x:g}, your _backward adds {got:.6g} to x.grad, but the local "
    "derivative d sin(x)/dx is cos(x) = {want:.6g}."
)
_SIN_NO_OUT_GRAD = (
    "your _backward adds cos(x) to x.grad whatever out.grad is: it is missing `* out.grad`. "
    "out.grad is 1 only when sin is the last node; inside a bigger expression it is "
    "∂(output)/∂sin(x), and the chain rule multiplies the local derivative by it: "
    "x.grad += math.cos(x.data) * out.grad."
)
_SIN_ASSIGNS = (
    "your _backward sets x.grad (`=`) instead of adding to it (`+=`): with x.grad = 1 already "
    "there, it left cos(x), wiping out the 1. When x is used more than once (here by sin and by "
    "another operation), each use sends x its own contribution, and the total derivative is "
    "their sum (the multivariable chain rule; gradients accumulate): with `=` only the last "
    "contribution to run survives."
)

# The expressions check_sin_op builds, as functions of (sin, x, y): the same code runs on the
# learner's Values with their sin and on torch tensors with torch.sin, for the reference.
_SIN_EXPRESSIONS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "sin(x)": lambda sin, x, y: sin(x),
    "sin(x) * y": lambda sin, x, y: sin(x) * y,
    "sin(sin(x))": lambda sin, x, y: sin(sin(x)),
    "sin(x * x)": lambda sin, x, y: sin(x * x),
    "sin(x) * x": lambda sin, x, y: sin(x) * x,
    "sin(x) * y + sin(x * x)": lambda sin, x, y: sin(x) * y + sin(x * x),
    "s * s + s with s = sin(x * y)": lambda sin, x, y: _square_plus(sin(x * y)),
    "sin(x - y) / (sin(y) + 2)": lambda sin, x, y: sin(x - y) / (sin(y) + 2),
}


def _square_plus(s: Any) -> Any:
    """s · s + s: one node used three times."""
    return s * s + s


@dataclass
class _SinRun:
    """What evaluating one expression with the learner's sin gave."""

    root: Any
    inputs: dict[str, Any]
    outputs: list[Any] = field(default_factory=list)  # everything the learner's sin returned
    # (data before, data after) of an argument whose .data the learner's sin changed, if any
    changed: tuple[Any, Any] | None = None


def _sin_grading(rng: np.random.Generator, sin: Callable[..., Any]) -> list[Case]:
    """Hidden cases: the visible kinds of expression at new x and y (the Values sin receives)."""
    judge = _sin_judge(sin)
    hints = {expression: hint for expression, _, _, hint in _SIN_SETUPS}
    has_y = {expression: y is not None for expression, _, y, _ in _SIN_SETUPS}
    cases = []
    for expression in _SIN_GRADING_EXPRESSIONS:
        # |x|, |y| from 0.3 to 2.8 with random signs: away from 0, where gradients vanish
        x, y = (rng.choice([-1.0, 1.0], size=2) * rng.uniform(0.3, 2.8, size=2)).tolist()
        if has_y[expression]:
            name, args = f"{expression} at x = {x:.4g}, y = {y:.4g}", (expression, x, y)
        else:
            name, args = f"{expression} at x = {x:.4g}", (expression, x)
        cases.append(Case(name, args, check=judge, hint=hints[expression]))
    return cases


@checker(
    "sin_op",
    what="forward values and every input's .grad equal to torch autograd's within "
    "rtol=1e-10, in expressions where sin is not the last node, is nested, follows "
    "another node, shares its input or is used three times",
    hint=_SIN_HINT,
    fn_name="sin",
    prepare=lambda sin: _sin_runner(sin),
    grading=_sin_grading,
)
def check_sin_op(sin: Callable[..., Any]) -> list[Case]:
    """Check `sin(x: Value) -> Value`: sine as a new operation of `book.autograd`'s engine.

    The operation returns a new Value holding math.sin(x.data), with parents=(x,), and sets its
    `_backward` to a closure that ADDS cos(x.data) · out.grad to x.grad. The checker builds
    expressions from it and the engine's own operations (sin(x) · y, sin(sin(x)), sin(x · x),
    sin(x) · x, a sin node used three times, ...), runs backward() and compares the output's
    value and every input's .grad with torch autograd in float64. A failure names the
    expression and the gradient that is wrong, and says why: no parents, no _backward, `=`
    instead of `+=`, or a missing `* out.grad`.
    """
    return _sin_cases(sin)


# The visible cases: expression, x, y (None: the expression has no y), case hint.
_SIN_SETUPS: list[tuple[str, float, float | None, str | None]] = [
    ("sin(x)", 0.7, None, None),
    ("sin(x) * y", 0.7, -1.3, _SIN_TIMES_Y_HINT),
    ("sin(sin(x))", 1.1, None, _SIN_SIN_HINT),
    ("sin(x * x)", 1.2, None, _SIN_SQUARE_HINT),
    ("sin(x) * x", -0.8, None, _SIN_TWICE_HINT),
    ("sin(x) * y + sin(x * x)", 0.9, 2.1, None),
    ("s * s + s with s = sin(x * y)", 0.6, 1.7, None),
    ("sin(x - y) / (sin(y) + 2)", 2.5, -0.4, None),
]
# The expressions the hidden cases evaluate at new x and y: each way sin sits in a graph.
_SIN_GRADING_EXPRESSIONS = (
    "sin(x) * y",
    "sin(sin(x))",
    "sin(x * x)",
    "sin(x) * x",
    "s * s + s with s = sin(x * y)",
    "sin(x - y) / (sin(y) + 2)",
)


def _sin_cases(sin: Callable[..., Any]) -> list[Case]:
    """One case per expression, each with the values of x (and y) to evaluate it at."""
    judge = _sin_judge(sin)
    cases = []
    for expression, x, y, hint in _SIN_SETUPS:
        args = (expression, x) if y is None else (expression, x, y)
        cases.append(Case(expression, args, check=judge, hint=hint))
    return cases


def _sin_runner(sin: Callable[..., Any]) -> Callable[..., _SinRun]:
    """A function of (expression, x, y) that builds the expression with `sin` and runs backward."""

    def evaluate(expression: str, x: float, y: float | None = None) -> _SinRun:
        Value = _value_class()
        run = _SinRun(None, {"x": Value(x, label="x")})
        if y is not None:
            run.inputs["y"] = Value(y, label="y")

        def recorded(v: Any) -> Any:
            before = v.data
            out = sin(v)
            if run.changed is None and v.data != before:
                run.changed = (before, v.data)
            run.outputs.append(out)
            return out

        run.root = _SIN_EXPRESSIONS[expression](recorded, run.inputs["x"], run.inputs.get("y"))
        if all(_is_value(out) for out in run.outputs):
            run.root.backward()
        return run

    return evaluate


def _sin_judge(sin: Callable[..., Any]) -> Callable[..., str | None]:
    """The property check of a case: the output's value and each input's gradient vs torch."""

    def judge(run: _SinRun, expression: str, x: float, y: float | None = None) -> str | None:
        if run.changed is not None:
            before, after = run.changed
            return (
                f"your sin changed its argument's .data in place (from {_fmt(before)} to "
                f"{_fmt(after)}): an operation leaves its input as it is and puts its result in a "
                "new node, out = Value(math.sin(x.data), parents=(x,), op='sin')."
            )
        bad = [out for out in run.outputs if not _is_value(out)]
        if bad and bad[0] is None:
            return "your sin returned None, not a Value: did you forget to `return out`?"
        if bad:
            return (
                f"your sin returned a {type(bad[0]).__name__} ({_short(bad[0])}), not a Value: "
                "build the result node with out = Value(math.sin(x.data), parents=(x,), "
                "op='sin') and return out."
            )
        value, grads = _sin_reference(expression, x, y)
        problems = []
        if not _close(run.root.data, value):
            problems.append(
                f"the output's value is {_fmt(run.root.data)}, torch gives {_fmt(value)}: "
                "the new node's data must be math.sin(x.data)"
            )
        wrong = [name for name in grads if not _close(run.inputs[name].grad, grads[name])]
        for name in wrong:
            got = run.inputs[name].grad
            problems.append(f"{name}.grad is {_fmt(got)}, torch autograd gives {_fmt(grads[name])}")
        if not problems:
            return None
        right = [f"{name}.grad" for name in grads if name not in wrong]
        if right and wrong:
            problems[-1] += f" ({' and '.join(right)} {'is' if len(right) == 1 else 'are'} right)"
        cause = _diagnose_sin(sin)
        if cause:
            problems.append(f"why: {cause}")
        return "\n   ".join(problems)

    return judge


def _diagnose_sin(sin: Callable[..., Any]) -> str | None:
    """Find the classic mistake in the learner's sin by probing one node by hand; None if unsure.

    The probes call the node's _backward directly with chosen x.grad and out.grad, which tells
    "no * out.grad" (the result ignores out.grad) from "=" (it ignores what x.grad held). They
    run the learner's code, so under a time limit and with anything it raises caught: a
    diagnosis is optional, and never breaks or hangs the check.
    """
    call = call_learner(_probe_sin, (sin,), limit=_DIAGNOSIS_TIME_LIMIT)
    if call.finished and call.error is None and isinstance(call.value, str):
        return call.value
    return None


def _probe_sin(sin: Callable[..., Any]) -> str | None:
    """The probes of _diagnose_sin; may raise or hang, as they run the learner's code."""
    Value = _value_class()
    a = 0.7
    want = math.cos(a)
    x = Value(a)
    out = sin(x)
    parents = tuple(getattr(out, "parents", ()))
    if not any(p is x for p in parents):
        return _SIN_NO_PARENTS.format(parents="it is ()" if not parents else "it has others")
    if out._backward is Value(0.0)._backward:  # still the leaf's do-nothing default
        return _SIN_NO_BACKWARD

    def backward_once(x_grad: float, out_grad: float) -> float:
        x.grad, out.grad = x_grad, out_grad
        out._backward()
        return float(x.grad)

    once = backward_once(0.0, 1.0)
    if once == 0.0:
        return _SIN_BACKWARD_DOES_NOTHING
    if not _close(once, want):
        cause = _SIN_WRONG_LOCAL.format(x=a, got=once, want=want)
        if _close(once, math.cos(math.sin(a))):
            cause += " That is cos(out.data): take the cosine of the input, x.data."
        return cause
    if _close(backward_once(0.0, 2.5), want):
        return _SIN_NO_OUT_GRAD
    if _close(backward_once(1.0, 1.0), want):
        return _SIN_ASSIGNS
    return None


def _sin_reference(expression: str, x: float, y: float | None) -> tuple[float, dict[str, float]]:
    """The expression's value and d(value)/d(input) for each input, by torch autograd (float64)."""
    torch = torch_module()
    inputs = {"x": torch.tensor(x, dtype=torch.float64, requires_grad=True)}
    if y is not None:
        inputs["y"] = torch.tensor(y, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        out = _SIN_EXPRESSIONS[expression](torch.sin, inputs["x"], inputs.get("y"))
        out.backward()
    return out.item(), {name: t.grad.item() for name, t in inputs.items()}


def _value_class() -> Any:
    """book.autograd.Value, imported only when a check runs."""
    from book.autograd import Value

    return Value


def _is_value(node: Any) -> bool:
    """Whether node behaves like a Value of the engine (duck typing survives a module reload)."""
    return all(hasattr(node, a) for a in ("data", "grad", "parents", "_backward", "backward"))


def _close(got: Any, want: float) -> bool:
    """got within 1e-12 + 1e-10·|want| of want (False for anything that is not a number)."""
    try:
        return abs(float(got) - want) <= 1e-12 + 1e-10 * abs(want)
    except (TypeError, ValueError):
        return False


def _fmt(number: Any) -> str:
    """A number with 10 significant digits; anything else (a learner's odd .grad) as a repr."""
    try:
        return f"{float(number):.10g}"
    except (TypeError, ValueError):
        return _short(number)


def _short(value: Any, limit: int = 60) -> str:
    """A one-line repr that never raises."""
    try:
        text = " ".join(repr(value).split())
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# masked mean
# ---------------------------------------------------------------------------------------------

_MASKED_MEAN_HINT = (
    "pad_mask is True at PADDING (PyTorch's key_padding_mask convention; Hugging Face's "
    "attention_mask is the opposite, 1 = real token). keep = ~pad_mask; the sum over real "
    "positions is (h * keep[:, :, None]).sum(axis=1), shape (B, E); divide it by the number of "
    "real tokens of each row, keep.sum(axis=1, keepdims=True), shape (B, 1) — not by T, which "
    "counts the padding too."
)
_MASKED_NO_PADDING_HINT = (
    "nothing is padding here (pad_mask is all False), so the answer is the plain mean over T: "
    "zeros, nan or a division by zero suggest that True was read as 'real token'."
)
_MASKED_SOME_PADDING_HINT = (
    "dividing by T counts the padding positions as if they were tokens, which pulls every "
    "padded row's mean towards 0: divide by each row's count of real tokens."
)
_MASKED_LEFT_HINT = (
    "the padding is at the start of these rows (left padding, as for generation): use the mask "
    "itself, not a length that assumes the real tokens come first."
)
_MASKED_ALL_PADDING_HINT = (
    "row 1 has no real token, so its count is 0 and sum / count is 0 / 0 = nan (with a "
    "RuntimeWarning, which the checker turns into an error). Return zeros for such a row: "
    "divide by np.maximum(count, 1), since the sum is 0 there anyway. "
    "(np.where(count > 0, sum / count, 0) still computes 0 / 0 first, and warns.)"
)
_MASKED_F32_HINT = Hint(
    "the count of real tokens is an integer array (int64), and float32 / int64 gives float64 "
    "in NumPy: convert the counts with .astype(h.dtype) before dividing.",
    frozenset({"dtype_promoted"}),
)


def _masked_mean_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new sizes, row lengths and values of the same kinds as the visible ones."""

    def batch(kind: str, left: bool = False) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
        """A batch's shape text and (h, pad_mask); `kind` says which rows are padded."""
        B, T, E = int(rng.integers(2, 6)), int(rng.integers(3, 9)), int(rng.integers(2, 7))
        n = np.full(B, T) if kind == "none" else rng.integers(1, T + 1, size=B)
        if kind == "some":
            n[rng.integers(B)] = rng.integers(1, T)  # at least one row is padded
        if kind == "empty":
            n[1] = 0  # row 1, as the hint of the all-padding case says
        return f"B = {B}, T = {T}, E = {E}", _padded(rng, n, T, E, left=left)

    # name, which rows are padded, padding at the start, float32 h, case hint
    specs = [
        ("no padding", "none", False, False, _MASKED_NO_PADDING_HINT),
        ("padding at the end of some rows", "some", False, False, _MASKED_SOME_PADDING_HINT),
        ("different lengths, padded at the start", "some", True, False, _MASKED_LEFT_HINT),
        ("a row that is all padding (its mean is zeros)", "empty", False, False,
         _MASKED_ALL_PADDING_HINT),
        ("float32 h (the result stays float32)", "some", bool(rng.integers(2)), True,
         _MASKED_F32_HINT),
    ]
    cases = []
    for name, kind, left, f32, hint in specs:
        shape, args = batch(kind, left)
        args = _as_f32(args) if f32 else args
        cases.append(
            Case(f"{name} ({shape})", args, expected=_masked_mean, hint=hint, **tol_for(args[0]))
        )
    return cases


@checker(
    "masked_mean",
    what="(B, E) means over the real tokens within rtol=1e-10 (1e-5 for float32), padding at "
    "the end or the start, rows of different lengths, an all-padding row giving zeros, "
    "B = T = 1, float32 stays float32",
    hint=_MASKED_MEAN_HINT,
    prepare=lambda fn: _zero_division_raises(fn),
    grading=_masked_mean_grading,
)
def check_masked_mean() -> list[Case]:
    """Check `masked_mean(h, pad_mask) -> np.ndarray`: the mean over the real tokens of each row.

    h is (B, T, E), pad_mask a bool (B, T) array, True at padding (PyTorch's convention, as
    in key_padding_mask). The result is (B, E): the mean of h over the positions where pad_mask is
    False. A row that is all padding gives zeros, without dividing by zero (the checker turns
    NumPy's division warnings into errors). float32 stays float32.
    """
    return _masked_mean_cases()


def _zero_division_raises(fn: Any) -> Any:
    """Run `fn` with NumPy's 0 / 0 and x / 0 as errors: an all-padding row must not divide by 0.

    sum / count gives nan there, and even np.where(count > 0, sum / count, 0), whose result is
    right, computes 0 / 0 first and prints a RuntimeWarning in the notebook; the checker treats
    the division itself as the failure.
    """

    @functools.wraps(fn)
    def strict(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(divide="raise", invalid="raise"):
            return fn(*args, **kwargs)

    return strict


def _masked_mean_cases() -> list[Case]:
    """The inputs masked_mean is checked on, easiest first."""
    rng = np.random.default_rng(42)
    padded = functools.partial(_padded, rng)
    # name, (h, pad_mask), case hint
    inputs = [
        ("no padding (B = 2, T = 3, E = 4)", padded([3, 3], 3, 4), _MASKED_NO_PADDING_HINT),
        (
            "padding at the end of some rows (B = 3, T = 5, E = 2)",
            padded([5, 3, 1], 5, 2),
            _MASKED_SOME_PADDING_HINT,
        ),
        (
            "different lengths, padded at the start (B = 4, T = 6, E = 3)",
            padded([2, 6, 4, 1], 6, 3, left=True),
            _MASKED_LEFT_HINT,
        ),
        (
            "a row that is all padding (its mean is zeros)",
            padded([3, 0, 2], 4, 3),
            _MASKED_ALL_PADDING_HINT,
        ),
        (
            "float32 h (the result stays float32)",
            _as_f32(padded([4, 2, 3], 4, 5)),
            _MASKED_F32_HINT,
        ),
        ("B = 1, T = 1", padded([1], 1, 3), None),
    ]
    return [
        Case(
            name,
            args,
            expected=_masked_mean,
            hint=hint,
            **tol_for(args[0]),
        )
        for name, args, hint in inputs
    ]


def _padded(
    rng: np.random.Generator, lengths: Any, T: int, E: int, left: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """h (B, T, E) and its pad_mask, for rows with these numbers of real tokens."""
    h = rng.normal(size=(len(lengths), T, E))
    pos = np.arange(T)[None, :]
    n = np.array(lengths)[:, None]
    pad_mask = pos < T - n if left else pos >= n
    return h, pad_mask


def _as_f32(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """(h, pad_mask) with h as float32."""
    return args[0].astype(np.float32), args[1]


def _masked_mean(h: np.ndarray, pad_mask: np.ndarray) -> np.ndarray:
    """Reference in float64: the sum over real positions / their count (at least 1); h's dtype."""
    keep = ~np.asarray(pad_mask, dtype=bool)  # (B, T): True at real tokens
    sums = (np.asarray(h, dtype=np.float64) * keep[:, :, None]).sum(axis=1)  # (B, E)
    counts = np.maximum(keep.sum(axis=1, keepdims=True), 1)  # (B, 1)
    return (sums / counts).astype(float_dtype(h))


# ---------------------------------------------------------------------------------------------
# gradient of softmax cross-entropy
# ---------------------------------------------------------------------------------------------

_CE_HINT = (
    "with p = softmax(logits) row by row (subtract each row's max before np.exp), the mean loss "
    "L = (1/B)·Σ_b −log p[b, t_b] has the gradient (p − one_hot(targets)) / B: copy p, "
    "subtract 1 at [np.arange(B), targets], and divide by B — the 1/B comes from the mean."
)
_CE_BATCH_HINT = (
    "this batch has B = 4 rows and the loss is their mean, so each row's gradient is divided "
    "by B: values exactly 4 times too large mean the 1/B is missing."
)
_CE_LARGE_HINT = (
    "np.exp(1000) overflows to inf, and inf / inf is nan: subtract each row's maximum first "
    "(z - z.max(axis=1, keepdims=True)), which leaves softmax unchanged."
)
_CE_F32_HINT = Hint(
    "np.eye(C) and np.zeros((B, C)) are float64 and promote a float32 result: give them "
    "dtype=logits.dtype, or subtract 1 at [np.arange(B), targets] in a copy of p.",
    frozenset({"dtype_promoted"}),
)


def _ce_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new logits, targets and sizes of the same kinds as the visible ones."""

    def batch(B: int, C: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """Normal logits (B, C) and random targets (B,)."""
        return rng.normal(scale=scale, size=(B, C)), rng.integers(0, C, size=B)

    # Large logits: each row's largest is 800 to 1000 (np.exp overflows past ~709), a rival
    # within 3 of it so the softmax is not one-hot, the rest down to -1000.
    B, C = int(rng.integers(3, 7)), int(rng.integers(3, 8))
    highest = rng.uniform(800.0, 1000.0, size=(B, 1))
    large = highest - rng.uniform(3.0, 1800.0, size=(B, C))
    top, rival = (rng.permuted(np.tile(np.arange(C), (B, 1)), axis=1)[:, :2]).T
    rows = np.arange(B)
    large[rows, top] = highest[:, 0]
    large[rows, rival] = highest[:, 0] - rng.uniform(0.0, 3.0, size=B)
    C4 = int(rng.integers(3, 12))  # B stays 4, the number the case's hint names
    B32, C32 = int(rng.integers(2, 9)), int(rng.integers(3, 12))
    logits32, targets32 = batch(B32, C32)
    B100, C100 = int(rng.integers(4, 12)), int(rng.integers(50, 200))
    # name, (logits, targets), case hint
    inputs = [
        ("one example, two classes (B = 1, C = 2)", batch(1, 2), None),
        (f"a batch (B = 4, C = {C4})", batch(4, C4), _CE_BATCH_HINT),
        (
            f"many classes (B = {B100}, C = {C100}), int32 targets",
            _int32(batch(B100, C100, 4.0)),
            None,
        ),
        (f"large logits (±1000, B = {B}, C = {C})", (large, rng.integers(0, C, size=B)),
         _CE_LARGE_HINT),
        (
            f"float32 logits (B = {B32}, C = {C32}; the result stays float32)",
            (logits32.astype(np.float32), targets32),
            _CE_F32_HINT,
        ),
    ]
    return [
        Case(name, args, expected=_ce_grad, hint=hint, **tol_for(args[0]))
        for name, args, hint in inputs
    ]


@checker(
    "softmax_cross_entropy_grad",
    what="(B, C) gradients equal to torch autograd's through F.cross_entropy (mean) within "
    "rtol=1e-10 (1e-5 for float32), B = 1, C = 2, logits of ±1000, float32 stays float32",
    hint=_CE_HINT,
    grading=_ce_grading,
)
def check_softmax_cross_entropy_grad() -> list[Case]:
    """Check `softmax_cross_entropy_grad(logits, targets) -> np.ndarray`: dL/dlogits, (B, C).

    logits is (B, C), targets (B,) integer class indices; L is the MEAN cross-entropy over the
    batch, as `F.cross_entropy` computes it by default, so the gradient is
    (softmax(logits) − one_hot(targets)) / B. It must agree with torch autograd, stay finite for
    logits of ±1000 and keep the logits' dtype.
    """
    return _ce_cases()


def _ce_cases() -> list[Case]:
    """The inputs softmax_cross_entropy_grad is checked on, easiest first."""
    rng = np.random.default_rng(43)

    def batch(B: int, C: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(scale=scale, size=(B, C)), rng.integers(0, C, size=B)

    large = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [-1000.0, 5.0, 1000.0]])
    logits32, targets32 = batch(5, 6)
    # name, (logits, targets), case hint
    inputs = [
        ("one example, two classes (B = 1, C = 2)", (np.array([[0.5, -1.0]]), np.array([1])), None),
        ("a batch (B = 4, C = 5)", batch(4, 5), _CE_BATCH_HINT),
        ("many classes (B = 8, C = 100), int32 targets", _int32(batch(8, 100, 4.0)), None),
        ("large logits (±1000)", (large, np.array([0, 2, 1])), _CE_LARGE_HINT),
        (
            "float32 logits (the result stays float32)",
            (logits32.astype(np.float32), targets32),
            _CE_F32_HINT,
        ),
    ]
    return [
        Case(
            name,
            args,
            expected=_ce_grad,
            hint=hint,
            **tol_for(args[0]),
        )
        for name, args, hint in inputs
    ]


def _int32(args: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(logits, targets) with int32 targets."""
    return args[0], args[1].astype(np.int32)


def _ce_grad(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Reference: autograd of F.cross_entropy (reduction='mean') in float64; logits' dtype."""
    torch = torch_module()
    z = to_t(logits).requires_grad_(True)
    with torch.enable_grad():
        t = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        torch.nn.functional.cross_entropy(z, t).backward()
    return to_np(z.grad, logits)
