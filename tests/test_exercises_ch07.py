"""Tests of chapter 7's checkers: correct solutions pass, the classic mistakes fail, and say why.

The wrong "learner" functions are mistakes people make: a profile sorted by cumulative time, by
calls or by time per call, the min for the max, built-in functions left out, the key or a label
returned for the name; activation statistics with the population std, of the layer's input, of
|output|, of a shared layer's first call, under class names, as tensors, or with the hooks left
on the model; a causality test that compares the whole output, changes token t too, leaves
dropout on, tries one t only or changes one later token only; a loss-curve verdict without an
inf check, without the climb check, with "too slow" before "oscillating", without an oscillation
check, or with sign changes and no size.

The cases themselves: each loss curve gets its intended verdict from book.debugging and from
other sensible rules, each leaky model leaks by far more than round-off and each causal one by
exactly 0. Grading: each checker's hidden cases pass a solution for every seed, change with the
seed, and fail a function that only knows the visible answers (as tests/test_exercise_grading.py
checks for every registered exercise).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from test_exercise_grading import SEEDS, assert_hidden_cases_work
from torch import nn

from book import debugging, profiling
from book.exercises.ch07 import (
    _activation_grading,
    _leak_grading,
    _loss_grading,
    _slowest_grading,
    check_activation_stats,
    check_diagnose_loss_curve,
    check_leaks_future,
    check_slowest_function,
)
from book.exercises.check import grading_rng


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions, written as a learner would ---------------------------------------------


def slowest_function(stats):
    key = max(stats.stats, key=lambda k: stats.stats[k][2])  # [2]: tottime
    return key[2]


def slowest_by_sorting(stats):
    stats.sort_stats("tottime")
    return stats.fcn_list[0][2]


def activation_stats(model, x, layer_type, *, of: str = "output", unbiased: bool = True,
                     keep_first: bool = False, remove: bool = True, names: str = "modules",
                     as_tensors: bool = False):
    """The hooks of the exercise; the keyword arguments make the classic mistakes."""
    stats, handles = {}, []

    def make_hook(name):
        def hook(module, inputs, output):
            t = inputs[0] if of == "input" else output.abs() if of == "abs" else output
            mean, std = t.mean(), t.std(unbiased=unbiased)
            if keep_first and name in stats:
                return
            stats[name] = (mean, std) if as_tensors else (mean.item(), std.item())
        return hook

    for name, module in model.named_modules(remove_duplicate=names != "every"):
        if isinstance(module, layer_type):
            label = type(module).__name__ if names == "classes" else name
            handles.append(module.register_forward_hook(make_hook(label)))
    try:
        with torch.no_grad():
            model(x)
    finally:
        if remove:
            for handle in handles:
                handle.remove()
    return stats


def _logits(out):
    return out[0] if isinstance(out, tuple) else out


def leaks_future(model, ids, *, ts: str = "all", change: str = "after", compare: str = "upto",
                 eval_mode: bool = True):
    """Change every token after t, for every t, and compare positions <= t; the keyword
    arguments make the classic mistakes."""
    was_training = model.training
    if eval_mode:
        model.eval()
    V, T = model.config.vocab_size, ids.shape[1]
    steps = {"all": range(T - 1), "last": [T - 2], "first": [0]}[ts]
    try:
        with torch.no_grad():
            base = _logits(model(ids))
            for t in steps:
                changed = ids.clone()
                where = {"after": slice(t + 1, None), "from_t": slice(t, None),
                         "next": slice(t + 1, t + 2)}[change]
                changed[:, where] = (changed[:, where] + 1) % V
                out = _logits(model(changed))
                cut = {"upto": slice(0, t + 1), "all": slice(None), "at_t": slice(t, t + 1)}
                if (out[:, cut[compare]] - base[:, cut[compare]]).abs().max() > 1e-5:
                    return True
        return False
    finally:
        model.train(was_training)


def diagnose_loss_curve(losses):
    """The tenths of the curve: first against last; swings by sign changes AND size."""
    x = np.asarray(losses, dtype=float)
    if not np.isfinite(x).all():
        return "diverged"
    k = max(len(x) // 10, 2)
    start, end = x[:k].mean(), x[-k:].mean()
    if end > 1.05 * start:
        return "diverged"
    steps = np.diff(x[len(x) // 2:])
    flips = np.mean(np.sign(steps[1:]) != np.sign(steps[:-1]))
    if flips > 0.5 and np.median(np.abs(steps)) > 0.05 * end:
        return "oscillating"
    if end > 0.9 * start:
        return "too slow"
    return "ok"


def too_slow_first(losses):
    """The tenths, with "too slow" tested before "oscillating": a mistake."""
    x = np.asarray(losses, dtype=float)
    k = max(len(x) // 10, 2)
    if x[-k:].mean() > 0.9 * x[:k].mean():
        return "too slow"
    return diagnose_loss_curve(losses)


def diagnose_by_rises(losses, *, nan_only: bool = False, climbs: bool = True,
                      swings: str = "rises"):
    """Another sensible rule: the median of the first three losses against the mean of the
    last tenth, and swings as the steps that go UP by more than 10% of the end; the keyword
    arguments make the classic mistakes."""
    bad = (math.isnan(v) for v in losses) if nan_only else (not math.isfinite(v) for v in losses)
    if any(bad):
        return "diverged"
    n = len(losses)
    k = max(n // 10, 2)
    start, end = sorted(losses[:3])[1], sum(losses[-k:]) / k
    if climbs and end > 1.05 * start:
        return "diverged"
    if swings == "rises":
        oscillating = sum(b - a > 0.1 * end for a, b in zip(losses, losses[1:])) > 0.25 * (n - 1)
    elif swings == "sign changes only":
        d = np.diff(losses)
        oscillating = np.mean(np.sign(d[1:]) != np.sign(d[:-1])) > 0.5
    else:
        oscillating = False
    if oscillating:
        return "oscillating"
    return "too slow" if end > 0.9 * start else "ok"


def _package_activation_stats(model, x, layer_type):
    with debugging.ActivationStats(model, layer_type) as acts, torch.no_grad():
        model(x)
    return {name: (s.mean, s.std) for name, s in acts.stats.items()}


SOLUTIONS = [
    (check_slowest_function, slowest_function),
    (check_activation_stats, activation_stats),
    (check_leaks_future, leaks_future),
    (check_diagnose_loss_curve, diagnose_loss_curve),
]
OTHERS = [
    (check_slowest_function, profiling.slowest_function),
    (check_slowest_function, slowest_by_sorting),
    (check_activation_stats, _package_activation_stats),
    (check_leaks_future, debugging.leaks_future),
    (check_diagnose_loss_curve, debugging.diagnose_loss_curve),
    (check_diagnose_loss_curve, diagnose_by_rises),
]


@pytest.mark.parametrize("check, fn", [*SOLUTIONS, *OTHERS])
def test_correct_solutions_pass_the_visible_and_hidden_cases(check, fn):
    for seed in (None, *SEEDS):
        result = check(fn, quiet=True, grading_seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("check", [c for c, _ in SOLUTIONS])
def test_not_attempted(check):
    assert check(_not_done, quiet=True).status == "not_attempted"


# --- the slowest function --------------------------------------------------------------------


def _by(column):
    return lambda stats: max(stats.stats, key=lambda k: stats.stats[k][column])[2]


def test_slowest_function_mistakes_are_named():
    cumulative = check_slowest_function(_by(3), quiet=True)
    assert cumulative.failed_case == "a training step"
    assert "expected 'forward'" in cumulative.message and "got 'train_step'" in cumulative.message
    assert "largest cumulative time" in cumulative.message
    smallest = check_slowest_function(
        lambda stats: min(stats.stats, key=lambda k: stats.stats[k][2])[2], quiet=True)
    assert "take the max, not the min" in smallest.message
    calls = check_slowest_function(_by(1), quiet=True)
    assert calls.failed_case == "a training step" and "called the most often" in calls.message
    per_call = check_slowest_function(
        lambda stats: max(stats.stats, key=lambda k: stats.stats[k][2] / stats.stats[k][1])[2],
        quiet=True)
    assert per_call.failed_case == "the total, not the time per call"
    assert "most time per call" in per_call.message and "0.9 ms a call" in per_call.message


def test_built_in_functions_count():
    def python_only(stats):
        rows = {k: r for k, r in stats.stats.items() if k[0] != "~"}
        return max(rows, key=lambda k: rows[k][2])[2]

    result = check_slowest_function(python_only, quiet=True)
    assert result.failed_case == "a built-in function can be the slowest"
    assert "built-in functions (file '~') count too" in result.message


def test_slowest_function_must_return_the_name():
    key = check_slowest_function(lambda stats: max(stats.stats, key=lambda k: stats.stats[k][2]),
                                 quiet=True)
    assert key.reason == "property" and "return only the name" in key.message
    row = check_slowest_function(
        lambda stats: max(stats.stats.items(), key=lambda item: item[1][2]), quiet=True)
    assert "a str" in row.message
    label = check_slowest_function(
        lambda stats: profiling.pstats.func_std_string(
            max(stats.stats, key=lambda k: stats.stats[k][2])), quiet=True)
    assert "as a label" in label.message
    nothing = check_slowest_function(lambda stats: None, quiet=True)
    assert "forget to `return`" in nothing.message


def test_a_profile_prints_where_the_checker_captures_it():
    def printing(stats):
        stats.sort_stats("tottime").print_stats(1)
        return slowest_function(stats)

    result = check_slowest_function(printing, quiet=True)
    assert result.passed and "your function printed" in result.message
    assert "pstats.Stats of 7 functions" in repr(check_slowest_function.cases()[0].args[0])


def test_profiles_have_one_slowest_function_and_every_mistake_differs():
    for seed in (None, *range(30)):
        cases = check_slowest_function.cases() if seed is None else _slowest_grading(
            grading_rng(seed, "slowest_function"))
        for case in cases:
            rows = case.args[0].stats
            names = [k[2] for k in rows]
            assert len(set(names)) == len(names), case.name
            own = sorted((r[2] for r in rows.values()), reverse=True)
            assert len(own) == 1 or own[0] >= 1.2 * own[1], case.name
            if len(rows) >= 4:  # the mistakes give other names
                answer = slowest_function(case.args[0])
                for column in (1, 3):
                    assert _by(column)(case.args[0]) != answer, (case.name, column)


# --- activation statistics -------------------------------------------------------------------


def test_activation_stats_mistakes_are_named():
    population = check_activation_stats(
        lambda m, x, t: activation_stats(m, x, t, unbiased=False), quiet=True)
    assert population.failed_case == "an MLP's nn.Linear layers"
    assert "population std" in population.message and "Bessel" in population.message
    inputs = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, of="input"),
                                    quiet=True)
    assert inputs.failed_case == "an MLP's nn.Linear layers"
    assert "statistics of the module's INPUT" in inputs.message
    absolute = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, of="abs"),
                                      quiet=True)
    assert "mean of |output|" in absolute.message
    first = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, keep_first=True),
                                   quiet=True)
    assert first.failed_case == "a layer used twice: its last call"
    assert "its FIRST call" in first.message


def test_activation_stats_names_are_the_modules_names():
    classes = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, names="classes"),
                                     quiet=True)
    assert classes.failed_case == "an MLP's nn.Linear layers"
    assert "class names" in classes.message and "'0', '2', '4'" in classes.message
    every = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, names="every"),
                                   quiet=True)
    assert every.failed_case == "a layer used twice: its last call"
    assert "listed once by model.named_modules()" in every.message


def test_hooks_left_on_the_model_fail():
    result = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, remove=False),
                                    quiet=True)
    assert result.failed_case == "an MLP's nn.Linear layers" and result.reason == "property"
    assert "still have a hook" in result.message and "0 (forward hook)" in result.message
    assert "handle.remove()" in result.message

    def global_hook(model, x, layer_type):
        nn.modules.module.register_module_forward_hook(lambda *a: None)
        return activation_stats(model, x, layer_type)

    def global_hook_then_error(model, x, layer_type):
        nn.modules.module.register_module_forward_hook(lambda *a: None)
        raise ValueError("oops")

    before = len(nn.modules.module._global_forward_hooks)
    left = check_activation_stats(global_hook, quiet=True)
    assert "a global hook" in left.message
    assert len(nn.modules.module._global_forward_hooks) == before  # the checker removed it
    raised = check_activation_stats(global_hook_then_error, quiet=True)
    assert raised.reason == "raised" and "ValueError: oops" in raised.message
    assert len(nn.modules.module._global_forward_hooks) == before


def test_activation_stats_structure_is_checked():
    tensors = check_activation_stats(lambda m, x, t: activation_stats(m, x, t, as_tensors=True),
                                     quiet=True)
    assert ".item()" in tensors.message
    listed = check_activation_stats(lambda m, x, t: list(activation_stats(m, x, t).values()),
                                    quiet=True)
    assert "return a dict" in listed.message


def test_case_models_stay_as_they_were_and_torch_random_numbers_too():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    cases = check_activation_stats.cases()
    check_activation_stats(lambda m, x, t: activation_stats(m, x, t, remove=False), quiet=True)
    assert torch.equal(torch.rand(3), expected)  # building models left torch's generator alone
    model = cases[0].args[0]
    assert not any(m._forward_hooks for m in model.modules())


def test_population_std_differs_beyond_the_tolerance_in_every_case():
    for seed in (None, 1, 2):
        cases = check_activation_stats.cases() if seed is None else _activation_grading(
            grading_rng(seed, "activation_stats"))
        for case in cases:
            model, x, layer_type = case.args
            right = activation_stats(model, x, layer_type)
            wrong = activation_stats(model, x, layer_type, unbiased=False)
            assert all(abs(wrong[n][1] - s) > 2e-5 * s * 2 for n, (_, s) in right.items())


# --- future leakage --------------------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed", [
    ({"compare": "all"}, "a causal GPT"),
    ({"change": "from_t"}, "a causal GPT"),
    ({"eval_mode": False}, "a causal GPT with dropout, in training mode"),
    ({"ts": "first"}, "one leak: position 2 sees position 5"),
    ({"ts": "last"}, "one leak: position 2 sees position 5"),
    ({"change": "next", "compare": "at_t"}, "one leak, from the last token to position 0"),
])
def test_leaks_future_mistakes_fail_where_they_should(mistake, failed):
    result = check_leaks_future(lambda model, ids: leaks_future(model, ids, **mistake), quiet=True)
    assert result.failed_case == failed, result.message


def test_leaks_future_messages_say_what_happens():
    whole = check_leaks_future(lambda m, ids: leaks_future(m, ids, compare="all"), quiet=True)
    assert "expected False, got True" in whole.message
    assert "Compare positions 0..t only" in whole.message
    dropout = check_leaks_future(lambda m, ids: leaks_future(m, ids, eval_mode=False),
                                 quiet=True)
    assert "model.eval()" in dropout.message and "noise, not a leak" in dropout.message
    one_t = check_leaks_future(lambda m, ids: leaks_future(m, ids, ts="first"), quiet=True)
    assert "changing the tokens after position 2 changes the output" in one_t.message
    tensor = check_leaks_future(lambda m, ids: torch.tensor(leaks_future(m, ids)), quiet=True)
    assert "return a Python bool" in tensor.message


def test_changing_the_callers_ids_is_a_mutation():
    def in_place(model, ids):
        answer = leaks_future(model, ids)
        ids[:, 1:] = 0
        return answer

    result = check_leaks_future(in_place, quiet=True)
    assert result.reason == "mutated_input" and "`ids`" in result.message


def _intended_leak(name: str) -> bool:
    return "causal" not in name or "without its mask" in name


def test_leaky_models_leak_far_above_round_off_and_causal_ones_not_at_all():
    for seed in (None, 1, 2, 2026):
        cases = check_leaks_future.cases() if seed is None else _leak_grading(
            grading_rng(seed, "leaks_future"))
        for case in cases:
            model, ids = copy.deepcopy(case.args)
            sizes = [debugging.future_leakage(model, ids, t) for t in range(ids.shape[1] - 1)]
            if _intended_leak(case.name):
                assert max(sizes) > 0.02 and all(s == 0 or s > 0.02 for s in sizes), case.name
            else:
                assert max(sizes) == 0.0, case.name


# --- the loss curve --------------------------------------------------------------------------


def _intended_verdict(name: str) -> str:
    for start, verdict in (("learns", "ok"), ("a slow fall", "too slow"), ("swings",
                                                                            "oscillating")):
        if name.startswith(start):
            return verdict
    return "diverged"


def test_every_curve_gets_its_intended_verdict_from_every_sensible_rule():
    rules = (debugging.diagnose_loss_curve, diagnose_loss_curve, diagnose_by_rises)
    lengths = set()
    for seed in (None, *range(1, 40)):
        cases = check_diagnose_loss_curve.cases() if seed is None else _loss_grading(
            grading_rng(seed, "diagnose_loss_curve"))
        for case in cases:
            lengths.add(len(case.args[0]))
            for rule in rules:
                assert rule(*case.args) == _intended_verdict(case.name), (seed, case.name, rule)
    assert min(lengths) == 20 and max(lengths) >= 1900


@pytest.mark.parametrize("mistake, failed", [
    ({"nan_only": True}, "one inf in the middle (step 50 of 100)"),
    ({"climbs": False}, "climbs to 10 times the start (40 steps)"),
    ({"swings": "none"}, "swings around a flat level (60 steps)"),
    ({"swings": "sign changes only"}, "a slow fall (2,000 steps)"),
])
def test_loss_curve_mistakes_fail_where_they_should(mistake, failed):
    result = check_diagnose_loss_curve(lambda losses: diagnose_by_rises(losses, **mistake),
                                       quiet=True)
    assert result.failed_case == failed, result.message


def test_loss_curve_messages():
    inf = check_diagnose_loss_curve(lambda losses: diagnose_by_rises(losses, nan_only=True),
                                    quiet=True)
    assert "expected 'diverged', got 'ok'" in inf.message and "math.isfinite" in inf.message
    order = check_diagnose_loss_curve(too_slow_first, quiet=True)
    assert order.failed_case == "swings around a flat level (60 steps)"
    assert "expected 'oscillating', got 'too slow'" in order.message
    assert "checked before too slow" in order.message
    title = check_diagnose_loss_curve(lambda losses: diagnose_loss_curve(losses).title(),
                                      quiet=True)
    assert "lower case" in title.message
    no_return = check_diagnose_loss_curve(lambda losses: None, quiet=True)
    assert "forget to `return`" in no_return.message


# --- hidden grading cases --------------------------------------------------------------------


@pytest.mark.parametrize("check, solution", SOLUTIONS, ids=[c.exercise for c, _ in SOLUTIONS])
def test_hidden_cases_pass_a_solution_change_with_the_seed_and_fail_a_cheat(check, solution):
    assert_hidden_cases_work(check, solution)
