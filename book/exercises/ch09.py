"""Chapter 9 checkers: the log-likelihood of a text under an add-k bigram model, the learning
rate that a range test suggests, and a report on a run's validation loss (overfitting or not).

The bigram reference is the package's own model (`book.textgen.NGramLM` of order 2 with add-k
smoothing), so a pass means "agrees with the baseline the chapter measures with". The range
test's rule is the package's too (`book.ablation.suggest_lr`: a bias-corrected moving average,
cut at the first divergence); the report's reference is `_ref_overfitting_report`.

A wrong number is compared with the answers of the usual mistakes (log base 2, no k·V in the
denominator, the first test token counted, the mean for the sum, the sign; no bias correction,
no smoothing, no stop at the divergence, no / 10, the last point; the best step by train loss,
the gap at the best step, its sign) and the message names the one it matches. Every input is
drawn far from the rules' thresholds (no near-ties, no smoothed loss within 0.1% of 4 times the
minimum, no validation rise within 0.002 of 0.01), so that two correct computations agree.
Each checker also draws hidden grading cases of the same kinds from a seeded generator
(`grading=`: new texts, vocabularies, curves and histories).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from book.exercises.cases import OR_RAISED, VALUE_KINDS, Case, Hint
from book.exercises.check import checker
from book.exercises.compare import describe_type, short_repr


def _float_problem(out: Any, what: str) -> str | None:
    """Why `out` is not a real number, or None: None, bools, tensors and arrays get their fix."""
    if out is None:
        return f"your function returned None: did you forget to `return` {what}?"
    if isinstance(out, (bool, np.bool_)):
        return f"return {what} as a float; got {out!r}, a bool"
    if isinstance(out, (numbers.Real, np.floating, np.integer)):
        return None
    if type(out).__module__.startswith("torch"):
        return f"return a Python float, not {describe_type(out)} ({short_repr(out, 40)}): .item()"
    if isinstance(out, np.ndarray):
        return (f"return {what} as one float, not {describe_type(out)} of shape {out.shape}: "
                "float(...) of a single number, or a sum over the array")
    return f"return {what} as a float; got {describe_type(out)} ({short_repr(out, 40)})"


def _close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
    return math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)


# ---------------------------------------------------------------------------------------------
# The log-likelihood of a text under an add-k bigram model
# ---------------------------------------------------------------------------------------------

_BIGRAM_HINT = Hint(
    "count the adjacent pairs of train_ids, c(a, b), and c(a), the pairs that START with a "
    "(a's occurrences in train_ids[:-1]); then for each pair (a, b) of test_ids, P(b | a) = "
    "(c(a, b) + k) / (c(a) + k·V), and add up math.log(P) (natural log) over those pairs. The "
    "first test id has no previous id: it is not predicted. The total is ≤ 0.",
    VALUE_KINDS,
)


def _ref_bigram(train_ids: Sequence[int], test_ids: Sequence[int], vocab_size: int,
                k: float) -> float:
    """The total ln-likelihood of test_ids[1:] under book.textgen.NGramLM(2, V, 'add-k', k)."""
    from book.textgen.ngram import NGramLM

    model = NGramLM(2, vocab_size, "add-k", k).fit(list(train_ids))
    return -float(model.token_losses(list(test_ids))[1:].sum())


def _bigram_parts(train: list[int], test: list[int], V: int) -> dict[str, np.ndarray]:
    """For each test pair (a, b): c(a, b), c(a) as pairs starting with a, and a's count in the
    whole of train_ids (the last id included), as float arrays."""
    pairs: dict[tuple[int, int], int] = {}
    starts, counts = np.zeros(V), np.zeros(V)
    for a, b in zip(train[:-1], train[1:], strict=True):
        pairs[a, b] = pairs.get((a, b), 0) + 1
        starts[a] += 1
    for a in train:
        counts[a] += 1
    test_pairs = list(zip(test[:-1], test[1:], strict=True))
    return {"ab": np.array([pairs.get(p, 0) for p in test_pairs], dtype=float),
            "a": np.array([starts[a] for a, _ in test_pairs]),
            "a_all": np.array([counts[a] for a, _ in test_pairs])}


def _sum_log(num: np.ndarray, den: np.ndarray) -> float:
    """sum(ln(num / den)), or nan where a denominator is 0 (a variant that would divide by 0)."""
    if (den <= 0).any() or (num <= 0).any():
        return math.nan
    return float(np.log(num / den).sum())


def _bigram_mistakes(train: list[int], test: list[int], V: int, k: float,
                     want: float) -> list[tuple[float, str]]:
    """(the answer of a usual mistake, what the mistake is), for one case."""
    n = len(test) - 1
    parts = _bigram_parts(train, test, V)
    scales = [(1.0, ""), (1 / math.log(2), "that is log base 2 (bits); the likelihood is in "
               "nats, the natural log: math.log or np.log"),
              (1 / math.log(10), "that is log base 10; use the natural log, math.log")]
    signs = [(1.0, ""), (-1.0, "the sign is flipped: that is the negative log-likelihood (a "
              "loss, ≥ 0); the log-likelihood is the sum of ln P, ≤ 0")]
    reduces = [(1, ""), (max(n, 1), "that is the mean over the pairs; return the SUM over "
                "test_ids[1:]"), (len(test), "that is a mean over all the test ids; return the "
                "SUM over the predicted ones, test_ids[1:]")]
    out: list[tuple[float, str]] = []
    for scale, s_why in scales:
        for sign, g_why in signs:
            for den, r_why in reduces:
                whys = [w for w in (s_why, g_why, r_why) if w]
                if whys:
                    out.append((want * scale * sign / den, "; and ".join(whys)))
    first = ("you counted the first test token; it has no previous id, so it is not predicted: "
             "sum over the pairs (test_ids[i - 1], test_ids[i]) for i = 1 .. len - 1")
    a0, b0 = test[-1], test[0]
    pair_counts = _bigram_parts(train, [a0, b0], V)
    wrap = _sum_log(pair_counts["ab"] + k, pair_counts["a"] + k * V)
    unigram = math.log((train.count(b0) + k) / (len(train) + k * V))
    out += [
        (want + wrap, first + " (test_ids[i - 1] with i = 0 is test_ids[-1], the LAST id)"),
        (want + unigram, first),
        (want - math.log(V), first),
        (_sum_log(parts["ab"] + k, parts["a"]), "the denominator is c(a) + k·V: adding k to "
         "each of the V counts of a row adds k·V to its total, so that the row sums to 1"),
        (_sum_log(parts["ab"] + k, parts["a"] + k), "the denominator is c(a) + k·V, not "
         "c(a) + k: k is added to each of the V counts of the row"),
        (_sum_log(parts["ab"] + k, parts["a"] + V), "the denominator is c(a) + k·V, not "
         "c(a) + V"),
        (_sum_log(parts["ab"] + k, parts["a_all"] + k * V), "c(a) counts the PAIRS that start "
         "with a, as NGramLM does: a's occurrences in train_ids[:-1] (the last id starts no "
         "pair), not in the whole of train_ids"),
    ]
    return out


def _bigram_judge(out: Any, train_ids: Sequence[int], test_ids: Sequence[int],
                  vocab_size: int, k: float) -> str | None:
    """A problem with the learner's log-likelihood, or None; usual mistakes are named."""
    problem = _float_problem(out, "the log-likelihood")
    if problem:
        return problem
    got = float(out)
    train, test = [int(i) for i in train_ids], [int(i) for i in test_ids]
    want = _ref_bigram(train, test, vocab_size, k)
    if _close(got, want):
        return None
    head = f"expected {want:.10g}, got {got:.10g}"
    if math.isnan(got):
        return head + ": a nan; is a probability 0 or negative, or a count divided by 0?"
    if math.isinf(got):
        return (head + ": ln 0 = -inf, so some pair got probability 0; with add-k every pair "
                "has probability at least k / (c(a) + k·V) > 0, the pairs never seen in "
                "training included")
    whys = [why for value, why in _bigram_mistakes(train, test, vocab_size, k, want)
            if not _close(value, want) and _close(got, value)]
    if whys:
        return f"{head}: {'; or '.join(dict.fromkeys(whys))}"
    if got > 0:
        return (head + ": a log-likelihood is ≤ 0, since every probability is ≤ 1; check the "
                "sign and that each P(b | a) is at most 1")
    return head


def _bigram_case(name: str, train: list[int], test: list[int], V: int, k: float,
                 hint: Any = None) -> Case:
    return Case(name, (train, test, V, k), check=_bigram_judge, hint=hint)


def _markov_text(rng: np.random.Generator, V: int, n: int, alphabet: int | None = None
                 ) -> list[int]:
    """n ids from a random first-order Markov chain over the first `alphabet` ids of V (all by
    default): a text whose pairs repeat, as a language's do."""
    m = V if alphabet is None else alphabet
    table = rng.dirichlet(np.full(m, 0.3), size=m)           # (m, m): a peaked row per id
    ids = [int(rng.integers(0, m))]
    for _ in range(n - 1):
        ids.append(int(rng.choice(m, p=table[ids[-1]])))
    return ids


def _bigram_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new vocabularies, texts, values of k, unseen pairs and contexts."""
    V = int(rng.integers(5, 90))
    k = float(rng.choice([0.01, 0.1, 0.25, 0.5, 1.0, 2.0]))
    text = _markov_text(rng, V, int(rng.integers(200, 1500)))
    cut = int(len(text) * 0.8)
    small = int(rng.integers(3, 8))
    toy = _markov_text(rng, small, int(rng.integers(10, 30)))
    seen = _markov_text(rng, small, 12)
    unseen_ctx = [*_markov_text(rng, V - 1, 6), V - 1, *_markov_text(rng, V - 1, 4)]
    return [
        _bigram_case(f"a text of {len(text)} ids, V = {V}, k = {k:g}", text[:cut], text[cut:],
                     V, k),
        _bigram_case(f"a small vocabulary (V = {small}), k = 1", toy, seen, small, 1.0),
        _bigram_case(f"an id never seen in training as a context (V = {V}, k = {k:g})",
                     _markov_text(rng, V - 1, 300), unseen_ctx, V, k),
        _bigram_case(f"one test id: nothing to predict (V = {small})", toy,
                     [int(rng.integers(0, small))], small, float(rng.uniform(0.1, 2.0))),
        _bigram_case(f"k = {k:g} on a short text", toy[:8], toy[3:], small, k),
    ]


@checker(
    "bigram_log_likelihood",
    what="the total ln-likelihood of test_ids[1:] under book.textgen.NGramLM(2, V, 'add-k', k), "
    "within 1e-9: unseen pairs and contexts, k < 1, one test id",
    hint=_BIGRAM_HINT,
    grading=_bigram_grading,
)
def check_bigram_log_likelihood() -> list[Case]:
    """Check `bigram_log_likelihood(train_ids, test_ids, vocab_size, k) -> float`: the total
    natural-log likelihood of test_ids[1:], each id given the one before it, under the add-k
    bigram model counted on train_ids: P(b | a) = (c(a, b) + k) / (c(a) + k V), where c(a, b)
    counts the adjacent pairs (a, b) of train_ids and c(a) the pairs that start with a.
    """
    rng = np.random.default_rng(90)
    text = _markov_text(rng, 65, 2000)
    return [
        _bigram_case("V = 3, k = 1: every test pair seen in training", [0, 1, 2, 0, 1, 2, 0, 1],
                     [0, 1, 2, 0], 3, 1.0,
                     hint="c(0, 1) = 3 and c(0) = 3: P(1 | 0) = (3 + 1) / (3 + 1·3) = 4/6; "
                     "P(2 | 1) = (2 + 1) / (2 + 3) and P(0 | 2) = (2 + 1) / (2 + 3): the total "
                     "is ln(4/6) + 2 ln(3/5) ≈ -1.4271."),
        _bigram_case("a pair never seen in training (V = 4, k = 1)", [0, 1, 0, 1, 2, 3, 0, 1, 2],
                     [1, 0, 2, 1], 4, 1.0,
                     hint="(0, 2) never occurs in training: P(2 | 0) = (0 + 1) / (c(0) + 4); "
                     "smoothing gives it a probability above 0, so the total stays finite."),
        _bigram_case("k = 0.5 and V = 6: k·V in the denominator", [0, 1, 2, 3, 4, 0, 1, 2, 3, 0],
                     [0, 1, 2, 3, 4, 0], 6, 0.5,
                     hint="with k = 0.5 and V = 6 the denominator is c(a) + 3."),
        _bigram_case("a context never seen in training: P = 1/V", [0, 1, 0, 1, 0, 2],
                     [2, 4, 3, 0], 5, 1.0,
                     hint=Hint("4 never occurs in train_ids: c(4) = 0 and c(4, b) = 0, so "
                               "P(b | 4) = k / (k·V) = 1/V; and 2 is train_ids' last id, so it "
                               "starts no pair: c(2) = 0 too.", OR_RAISED)),
        _bigram_case("one test id: nothing to predict", [0, 1, 2, 1, 0], [2], 3, 1.0,
                     hint=Hint("the first id is not predicted, so one id leaves no term: the "
                               "sum of nothing is 0.0 (a mean would divide by 0).",
                               OR_RAISED)),
        _bigram_case("a text of 2,000 ids, V = 65, k = 0.1", text[:1600], text[1600:], 65, 0.1),
    ]


# ---------------------------------------------------------------------------------------------
# The learning rate that a range test suggests
# ---------------------------------------------------------------------------------------------

_LR_HINT = Hint(
    "smooth the losses with a bias-corrected moving average: m = beta·m + (1 - beta)·loss from "
    "m = 0, and s_t = m / (1 - beta**t) with t = 1, 2, ... Walk through t in order and stop at "
    "the first s_t that is not finite or is above 4 × the smallest s before it (the run "
    "diverged there: that point and all later ones are out). Among the points kept, take the "
    "first with the smallest s_t, and return its learning rate divided by 10.",
    VALUE_KINDS,
)
_DIVERGED = 4.0   # a smoothed loss above 4 × the best so far: the run diverged
_SAFETY = 10.0    # the suggestion: a tenth of the lr of the smallest smoothed loss


def _smoothed(losses: Sequence[float], beta: float, correct: bool = True) -> list[float]:
    """The bias-corrected (or plain) exponential moving average s_1 .. s_n of the losses."""
    m, out = 0.0, []
    for t, loss in enumerate(losses, start=1):
        m = beta * m + (1 - beta) * float(loss)
        out.append(m / (1 - beta ** t) if correct else m)
    return out


def _kept(s: Sequence[float]) -> int:
    """How many points the scan keeps: it stops at the first s_t that is not finite or above
    4 × the smallest earlier one."""
    best = math.inf
    for t, value in enumerate(s):
        if not math.isfinite(value) or (t > 0 and value > _DIVERGED * best):
            return t
        best = min(best, value)
    return len(s)


def _argmin_first(values: Sequence[float]) -> int:
    return min(range(len(values)), key=lambda t: values[t])


def _lr_mistakes(lrs: Sequence[float], losses: Sequence[float], beta: float
                 ) -> list[tuple[float, str]]:
    """(the answer of a usual mistake, what the mistake is), for one case."""
    lr = [float(x) for x in lrs]
    s = _smoothed(losses, beta)
    n = _kept(s)
    i = _argmin_first(s[:n])
    out: list[tuple[float, str]] = [
        (lr[i], "that is the learning rate of the smallest smoothed loss itself; the "
         "suggestion is a tenth of it (/ 10), a safety margin below the edge of divergence"),
        (lr[n - 1] / _SAFETY, "that is the last point before the divergence; the suggestion is "
         "at the SMALLEST smoothed loss"),
        (lr[-1] / _SAFETY, "that is the last point of the test; the suggestion is at the "
         "smallest smoothed loss before the divergence"),
    ]
    plain = _smoothed(losses, beta, correct=False)
    n_plain = _kept(plain)
    if n_plain:
        out.append((lr[_argmin_first(plain[:n_plain])] / _SAFETY, "no bias correction: "
                    "m starts at 0, so the first averages are far too small (m_1 = (1 - beta)"
                    "·loss_1); divide m_t by 1 - beta**t"))
    raw = [float(x) for x in losses]
    n_raw = _kept(raw)
    if n_raw:
        out.append((lr[_argmin_first(raw[:n_raw])] / _SAFETY, "no smoothing: the raw losses "
                    "are noisy, and their smallest is often a lucky batch; smooth them with "
                    "the bias-corrected moving average first"))
    finite = [t for t in range(len(s)) if math.isfinite(s[t])]
    if finite:
        out.append((lr[min(finite, key=lambda t: s[t])] / _SAFETY, "the scan must stop at the "
                    "divergence (the first smoothed loss above 4 × the smallest before it, or "
                    "not finite): later points come from a run that has blown up"))
    if any(not math.isfinite(v) for v in s):
        out.append((lr[int(np.argmin(np.array(s)))] / _SAFETY, "that is the first nan or inf "
                    "point (np.argmin picks a nan as the smallest): stop the scan at the first "
                    "smoothed loss that is not finite"))
    return out


def _lr_judge(out: Any, lrs: Sequence[float], losses: Sequence[float],
              beta: float = 0.9) -> str | None:
    """A problem with the learner's suggestion, or None; usual mistakes are named."""
    if isinstance(out, (numbers.Integral, np.integer)) and not isinstance(out, (bool, np.bool_)):
        return (f"return the suggested learning rate (a float, lrs[i] / 10), not an index; got "
                f"the int {out}")
    problem = _float_problem(out, "the learning rate")
    if problem:
        return problem
    got = float(out)
    from book.ablation import suggest_lr  # imports torch: only when a check runs

    want = suggest_lr(lrs, losses, beta)
    if _close(got, want, 1e-12, 0.0):
        return None
    lr = [float(x) for x in lrs]
    s = _smoothed(losses, beta)
    n = _kept(s)
    i = _argmin_first(s[:n])
    head = (f"expected {want:.6g} (point {i}, lr = {lr[i]:.6g}, smoothed loss {s[i]:.4f}; the "
            f"scan stops at point {n}), got {got:.6g}")
    whys = [why for value, why in _lr_mistakes(lrs, losses, beta)
            if not _close(value, want, 1e-12, 0.0) and _close(got, value, 1e-12, 0.0)]
    if whys:
        return f"{head}: {'; or '.join(dict.fromkeys(whys))}"
    return head


def _range_test(rng: np.random.Generator, n: int, *, tail: str = "explodes",
                noise: float = 0.03, lo: float = 1e-6, hi: float = 1.0
                ) -> tuple[list[float], list[float]]:
    """A synthetic learning-rate range test: n lrs spaced evenly in log from lo to hi, and a
    loss that sits at its start, falls, then explodes ('explodes'), ends in nan ('nan'), keeps
    falling ('falls'), or spikes once and recovers lower ('spike')."""
    lrs = np.geomspace(lo, hi, n)
    u = np.linspace(0.0, 1.0, n)
    start, drop = rng.uniform(3.5, 4.5), rng.uniform(1.0, 2.5)
    mid, width = rng.uniform(0.3, 0.5), rng.uniform(0.04, 0.1)
    loss = start - drop / (1 + np.exp(-(u - mid) / width))
    if tail in ("explodes", "nan"):
        edge = rng.uniform(0.65, 0.85)
        loss = loss * np.exp(np.maximum(u - edge, 0.0) * rng.uniform(15, 30))
    loss = loss * (1 + noise * rng.standard_normal(n))
    if tail == "nan":
        loss[-max(2, n // 10):] = np.nan
    if tail == "spike":
        at = int(rng.integers(n // 3, n // 2))
        loss[at] *= 60
        loss[at + 1:] *= 0.8
    return [float(x) for x in lrs], [float(x) for x in loss]


def _lr_safe(lrs: list[float], losses: list[float], beta: float) -> bool:
    """The case is far from the rule's edges: a finite first loss, no smoothed loss within 0.1%
    of 4 × the smallest before it, and a smallest smoothed loss 1e-6 clear of the next."""
    s = _smoothed(losses, beta)
    if not math.isfinite(s[0]):
        return False
    best = s[0]
    for value in s[1:]:
        if not math.isfinite(value):
            break
        if abs(value - _DIVERGED * best) <= 1e-3 * _DIVERGED * best:
            return False
        if value > _DIVERGED * best:
            break
        best = min(best, value)
    kept = sorted(s[:_kept(s)])
    return len(kept) < 2 or kept[1] - kept[0] > 1e-6 * abs(kept[0])


def _lr_case(name: str, rng: np.random.Generator, n: int, *, beta: float | None = None,
             as_arrays: bool = False, hint: Any = None, **curve: Any) -> Case:
    """A range-test case, redrawn until it is clear of the rule's edges."""
    for _ in range(100):
        lrs, losses = _range_test(rng, n, **curve)
        if _lr_safe(lrs, losses, 0.9 if beta is None else beta):
            break
    else:
        raise RuntimeError("no range test clear of the rule's edges drawn")
    args: tuple = (np.array(lrs), np.array(losses)) if as_arrays else (lrs, losses)
    kwargs = {} if beta is None else {"beta": beta}
    return Case(name, args, kwargs, check=_lr_judge, hint=hint)


def _lr_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new curves and lengths, a nan tail, a spike, other betas, arrays."""

    def n() -> int:
        return int(rng.integers(40, 201))

    beta = float(rng.choice([0.8, 0.95, 0.98]))
    return [
        _lr_case("a range test whose loss explodes", rng, n()),
        _lr_case("the loss ends in nan", rng, n(), tail="nan"),
        _lr_case("one spike, then a lower loss", rng, n(), tail="spike"),
        _lr_case(f"beta = {beta:g}", rng, n(), beta=beta),
        _lr_case("NumPy arrays", rng, n(), as_arrays=True, lo=1e-5, hi=10.0),
    ]


@checker(
    "suggest_lr",
    what="lrs[i] / 10 at the first smallest bias-corrected smoothed loss before the divergence "
    "(a smoothed loss not finite or above 4 × the smallest before it), for explosions, nan, a "
    "spike, betas and arrays",
    hint=_LR_HINT,
    grading=_lr_grading,
)
def check_suggest_lr() -> list[Case]:
    """Check `suggest_lr(lrs, losses, beta=0.9) -> float`: the learning rate suggested by a
    range test that trained at the increasing learning rates lrs (one step each) and recorded
    the losses.

    Smooth: m_0 = 0, m_t = beta m_{t-1} + (1 - beta) losses[t-1], s_t = m_t / (1 - beta^t).
    Scan t = 1, 2, ... and stop at the first s_t that is not finite or above 4 × the smallest
    earlier s (the divergence: it and later points are left out). Return lrs[i] / 10 for the
    first point i with the smallest s among those kept.
    """
    rng = np.random.default_rng(91)
    return [
        _lr_case("a range test of 100 points whose loss explodes", rng, 100,
                 hint="plot the smoothed loss against log(lr): it sits, falls, then shoots up. "
                 "The suggestion is a tenth of the lr at its lowest point."),
        _lr_case("the loss ends in nan", rng, 80, tail="nan",
                 hint=Hint("a nan loss makes every later average nan: the scan stops at the "
                           "first smoothed loss that is not finite (math.isfinite).",
                           OR_RAISED)),
        _lr_case("one spike, then a lower loss: the scan stops at the spike", rng, 120,
                 tail="spike",
                 hint="the spike lifts the smoothed loss above 4 × its best so far: the run "
                 "counts as diverged there, and the lower losses after it are not considered."),
        _lr_case("a loss that falls to the end: no divergence", rng, 60, tail="falls"),
        _lr_case("beta = 0.98", rng, 150, beta=0.98),
        _lr_case("beta = 0: no smoothing", rng, 50, beta=0.0),
        _lr_case("NumPy arrays", rng, 100, as_arrays=True),
    ]


# ---------------------------------------------------------------------------------------------
# A report on a run's validation loss
# ---------------------------------------------------------------------------------------------

_KEYS = ("step", "train_loss", "val_loss")
_RISE = 0.01     # a rise of the validation loss that counts (smaller ones are noise)

_REPORT_HINT = Hint(
    "the best record is the one with the lowest val_loss (the first of equal ones: min over the "
    "records with key=...); best_step is its 'step' and best_val its val_loss. The gap is "
    "val_loss - train_loss of the LAST record. overfitting: the last val_loss is above best_val "
    "by more than 0.01 AND the last train_loss is below the train_loss of the best record.",
    VALUE_KINDS,
)


def _ref_overfitting_report(history: Sequence[dict]) -> dict[str, Any]:
    """The reference report: best step and validation loss, the last gap, overfitting."""
    if len(history) == 0:
        raise ValueError("history is empty: train with evaluation (eval_interval > 0) first")
    for i, record in enumerate(history):
        missing = [key for key in _KEYS if key not in record]
        if missing:
            raise ValueError(f"record {i} has no {', '.join(missing)}: each record needs "
                             f"{', '.join(_KEYS)}")
    best = min(history, key=lambda r: r["val_loss"])
    last = history[-1]
    return {"best_step": best["step"], "best_val": best["val_loss"],
            "gap": last["val_loss"] - last["train_loss"],
            "overfitting": bool(last["val_loss"] - best["val_loss"] > _RISE
                                and last["train_loss"] < best["train_loss"])}


@dataclass(frozen=True)
class _Raised:
    """What the learner's function raised on an input it must refuse."""

    error: BaseException


def _invalid(history: Any) -> bool:
    """Whether the reference refuses this history (empty, or a record without a key)."""
    try:
        _ref_overfitting_report(history)
    except ValueError:
        return True
    return False


def _catch_refusals(fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, with what it raises on a history it must refuse returned as _Raised, for the judge
    (NotImplementedError still means 'not attempted')."""

    @functools.wraps(fn)
    def run(history: Any, *args: Any, **kwargs: Any) -> Any:
        if not _invalid(history):
            return fn(history, *args, **kwargs)
        try:
            return fn(history, *args, **kwargs)
        except NotImplementedError:
            raise
        except Exception as exc:  # judged: which error, saying what
            return _Raised(exc)

    return run


def _refusal_judge(out: Any, history: list[dict]) -> str | None:
    """The learner's function must raise a ValueError that says what is wrong with history."""
    try:
        _ref_overfitting_report(history)
    except ValueError as exc:
        why = str(exc)
    empty = len(history) == 0
    word = "empty" if empty else next(key for key in _KEYS
                                      if any(key not in r for r in history))
    what = "an empty history" if empty else f"a record without {word!r}"
    if not isinstance(out, _Raised):
        return (f"{what} must raise a ValueError that says so (e.g. {why!r}); your function "
                f"returned {short_repr(out, 80)}")
    error, text = out.error, str(out.error)
    if not isinstance(error, ValueError):
        return (f"{what}: raise ValueError with a message that says what is wrong, not "
                f"{type(error).__name__}({text!r}) from inside your code; check the input "
                "first")
    if text.startswith(("min()", "max()")):
        return (f"{what}: that ValueError is min()'s own ({text!r}); check the input first and "
                f"say what is wrong, e.g. {why!r}")
    if word not in text:
        return (f"{what}: the ValueError's message should say what is wrong (mention "
                f"{word!r}); got {text!r}")
    return None


def _report_judge(out: Any, history: list[dict]) -> str | None:
    """A problem with the learner's report, or None; usual mistakes are named."""
    if out is None:
        return "your function returned None: did you forget to `return` the dict?"
    if isinstance(out, _Raised):  # not reached: valid inputs are not caught
        return f"it raised {out.error!r}"
    if not isinstance(out, dict):
        return (f"return a dict with the keys {', '.join(repr(k) for k in _REPORT_KEYS)}; got "
                f"{describe_type(out)}")
    missing = [k for k in _REPORT_KEYS if k not in out]
    extra = [k for k in out if k not in _REPORT_KEYS]
    if missing or extra:
        return (f"the dict must have exactly the keys {', '.join(repr(k) for k in _REPORT_KEYS)}"
                + (f"; missing {', '.join(map(repr, missing))}" if missing else "")
                + (f"; unexpected {', '.join(map(repr, extra))}" if extra else ""))
    want = _ref_overfitting_report(history)
    for key in _REPORT_KEYS:
        problem = _REPORT_PARTS[key](out[key], want, history)
        if problem:
            return f"{key!r}: {problem}"
    return None


def _best_step_problem(got: Any, want: dict, history: list[dict]) -> str | None:
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (numbers.Integral, np.integer)):
        return f"return the record's 'step' (an int); got {describe_type(got)} {short_repr(got)}"
    if int(got) == want["best_step"]:
        return None
    head = f"expected {want['best_step']}, got {int(got)}"
    steps = [r["step"] for r in history]
    vals = [r["val_loss"] for r in history]
    i = vals.index(min(vals))
    by_train = min(range(len(history)), key=lambda t: history[t]["train_loss"])
    last_tie = max(t for t in range(len(vals)) if vals[t] == vals[i])
    if int(got) == steps[by_train] and by_train != i:
        return head + (": that is the step with the lowest TRAIN loss; the best step is the "
                       "one with the lowest val_loss (the train loss keeps falling as the "
                       "model memorises)")
    if last_tie != i and int(got) == steps[last_tie]:
        return head + ": several records share the lowest val_loss; take the FIRST of them"
    if int(got) == i and steps[i] != i:
        return head + f": that is the record's index in the list; return its 'step', {steps[i]}"
    if int(got) == steps[vals.index(max(vals))]:
        return head + ": that is the HIGHEST val_loss; the best step has the lowest"
    return head


def _float_part(got: Any, want: float, what: str, mistakes: list[tuple[float, str]]
                ) -> str | None:
    problem = _float_problem(got, what)
    if problem:
        return problem
    if _close(float(got), want, 1e-12, 1e-12):
        return None
    whys = [why for value, why in mistakes
            if not _close(value, want, 1e-12, 1e-12) and _close(float(got), value, 1e-12, 1e-12)]
    head = f"expected {want:.6g}, got {float(got):.6g}"
    return f"{head}: {'; or '.join(dict.fromkeys(whys))}" if whys else head


def _best_val_problem(got: Any, want: dict, history: list[dict]) -> str | None:
    i = [r["step"] for r in history].index(want["best_step"])
    low_train = min(r["train_loss"] for r in history)
    return _float_part(got, want["best_val"], "best_val", [
        (history[i]["train_loss"], "that is the TRAIN loss of the best record; best_val is its "
         "val_loss"),
        (low_train, "that is the lowest train loss; best_val is the lowest val_loss"),
        (history[-1]["val_loss"], "that is the last val_loss; best_val is the lowest"),
    ])


def _gap_problem(got: Any, want: dict, history: list[dict]) -> str | None:
    i = [r["step"] for r in history].index(want["best_step"])
    best, last = history[i], history[-1]
    at_best = best["val_loss"] - best["train_loss"]
    return _float_part(got, want["gap"], "the gap", [
        (at_best, "that is the gap at the best step; the gap is val_loss - train_loss at the "
         "LAST record (how far apart the two curves end)"),
        (last["train_loss"] - last["val_loss"], "the sign is flipped: the gap is val_loss - "
         "train_loss (positive when the model does better on its training data)"),
        (-at_best, "that is train_loss - val_loss at the best step; the gap is val_loss - "
         "train_loss at the LAST record"),
    ])


def _overfitting_problem(got: Any, want: dict, history: list[dict]) -> str | None:
    if not isinstance(got, (bool, np.bool_)):
        return f"return True or False; got {describe_type(got)} {short_repr(got)}"
    if bool(got) == want["overfitting"]:
        return None
    i = [r["step"] for r in history].index(want["best_step"])
    best, last = history[i], history[-1]
    rise = last["val_loss"] - best["val_loss"]
    head = f"expected {want['overfitting']}, got {bool(got)}"
    if want["overfitting"]:
        return head + (f": the val_loss rose by {rise:.4f} (> 0.01) from its best while the "
                       f"train_loss fell from {best['train_loss']:.4f} to "
                       f"{last['train_loss']:.4f}: that is overfitting")
    if rise <= 0:
        return head + ": the last record is the best one: the val_loss has not risen"
    if rise <= _RISE:
        return head + (f": the val_loss rose by only {rise:.4f} from its best: a rise must "
                       "exceed 0.01 to count (smaller ones are the noise of the estimate)")
    return head + (f": the train_loss did not fall after the best step ({best['train_loss']:.4f}"
                   f" then {last['train_loss']:.4f}): when both losses rise the run is "
                   "diverging (too high a learning rate), not overfitting")


_REPORT_KEYS = ("best_step", "best_val", "gap", "overfitting")
_REPORT_PARTS = {"best_step": _best_step_problem, "best_val": _best_val_problem,
                 "gap": _gap_problem, "overfitting": _overfitting_problem}


def _history(rng: np.random.Generator, n: int, kind: str, *, interval: int = 250,
             tie: bool = False) -> list[dict]:
    """n evaluation records as book.textgen.train writes them (steps interval, 2 interval, ...;
    lr and elapsed_s too), of a run that 'overfits' (val falls, then rises by 0.03 to 0.5 while
    train falls), 'learns' (both fall to the end), 'flat' (val rises by at most 0.008 after its
    best while train falls) or 'diverges' (both rise after the best)."""
    steps = [interval * (t + 1) for t in range(n)]
    start, floor = rng.uniform(3.5, 4.5), rng.uniform(1.0, 2.0)
    rate = rng.uniform(2.0, 5.0)
    u = np.linspace(0.0, 1.0, n)
    train = floor + (start - floor) * np.exp(-rate * u)            # falls to the end
    best = int(rng.integers(max(1, n // 3), max(2, n - 2))) if kind != "learns" else n - 1
    val = train + rng.uniform(0.02, 0.3)                           # falls up to the best
    after = n - 1 - best
    if after:
        if kind == "overfits":
            rises = np.linspace(0.0, rng.uniform(0.03, 0.5), after + 1)[1:]
        elif kind == "flat":
            rises = np.linspace(0.0, rng.uniform(0.001, 0.008), after + 1)[1:]
        else:  # diverges: both go up
            rises = np.linspace(0.0, rng.uniform(0.1, 1.0), after + 1)[1:]
            train[best + 1:] = train[best] + rises * rng.uniform(0.8, 1.2)
        val[best + 1:] = val[best] + rises
    if tie and after >= 1:
        val[best + 1] = val[best]  # an exact tie after the best
    records = []
    for t in range(n):
        records.append({"step": steps[t], "train_loss": round(float(train[t]), 4),
                        "val_loss": round(float(val[t]), 4), "lr": float(3e-3 * (1 - u[t]) + 3e-4),
                        "elapsed_s": round(1.5 * (t + 1), 2)})
    return records


def _report_case(name: str, history: list[dict], hint: Any = None) -> Case:
    check = _refusal_judge if _invalid(history) else _report_judge
    return Case(name, (history,), check=check, hint=hint)


def _without(history: list[dict], i: int, key: str) -> list[dict]:
    return [{k: v for k, v in r.items() if not (t == i and k == key)}
            for t, r in enumerate(history)]


def _report_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new runs of each kind, lengths and intervals, a tie, missing keys."""

    def n() -> int:
        return int(rng.integers(4, 30))

    def interval() -> int:
        return int(rng.choice([10, 50, 100, 200, 250, 500]))

    broken = _history(rng, n(), "overfits", interval=interval())
    i = int(rng.integers(0, len(broken)))
    key = str(rng.choice(list(_KEYS)))
    return [
        _report_case("a run that overfits", _history(rng, n(), "overfits", interval=interval())),
        _report_case("a run still learning", _history(rng, n(), "learns", interval=interval())),
        _report_case("a small rise of the val_loss",
                     _history(rng, n(), "flat", interval=interval())),
        _report_case("a run that diverges", _history(rng, n(), "diverges", interval=interval())),
        _report_case("a tie for the lowest val_loss",
                     _history(rng, n(), "overfits", interval=interval(), tie=True)),
        _report_case(f"record {i} has no {key!r}", _without(broken, i, key)),
    ]


@checker(
    "overfitting_report",
    what="the best step and val_loss (the first lowest), the last gap and the overfitting verdict "
    "of runs that overfit, learn, barely rise, diverge and tie; a ValueError for an empty "
    "history or a missing key",
    hint=_REPORT_HINT,
    prepare=_catch_refusals,
    grading=_report_grading,
)
def check_overfitting_report() -> list[Case]:
    """Check `overfitting_report(history) -> dict`: history is a list of dicts with (at least)
    the keys "step", "train_loss" and "val_loss", in step order, as book.textgen.train's
    TrainLog.history records them.

    The dict: "best_step", the step of the lowest val_loss (the first of equal ones);
    "best_val", that val_loss; "gap", val_loss - train_loss at the last record; "overfitting",
    True when the last val_loss is above best_val by more than 0.01 while the last train_loss is
    below the train_loss at the best step. An empty history, or a record without one of the
    three keys, raises ValueError with a message that says which.
    """
    rng = np.random.default_rng(92)
    overfits = _history(rng, 12, "overfits")
    return [
        _report_case("a run that overfits (12 evaluations, every 250 steps)", overfits,
                     hint="the train loss falls to the end, the val_loss turns up after its "
                     "best: best_step is where val_loss is lowest, not train_loss."),
        _report_case("a run still learning: the best is the last record",
                     _history(rng, 8, "learns", interval=100)),
        _report_case("the val_loss rises by less than 0.01", _history(rng, 10, "flat")),
        _report_case("both losses rise: the run diverges, it does not overfit",
                     _history(rng, 10, "diverges", interval=50)),
        _report_case("two records share the lowest val_loss", _history(rng, 9, "overfits",
                                                                       tie=True)),
        _report_case("one record", _history(rng, 1, "learns", interval=500)),
        _report_case("an empty history", [],
                     hint=Hint("check `if not history:` first and raise ValueError saying the "
                               "history is empty.", OR_RAISED | {"property"})),
        _report_case("a record without 'val_loss' (trained without evaluation)",
                     _without(overfits, 3, "val_loss"),
                     hint=Hint("check every record for the three keys before using them, and "
                               "raise ValueError naming the missing one.",
                               OR_RAISED | {"property"})),
    ]
