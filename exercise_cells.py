"""The three exercise blocks of chapter 9, for chapters/09_faq.ipynb: (kind, source[, tags]).

bigram_log_likelihood goes in §9.2 (the n-gram baseline), overfitting_report in §9.3 (the
validation loss going up), suggest_lr in §9.4 (the range test). The code cells are the
stubs that `python tools/exercises.py` writes from solutions/09_faq_solutions.ipynb.
"""

CELLS = [
    ("markdown", r'''```{exercise} The log-likelihood of a bigram model
:label: ex-09-bigram
A baseline is only useful if it is measured the same way as the model it judges. Write
`bigram_log_likelihood(train_ids, test_ids, vocab_size, k)`: count the adjacent pairs of the
list of ids `train_ids`, $c(a, b)$, and the pairs that start with each id, $c(a)$; with add-$k$
smoothing, $P(b \mid a) = (c(a, b) + k) / (c(a) + kV)$. Return the total natural-log likelihood
of `test_ids[1:]`, each id given the one before it, as a Python float ($\le 0$). The checker
compares with `book.textgen.NGramLM(2, V, "add-k", k)`. Divided by the number of predicted ids
and negated, it is the loss in nats per character that chapter 5's models report: how far is
the bigram from the GPT on Tiny Shakespeare?
```'''),
    ("code", r'''import math  # noqa: F401 (for your code)
from collections import Counter  # noqa: F401 (for your code)

from book.exercises.ch09 import check_bigram_log_likelihood


def bigram_log_likelihood(train_ids, test_ids, vocab_size, k):
    """The total natural-log likelihood of test_ids[1:] under an add-k bigram model, a float.

    The model is counted on train_ids (a list of ints in 0 .. vocab_size - 1): c(a, b) is the
    number of adjacent pairs (a, b) and c(a) the number of pairs that start with a (as in
    book.textgen.NGramLM(2, vocab_size, "add-k", k)). P(b | a) = (c(a, b) + k) / (c(a) + k V)
    with V = vocab_size. Each id of test_ids after the first is predicted from the one before
    it; the result is the sum of ln P over those pairs (0.0 for a single id), ≤ 0.
    """
    raise NotImplementedError  # your code here


check_bigram_log_likelihood(bigram_log_likelihood)''', ["exercise"]),
    ("markdown", r'''```{exercise} Is the run overfitting?
:label: ex-09-overfitting
"My validation loss goes up: is it overfitting?" Only if the training loss is still going down.
Write `overfitting_report(history)` for a list of records as `TrainLog.history` holds them
(dicts with `"step"`, `"train_loss"`, `"val_loss"`, in step order). Return a dict:
`"best_step"`, the step of the lowest `val_loss` (the first of equal ones); `"best_val"`, that
loss; `"gap"`, `val_loss - train_loss` at the last record; `"overfitting"`, `True` when the last
`val_loss` is above the best by more than 0.01 while the last `train_loss` is below the one at
the best step. An empty history, or a record without one of the three keys, raises `ValueError`
with a message that says which. Why is a run whose two losses both rise not overfitting?
```'''),
    ("code", r'''from book.exercises.ch09 import check_overfitting_report


def overfitting_report(history):
    """A report on a run's evaluations: a dict with "best_step", "best_val", "gap", "overfitting".

    history: a list of dicts with (at least) the keys "step", "train_loss" and "val_loss", in
    step order, as book.textgen.train's TrainLog.history records them. "best_step" is the step
    of the lowest val_loss (the first of equal ones) and "best_val" that val_loss; "gap" is
    val_loss - train_loss at the last record; "overfitting" is True when the last val_loss is
    above best_val by more than 0.01 while the last train_loss is below the train_loss at the
    best step. An empty history, or a record without one of the three keys, raises ValueError
    with a message that says which.
    """
    raise NotImplementedError  # your code here


check_overfitting_report(overfitting_report)''', ["exercise"]),
    ("markdown", r'''```{exercise} The learning rate a range test suggests
:label: ex-09-lr-range
A range test trains for one step at each of a sequence of growing learning rates and records
the loss; the loss sits, falls, then blows up. Write `suggest_lr(lrs, losses, beta=0.9)`:
smooth the losses with a bias-corrected moving average ($m_0 = 0$,
$m_t = \beta m_{t-1} + (1 - \beta)\,\ell_t$, $s_t = m_t / (1 - \beta^t)$), scan
$t = 1, 2, \ldots$ and stop at the first
$s_t$ that is not finite or above $4 \min(s_1, \ldots, s_{t-1})$ (that point and later ones are
left out); return a tenth of the learning rate of the first smallest $s_t$ kept, as a float.
Why smooth, why correct the bias, and why a tenth?
```'''),
    ("code", r'''import math  # noqa: F401 (for your code)

from book.exercises.ch09 import check_suggest_lr


def suggest_lr(lrs, losses, beta=0.9):
    """The learning rate a range test suggests, a float.

    lrs: the increasing learning rates of the test, one training step each; losses: the loss
    of each step. Smooth the losses: m_0 = 0, m_t = beta m_{t-1} + (1 - beta) losses[t-1],
    s_t = m_t / (1 - beta**t), t = 1 .. n. Scan t in order and stop at the first s_t that is
    not finite or above 4 × the smallest earlier s (the divergence: it and later points are
    left out). Return lrs[i] / 10 for the first point i with the smallest s among those kept.
    """
    raise NotImplementedError  # your code here


check_suggest_lr(suggest_lr)''', ["exercise"]),
]
