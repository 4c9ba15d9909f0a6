"""Chapter 7 checkers: the slowest function of a profile, activation statistics with forward
hooks, a test for future leakage, and a verdict on a loss curve.

The references are the package's own functions (`book.profiling.slowest_function`;
`book.debugging`: ActivationStats, leaks_future and diagnose_loss_curve), so a pass means
"agrees with the code the chapter debugs with". They are imported when a check runs
(`book.debugging` imports torch). Every input is deterministic: the profiles are built from
crafted statistics, never timed; the models are small and seeded; the loss curves are synthetic,
each far from every threshold of the verdicts, so that any sensible rule gives the same answer.

Hooks left behind are judged on the model the learner was given: the case passes a copy, so the
checker wraps the learner's function (`prepare=`) to look at that copy's hooks when it returns.
Each checker also draws hidden grading cases of the same kinds from a seeded generator
(`grading=`: new profiles, models, inputs and curves).
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
import pstats
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from book.exercises._shared import torch_module
from book.exercises.cases import OR_RAISED, VALUE_KINDS, Case, Hint
from book.exercises.check import checker
from book.exercises.compare import describe_type, short_repr


def _is_number(value: Any) -> bool:
    """A Python or NumPy real number, not a bool."""
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


@contextlib.contextmanager
def _torch_seed(seed: int) -> Iterator[None]:
    """Inside the block torch's CPU generator is seeded with `seed`; its state is put back after,
    so building a case's model never changes the random numbers of the learner's notebook."""
    torch = torch_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def _seed(rng: np.random.Generator) -> int:
    """A torch seed drawn from rng."""
    return int(rng.integers(0, 2**31 - 1))


# ---------------------------------------------------------------------------------------------
# The slowest function of a profile
# ---------------------------------------------------------------------------------------------

_Key = tuple[str, int, str]

_SLOWEST_HINT = Hint(
    "stats.stats maps each function's key (file, line, name) to the row (primitive calls, "
    "calls, tottime, cumtime, callers). tottime, row[2], is the time spent in the function's "
    "own code; cumtime, row[3], adds everything it called, so the outermost function always "
    "has the most. Take the item of stats.stats with the largest row[2] (max with a key "
    "function) and return the third element of its key, the name; built-in functions (file "
    "'~') count like any other.",
    VALUE_KINDS,
)


class _ProfileStats(pstats.Stats):
    """pstats.Stats of crafted statistics, for a case: it prints where print() prints at the
    moment (so `print_stats()` inside the learner's function is captured like a print), it can
    be deep-copied (a Stats normally keeps sys.stdout, which cannot), and its repr is short."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        """Where print_stats() writes: the current sys.stdout."""
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:  # Stats.__init__ sets it; the property wins
        pass

    def __repr__(self) -> str:
        return f"pstats.Stats of {len(self.stats)} functions"


@dataclass
class _Recorded:
    """What pstats.Stats can load, as it loads a cProfile.Profile: `create_stats()` and the
    dictionary `stats`."""

    stats: dict

    def create_stats(self) -> None:
        """Nothing to create: the statistics are given."""


# One function of a crafted profile: its key, the index of its caller (None for the outermost
# function), how many times it ran, and its own time in seconds.
_Node = tuple[_Key, int | None, int, float]


def _profile(nodes: list[_Node]) -> pstats.Stats:
    """pstats.Stats of a call tree: each function's cumtime is its own time plus its callees',
    and its callers entry names its parent, as cProfile records them."""
    children: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    for i, (_, parent, _, _) in enumerate(nodes):
        if parent is not None:
            children[parent].append(i)

    def cumulative(i: int) -> float:
        return nodes[i][3] + sum(cumulative(c) for c in children[i])

    table = {}
    for i, (key, parent, calls, own) in enumerate(nodes):
        total = cumulative(i)
        callers = {} if parent is None else {nodes[parent][0]: (calls, calls, own, total)}
        table[key] = (calls, calls, own, total, callers)
    return _ProfileStats(_Recorded(table))


def _ref_slowest(stats: pstats.Stats) -> str:
    from book.profiling import slowest_function

    return slowest_function(stats)


def _slowest_judge(out: Any, stats: pstats.Stats) -> str | None:
    """A problem with the learner's name, or None; a wrong name is explained when it is the
    answer to another question (cumtime, calls, time per call, the smallest, no built-ins)."""
    rows = stats.stats  # type: ignore[attr-defined]
    if out is None:
        return "your function returned None: did you forget to `return` the name?"
    if isinstance(out, tuple) and len(out) == 3 and any(out == key for key in rows):
        return (f"you returned the whole key {short_repr(out, 90)}: return only the name, its "
                "third element (key[2])")
    if isinstance(out, (tuple, list)) and len(out) in (2, 5):
        return (f"you returned {describe_type(out)}, {short_repr(out, 90)}: return the "
                "function's name, the third element of its key (file, line, name), a str")
    if not isinstance(out, str):
        return f"return the function's name, a str; got {describe_type(out)}"
    want = _ref_slowest(stats)
    if out == want:
        return None
    by_name = {key[2]: (key, row) for key, row in rows.items()}
    best_key, best_row = by_name[want]
    head = f"expected {want!r} (own time {best_row[2]:.4g} s)"
    if out not in by_name:
        labels = {pstats.func_std_string(k): k for k in rows}
        labels |= {f"{k[0]}:{k[1]}({k[2]})": k for k in rows}
        if out in labels and labels[out] == best_key:
            return (f"{head}; you returned the right function as a label, {out!r}: return "
                    "only its name, the third element of its key")
        return f"{head}, got {out!r}, which is no function's name in these statistics"
    key, row = by_name[out]
    head += f", got {out!r} (own time {row[2]:.4g} s)"

    def most(score: Callable[[tuple], float]) -> str:
        return max(rows.items(), key=lambda item: score(item[1]))[0][2]

    if out == most(lambda r: r[3]):
        return (head + f": yours has the largest cumulative time, cumtime ({row[3]:.4g} s), "
                "which includes the time of everything it called; own time is tottime, row[2]")
    if out == min(rows.items(), key=lambda item: item[1][2])[0][2]:
        return head + ": yours has the SMALLEST own time; take the max, not the min"
    if out == most(lambda r: r[1]):
        return (head + f": yours was called the most often ({row[1]:,} calls), which is not "
                "the most time; sort by tottime, row[2]")
    if out == most(lambda r: r[2] / r[1]):
        return (head + f": yours takes the most time per call ({row[2] / row[1]:.4g} s), but "
                f"{want!r} ran {best_row[1]:,} times and took more in all: compare tottime, "
                "the total own time")
    python_only = {k: r for k, r in rows.items() if k[0] != "~"}
    if python_only and out == max(python_only.items(), key=lambda item: item[1][2])[0][2]:
        return (head + ": yours is the slowest Python function, but the slowest of all is a "
                f"built-in one, {best_key}; built-in functions (file '~') count too")
    return head


def _training_step() -> pstats.Stats:
    """A training step: the step itself has all the cumulative time, np.zeros the most calls,
    init_state the least own time, forward the most."""
    return _profile([
        (("train.py", 12, "train_step"), None, 1, 0.002),
        (("lstm.py", 40, "forward"), 0, 1, 0.310),
        (("lstm.py", 30, "init_state"), 1, 1, 0.0004),
        (("lstm.py", 15, "sigmoid"), 1, 192, 0.041),
        (("~", 0, "<built-in method numpy.zeros>"), 1, 260, 0.012),
        (("lstm.py", 88, "backward"), 0, 1, 0.250),
        (("optim.py", 30, "step"), 0, 1, 0.035),
    ])


def _builtin_wins() -> pstats.Stats:
    """A model's prediction whose slowest function is NumPy's matrix product, a built-in."""
    return _profile([
        (("model.py", 5, "predict"), None, 1, 0.001),
        (("model.py", 20, "layer"), 0, 4, 0.030),
        (("~", 0, "<method 'dot' of 'numpy.ndarray' objects>"), 1, 4, 0.420),
        (("model.py", 12, "relu"), 1, 4, 0.050),
        (("~", 0, "<built-in method builtins.len>"), 1, 40, 0.0004),
    ])


def _calls_differ() -> pstats.Stats:
    """Loading a corpus: list.append is called 60,000 times, build_vocab once and slowest."""
    return _profile([
        (("data.py", 3, "load"), None, 1, 0.004),
        (("data.py", 30, "tokenize"), 0, 5000, 0.080),
        (("~", 0, "<method 'split' of 'str' objects>"), 1, 5000, 0.030),
        (("~", 0, "<method 'append' of 'list' objects>"), 1, 60000, 0.020),
        (("data.py", 50, "build_vocab"), 0, 1, 0.250),
    ])


def _per_call_differs() -> pstats.Stats:
    """An epoch: one slow call of load_checkpoint, 500 quicker calls of attention that add up
    to more."""
    return _profile([
        (("train.py", 8, "epoch"), None, 1, 0.003),
        (("train.py", 20, "load_checkpoint"), 0, 1, 0.200),
        (("model.py", 44, "attention"), 0, 500, 0.450),
        (("model.py", 70, "mlp"), 0, 500, 0.300),
        (("~", 0, "<built-in method numpy.exp>"), 2, 2000, 0.060),
    ])


_PY_NAMES = ("forward", "backward", "attention", "mlp", "softmax", "cross_entropy", "layer_norm",
             "gelu", "embed", "split_heads", "merge_heads", "tokenize", "encode", "decode",
             "collate", "pad_batch", "load_batch", "shuffle", "clip_grad_norm", "zero_grad",
             "adam_update", "sample", "top_k", "beam_search", "build_vocab", "read_corpus",
             "lstm_cell", "sigmoid", "tanh_grad", "evaluate", "log_metrics", "save_checkpoint")
_BUILTIN_NAMES = ("<method 'dot' of 'numpy.ndarray' objects>", "<built-in method numpy.zeros>",
                  "<method 'reduce' of 'numpy.ufunc' objects>", "<built-in method builtins.len>",
                  "<method 'astype' of 'numpy.ndarray' objects>",
                  "<built-in method builtins.isinstance>", "<method 'append' of 'list' objects>",
                  "<method 'copy' of 'numpy.ndarray' objects>", "<built-in method numpy.exp>",
                  "<method 'split' of 'str' objects>", "<built-in method numpy.concatenate>")
_ROOT_NAMES = ("train_step", "main", "run_epoch", "<module>", "evaluate_all")
_FILES = ("model.py", "train.py", "data.py", "layers.py", "optim.py", "utils.py")


def _random_profile(rng: np.random.Generator, n: int, builtin: bool) -> pstats.Stats:
    """A call tree of n >= 4 functions whose slowest (own time, by 25% or more) is a built-in
    function if `builtin`, else a Python one; it is never the outermost function (the most
    cumulative time), never the most called one, and another function takes more per call."""
    low = max(1 if builtin else 0, n - 1 - len(_PY_NAMES))
    n_builtin = int(rng.integers(low, min(n - 2, len(_BUILTIN_NAMES)) + 1))
    names = [str(s) for s in rng.choice(_PY_NAMES, size=n - 1 - n_builtin, replace=False)]
    keys: list[_Key] = [(str(rng.choice(_FILES)), int(rng.integers(1, 400)), s) for s in names]
    keys += [("~", 0, str(s)) for s in rng.choice(_BUILTIN_NAMES, size=n_builtin, replace=False)]
    order = rng.permutation(len(keys))
    keys = [(str(rng.choice(_FILES)), int(rng.integers(1, 400)), str(rng.choice(_ROOT_NAMES)))] \
        + [keys[i] for i in order]
    calls = [1] + [int(rng.choice([1, 2, 4, 8, 64, 500, 5000])) for _ in range(n - 1)]
    own = [float(rng.uniform(0.0005, 0.003))] + [float(np.round(rng.lognormal(-4.0, 1.2), 6))
                                                  for _ in range(n - 1)]
    winner = int(rng.choice([i for i in range(1, n) if (keys[i][0] == "~") == builtin]))
    others = [i for i in range(1, n) if i != winner]
    top_other = max(own[i] for i in others)
    own[winner] = round(top_other * float(rng.uniform(1.25, 2.5)), 6)
    calls[winner] = int(rng.choice([2, 8, 64, 500]))
    slow_once = int(rng.choice(others))  # more per call than the winner, less in all
    calls[slow_once] = 1
    own[slow_once] = round(own[winner] * float(rng.uniform(0.55, 0.8)), 6)
    if max(calls[i] for i in others) <= calls[winner]:  # another function is called more
        calls[int(rng.choice([i for i in others if i != slow_once]))] = calls[winner] * 10
    parents = [None] + [int(rng.integers(0, i)) for i in range(1, n)]
    return _profile([(keys[i], parents[i], calls[i], own[i]) for i in range(n)])


def _slowest_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new profiles of the same kinds as the visible ones."""
    case = functools.partial(Case, check=_slowest_judge)
    n1, n2, n3 = (int(n) for n in rng.integers([5, 4, 20], [9, 8, 41]))
    single = (str(rng.choice(_FILES)), int(rng.integers(1, 400)), str(rng.choice(_PY_NAMES)))
    return [
        case(f"a training step ({n1} functions)", (_random_profile(rng, n1, builtin=False),)),
        case(f"a built-in function is the slowest ({n2} functions)",
             (_random_profile(rng, n2, builtin=True),)),
        case("one function", (_profile([(single, None, 1, float(rng.uniform(0.01, 1)))]),)),
        case(f"a profile of {n3} functions", (_random_profile(rng, n3, builtin=bool(
            rng.integers(0, 2))),)),
    ]


@checker(
    "slowest_function",
    what="the name of the function with the largest own time (tottime), as "
    "book.profiling.slowest_function finds it: built-in functions included, not cumtime, "
    "calls or time per call",
    hint=_SLOWEST_HINT,
    grading=_slowest_grading,
)
def check_slowest_function() -> list[Case]:
    """Check `slowest_function(stats) -> str`: the name of the function that spent the most time
    in its own code (the largest tottime) in a `pstats.Stats`.

    stats.stats maps each key (file, line, name) to (primitive calls, calls, tottime, cumtime,
    callers); the name is the key's third element, e.g. 'forward' or, for a built-in function
    (file '~'), "<method 'dot' of 'numpy.ndarray' objects>". The checker's statistics are
    crafted (no timing), with no ties.
    """
    case = functools.partial(Case, check=_slowest_judge)
    return [
        case("a training step", (_training_step(),),
             hint="train_step has the most cumulative time (0.65 s), since it calls everything "
             "else; forward spends the most time in its own code: 0.31 s."),
        case("a built-in function can be the slowest", (_builtin_wins(),),
             hint="NumPy's matrix product runs in C, yet cProfile records it as a function of "
             "its own, ('~', 0, \"<method 'dot' of 'numpy.ndarray' objects>\"): it took 0.42 s, "
             "the most."),
        case("the most calls is not the most time", (_calls_differ(),),
             hint="list.append ran 60,000 times in 0.02 s; build_vocab ran once in 0.25 s."),
        case("the total, not the time per call", (_per_call_differs(),),
             hint="load_checkpoint took 0.2 s in one call; attention took 0.9 ms a call, "
             "but 0.45 s in all: the most."),
        case("one function",
             (_profile([(("script.py", 1, "<module>"), None, 1, 0.05)]),)),
        case("a profile of 25 functions",
             (_random_profile(np.random.default_rng(71), 25, builtin=False),)),
    ]


# ---------------------------------------------------------------------------------------------
# Activation statistics with forward hooks
# ---------------------------------------------------------------------------------------------

# Means and stds agree when they are within this fraction of the layer's std: float32 sums in
# another order differ by ~1e-7; the population std differs by 1 / (2 n) > 1e-4 for the
# checker's outputs (n <= 2,048 numbers).
_STATS_RTOL = 2e-5
_STATS_ATOL = 1e-7

_ACTIVATION_HINT = Hint(
    "for each (name, module) in model.named_modules() with isinstance(module, layer_type), "
    "register a forward hook, hook(module, inputs, output), that stores (output.mean().item(), "
    "output.std().item()) under that name (give each hook its own name: a function that makes "
    "the hook, or a default argument name=name); keep the handles register_forward_hook "
    "returns; run model(x) under torch.no_grad(); remove every handle in a finally: block; "
    "return the dict.",
    VALUE_KINDS,
)


@dataclass
class _HookedRun:
    """What the learner's function returned, and the hooks it left on the model it was given."""

    value: Any
    hooks_left: list[str]


def _hooks_on(model: Any) -> list[str]:
    """The names of the modules of `model` that still have a hook, with the kinds of hook."""
    kinds = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    found = []
    for name, module in model.named_modules():
        held = [k.strip("_").replace("_", " ")[:-1] for k in kinds if getattr(module, k, None)]
        if held:
            found.append(f"{name or 'the model'} ({', '.join(held)})")
    return found


def _global_hooks() -> tuple[Any, ...]:
    """torch's dictionaries of hooks registered for every module (register_module_forward_hook)."""
    from torch.nn.modules import module as torch_module_py

    return tuple(getattr(torch_module_py, name) for name in (
        "_global_forward_hooks", "_global_forward_pre_hooks") if hasattr(torch_module_py, name))


def _watch_hooks(fn: Callable[..., Any]) -> Callable[..., _HookedRun]:
    """The learner's function, returning what it returned and the hooks it left on the model
    it was given (a copy of the case's model, which the judge never sees otherwise). A hook it
    registered for every module of torch and left is removed here, and reported."""

    @functools.wraps(fn)
    def run(model: Any, x: Any, layer_type: Any) -> _HookedRun:
        before = [set(d) for d in _global_hooks()]
        left: list[str] = []
        try:
            value = fn(model, x, layer_type)
        finally:  # even when it raised: a global hook would run in every later case
            for hooks, was in zip(_global_hooks(), before, strict=True):
                for handle_id in set(hooks) - was:
                    del hooks[handle_id]
                    left.append("every module (a global hook of register_module_forward_hook)")
        return _HookedRun(value, _hooks_on(model) + left)

    return run


def _outputs(model: Any, x: Any, layer_type: type) -> dict[str, list[tuple[Any, Any]]]:
    """(input, output) of each call of each chosen module in one forward pass, by name."""
    torch = torch_module()
    calls: dict[str, list[tuple[Any, Any]]] = {}

    def keep(name: str) -> Callable[..., None]:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            first = inputs[0] if inputs else None
            calls.setdefault(name, []).append((first, output))
        return hook

    handles = [m.register_forward_hook(keep(n)) for n, m in model.named_modules()
               if isinstance(m, layer_type)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return calls


def _ref_activation_stats(model: Any, x: Any, layer_type: type) -> dict[str, tuple[float, float]]:
    """book.debugging.ActivationStats' mean and std of each chosen module (its last call)."""
    from book.debugging import ActivationStats

    torch = torch_module()
    with ActivationStats(model, layer_type) as acts, torch.no_grad():
        model(x)
    return {name: (s.mean, s.std) for name, s in acts.stats.items()}


def _close_stats(got: tuple[float, float], want: tuple[float, float]) -> bool:
    scale = _STATS_RTOL * max(abs(want[1]), abs(want[0])) + _STATS_ATOL
    return all(abs(g - w) <= scale for g, w in zip(got, want, strict=True))


def _activation_judge(run: Any, model: Any, x: Any, layer_type: type) -> str | None:
    """A problem with the learner's {name: (mean, std)} or the hooks it left, or None."""
    out = run.value if isinstance(run, _HookedRun) else run
    problem = _stats_dict_problem(out)
    if problem:
        return problem
    want = _ref_activation_stats(model, x, layer_type)
    problem = _names_problem(out, want, model, layer_type)
    if problem:
        return problem
    for name, expected in want.items():
        got = (float(out[name][0]), float(out[name][1]))
        if not _close_stats(got, expected):
            return _wrong_stats(name, got, expected, model, x, layer_type)
    if isinstance(run, _HookedRun) and run.hooks_left:
        shown = ", ".join(run.hooks_left[:4]) + (" …" if len(run.hooks_left) > 4 else "")
        return (f"the statistics are right, but {len(run.hooks_left)} module(s) still have a "
                f"hook after your function returned: {shown}. register_forward_hook returns a "
                "handle: keep them all and call handle.remove() on each after the forward pass, "
                "in a finally: block, so that an error does not leave them either (a hook left "
                "behind runs on every later forward pass)")
    return None


def _stats_dict_problem(out: Any) -> str | None:
    """What is wrong with the structure of the returned {name: (mean, std)}, or None."""
    if out is None:
        return "your function returned None: did you forget to `return` the dict?"
    if not isinstance(out, dict):
        return f"return a dict {{name: (mean, std)}}; got {describe_type(out)}"
    torch = torch_module()
    for name, value in out.items():
        if not isinstance(name, str):
            return (f"the keys are the modules' names (str) from model.named_modules(); got "
                    f"the key {short_repr(name, 60)}")
        if isinstance(value, torch.Tensor):
            return (f"{name!r}: {short_repr(value, 60)} is a tensor; each value is a tuple of "
                    "two floats (mean, std)")
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            return (f"{name!r}: each value is a tuple of two floats (mean, std); got "
                    f"{short_repr(value, 60)}")
        for what, v in zip(("mean", "std"), value, strict=True):
            if isinstance(v, torch.Tensor):
                return (f"{name!r}: the {what} is a tensor, {short_repr(v, 50)}; .item() turns "
                        "a one-element tensor into a float")
            if not _is_number(v):
                return f"{name!r}: the {what} must be a float; got {describe_type(v)}"
    return None


def _names_problem(out: dict, want: dict, model: Any, layer_type: type) -> str | None:
    """Why the learner's names are not the modules' names, or None when they are."""
    if set(out) == set(want):
        return None
    expected = ", ".join(repr(n) for n in want)
    head = f"expected the names {expected}; got {', '.join(repr(n) for n in out) or 'none'}"
    classes = {type(m).__name__ for _, m in model.named_modules()}
    if set(out) & classes:
        return (head + ": those are class names; a model has several modules of one class, "
                "each with its own name in model.named_modules() ('0', 'blocks.1', ...)")
    every = [n for n, m in model.named_modules(remove_duplicate=False)
             if isinstance(m, layer_type)]
    if set(out) == set(every):
        return (head + ": a module used twice in the model is listed once by "
                "model.named_modules(), under its first name; use that, the default")
    missing = [n for n in want if n not in out]
    extra = [n for n in out if n not in want]
    if extra and all(not isinstance(dict(model.named_modules()).get(n), layer_type)
                     for n in extra):
        return head + f": {', '.join(map(repr, extra))} are not {layer_type.__name__} modules"
    return head + (f" (missing {', '.join(map(repr, missing))})" if missing else "") + (
        f" (not expected: {', '.join(map(repr, extra))})" if extra else "")


def _wrong_stats(name: str, got: tuple[float, float], want: tuple[float, float], model: Any,
                 x: Any, layer_type: type) -> str:
    """The message for wrong (mean, std) of one module, with the likely cause when the numbers
    match another statistic: the input, |output|, the population std, the first call."""
    torch = torch_module()
    head = (f"{name!r}: expected (mean, std) = ({want[0]:.6g}, {want[1]:.6g}), got "
            f"({got[0]:.6g}, {got[1]:.6g})")
    calls = _outputs(model, x, layer_type)[name]
    last_in, last_out = calls[-1]

    def stats_of(t: Any, **std: Any) -> tuple[float, float]:
        t = t.detach().float()
        return float(t.mean()), float(t.std(**std))

    if _close_stats(got, (want[0], stats_of(last_out, unbiased=False)[1])):
        n = last_out.numel()
        return (head + f": that is the population std (divided by n = {n}); torch's "
                "tensor.std() divides by n - 1 (Bessel's correction), np.std and "
                "std(unbiased=False) by n")
    if isinstance(last_in, torch.Tensor) and last_in.is_floating_point() and _close_stats(
            got, stats_of(last_in)):
        return head + ": those are the statistics of the module's INPUT; the hook's third " \
                      "argument, output, is what the module returned"
    if _close_stats(got, stats_of(last_out.abs())):
        return head + ": that is the mean of |output|; the mean is of the output itself"
    if len(calls) > 1 and _close_stats(got, stats_of(calls[0][1])):
        return (head + f": those are the statistics of its FIRST call; this module runs "
                f"{len(calls)} times in one forward pass, and the last output counts (let "
                "each call overwrite the entry)")
    return head


def _mlp(sizes: list[int], activation: Any, norm: bool = False) -> Any:
    """nn.Sequential of Linear layers with `activation` (a class) between them, and a
    LayerNorm after each hidden Linear if `norm`."""
    from torch import nn

    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.LayerNorm(b), activation()] if norm else [activation()]
    return nn.Sequential(*layers)


def _nested(sizes: list[int], activation: Any) -> Any:
    """nn.Sequential of nn.Sequential(Linear, activation) blocks and a last Linear: the names
    of its Linear layers are '0.0', '1.0', ..., and one without a dot."""
    from torch import nn

    blocks = [nn.Sequential(nn.Linear(a, b), activation())
              for a, b in zip(sizes[:-2], sizes[1:-1], strict=True)]
    return nn.Sequential(*blocks, nn.Linear(sizes[-2], sizes[-1]))


def _shared(width: int, activation: Any, d_in: int) -> Any:
    """Linear(d_in, width), then one Linear(width, width) applied twice with `activation`
    between: the second module runs twice in one forward pass, under one name."""
    from torch import nn

    inner = nn.Linear(width, width)
    return nn.Sequential(nn.Linear(d_in, width), activation(), inner, activation(), inner)


def _small_gpt(seed: int, num_layers: int, T: int, *, dropout: float = 0.0,
               weight_std: float | None = None) -> Any:
    """A seeded book.textgen GPT: vocabulary 11, width 16, 2 heads, context T. weight_std
    redraws every matrix from N(0, weight_std²), for effects far above round-off."""
    from book.textgen import GPT, GPTConfig

    torch = torch_module()
    with _torch_seed(seed):
        gpt = GPT(GPTConfig(vocab_size=11, max_len=T, num_layers=num_layers, num_heads=2,
                            embed_dim=16, dropout=dropout))
        if weight_std is not None:
            with torch.no_grad():
                for p in gpt.parameters():
                    if p.dim() > 1:
                        p.normal_(0.0, weight_std)
    return gpt.eval()


def _seeded(seed: int, build: Callable[[], Any]) -> Any:
    """build() with torch seeded (a model's initial weights), in eval mode."""
    with _torch_seed(seed):
        return build().eval()


def _features(seed: int, *shape: int) -> Any:
    """Standard normal float32 inputs of this shape, from their own generator."""
    torch = torch_module()
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _token_ids(seed: int, B: int, T: int, vocab: int = 11) -> Any:
    """(B, T) token ids in range(vocab), from their own generator."""
    torch = torch_module()
    return torch.randint(0, vocab, (B, T), generator=torch.Generator().manual_seed(seed))


def _activation_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new sizes, weights and inputs, of the same kinds as the visible ones."""
    from torch import nn

    from book.torch_nn import Block

    case = functools.partial(Case, check=_activation_judge)
    act = [nn.ReLU, nn.Tanh, nn.GELU][int(rng.integers(0, 3))]
    d_in, B = int(rng.integers(3, 9)), int(rng.integers(4, 17))
    sizes = [d_in] + [int(w) for w in rng.integers(8, 33, size=int(rng.integers(2, 4)))] + [4]
    B2, T2, L2 = int(rng.integers(1, 4)), int(rng.integers(4, 9)), int(rng.integers(1, 3))
    gpt = _small_gpt(_seed(rng), L2, T2)
    width = int(rng.integers(8, 25))
    return [
        case(f"an MLP's nn.Linear layers ({' -> '.join(map(str, sizes))})",
             (_seeded(_seed(rng), lambda: _mlp(sizes, act)), _features(_seed(rng), B, d_in),
              nn.Linear)),
        case(f"the MLP's {act.__name__} outputs",
             (_seeded(_seed(rng), lambda: _mlp(sizes, act)), _features(_seed(rng), B, d_in),
              act)),
        case("LayerNorm: mean 0, std near 1",
             (_seeded(_seed(rng), lambda: _mlp(sizes, act, norm=True)),
              _features(_seed(rng), B, d_in), nn.LayerNorm)),
        case("nested modules: names with dots",
             (_seeded(_seed(rng), lambda: _nested(sizes, act)), _features(_seed(rng), B, d_in),
              nn.Linear)),
        case(f"a GPT's blocks ({L2} layer{'s' if L2 > 1 else ''}, {B2} x {T2} tokens)",
             (gpt, _token_ids(_seed(rng), B2, T2), Block)),
        case("every nn.Linear of a GPT",
             (_small_gpt(_seed(rng), L2, T2), _token_ids(_seed(rng), B2, T2), nn.Linear)),
        case("a layer used twice: its last call",
             (_seeded(_seed(rng), lambda: _shared(width, act, d_in)),
              _features(_seed(rng), B, d_in), nn.Linear)),
    ]


@checker(
    "activation_stats",
    what="{name: (mean, std)} equal to book.debugging.ActivationStats' within 2e-5 of each "
    "layer's std: outputs, Bessel's std, names from named_modules(), the last call of a shared "
    "layer, no hook left behind",
    hint=_ACTIVATION_HINT,
    prepare=lambda fn: _watch_hooks(fn),
    grading=_activation_grading,
)
def check_activation_stats() -> list[Case]:
    """Check `activation_stats(model, x, layer_type) -> {name: (mean, std)}`: one run of
    model(x) with a forward hook on every module of model.named_modules() that is an instance of
    layer_type; name as named_modules() gives it, mean and std (torch's, with Bessel's
    correction) of the module's output as floats. A module that runs twice in the pass reports
    its last output. No hook may be left on the model afterwards.
    """
    from torch import nn

    from book.torch_nn import Block

    case = functools.partial(Case, check=_activation_judge)
    mlp = _seeded(70, lambda: _mlp([6, 16, 16, 4], nn.ReLU))
    x = _features(71, 8, 6)
    return [
        case("an MLP's nn.Linear layers", (mlp, x, nn.Linear),
             hint="the Linear layers of nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) are "
             "named '0', '2' and '4'; each hook receives (module, inputs, output)."),
        case("the MLP's ReLU outputs", (mlp, x, nn.ReLU),
             hint="a ReLU's output is >= 0, so its mean is positive; its input is the Linear "
             "layer's output, which is not."),
        case("LayerNorm: mean 0, std near 1",
             (_seeded(72, lambda: _mlp([6, 16, 16, 4], nn.ReLU, norm=True)), x, nn.LayerNorm),
             hint="LayerNorm makes each row's mean 0 and its population variance 1, so over "
             "all its n outputs the std with Bessel's correction is sqrt(n / (n - 1)), a little "
             "above 1."),
        case("nested modules: names with dots",
             (_seeded(73, lambda: _nested([6, 12, 12, 4], nn.Tanh)), x, nn.Linear),
             hint="named_modules() names a module inside a module with a dot: '0.0', '1.0', "
             "'2'."),
        case("a GPT's blocks", (_small_gpt(74, 2, 8), _token_ids(75, 2, 8), Block),
             hint="the GPT keeps its Blocks in a ModuleList called blocks: 'blocks.0' and "
             "'blocks.1'. Its input is token ids; the hooks see the blocks' float outputs."),
        case("every nn.Linear of a GPT", (_small_gpt(76, 1, 8), _token_ids(77, 2, 8),
                                          nn.Linear)),
        case("a layer used twice: its last call",
             (_seeded(78, lambda: _shared(12, nn.Tanh, 6)), x, nn.Linear),
             hint="nn.Sequential(Linear, Tanh, inner, Tanh, inner) applies the module `inner` "
             "twice; named_modules() lists it once, as '2', and its entry is its last output."),
    ]


# ---------------------------------------------------------------------------------------------
# Does a model see the future?
# ---------------------------------------------------------------------------------------------

_LEAK_HINT = Hint(
    "put the model in eval mode (no dropout; put its mode back at the end) and run it under "
    "torch.no_grad(); the logits are out[0] when it returns a tuple. For every t from 0 to "
    "T - 2: change every token after t to another id, e.g. ids2[:, t + 1:] = (ids[:, t + 1:] + "
    "1) % vocab_size on a clone, run the model again and compare the logits at positions 0..t, "
    "[:, :t + 1], with the original ones (largest absolute difference > 1e-5). True as soon as "
    "one t differs; False if none does.",
    VALUE_KINDS,
)
_DROPOUT_HINT = (
    "this GPT has dropout 0.1 and is in training mode, so two runs on the SAME ids already "
    "differ: that is noise, not a leak. Test it as it runs at inference, after model.eval() "
    "(and put it back with model.train(was_training))."
)
_WHOLE_OUTPUT_HINT = (
    "a causal model's output at positions after t may change when the tokens after t change: "
    "they see them. Compare positions 0..t only (logits[:, :t + 1]), and change only tokens "
    "after t: changing token t itself changes position t in any model."
)


@functools.cache
def _leak_models() -> tuple[type, type]:
    """The classes of two small models made for the causality cases, PeekingLM and
    RunningMeanLM (defined on first use, so that importing this module does not import torch)."""
    torch = torch_module()
    from torch import nn

    class PeekingLM(nn.Module):
        """Token embeddings, one attention layer and a linear head: logits (B, T, V).

        Position t attends to positions up to t + ahead (ahead = 0 is causal), and query s also
        to key u for each (s, u) in peeks: a mask with one hole.
        """

        def __init__(self, vocab_size: int, embed_dim: int, T: int, ahead: int = 0,
                     peeks: tuple[tuple[int, int], ...] = ()) -> None:
            super().__init__()
            self.config = types.SimpleNamespace(vocab_size=vocab_size, max_len=T)
            self.ahead, self.peeks = ahead, tuple(peeks)
            self.emb = nn.Embedding(vocab_size, embed_dim)
            self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
            self.head = nn.Linear(embed_dim, vocab_size)

        def forward(self, idx: Any) -> Any:
            T = idx.shape[1]
            x = self.emb(idx)                                          # (B, T, E)
            q, k, v = self.qkv(x).chunk(3, dim=-1)                     # 3 x (B, T, E)
            allowed = torch.ones(T, T, dtype=torch.bool).tril(self.ahead)
            for s, u in self.peeks:
                allowed[s, u] = True
            att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])    # (B, T, T)
            att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
            return self.head(x + att @ v)                              # (B, T, V)

        def extra_repr(self) -> str:
            return f"ahead={self.ahead}, peeks={list(self.peeks)}"

    class RunningMeanLM(nn.Module):
        """Causal without attention: position t reads the mean of the embeddings of tokens
        0..t (a cumulative sum over time divided by t + 1)."""

        def __init__(self, vocab_size: int, embed_dim: int) -> None:
            super().__init__()
            self.config = types.SimpleNamespace(vocab_size=vocab_size)
            self.emb = nn.Embedding(vocab_size, embed_dim)
            self.head = nn.Linear(embed_dim, vocab_size)

        def forward(self, idx: Any) -> Any:
            T = idx.shape[1]
            steps = torch.arange(1, T + 1, dtype=torch.float32)[:, None]  # (T, 1)
            return self.head(torch.tanh(self.emb(idx).cumsum(dim=1) / steps))

    return PeekingLM, RunningMeanLM


def _peeking(seed: int, T: int, ahead: int = 0, peeks: tuple[tuple[int, int], ...] = ()) -> Any:
    peeking_lm, _ = _leak_models()
    return _seeded(seed, lambda: peeking_lm(11, 16, T, ahead, peeks))


def _running_mean(seed: int) -> Any:
    _, running_mean_lm = _leak_models()
    return _seeded(seed, lambda: running_mean_lm(11, 16))


def _unmasked(gpt: Any) -> Any:
    """The GPT with the causal mask of every block switched off."""
    for block in gpt.blocks:
        block.attn.causal = False
    return gpt


def _ref_leaks(model: Any, ids: Any) -> bool:
    import copy

    from book.debugging import leaks_future

    return leaks_future(copy.deepcopy(model), ids)


def _leak_judge(out: Any, model: Any, ids: Any) -> str | None:
    """A problem with the learner's verdict, or None; a wrong verdict says where the reference
    finds (or does not find) a leak."""
    torch = torch_module()
    if out is None:
        return "your function returned None: did you forget to `return` True or False?"
    if isinstance(out, torch.Tensor):
        return (f"you returned a tensor, {short_repr(out, 60)}: return a Python bool "
                "(bool(...) or .item() of a one-element tensor)")
    if not isinstance(out, (bool, np.bool_)):
        return f"return True or False; got {describe_type(out)}"
    want = _ref_leaks(model, ids)
    if bool(out) == want:
        return None
    if want:
        t, size = _first_leak(model, ids)
        return (f"expected True, got False: changing the tokens after position {t} changes "
                f"the output at positions 0..{t} by up to {size:.3g}")
    return ("expected False, got True: this model is causal; changing the tokens after any "
            "position t (to other ids) leaves its output at positions 0..t exactly as it was, "
            "in eval mode")


def _first_leak(model: Any, ids: Any) -> tuple[int, float]:
    """The first t whose later tokens change the output at positions <= t, and by how much."""
    import copy

    from book.debugging import future_leakage

    copied = copy.deepcopy(model)
    for t in range(ids.shape[1] - 1):
        size = future_leakage(copied, ids, t)
        if size > 1e-6:
            return t, size
    return -1, 0.0


def _strong(make: Callable[[int], Any], rng: np.random.Generator, ids: Any) -> Any:
    """make(seed) for drawn seeds until the model's leak, at every t where it has one, is
    larger than 0.02: far above round-off, whatever other ids a learner picks."""
    from book.debugging import future_leakage

    for _ in range(100):
        model = make(_seed(rng))
        sizes = [future_leakage(model, ids, t) for t in range(ids.shape[1] - 1)]
        if max(sizes) > 0.02 and all(s == 0.0 or s > 0.02 for s in sizes):
            return model
    raise RuntimeError("no model with a leak larger than 0.02")


def _leak_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new weights, lengths, batches and holes in the mask, of the visible kinds."""
    case = functools.partial(Case, check=_leak_judge)

    def ids(T: int) -> Any:
        return _token_ids(_seed(rng), int(rng.integers(1, 4)), T)

    T = [int(t) for t in rng.integers(6, 13, size=7)]
    ids_ = [ids(t) for t in T]
    layers = int(rng.integers(1, 3))
    s = int(rng.integers(1, T[5] - 3))
    u = int(rng.integers(s + 2, T[5] - 1))
    last = _strong(lambda seed: _peeking(seed, T[4], peeks=((0, T[4] - 1),)), rng, ids_[4])
    middle = _strong(lambda seed: _peeking(seed, T[5], peeks=((s, u),)), rng, ids_[5])
    return [
        case(f"a causal GPT ({layers} layer{'s' if layers > 1 else ''}, T = {T[0]})",
             (_small_gpt(_seed(rng), layers, T[0], weight_std=0.3), ids_[0]),
             hint=_WHOLE_OUTPUT_HINT),
        case(f"the same GPT without its mask (T = {T[1]})",
             (_unmasked(_small_gpt(_seed(rng), layers, T[1], weight_std=0.3)), ids_[1])),
        case(f"an attention mask off by one (T = {T[2]})",
             (_strong(lambda seed: _peeking(seed, T[2], ahead=1), rng, ids_[2]), ids_[2])),
        case(f"a causal model that is not a GPT (T = {T[3]})",
             (_running_mean(_seed(rng)), ids_[3])),
        case(f"one leak, from the last token to position 0 (T = {T[4]})", (last, ids_[4])),
        case(f"one leak: position {s} sees position {u} (T = {T[5]})", (middle, ids_[5])),
        case(f"a causal GPT with dropout, in training mode (T = {T[6]})",
             (_small_gpt(_seed(rng), layers, T[6], dropout=0.1, weight_std=0.3).train(),
              ids_[6]), hint=_DROPOUT_HINT),
    ]


@checker(
    "leaks_future",
    what="the verdict of book.debugging.leaks_future: GPTs with and without the causal mask, "
    "a mask off by one, single holes in a mask, a causal model without attention, dropout in "
    "training mode",
    hint=_LEAK_HINT,
    grading=_leak_grading,
)
def check_leaks_future() -> list[Case]:
    """Check `leaks_future(model, ids) -> bool`: True if the model's output at some position t
    changes when only the tokens after t change.

    ids is a (B, T) tensor of token ids in range(model.config.vocab_size); model(ids) returns
    the logits (B, T, V), or a tuple whose first item is the logits. A change means more than
    float32 round-off (1e-5); the leaky models of the checker change by far more. The answer is
    about the model as it runs at inference (eval mode, no dropout).
    """
    case = functools.partial(Case, check=_leak_judge)
    gpt_ids = _token_ids(80, 2, 8)
    one_ids = _token_ids(81, 1, 8)
    return [
        case("a causal GPT", (_small_gpt(82, 2, 8, weight_std=0.3), gpt_ids),
             hint=_WHOLE_OUTPUT_HINT),
        case("the same GPT without its mask (attn.causal = False)",
             (_unmasked(_small_gpt(82, 2, 8, weight_std=0.3)), gpt_ids),
             hint="without the mask every position attends to every other: changing the "
             "tokens after t changes the output at t."),
        case("an attention mask off by one: position t also sees t + 1",
             (_peeking(83, 8, ahead=1), one_ids)),
        case("a causal model that is not a GPT (a running mean of embeddings)",
             (_running_mean(84), gpt_ids),
             hint="this model returns the logits alone, not a tuple; position t reads tokens "
             "0..t only."),
        case("one leak, from the last token to position 0",
             (_peeking(85, 8, peeks=((0, 7),)), one_ids),
             hint="only position 0 sees the future, and only the last token: change every "
             "token after t (not only t + 1), and compare every position up to t."),
        case("one leak: position 2 sees position 5", (_peeking(86, 8, peeks=((2, 5),)), gpt_ids),
             hint="a single hole in the mask shows only for t = 2, 3 or 4: test every t from 0 "
             "to T - 2."),
        case("a causal GPT with dropout, in training mode",
             (_small_gpt(87, 1, 8, dropout=0.1, weight_std=0.3).train(), gpt_ids),
             hint=_DROPOUT_HINT),
    ]


# ---------------------------------------------------------------------------------------------
# Reading a loss curve
# ---------------------------------------------------------------------------------------------

_VERDICTS = ("diverged", "oscillating", "too slow", "ok")
_LOSS_HINT = Hint(
    "check in this order. diverged: a NaN or an inf anywhere (math.isfinite), or the end (the "
    "mean of the last tenth) more than 5% above the start (the median of the first three "
    "losses, or the mean of the first tenth). oscillating: the loss goes up and down from step "
    "to step by more than 10% of its level (e.g. in the second half, the median "
    "|loss[t + 1] - loss[t]| is above 10% of the end, or most steps go up by that much). too "
    "slow: the end is less than 10% below the start. ok: anything else. The checker's curves "
    "are far from every threshold.",
    VALUE_KINDS,
)


def _ref_diagnose(losses: list[float]) -> str:
    from book.debugging import diagnose_loss_curve

    return diagnose_loss_curve(losses)


def _verdict_judge(out: Any, losses: list[float]) -> str | None:
    """A problem with the learner's verdict, or None."""
    if out is None:
        return "your function returned None: did you forget to `return` the verdict?"
    if not isinstance(out, str):
        return f"return one of {', '.join(map(repr, _VERDICTS))}; got {describe_type(out)}"
    if out not in _VERDICTS:
        close = [v for v in _VERDICTS if v == out.strip().lower().replace("_", " ")]
        fix = f" (write it {close[0]!r}: lower case, one space)" if close else ""
        return f"return one of {', '.join(map(repr, _VERDICTS))}; got {out!r}{fix}"
    want = _ref_diagnose(losses)
    return None if out == want else f"expected {want!r}, got {out!r}"


def _noisy(rng: np.random.Generator, level: np.ndarray, noise: float) -> np.ndarray:
    """level times (1 + noise · a standard normal) at each step: minibatch noise."""
    return level * (1.0 + noise * rng.standard_normal(len(level)))


def _decay(rng: np.random.Generator, n: int, start: float, floor: float, steps_to_e: float,
           noise: float = 0.003) -> list[float]:
    """floor + (start - floor) e^(-t / steps_to_e), noisy: a run that learns and settles."""
    t = np.arange(n)
    return _noisy(rng, floor + (start - floor) * np.exp(-t / steps_to_e), noise).tolist()


def _gentle(steps_to_e: float, floor_ratio: float) -> float:
    """steps_to_e, or more in a short run: the first step may fall by at most 5% of the start,
    (1 - floor_ratio) / steps_to_e <= 0.05. A faster start reads as "oscillating" to
    diagnose_loss_curve, whose start is the median of the first three losses: the first
    window's mean, which holds the first loss, is then above that start by more than 5%."""
    return max(steps_to_e, 20 * (1 - floor_ratio))


def _slow(rng: np.random.Generator, n: int, start: float, drop: float,
          noise: float = 0.002) -> list[float]:
    """A straight line from start down by `drop` of it (a few percent), noisy."""
    return _noisy(rng, start * (1 - drop * np.linspace(0, 1, n)), noise).tolist()


def _swinging(rng: np.random.Generator, n: int, start: float, fall: float,
              swing: float) -> list[float]:
    """A level falling by `fall` of start, with the loss above and below it at alternate steps
    by `swing` of the level (±10% around it): a learning rate far too large. Over a level
    that does not fall, use an n whose tenths have an even number of steps (n a multiple of
    20): a tenth with one more step above the level than below averages swing / (n / 10)
    above it, which would read as a climb in a short run."""
    level = start * (1 - fall * np.linspace(0, 1, n))
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return (level * (1 + swing * signs * rng.uniform(0.9, 1.1, n))).tolist()


def _climbing(rng: np.random.Generator, n: int, start: float, factor: float) -> list[float]:
    """Down by 20% in the first third, then up exponentially to `factor` times the start."""
    third = n // 3
    down = start * (1 - 0.2 * np.linspace(0, 1, third))
    up = 0.8 * start * (factor / 0.8) ** np.linspace(0, 1, n - third)
    return _noisy(rng, np.concatenate([down, up]), 0.003).tolist()


def _broken(curve: list[float], at: int, value: float, rest: float | None = None) -> list[float]:
    """The curve with `value` at step `at`, and `rest` after it if given (NaN after an inf)."""
    out = list(curve)
    out[at] = value
    if rest is not None:
        out[at + 1:] = [rest] * (len(out) - at - 1)
    return out


def _loss_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new curves of each kind, 20 to 2,000 steps."""
    case = functools.partial(Case, check=_verdict_judge)

    def n(low: int = 20, high: int = 2001) -> int:
        return int(rng.integers(low, high))

    def start() -> float:
        return float(rng.uniform(2.0, 6.0))

    def learns(steps: int) -> list[float]:
        """From a start down to 30-60% of it, e-fold in a fifth to a tenth of the run (see
        _gentle: at least 20 × the fall's fraction of the start, in a short run)."""
        s, ratio = start(), float(rng.uniform(0.3, 0.6))
        return _decay(rng, steps, s, s * ratio, _gentle(steps / rng.uniform(5, 10), ratio))

    n1, n2, n3, n5, n6, n7, n8 = n(), n(20, 41), n(), n(), n(), n(), n(20, 41)
    n4 = 20 * int(rng.integers(5, 101))  # 100 to 2,000 steps, tenths of an even length
    at, at6 = int(rng.integers(n5 // 4, n5 - 1)), int(rng.integers(n6 // 4, n6 - n6 // 5))
    factor = float(rng.uniform(3.0, 20.0))
    return [
        case(f"learns and settles ({n1} steps)", (learns(n1),)),
        case(f"learns and settles ({n2} steps)", (learns(n2),)),
        case(f"a slow fall ({n3} steps)", (_slow(rng, n3, start(), rng.uniform(0.005, 0.03)),)),
        case(f"swings around a flat level ({n4} steps)",
             (_swinging(rng, n4, start(), 0.0, rng.uniform(0.2, 0.35)),)),
        case(f"swings around a falling level ({n7} steps)",
             (_swinging(rng, n7, start(), rng.uniform(0.25, 0.4), rng.uniform(0.2, 0.35)),)),
        case(f"NaN from step {at} on ({n5} steps)",
             (_broken(learns(n5), at, math.nan, math.nan),)),
        case(f"one inf, at step {at6} of {n6}", (_broken(learns(n6), at6, math.inf),)),
        case(f"climbs to {factor:.3g} times the start ({n8} steps)",
             (_climbing(rng, n8, start(), factor),)),
    ]


@checker(
    "diagnose_loss_curve",
    what="the verdict of book.debugging.diagnose_loss_curve on unambiguous curves of 20 to "
    "2,000 steps: NaN and inf, climbs, swings, slow falls, runs that learn",
    hint=_LOSS_HINT,
    grading=_loss_grading,
)
def check_diagnose_loss_curve() -> list[Case]:
    """Check `diagnose_loss_curve(losses) -> str`: "diverged", "oscillating", "too slow" or
    "ok" for a list of at least 20 losses, one per training step.

    In this order: "diverged" if a loss is NaN or inf, or the loss ends more than 5% above
    where it started; "oscillating" if it jumps up and down from step to step by more than 10%
    of its level; "too slow" if it ends less than 10% below where it started; "ok" otherwise.
    Every curve of the checker is far from these thresholds.
    """
    case = functools.partial(Case, check=_verdict_judge)
    rng = np.random.default_rng(90)
    learns = _decay(rng, 300, 4.17, 1.6, 40)
    return [
        case("learns and settles (300 steps)", (learns,),
             hint="from 4.17 down to 1.6, steadily, with noise below 1%: ok."),
        case("learns and settles (20 steps)", (_decay(rng, 20, 2.3, 0.9, 12),)),
        case("a slow fall (2,000 steps)", (_slow(rng, 2000, 4.17, 0.02),),
             hint="2% lower after 2,000 steps: too slow (a learning rate far too small)."),
        case("swings around a flat level (60 steps)", (_swinging(rng, 60, 3.0, 0.0, 0.25),),
             hint="the loss goes up and down by about 25% of its level at every step and "
             "does not fall: oscillating, which is checked before too slow."),
        case("swings around a falling level (2,000 steps)",
             (_swinging(rng, 2000, 3.0, 0.3, 0.25),),
             hint="the level falls by 30%, but every step jumps by about 50% of it: "
             "oscillating, which is checked before ok."),
        case("NaN from step 150 on", (_broken(learns, 150, math.nan, math.nan),),
             hint=Hint("one NaN is enough: diverged. A comparison with NaN is always False, so "
                       "test for it first (math.isnan, or not math.isfinite).", OR_RAISED)),
        case("one inf in the middle (step 50 of 100)",
             (_broken(_decay(rng, 100, 4.0, 2.0, 15), 50, math.inf),),
             hint=Hint("an inf is not a NaN: math.isnan(inf) is False, and one inf in the middle "
                       "of the run hides in a median. math.isfinite catches both.", OR_RAISED)),
        case("climbs to 10 times the start (40 steps)", (_climbing(rng, 40, 2.5, 10.0),),
             hint="after a small dip the loss ends 10 times higher than it started: diverged."),
    ]
