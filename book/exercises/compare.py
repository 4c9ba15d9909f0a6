"""Comparing the learner's output with the expected value, and saying exactly how it differs.

`compare(expected, got, case)` returns None when they match, or a `Failure` whose headline and
detail lines say exactly what is wrong, checked in this order: the type (an array, a tensor, a
number, a tuple of them), the shape, the dtype, then the values. Floating-point values are
compared within the case's tolerances (atol + rtol·|expected|), with the worst position and the
size of the error; nan or inf where a finite value was expected is reported as such. Integers
and booleans are compared exactly and reported as what they are: short lists of ids are shown
whole, boolean masks by the positions that differ.

The module also formats values for messages (`short_repr`, `num`) without ever raising, and tells
whether an input was changed in place (`unchanged`). torch is never imported here: a tensor can
only exist if the learner's code already imported torch.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from book.exercises.cases import Case, DtypePolicy, Failure

# Integer lists up to this length are shown whole in a mismatch.
_SHOW_WHOLE = 30


def compare(expected: Any, got: Any, case: Case, where: str = "") -> Failure | None:
    """Compare got with expected (recursing into tuples and lists); None when they match."""
    if isinstance(expected, (tuple, list)):
        if _is_int_sequence(expected):
            failure = _compare_ints(expected, got)
        else:
            return _compare_sequence(expected, got, case, where)
    else:
        failure = _compare_leaf(expected, got, case)
    if failure is None or not where:
        return failure
    return dataclasses.replace(failure, headline=f"{where}: {failure.headline}")


def _compare_sequence(expected: Sequence[Any], got: Any, case: Case, where: str) -> Failure | None:
    """Compare a tuple of outputs element by element, naming the element that fails."""
    kind = type(expected).__name__
    if not isinstance(got, (tuple, list)):
        return wrong_type(f"a {kind} of {_values(len(expected))}", got)
    if len(got) != len(expected):
        return Failure(
            "wrong_type",
            f"wrong number of values: expected a {kind} of {len(expected)}, got {len(got)}",
        )
    for i, (exp_item, got_item) in enumerate(zip(expected, got, strict=True)):
        label = f"{where}, element {i}" if where else f"element {i} of the returned {kind}"
        failure = compare(exp_item, got_item, case, label)
        if failure is not None:
            return failure
    return None


# ---------------------------------------------------------------------------------------------
# Integers: lists of ids and single ints, compared exactly
# ---------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_int_sequence(value: Sequence[Any]) -> bool:
    """A non-empty list or tuple of integers, e.g. token ids."""
    return len(value) > 0 and all(_is_int(v) for v in value)


def _compare_ints(expected: Sequence[int], got: Any) -> Failure | None:
    """Compare a list of integers exactly, showing both lists when they are short."""
    kind = type(expected).__name__
    if not isinstance(got, (tuple, list)):
        return wrong_type(f"a {kind} of {_values(len(expected), 'int')}", got)
    for i, item in enumerate(got):
        if not _is_int(item):
            return Failure(
                "wrong_type",
                f"wrong type: element {i} is {short_repr(item, 40)}, {describe_type(item)}; "
                "expected ints",
                hint="ids are integers: int(x) converts one, and [int(x) for x in xs] a list.",
            )
    want, have = [int(v) for v in expected], [int(v) for v in got]
    if want == have:
        return None
    first = next((i for i, (a, b) in enumerate(zip(want, have, strict=False)) if a != b), None)
    if len(want) <= _SHOW_WHOLE and len(have) <= _SHOW_WHOLE:
        details = [f"expected {want}", f"got      {have}"]
    else:
        details = []
    if len(want) != len(have):
        headline = f"wrong values: expected {_values(len(want))}, got {len(have)}"
    else:
        headline = "wrong values"
    if first is not None:
        details.append(
            f"first difference at position {first}: expected {want[first]}, got {have[first]}"
        )
    return Failure("wrong_values", headline, tuple(details))


def _compare_int_scalar(expected: Any, got: Any) -> Failure | None:
    """Compare one integer exactly; a float is the wrong type, even if it is whole."""
    if not _is_int(got) and not (_is_array_like(got) and _shape(got) == () and _is_int_dtype(got)):
        return wrong_type("an int", got)
    value = int(got.item() if hasattr(got, "item") else got)
    if value == int(expected):
        return None
    return Failure("wrong_values", f"wrong value: expected {int(expected)}, got {value}")


# ---------------------------------------------------------------------------------------------
# One array, tensor or number
# ---------------------------------------------------------------------------------------------


def _compare_leaf(expected: Any, got: Any, case: Case) -> Failure | None:
    """Compare one array, tensor, number or plain value: type, shape, dtype, finiteness, values."""
    category = _category(expected)
    if category == "int":
        return _compare_int_scalar(expected, got)
    if not _type_matches(category, got):
        return _wrong_leaf_type(category, got)
    if category == "other":
        return None if bool(expected == got) else _plain_mismatch(expected, got)
    if category != "scalar" and _shape(expected) != _shape(got):
        return Failure(
            "wrong_shape", f"wrong shape: expected {_shape(expected)}, got {_shape(got)}"
        )
    problem = _dtype_problem(expected, got, case.dtype, category)
    if problem:
        tag, hint = _dtype_hint(expected, got)
        return Failure("wrong_dtype", f"wrong dtype: {problem}", hint=hint, tags=frozenset({tag}))
    exp_arr, got_arr = to_numpy(expected), to_numpy(got)
    if not (_is_numeric(exp_arr) and _is_numeric(got_arr)):
        return None if arrays_equal(exp_arr, got_arr) else _plain_mismatch(expected, got)
    if exp_arr.dtype.kind in "biu" and got_arr.dtype.kind in "biu":
        return _exact_problem(exp_arr, got_arr)
    return _nonfinite_problem(exp_arr, got_arr) or _value_problem(exp_arr, got_arr, case)


def _category(value: Any) -> str:
    """How to compare a value: "tensor", "array", "int", "scalar" or "other"."""
    if is_tensor(value):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "array"
    if _is_int(value):
        return "int"
    if isinstance(value, (numbers.Number, np.generic)):
        return "scalar"
    return "other"


def _is_array_like(value: Any) -> bool:
    return isinstance(value, np.ndarray) or is_tensor(value)


def _is_int_dtype(value: Any) -> bool:
    return to_numpy(value).dtype.kind in "iu"


def _type_matches(category: str, got: Any) -> bool:
    """Whether got has an acceptable type for an expected value of this category."""
    if category == "tensor":
        return is_tensor(got)
    if category == "array":
        # NumPy ufuncs turn 0-d arrays into NumPy scalars, which have a shape and dtype too.
        return isinstance(got, (np.ndarray, np.generic))
    if category == "scalar":
        if isinstance(got, (numbers.Number, np.generic)):
            return True
        return _is_array_like(got) and _shape(got) == ()
    return True


def _wrong_leaf_type(category: str, got: Any) -> Failure:
    """The wrong type for an array, tensor or number; for a number, say what shape was wrong."""
    expected_text = {
        "tensor": "a torch.Tensor",
        "array": "a NumPy array (np.ndarray)",
        "scalar": "a number",
    }.get(category, "a value")
    if category == "scalar" and _is_array_like(got):
        kind = "tensor" if is_tensor(got) else "array"
        return Failure(
            "wrong_type",
            f"wrong type: expected a number, got {describe_type(got)} of shape {_shape(got)}",
            (
                f"a number or a 0-d {kind} (shape ()) is accepted, e.g. from .sum() or .item(); "
                f"a {kind} of shape {_shape(got)} is not.",
            ),
        )
    return wrong_type(expected_text, got)


def wrong_type(expected_text: str, got: Any) -> Failure:
    """Describe an output of the wrong type, with a nudge when it is None."""
    if got is None:
        return Failure(
            "wrong_type",
            f"wrong type: expected {expected_text}, got None",
            ("Did you forget to `return` the result?",),
        )
    return Failure("wrong_type", f"wrong type: expected {expected_text}, got {describe_type(got)}")


def describe_type(value: Any) -> str:
    """The type of a value, in words: 'an int', 'a list of 3 values', 'None'."""
    if value is None:
        return "None"
    if is_tensor(value):
        return "a torch.Tensor"
    if isinstance(value, np.ndarray):
        return "a NumPy array (np.ndarray)"
    if isinstance(value, np.generic):
        return f"a NumPy scalar (np.{type(value).__name__})"
    name = type(value).__name__
    if isinstance(value, (tuple, list)):
        return f"a {name} of {_values(len(value))}"
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _values(n: int, noun: str = "value") -> str:
    """'1 value', '3 values'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _plain_mismatch(expected: Any, got: Any) -> Failure:
    """Describe two non-numeric values that differ."""
    return Failure(
        "wrong_values", f"wrong value: expected {short_repr(expected)}, got {short_repr(got)}"
    )


def _shape(value: Any) -> tuple[int, ...]:
    """The shape of an array, tensor or scalar as a tuple of ints."""
    return tuple(int(n) for n in np.shape(value)) if not is_tensor(value) else tuple(value.shape)


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------


def _dtype_problem(expected: Any, got: Any, policy: DtypePolicy, category: str) -> str | None:
    """What is wrong with got's dtype under the policy, or None."""
    if category == "scalar" or (isinstance(policy, str) and policy == "any"):
        return None
    got_name = dtype_name(got)
    if isinstance(policy, str) and policy == "floating":
        return None if _is_floating(got) else f"expected a floating-point dtype, got {got_name}"
    want = (
        dtype_name(expected)
        if isinstance(policy, str) and policy == "exact"
        else _policy_name(policy)
    )
    return None if want == got_name else f"expected {want}, got {got_name}"


def _dtype_hint(expected: Any, got: Any) -> tuple[str, str | None]:
    """A tag and a hint for this particular dtype mistake: promotion, integers, objects, bools."""
    want, have = dtype_name(expected), dtype_name(got)
    lib = "torch" if is_tensor(got) else "numpy"
    kind_want, kind_have = _dtype_kind(expected), _dtype_kind(got)
    if kind_have == "O":
        return "dtype_object", (
            "dtype object means the array holds Python objects, e.g. SymPy numbers "
            "(expr.subs(...) gives SymPy Floats): evaluate numerically instead (sp.lambdify(x, "
            f"expr, 'numpy')), or convert at the end with .astype(np.{want})."
        )
    if kind_want == "b":
        return "dtype_bool", (
            "return booleans: a comparison such as a > b gives a bool array directly; ones or "
            "zeros need dtype=bool."
        )
    if kind_want in "iu" and kind_have == "f":
        return (
            "dtype_float",
            "these are indices or counts, so integers: np.argsort and np.argmax return int64.",
        )
    if kind_want == "f" and kind_have in "biu":
        return "dtype_int", (
            f"your result holds integers ({have}): the arithmetic never left integer types "
            "(for example np.zeros_like or np.empty_like of an integer array, or //). Make it "
            f"floating point, {want} like the input."
        )
    if kind_want == "f" and kind_have == "f":
        if _itemsize(got) > _itemsize(expected):
            if lib == "torch":
                return "dtype_promoted", (
                    f"keep the input's precision: an operand in {have} (a tensor made without "
                    f"dtype=, or .double()) promotes {want} to {have}; use dtype=x.dtype."
                )
            return "dtype_promoted", (
                f"keep the input's precision: a {have} constant or np.array(...) can promote "
                f"{want} to {have} (use x.dtype, or .astype(x.dtype) at the end)."
            )
        return "dtype_narrowed", (
            f"the result lost precision: {have} instead of {want}; compute in the input's dtype "
            "and don't convert to a smaller one."
        )
    return "dtype_other", None


def _dtype_kind(value: Any) -> str:
    """NumPy's one-letter dtype kind ("f", "i", "b", "O", ...), for arrays and tensors."""
    if is_tensor(value):
        if value.dtype.is_floating_point:
            return "f"
        if value.dtype.is_complex:
            return "c"
        return "b" if str(value.dtype) == "torch.bool" else "i"
    return np.asarray(value).dtype.kind


def _itemsize(value: Any) -> int:
    return int(value.element_size()) if is_tensor(value) else np.asarray(value).dtype.itemsize


def dtype_name(value: Any) -> str:
    """A dtype name shared by NumPy and torch ("float32", "int64", ...)."""
    return str(value.dtype).removeprefix("torch.")


def _policy_name(policy: DtypePolicy) -> str:
    """The name of a concrete dtype given as a NumPy dtype, a string or a torch dtype."""
    if type(policy).__module__.startswith("torch"):
        return str(policy).removeprefix("torch.")
    return np.dtype(policy).name


def _is_floating(value: Any) -> bool:
    """Whether an array's or tensor's dtype is floating point."""
    if is_tensor(value):
        return bool(value.is_floating_point())
    return bool(np.issubdtype(value.dtype, np.floating))


def _is_numeric(array: np.ndarray) -> bool:
    """Whether an array holds booleans or numbers (so tolerances make sense)."""
    return array.dtype.kind in "biufc"


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


def _exact_problem(expected: np.ndarray, got: np.ndarray) -> Failure | None:
    """Integers or booleans, which must be equal: say where they differ, in their own terms."""
    if expected.dtype.kind == "b" and got.dtype.kind == "b":
        return _bool_problem(expected, got)
    diff = expected.astype(np.int64) != got.astype(np.int64)
    if not diff.any():
        return None
    n = int(diff.sum())
    if expected.size == 1:
        return Failure(
            "wrong_values", "wrong value", (f"expected {expected.item()}, got {got.item()}",)
        )
    details = []
    if expected.ndim == 1 and expected.size <= _SHOW_WHOLE:
        details += [f"expected {expected.tolist()}", f"got      {got.tolist()}"]
    index = tuple(int(i) for i in np.argwhere(diff)[0])
    details.append(
        f"{n} of {expected.size} differ; the first{_at(index)}: expected "
        f"{expected[index].item()}, got {got[index].item()}"
    )
    return Failure("wrong_values", "wrong values", tuple(details))


def _bool_problem(expected: np.ndarray, got: np.ndarray) -> Failure | None:
    """Booleans: how many positions differ, and the first few of them."""
    diff = expected != got
    if not diff.any():
        return None
    n = int(diff.sum())
    if expected.size == 1:
        return Failure(
            "wrong_values",
            "wrong value",
            (f"expected {bool(expected.item())}, got {bool(got.item())}",),
        )
    positions = [tuple(int(i) for i in idx) for idx in np.argwhere(diff)[:4]]
    shown = ", ".join(
        f"[{', '.join(map(str, p))}] should be {bool(expected[p])}" for p in positions
    )
    more = " …" if n > len(positions) else ""
    details = [f"{n} of {expected.size} positions differ: {shown}{more}"]
    if n == expected.size:
        details.append(
            "every position is the opposite of what was expected: True and False swapped"
        )
    return Failure("wrong_values", "wrong values", tuple(details))


def _nonfinite_problem(expected: np.ndarray, got: np.ndarray) -> Failure | None:
    """Report nan/inf in got when every expected value is finite.

    Where the expected result itself holds ±inf (a filter that sets logits to -inf), an inf in
    the wrong place is a wrong value, not an overflow, and is reported by _value_problem.
    """
    if got.dtype.kind not in "fc" or not np.isfinite(expected).all():
        return None
    bad = ~np.isfinite(got)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    return Failure(
        "not_finite",
        "the result contains nan or inf",
        (
            f"got {num(got[index])}{_at(index)} where {num(expected[index])} was expected "
            f"({count} non-finite value{'s' if count != 1 else ''} out of {got.size})",
        ),
    )


def _value_problem(expected: np.ndarray, got: np.ndarray, case: Case) -> Failure | None:
    """Report values outside atol + rtol * |expected|, with the worst index and error sizes."""
    wide = np.complex128 if "c" in (expected.dtype.kind, got.dtype.kind) else np.float64
    exp, out = expected.astype(wide), got.astype(wide)
    with np.errstate(all="ignore"):
        finite = np.isfinite(exp) & np.isfinite(out)
        abs_err = np.where(finite, np.abs(out - exp), 0.0)
        allowed = case.atol + case.rtol * np.abs(exp)
        # Where a value is nan or inf, only the very same special value is correct.
        same_special = (np.isnan(exp) & np.isnan(out)) | (exp == out)
        bad = np.where(finite, abs_err > allowed, ~same_special)
        if not bad.any():
            return None
        # Any error relative to an expected 0 is infinitely large, not 0.
        rel_err = np.divide(abs_err, np.abs(exp), out=np.full(exp.shape, np.inf), where=exp != 0)
        rel_err = np.where(abs_err == 0, 0.0, rel_err)
        index = _worst_index(bad, finite, abs_err - allowed)
    return Failure(
        "wrong_values",
        "wrong values",
        _value_details(exp, out, abs_err, rel_err, bad, finite, index, case),
    )


def _worst_index(bad: np.ndarray, finite: np.ndarray, excess: np.ndarray) -> tuple[int, ...]:
    """The index of a special-value mismatch if any, else of the largest error beyond tolerance."""
    special = bad & ~finite
    if special.any():
        return tuple(int(i) for i in np.argwhere(special)[0])
    flat = int(np.argmax(np.where(bad, excess, -np.inf)))
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def _value_details(
    exp: np.ndarray,
    out: np.ndarray,
    abs_err: np.ndarray,
    rel_err: np.ndarray,
    bad: np.ndarray,
    finite: np.ndarray,
    index: tuple[int, ...],
    case: Case,
) -> tuple[str, ...]:
    """The lines that explain a value mismatch; error sizes only for finite values."""
    special = bad & ~finite
    if special.any():
        where = f"first wrong special value{_at(index)}" if index else "the value"
    else:
        where = f"largest error{_at(index)}" if index else "the value"
    lines = [f"{where}: expected {num(exp[index])}, got {num(out[index])}"]
    if special.any():
        n_special = int(special.sum())
        lines.append(
            f"{n_special} of {_values(exp.size)} differ where ±inf or nan is expected or "
            "returned (there only the very same value is right)"
        )
        if np.isneginf(exp[index].real) and np.isfinite(out[index]) and abs(out[index]) > 1e30:
            lines.append(
                "a very large negative number such as torch.finfo(dtype).min is not -inf: "
                "use float('-inf')"
            )
    finite_bad = bad & finite
    if finite_bad.any():
        lines.append(
            f"{'' if not special.any() else 'among the finite values: '}"
            f"max abs error {num(abs_err[finite].max())}, max rel error "
            f"{num(rel_err[finite].max())} (allowed: atol={case.atol:g} + rtol={case.rtol:g} "
            "* |expected|)"
        )
        n_bad = int(finite_bad.sum())
        lines.append(f"{n_bad} of {_values(exp.size)} outside the tolerance")
    return tuple(lines)


# ---------------------------------------------------------------------------------------------
# Inputs changed in place
# ---------------------------------------------------------------------------------------------


def unchanged(before: Any, after: Any) -> bool:
    """Whether a copy given to the learner still equals the original (unknown types: assume so)."""
    if is_tensor(before) and is_tensor(after):
        return arrays_equal(to_numpy(before), to_numpy(after))
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return before.dtype == after.dtype and arrays_equal(before, after)
    if isinstance(before, (list, tuple)) and type(before) is type(after):
        return len(before) == len(after) and all(map(unchanged, before, after))
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(unchanged(before[k], after[k]) for k in before)
    if isinstance(before, float) and isinstance(after, float) and math.isnan(before):
        return math.isnan(after)
    if isinstance(before, (numbers.Number, str, bytes)):
        return bool(before == after)
    return True  # other objects compare by identity, and the copy is never identical


def arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact array equality that treats nan as equal to nan."""
    if a.shape != b.shape:
        return False
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # equal_nan is not defined for non-numeric dtypes
        return bool(np.array_equal(a, b))


# ---------------------------------------------------------------------------------------------
# Formatting values for messages; never raises
# ---------------------------------------------------------------------------------------------


def short_repr(value: Any, limit: int = 120) -> str:
    """A one-line, length-limited description of a value that never raises."""
    try:
        if is_tensor(value):
            text = _tensor_repr(value)
        elif isinstance(value, np.ndarray):
            text = _array_repr(value)
        else:
            text = repr(value)
    except KeyboardInterrupt:
        raise
    except BaseException:  # a learner's object whose repr raises, even SystemExit
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _array_repr(array: np.ndarray) -> str:
    """Small arrays in full, larger ones as shape, dtype and value range."""
    if array.size <= 12:
        with np.printoptions(precision=4, threshold=12):
            return repr(array)
    text = f"array of shape {array.shape}, dtype {array.dtype}"
    if _is_numeric(array) and array.dtype.kind != "c":
        text += f", values from {num(array.min())} to {num(array.max())}"
    return text


def _tensor_repr(tensor: Any) -> str:
    """Small tensors in full, larger ones as shape and dtype."""
    if tensor.numel() <= 12:
        return repr(tensor.detach().cpu())
    return f"tensor of shape {tuple(tensor.shape)}, dtype {dtype_name(tensor)}"


def num(value: Any) -> str:
    """A number in short, deterministic form."""
    if isinstance(value, (complex, np.complexfloating)):
        if complex(value).imag == 0:
            return f"{complex(value).real:.6g}"
        return f"{complex(value):.6g}"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return f"{float(value):.6g}"


def _at(index: tuple[int, ...]) -> str:
    """' at index [i, j]' for an array position; empty for a 0-d value."""
    return f" at index [{', '.join(map(str, index))}]" if index else ""


def exc_text(exc: BaseException) -> str:
    """'TypeName: message' for an exception, even if its str() itself fails."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# torch, without importing it
# ---------------------------------------------------------------------------------------------


def is_tensor(value: Any) -> bool:
    """Whether value is a torch.Tensor (False when torch was never imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def to_numpy(value: Any) -> np.ndarray:
    """An array, tensor (detached, on the CPU) or scalar as a NumPy array."""
    if is_tensor(value):
        tensor = value.detach().cpu()
        if not tensor.dtype.is_complex and tensor.is_floating_point() and tensor.element_size() < 4:
            tensor = tensor.float()  # NumPy has no bfloat16; float16 widened for the same path
        return tensor.resolve_conj().resolve_neg().numpy()
    return np.asarray(value)
