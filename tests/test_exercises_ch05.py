"""Tests of chapter 5's checkers: correct solutions pass, the classic mistakes fail, and say why.

The wrong "learner" functions are mistakes people make: a top-k filter that zeroes instead of
masking or uses one threshold for the whole batch, a top-p filter that drops the token that
crosses p, attention without the mask or scaled by T, bits per character averaged over tokens,
a BPE step that lets occurrences overlap or breaks ties the other way.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from book import textgen as tg
from book.exercises.ch05 import (
    check_bits_per_char,
    check_bpe_merge_step,
    check_causal_attention,
    check_top_k_filter,
    check_top_p_filter,
)


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions ---------------------------------------------------------------------


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    probs = logits.softmax(-1)
    sorted_probs, order = probs.sort(-1, descending=True)
    before = sorted_probs.cumsum(-1) - sorted_probs      # mass of the tokens ranked above
    keep_sorted = before < p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    return logits.masked_fill(~keep, float("-inf"))


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     scale_by: str = "hs", masked: bool = True) -> torch.Tensor:
    T, hs = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs if scale_by == "hs" else T)
    if masked:
        future = ~torch.tril(torch.ones(T, T, dtype=torch.bool))
        scores = scores.masked_fill(future, float("-inf"))
    return scores.softmax(-1) @ v


def bits_per_char(token_losses, n_chars: int) -> float:
    return float(sum(float(x) for x in token_losses)) / math.log(2) / n_chars


def bpe_merge_step(ids: list[int], new_id: int, overlap: bool = False, ties: str = "small"):
    counts = Counter(zip(ids, ids[1:]))
    sign = 1 if ties == "small" else -1
    pair = min(counts, key=lambda p: (-counts[p], tuple(sign * x for x in p)))
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 1 if overlap else 2
        else:
            out.append(ids[i])
            i += 1
    return pair, out


@pytest.mark.parametrize("check, fn", [
    (check_top_k_filter, tg.top_k_filter),
    (check_top_p_filter, tg.top_p_filter),
    (check_top_p_filter, top_p_filter),
    (check_causal_attention, causal_attention),
    (check_causal_attention, lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                            is_causal=True)),
    (check_bits_per_char, bits_per_char),
    (check_bits_per_char, lambda losses, n: tg.bits_per_char(
        float(torch.as_tensor(losses).double().mean()), len(losses), n)),
    (check_bpe_merge_step, bpe_merge_step),
])
def test_correct_solutions_pass(check, fn):
    result = check(fn, quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("check", [check_top_k_filter, check_top_p_filter,
                                   check_causal_attention, check_bits_per_char,
                                   check_bpe_merge_step])
def test_not_attempted(check):
    result = check(_not_done, quiet=True)
    assert result.status == "not_attempted"


def test_top_k_mistakes():
    zeroed = check_top_k_filter(lambda z, k: torch.where(
        z >= z.topk(k, -1).values[..., -1:], z, torch.zeros_like(z)), quiet=True)
    assert not zeroed and "-inf" in zeroed.message
    one_threshold = check_top_k_filter(lambda z, k: z.masked_fill(
        z < z.topk(k, -1).values[..., -1:].min(), float("-inf")), quiet=True)
    assert not one_threshold
    assert one_threshold.failed_case == "two rows, each with its own threshold"
    assert "overflow" not in one_threshold.message  # -inf is an intended output here
    strict = check_top_k_filter(lambda z, k: z.masked_fill(
        z <= z.topk(k + 1, -1).values[..., -1:] if k < z.size(-1) else torch.zeros_like(z,
        dtype=torch.bool), float("-inf")), quiet=True)
    assert not strict


def test_top_p_mistakes():
    def drops_crossing(z, p):  # keeps tokens whose cumulative mass, including themselves, < p
        probs = z.softmax(-1)
        s, order = probs.sort(-1, descending=True)
        keep = torch.zeros_like(s, dtype=torch.bool).scatter(-1, order, s.cumsum(-1) < p)
        return z.masked_fill(~keep, float("-inf"))

    result = check_top_p_filter(drops_crossing, quiet=True)
    assert not result and result.failed_case == "p = 0.7 keeps 0.5 and 0.3"
    assert "keeps" in result.message  # the kept-count property names the row
    probs_back = check_top_p_filter(lambda z, p: tg.top_p_filter(z, p).softmax(-1), quiet=True)
    assert not probs_back


def test_causal_attention_mistakes():
    unmasked = check_causal_attention(lambda q, k, v: causal_attention(q, k, v, masked=False),
                                      quiet=True)
    assert not unmasked and "position 0 sees only itself" in unmasked.message
    by_t = check_causal_attention(lambda q, k, v: causal_attention(q, k, v, scale_by="T"),
                                  quiet=True)
    assert not by_t


def test_bits_per_char_mean_over_tokens_fails():
    result = check_bits_per_char(lambda losses, n: sum(losses) / len(losses) / math.log(2),
                                 quiet=True)
    assert not result and result.failed_case.startswith("a BPE model")
    assert "characters, not of tokens" in result.message


def test_bpe_merge_mistakes():
    overlap = check_bpe_merge_step(lambda ids, n: bpe_merge_step(ids, n, overlap=True),
                                   quiet=True)
    assert not overlap
    ties = check_bpe_merge_step(lambda ids, n: bpe_merge_step(ids, n, ties="large"), quiet=True)
    assert not ties and ties.failed_case == "a tie goes to the smaller pair"
    as_tensor = check_bpe_merge_step(lambda ids, n: (bpe_merge_step(ids, n)[0],
                                                     torch.tensor(bpe_merge_step(ids, n)[1])),
                                     quiet=True)
    assert not as_tensor


# --- messages that fit the mistake ---------------------------------------------------------------


def test_top_k_in_place_gets_a_torch_mutation_hint_not_a_values_hint():
    def in_place(logits, k):
        logits.masked_fill_(logits < logits.topk(k, -1).values[..., -1:], float("-inf"))
        return logits

    result = check_top_k_filter(in_place, quiet=True)
    assert result.reason == "mutated_input" and "`logits`" in result.message
    assert "masked_fill_" in result.message and "logits.clone()" in result.message
    assert "keeps 3 and 2" not in result.message  # the case's values hint does not fit


def test_top_k_with_finfo_min_is_told_it_is_not_minus_inf():
    result = check_top_k_filter(lambda z, k: z.masked_fill(
        z < z.topk(k, -1).values[..., -1:], torch.finfo(z.dtype).min), quiet=True)
    assert result.reason == "wrong_values" and "max abs error 0" not in result.message
    assert "expected -inf, got -3.40282e+38" in result.message and "is not -inf" in result.message


def test_bpe_float_ids_do_not_pass():
    def float_ids(ids, new_id):
        pair, new = bpe_merge_step(ids, new_id)
        return pair, [float(i) for i in new]

    result = check_bpe_merge_step(float_ids, quiet=True)
    assert result.reason == "wrong_type" and "a float; expected ints" in result.message


def test_bpe_overlapping_merges_show_both_id_lists():
    def overlapping(ids, new_id):
        pair, _ = bpe_merge_step(ids, new_id)
        merged = [new_id if (a, b) == pair else a for a, b in zip(ids, ids[1:], strict=False)]
        return pair, merged

    result = check_bpe_merge_step(overlapping, quiet=True)
    assert result.reason == "wrong_values"
    assert "expected [3, 3, 2, 3]" in result.message
    assert "got      [3, 1, 3, 1, 2, 3]" in result.message
    assert "rtol" not in result.message


def test_bits_per_char_names_the_shape_of_a_one_element_tensor():
    def one_element(token_losses, n_chars):
        total = sum(float(x) for x in token_losses)
        return torch.tensor([total / math.log(2) / n_chars])

    result = check_bits_per_char(one_element, quiet=True)
    assert result.reason == "wrong_type" and "torch.Tensor of shape (1,)" in result.message
