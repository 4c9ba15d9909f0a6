"""Every exercise of the course in one table: where it is, what it is worth, what checks it.

One row per function a learner writes (an exercise that asks for two functions, like chapter 1's
sigmoid and its derivative, has two rows under one label). `tests/test_exercise_registry.py`
holds this table to the notebooks: every `{exercise}` directive and every checked function is
here, with the same title, label and function name, in the same order. The Exercises page of the
book (`exercises.md`), the student notebooks and the grader (`python -m book.grade`) read it.

Points are one per five minutes of the estimated time, so that a grade weighs work, and an
exercise's points are all or nothing: its checker passes every case, hidden ones included, or
the function gets 0 (the feedback says which case failed and why).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    """One function a learner writes, and how it is checked and graded."""

    chapter: int
    number: int  # the exercise's place in its chapter: 1, 2, ... (shown as "3.2")
    label: str  # the `{exercise}` directive's label: the anchor of its link on the chapter page
    title: str  # the directive's title
    function: str  # the name of the function the learner writes
    checker: str  # the checker's name in book.exercises.chNN
    minutes: int  # estimated time for a learner who has read the chapter

    @property
    def points(self) -> int:
        """What the function is worth: one point per five minutes of estimated work."""
        return max(1, round(self.minutes / 5))

    @property
    def module(self) -> str:
        """The module that holds the checker: book.exercises.chNN."""
        return f"book.exercises.ch{self.chapter:02d}"

    @property
    def key(self) -> str:
        """A short unique name, used as a column of grades.csv: '3.2 lstm_cell'."""
        return f"{self.chapter}.{self.number} {self.function}"

    def check(self) -> Callable[..., object]:
        """The checker itself, imported on demand."""
        return getattr(importlib.import_module(self.module), self.checker)


def _chapter(chapter: int, rows: list[tuple[str, str, str, str, int]]) -> list[Exercise]:
    """A chapter's rows (label, title, function, checker, minutes), numbered by label."""
    labels: list[str] = []
    for label, *_ in rows:
        if label not in labels:
            labels.append(label)
    return [Exercise(chapter, labels.index(label) + 1, label, title, function, check, minutes)
            for label, title, function, check, minutes in rows]


NOTEBOOKS = {
    1: "chapters/01_background.ipynb",
    2: "chapters/02_core_concepts.ipynb",
    3: "chapters/03_core_algorithms.ipynb",
    4: "chapters/04_math.ipynb",
    5: "chapters/05_text_generation.ipynb",
    6: "chapters/06_applications.ipynb",
    7: "chapters/07_tools.ipynb",
    8: "chapters/08_scale.ipynb",
    9: "chapters/09_faq.ipynb",
}

EXERCISES: list[Exercise] = [
    *_chapter(1, [
        ("ex-01-stable-softmax", "A softmax that does not overflow",
         "stable_softmax", "check_stable_softmax", 15),
        ("ex-01-sigmoid", "A sigmoid that does not overflow, and its derivative",
         "sigmoid", "check_sigmoid", 15),
        ("ex-01-sigmoid", "A sigmoid that does not overflow, and its derivative",
         "sigmoid_grad", "check_sigmoid_grad", 10),
    ]),
    *_chapter(2, [
        ("ex-02-soft-lookup", "Attention as a soft lookup",
         "soft_lookup", "check_soft_lookup", 15),
        ("ex-02-cosine-neighbours", "Nearest neighbours by cosine similarity",
         "cosine_neighbours", "check_cosine_neighbours", 15),
        ("ex-02-sgns-step", "One skip-gram step", "sgns_step", "check_sgns_step", 30),
        ("ex-02-rnn-grad-norms", "The gradient norms of an unrolled RNN",
         "rnn_grad_norms", "check_rnn_grad_norms", 30),
    ]),
    *_chapter(3, [
        ("ex-03-softmax-backward", "Softmax backward as a vector–Jacobian product",
         "softmax_backward", "check_softmax_backward", 20),
        ("ex-03-lstm-cell", "One LSTM step", "lstm_cell", "check_lstm_cell", 25),
        ("ex-03-causal-mask", "A causal mask", "causal_mask", "check_causal_mask", 10),
        ("ex-03-gru-cell", "A GRU cell, forward and backward", "gru_cell", "check_gru_cell", 25),
        ("ex-03-gru-backward", "The GRU's backward pass",
         "gru_cell_backward", "check_gru_cell_backward", 45),
    ]),
    *_chapter(4, [
        ("ex-04-gelu-grad", "The derivative of GELU", "gelu_grad", "check_gelu_grad", 20),
        ("ex-04-sin-op", "A new operation for the autograd engine", "sin", "check_sin_op", 25),
        ("ex-04-masked-mean", "Masked mean pooling", "masked_mean", "check_masked_mean", 15),
        ("ex-04-softmax-ce-grad", "The gradient of softmax cross-entropy",
         "softmax_cross_entropy_grad", "check_softmax_cross_entropy_grad", 20),
    ]),
    *_chapter(5, [
        ("ex-05-top-k", "Top-k filtering", "top_k_filter", "check_top_k_filter", 15),
        ("ex-05-top-p", "Top-p (nucleus) filtering", "top_p_filter", "check_top_p_filter", 25),
        ("ex-05-causal", "A causal mask, and why it is needed",
         "causal_attention", "check_causal_attention", 20),
        ("ex-05-bpc", "Bits per character from a BPE model's losses",
         "bits_per_char", "check_bits_per_char", 15),
        ("ex-05-bpe", "One merge of byte-pair encoding",
         "bpe_merge_step", "check_bpe_merge_step", 30),
    ]),
    *_chapter(6, [
        ("ex-06-bleu-precision", "BLEU's clipped n-gram precision",
         "modified_precision", "check_modified_precision", 15),
        ("ex-06-bio-entities", "Entities from BIO tags",
         "bio_entities", "check_bio_entities", 20),
        ("ex-06-entity-f1", "Entity-level precision, recall and F1",
         "entity_f1", "check_entity_f1", 15),
        ("ex-06-viterbi", "Viterbi decoding", "viterbi", "check_viterbi", 30),
        ("ex-06-recall-at-k", "Recall@k", "recall_at_k", "check_recall_at_k", 10),
    ]),
    *_chapter(7, [
        ("ex-07-slowest-function", "The slowest function of a profile",
         "slowest_function", "check_slowest_function", 10),
        ("ex-07-activation-hook", "Activation statistics with forward hooks",
         "activation_stats", "check_activation_stats", 20),
        ("ex-07-future-leakage", "Does the model see the future?",
         "leaks_future", "check_leaks_future", 20),
        ("ex-07-loss-curve", "Read a loss curve", "diagnose_loss_curve",
         "check_diagnose_loss_curve", 20),
    ]),
    *_chapter(8, [
        ("ex-08-param-count", "Count a GPT's parameters", "gpt_params", "check_gpt_params", 15),
        ("ex-08-online-softmax", "Merge two blocks of an online softmax",
         "merge_softmax_blocks", "check_merge_softmax_blocks", 20),
        ("ex-08-kv-cache", "The size of the KV cache",
         "kv_cache_bytes", "check_kv_cache_bytes", 10),
        ("ex-08-int8", "Int8 weights with one scale per row",
         "quantize_int8", "check_quantize_int8", 20),
        ("ex-08-int8", "Int8 weights with one scale per row",
         "dequantize_int8", "check_dequantize_int8", 5),
    ]),
    *_chapter(9, [
        ("ex-09-bigram", "The log-likelihood of a bigram model",
         "bigram_log_likelihood", "check_bigram_log_likelihood", 20),
        ("ex-09-overfitting", "Is the run overfitting?",
         "overfitting_report", "check_overfitting_report", 15),
        ("ex-09-lr-range", "The learning rate a range test suggests",
         "suggest_lr", "check_suggest_lr", 20),
    ]),
]


def exercises(chapters: list[int] | None = None) -> list[Exercise]:
    """The registered exercises, in book order, of the given chapters (default: all)."""
    if chapters is None:
        return list(EXERCISES)
    unknown = sorted(set(chapters) - set(NOTEBOOKS))
    if unknown:
        raise ValueError(f"no chapter {unknown[0]} has exercises; the chapters with exercises "
                         f"are {', '.join(map(str, NOTEBOOKS))}")
    return [e for e in EXERCISES if e.chapter in chapters]


def total_points(chapters: list[int] | None = None) -> int:
    """The points of the given chapters' exercises together."""
    return sum(e.points for e in exercises(chapters))
