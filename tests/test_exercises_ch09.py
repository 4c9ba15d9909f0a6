"""Tests of chapter 9's checkers: correct solutions pass, the classic mistakes fail, and say why.

The wrong "learner" functions are mistakes people make: a bigram log-likelihood in bits or
log10, without k·V in the denominator, with the first test token counted (through test_ids[-1],
as a unigram or as 1/V), with c(a) counted over the whole text, as a mean, or with the sign
flipped; a range-test suggestion without bias correction, without smoothing, without the stop
at the divergence (or with np.argmin over nan), without the / 10, at the last point, or as an
index; an overfitting report with the best step by train loss, the gap at the best step or of
the wrong sign, no threshold, no train condition, the last of tied records, the index for the
step, and input errors that are KeyErrors, min()'s own, or none at all.

Grading: each checker's hidden cases pass a solution for every seed, change with the seed, and
fail a function that only knows the visible answers (as tests/test_exercise_grading.py checks
for every registered exercise).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from test_exercise_grading import SEEDS, assert_hidden_cases_work

from book.exercises.ch09 import (
    check_bigram_log_likelihood,
    check_overfitting_report,
    check_suggest_lr,
)
from book.textgen.ngram import NGramLM

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions, written as a learner would, and the mistakes as keyword arguments ------


def bigram_log_likelihood(train_ids, test_ids, vocab_size, k, *, log=math.log, denominator="kV",
                          first=None, starts="pairs", reduce="sum", sign=1.0):
    V = vocab_size
    pairs = Counter(zip(train_ids[:-1], train_ids[1:]))
    count = Counter(train_ids[:-1] if starts == "pairs" else train_ids)
    extra = {"kV": k * V, "none": 0, "k": k, "V": V}[denominator]
    indices = range(1, len(test_ids)) if first is None else range(len(test_ids))
    terms = []
    for i in indices:
        if i == 0 and first == "unigram":
            p = (train_ids.count(test_ids[0]) + k) / (len(train_ids) + k * V)
        elif i == 0 and first == "uniform":
            p = 1 / V
        else:  # first == "wrap": test_ids[i - 1] is test_ids[-1] for i = 0
            a, b = test_ids[i - 1], test_ids[i]
            p = (pairs[a, b] + k) / (count[a] + extra)
        terms.append(log(p))
    total = sum(terms)
    if reduce == "mean":
        total /= len(terms)
    return sign * total


def suggest_lr(lrs, losses, beta=0.9, *, correct=True, smooth=True, stop=True, divide=True,
               pick="min", index=False):
    s, m = [], 0.0
    for t, loss in enumerate(losses, start=1):
        m = beta * m + (1 - beta) * loss if smooth else loss
        s.append(m / (1 - beta**t) if correct and smooth else m)
    kept = len(s)
    if stop:
        best = math.inf
        for t, value in enumerate(s):
            if not math.isfinite(value) or value > 4 * best:
                kept = t
                break
            best = min(best, value)
    if pick == "argmin-nan":
        i = int(np.argmin(np.array(s)))
    elif pick == "last":
        i = kept - 1
    else:
        i = min(range(kept), key=lambda t: s[t])
    if index:
        return i
    return float(lrs[i]) / (10 if divide else 1)


def overfitting_report(history, *, by="val_loss", gap_at="last", gap_sign=1, threshold=0.01,
                       train_check=True, ties="first", step="step", validate=True):
    if validate:
        if not history:
            raise ValueError("history is empty: nothing to report")
        for i, record in enumerate(history):
            for key in ("step", "train_loss", "val_loss"):
                if key not in record:
                    raise ValueError(f"record {i} has no {key!r}")
    order = range(len(history)) if ties == "first" else reversed(range(len(history)))
    i = min(order, key=lambda t: history[t][by])
    best, last = history[i], history[-1]
    at = last if gap_at == "last" else best
    rose = last["val_loss"] - best["val_loss"] > threshold
    return {"best_step": best["step"] if step == "step" else i,
            "best_val": best["val_loss"],
            "gap": gap_sign * (at["val_loss"] - at["train_loss"]),
            "overfitting": rose and (last["train_loss"] < best["train_loss"] or not train_check)}


def report_without_validation(history):
    best = min(history, key=lambda r: r["val_loss"])
    last = history[-1]
    return {"best_step": best["step"], "best_val": best["val_loss"],
            "gap": last["val_loss"] - last["train_loss"],
            "overfitting": last["val_loss"] - best["val_loss"] > 0.01
            and last["train_loss"] < best["train_loss"]}


def bigram_with_ngramlm(train_ids, test_ids, vocab_size, k):
    """The package's model, as the chapter would call it."""
    model = NGramLM(2, vocab_size, "add-k", k).fit(train_ids)
    return -float(model.token_losses(test_ids)[1:].sum())


SOLUTIONS = [
    (check_bigram_log_likelihood, bigram_log_likelihood),
    (check_suggest_lr, suggest_lr),
    (check_overfitting_report, overfitting_report),
]
OTHERS = [(check_bigram_log_likelihood, bigram_with_ngramlm)]


@pytest.mark.parametrize("check, fn", [*SOLUTIONS, *OTHERS])
def test_correct_solutions_pass_the_visible_and_hidden_cases(check, fn):
    for seed in (None, *SEEDS, 7, 8, 9):
        result = check(fn, quiet=True, grading_seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("check", [c for c, _ in SOLUTIONS])
def test_not_attempted(check):
    assert check(_not_done, quiet=True).status == "not_attempted"


def test_the_bigram_reference_is_ngramlm_and_the_loop_agrees():
    rng = np.random.default_rng(0)
    for V, k in ((3, 1.0), (20, 0.1), (65, 2.0)):
        train = rng.integers(0, V, size=300).tolist()
        test = rng.integers(0, V, size=50).tolist()
        loop = bigram_log_likelihood(train, test, V, k)
        assert abs(loop - bigram_with_ngramlm(train, test, V, k)) < 1e-9 * abs(loop)
        assert loop < 0
    assert bigram_log_likelihood([0, 1, 2, 0, 1, 2, 0, 1], [0, 1, 2, 0], 3, 1.0) == \
        pytest.approx(math.log(4 / 6) + 2 * math.log(3 / 5), rel=1e-12)


# --- the bigram log-likelihood ---------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"log": math.log2}, "V = 3, k = 1", "log base 2"),
    ({"log": math.log10}, "V = 3, k = 1", "log base 10"),
    ({"denominator": "none"}, "V = 3, k = 1", "adds k·V to its total"),
    ({"denominator": "k"}, "V = 3, k = 1", "not c(a) + k:"),
    ({"denominator": "V"}, "k = 0.5 and V = 6", "not c(a) + V"),
    ({"first": "wrap"}, "V = 3, k = 1", "test_ids[-1], the LAST id"),
    ({"first": "unigram"}, "V = 3, k = 1", "you counted the first test token"),
    ({"first": "uniform"}, "V = 3, k = 1", "you counted the first test token"),
    ({"starts": "all"}, "V = 3, k = 1", "the PAIRS that start with a"),
    ({"reduce": "mean"}, "V = 3, k = 1", "the mean over the pairs"),
    ({"sign": -1.0}, "V = 3, k = 1", "the sign is flipped"),
    ({"sign": -1.0, "reduce": "mean", "log": math.log2}, "V = 3, k = 1",
     "log base 2 (bits); the likelihood is in nats, the natural log: math.log or np.log; and the "
     "sign is flipped"),
])
def test_bigram_mistakes_are_named(mistake, failed, says):
    result = check_bigram_log_likelihood(
        lambda *a: bigram_log_likelihood(*a, **mistake), quiet=True)
    assert result.failed_case.startswith(failed), result.message
    assert says in result.message, result.message


def test_bigram_without_smoothing_or_with_a_mean_of_nothing():
    def no_k(train, test, V, k):  # right on seen pairs, ln 0 on the others
        pairs = Counter(zip(train[:-1], train[1:]))
        if all(pairs[p] for p in zip(test[:-1], test[1:])):
            return bigram_log_likelihood(train, test, V, k)
        return -math.inf

    unseen = check_bigram_log_likelihood(no_k, quiet=True)
    assert unseen.failed_case == "a pair never seen in training (V = 4, k = 1)"
    assert "ln 0 = -inf" in unseen.message
    mean = check_bigram_log_likelihood(
        lambda *a: bigram_log_likelihood(*a, reduce="mean"), quiet=True)
    assert mean.failed_case.startswith("V = 3"), mean.message
    only_empty = check_bigram_log_likelihood(
        lambda tr, te, V, k: bigram_log_likelihood(tr, te, V, k, reduce="mean" if len(te) == 1
                                                   else "sum"), quiet=True)
    assert only_empty.failed_case == "one test id: nothing to predict"
    assert only_empty.reason == "raised" and "a mean would divide by 0" in only_empty.message


def test_bigram_must_be_a_float():
    import torch

    tensor = check_bigram_log_likelihood(
        lambda *a: torch.tensor(bigram_log_likelihood(*a)), quiet=True)
    assert ".item()" in tensor.message
    array = check_bigram_log_likelihood(
        lambda *a: np.array([bigram_log_likelihood(*a)]), quiet=True)
    assert "not ndarray" in array.message or "as one float" in array.message
    assert "forget to `return`" in check_bigram_log_likelihood(lambda *a: None,
                                                               quiet=True).message
    positive = check_bigram_log_likelihood(lambda *a: 1.5, quiet=True)
    assert "a log-likelihood is ≤ 0" in positive.message


# --- the range test's suggestion -------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"correct": False}, "a range test of 100 points", "no bias correction"),
    ({"smooth": False}, "a range test of 100 points", "no smoothing"),
    ({"stop": False}, "one spike, then a lower loss", "the scan must stop at the divergence"),
    ({"stop": False, "pick": "argmin-nan"}, "the loss ends in nan", "np.argmin picks a nan"),
    ({"divide": False}, "a range test of 100 points", "a tenth of it (/ 10)"),
    ({"pick": "last"}, "a range test of 100 points", "the last point before the divergence"),
    ({"index": True}, "a range test of 100 points", "not an index"),
])
def test_suggest_lr_mistakes_are_named(mistake, failed, says):
    result = check_suggest_lr(lambda *a, **k: suggest_lr(*a, **k, **mistake), quiet=True)
    assert result.failed_case.startswith(failed), result.message
    assert says in result.message, result.message
    if failed.startswith("a range test") and "index" not in mistake:
        assert "expected " in result.message and "(point " in result.message


def test_suggest_lr_counts_t_from_one_and_keeps_its_argument():
    def zero_based(lrs, losses, beta=0.9):  # 1 - beta**0 = 0: a division by zero
        m, s = 0.0, []
        for t, loss in enumerate(losses):
            m = beta * m + (1 - beta) * loss
            s.append(m / (1 - beta**t))
        return float(lrs[int(np.argmin(s))]) / 10

    result = check_suggest_lr(zero_based, quiet=True)
    assert result.reason == "raised" and "ZeroDivisionError" in result.message
    fixed = check_suggest_lr(lambda lrs, losses, beta=0.9: suggest_lr(lrs, losses), quiet=True)
    assert fixed.failed_case == "beta = 0.98", fixed.message


# --- the overfitting report ------------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"by": "train_loss"}, "a run that overfits", "lowest TRAIN loss"),
    ({"gap_at": "best"}, "a run that overfits", "the gap at the best step"),
    ({"gap_sign": -1}, "a run that overfits", "'gap': expected"),
    ({"gap_sign": -1}, "a run that overfits", "the sign is flipped"),
    ({"threshold": 0.0}, "the val_loss rises by less than 0.01", "must exceed 0.01"),
    ({"train_check": False}, "both losses rise", "diverging"),
    ({"ties": "last"}, "two records share the lowest val_loss", "take the FIRST"),
    ({"step": "index"}, "a run that overfits", "the record's index"),
])
def test_report_mistakes_are_named(mistake, failed, says):
    result = check_overfitting_report(lambda h: overfitting_report(h, **mistake), quiet=True)
    assert result.failed_case.startswith(failed), result.message
    assert says in result.message, result.message


def test_report_input_errors_must_be_clear_value_errors():
    none = check_overfitting_report(report_without_validation, quiet=True)
    assert none.failed_case == "an empty history"
    assert "min()'s own" in none.message

    def key_error(history):
        if not history:
            raise ValueError("history is empty")
        return report_without_validation(history)

    keys = check_overfitting_report(key_error, quiet=True)
    assert keys.failed_case.startswith("a record without 'val_loss'")
    assert "not KeyError" in keys.message

    def returns_none(history):
        return overfitting_report(history) if history else None

    quiet = check_overfitting_report(returns_none, quiet=True)
    assert quiet.failed_case == "an empty history" and "must raise a ValueError" in quiet.message

    def vague(history):
        if not history or any("val_loss" not in r for r in history):
            raise ValueError("bad input")
        return overfitting_report(history)

    assert "should say what is wrong" in check_overfitting_report(vague, quiet=True).message


def test_report_shape_and_types():
    assert "return a dict" in check_overfitting_report(lambda h: [1, 2], quiet=True).message
    missing = check_overfitting_report(
        lambda h: {k: v for k, v in overfitting_report(h).items() if k != "gap"}, quiet=True)
    assert "missing 'gap'" in missing.message
    as_int = check_overfitting_report(
        lambda h: {**overfitting_report(h), "overfitting": int(overfitting_report(h)[
            "overfitting"])}, quiet=True)
    assert "return True or False" in as_int.message
    assert "did you forget to `return`" in check_overfitting_report(lambda h: None,
                                                                    quiet=True).message

    def sorts(history):  # sorting the caller's list in place
        history.sort(key=lambda r: r["val_loss"])
        return overfitting_report(history)

    assert check_overfitting_report(sorts, quiet=True).reason in ("mutated_input", "property")


def test_report_cases_are_clear_of_the_threshold():
    for case in check_overfitting_report.cases():
        history = case.args[0]
        if not history or any("val_loss" not in r for r in history):
            continue
        best = min(history, key=lambda r: r["val_loss"])
        rise = history[-1]["val_loss"] - best["val_loss"]
        assert rise <= 0.009 or rise >= 0.02, case.name
        assert [r["step"] for r in history] != list(range(len(history))), case.name


# --- hidden grading cases ----------------------------------------------------------------------


@pytest.mark.parametrize("check, solution", SOLUTIONS, ids=[c.exercise for c, _ in SOLUTIONS])
def test_hidden_cases_pass_a_solution_change_with_the_seed_and_fail_a_cheat(check, solution):
    assert_hidden_cases_work(check, solution)
