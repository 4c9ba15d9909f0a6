"""Tests of chapter 8's checkers: correct solutions pass, the classic mistakes fail, and say why.

The wrong "learner" functions are mistakes people make: a parameter count with the tied head
counted twice, without positions or LayerNorms, with biases, with an MLP of E, with full-size
keys and values under grouped-query attention, or as a float; a KV cache without the factor 2,
the batch or the bytes, in bits or in GiB; an online-softmax merge that takes exp of a maximum,
forgets to rescale o, forgets o's feature axis, divides o by l, returns a block unmerged,
promotes float32 or works in place; int8 quantization with one scale for the matrix, with 128
or the signed maximum, that truncates, that leaves a zero row at 0 / 0, or returns the wrong
types; dequantization that scales the columns or returns q.

Grading: each checker's hidden cases pass a solution for every seed, change with the seed, and
fail a function that only knows the visible answers (as tests/test_exercise_grading.py checks
for every registered exercise).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_exercise_grading import SEEDS, assert_hidden_cases_work

from book import np_nn, quantize, scale
from book.exercises.ch08 import (
    check_dequantize_int8,
    check_gpt_params,
    check_kv_cache_bytes,
    check_merge_softmax_blocks,
    check_quantize_int8,
)
from book.textgen import GPTConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions, written as a learner would, and the mistakes as keyword arguments ------


def gpt_params(vocab_size, max_len, embed_dim, num_layers, num_heads, num_kv_heads=None, *,
               head=False, positions=True, norms=True, final_norm=True, biases=False,
               hidden=4, gqa=True, layers=True, as_float=False):
    E, nh = embed_dim, num_heads
    nkv = nh if num_kv_heads is None or not gqa else num_kv_heads
    hd = E / nh if as_float else E // nh
    attention = 2 * E * E + 2 * E * nkv * hd + (biases * (2 * E + 2 * nkv * hd))
    mlp = 2 * E * hidden * E + biases * (hidden * E + E)
    block = attention + mlp + norms * 2 * E * (1 + biases)
    return (vocab_size * E * (1 + head) + positions * max_len * E
            + (num_layers if layers else 1) * block + final_norm * E * (1 + biases))


def kv_cache_bytes(num_layers, num_kv_heads, head_dim, context, batch, bytes_per_number, *,
                   both=True, with_batch=True, unit="bytes"):
    numbers = (2 if both else 1) * num_layers * num_kv_heads * head_dim * context
    numbers *= batch if with_batch else 1
    if unit == "numbers":
        return numbers
    if unit == "bits":
        return numbers * bytes_per_number * 8
    if unit == "GiB":
        return numbers * bytes_per_number / 2**30
    return numbers * bytes_per_number


def merge_softmax_blocks(a, b, *, rescale_o=True, feature_axis=True, naive=False,
                         normalise=False):
    (m1, l1, o1), (m2, l2, o2) = a, b
    m = np.maximum(m1, m2)
    if naive:  # exp of the maxima themselves, divided out afterwards
        w1, w2 = np.exp(m1) / np.exp(m), np.exp(m2) / np.exp(m)
    else:
        w1, w2 = np.exp(m1 - m), np.exp(m2 - m)
    l = w1 * l1 + w2 * l2  # noqa: E741
    f1, f2 = (w1[..., None], w2[..., None]) if feature_axis else (w1, w2)
    o = f1 * o1 + f2 * o2 if rescale_o else o1 + o2
    return m, l, (o / l[..., None] if normalise else o)


def quantize_int8(w, *, per="row", qmax=127, maximum="abs", rounding="round", zero_rows=True,
                  keepdim=False, q_dtype=torch.int8):
    w = w.detach().float()
    if per == "tensor":
        scale = w.abs().max() / qmax
    else:
        top = w.abs().amax(dim=1, keepdim=keepdim) if maximum == "abs" else w.amax(dim=1,
                                                                                   keepdim=keepdim)
        scale = top / qmax
    if zero_rows:
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    x = w / (scale if per == "tensor" or keepdim else scale[:, None])
    q = {"round": torch.round, "trunc": torch.trunc, "floor": torch.floor}[rounding](x)
    if q_dtype == torch.int8:
        q = q.clamp(-127, 127) if qmax == 127 else q
        q = q.to(torch.int8)
    return q, scale


def quantize_by_multiplying(w):
    """Another correct way: multiply by 127 / max instead of dividing by max / 127 (the two
    round apart only at exact half-way points)."""
    w = w.detach().float()
    top = w.abs().amax(dim=1)
    top = torch.where(top > 0, top, torch.full_like(top, 127.0))
    q = torch.round(w * (127.0 / top)[:, None]).clamp(-127, 127).to(torch.int8)
    return q, top / 127


def dequantize_int8(q, scale):
    return q.float() * scale[:, None]


SOLUTIONS = [
    (check_gpt_params, gpt_params),
    (check_kv_cache_bytes, kv_cache_bytes),
    (check_merge_softmax_blocks, merge_softmax_blocks),
    (check_quantize_int8, quantize_int8),
    (check_dequantize_int8, dequantize_int8),
]
OTHERS = [
    (check_merge_softmax_blocks, np_nn.merge_softmax_blocks),
    (check_quantize_int8, quantize.quantize_per_channel),
    (check_quantize_int8, quantize_by_multiplying),
    (check_dequantize_int8, quantize.dequantize),
]


@pytest.mark.parametrize("check, fn", [*SOLUTIONS, *OTHERS])
def test_correct_solutions_pass_the_visible_and_hidden_cases(check, fn):
    for seed in (None, *SEEDS, 7, 8, 9):
        result = check(fn, quiet=True, grading_seed=seed)
        assert result.passed, result.message


@pytest.mark.parametrize("check", [c for c, _ in SOLUTIONS])
def test_not_attempted(check):
    assert check(_not_done, quiet=True).status == "not_attempted"


def test_the_references_are_the_packages():
    assert gpt_params(65, 256, 384, 6, 6) == scale.param_count(
        GPTConfig())["total"] == 10_745_088
    llama7 = scale.PUBLIC_MODELS["llama-2-7b"]
    assert kv_cache_bytes(32, 32, 128, 4096, 1, 2) == scale.inference_memory(
        llama7, 4096, 1, "bf16")["kv_cache"] == 2**31


# --- the parameter count -----------------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"head": True}, "chapter 5's GPT", "weight tying"),
    ({"positions": False}, "chapter 5's GPT", "position embeddings"),
    ({"biases": True}, "chapter 5's GPT", "you counted biases"),
    ({"norms": False, "final_norm": False}, "chapter 5's GPT", "the LayerNorms are missing"),
    ({"final_norm": False}, "chapter 5's GPT", "the final LayerNorm"),
    ({"hidden": 1}, "chapter 5's GPT", "4 E units"),
    ({"layers": False}, "chapter 5's GPT", "ONE block"),
    ({"gqa": False}, "grouped-query attention: 8 heads share 2 key/value heads",
     "1024 × 256 each"),
])
def test_gpt_params_mistakes_are_named(mistake, failed, says):
    result = check_gpt_params(lambda *a, **k: gpt_params(*a, **k, **mistake), quiet=True)
    assert result.failed_case.startswith(failed), result.message
    assert result.reason == "property" and says in result.message, result.message
    if failed == "chapter 5's GPT":
        assert "expected 10,745,088, got" in result.message


def test_gpt_params_must_be_an_int():
    floats = check_gpt_params(lambda *a, **k: gpt_params(*a, **k, as_float=True), quiet=True)
    assert floats.failed_case.startswith("chapter 5's GPT") and "use // for a whole division" in \
        floats.message
    tensor = check_gpt_params(lambda *a, **k: torch.tensor(gpt_params(*a, **k)), quiet=True)
    assert ".item()" in tensor.message
    nothing = check_gpt_params(lambda *a, **k: None, quiet=True)
    assert "forget to `return`" in nothing.message
    vocab = check_gpt_params(lambda vocab_size, *a, **k: vocab_size, quiet=True)
    assert not vocab.passed and "expected 10,745,088, got 65" in vocab.message


# --- the KV cache ------------------------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"both": False}, "Llama 2 7B", "a key AND a value"),
    ({"with_batch": False}, "GPT-2 in fp32", "each of the batch's sequences"),
    ({"unit": "numbers"}, "Llama 2 7B", "times bytes_per_number"),
    ({"unit": "bits"}, "Llama 2 7B", "that is bits"),
    ({"unit": "GiB"}, "Llama 2 7B", "as an int; got the float 2"),
])
def test_kv_cache_mistakes_are_named(mistake, failed, says):
    result = check_kv_cache_bytes(lambda *a: kv_cache_bytes(*a, **mistake), quiet=True)
    assert result.failed_case.startswith(failed), result.failed_case
    assert says in result.message, result.message


def test_kv_cache_message_gives_the_size_in_gib():
    result = check_kv_cache_bytes(lambda *a: kv_cache_bytes(*a, both=False), quiet=True)
    assert "expected 2,147,483,648 bytes (2 GiB), got 1,073,741,824" in result.message


# --- the online-softmax merge ------------------------------------------------------------------


def test_merge_mistakes_fail_where_they_should():
    no_axis = check_merge_softmax_blocks(
        lambda a, b: merge_softmax_blocks(a, b, feature_axis=False), quiet=True)
    assert no_axis.failed_case == "4 queries, blocks of 3 and 5 keys, dv = 2"
    assert no_axis.reason == "raised" and "[..., None]" in no_axis.message
    naive = check_merge_softmax_blocks(lambda a, b: merge_softmax_blocks(a, b, naive=True),
                                       quiet=True)
    assert naive.failed_case == "scores around +1000 in a and -1000 in b"
    assert naive.reason == "not_finite" and "np.exp(1000) is inf" in naive.message
    for mistake in ({"rescale_o": False}, {"normalise": True}):
        result = check_merge_softmax_blocks(
            lambda a, b, m=mistake: merge_softmax_blocks(a, b, **m), quiet=True)
        assert result.failed_case == "one query, two keys in each block"
        assert result.reason == "wrong_values" and "element 2" in result.message


def test_merge_mistakes_only_a_square_case_catches():
    def square_only(a, b):  # the factor along the wrong axis when T = dv, else right
        m, l, o = merge_softmax_blocks(a, b)  # noqa: E741
        if o.shape[-1] == o.shape[-2]:
            return merge_softmax_blocks(a, b, feature_axis=False)
        return m, l, o

    result = check_merge_softmax_blocks(square_only, quiet=True)
    assert result.failed_case == "T = dv = 3: o's factor needs its own axis"
    assert "broadcasts along the wrong axis" in result.message


def test_merge_must_not_return_a_block_unmerged_change_its_inputs_or_its_dtype():
    first = check_merge_softmax_blocks(lambda a, b: a, quiet=True)
    assert not first.passed and first.reason == "wrong_values"

    def in_place(a, b):
        m, l, o = merge_softmax_blocks(a, b)  # noqa: E741
        a[2][...] = o
        return m, l, o

    assert check_merge_softmax_blocks(in_place, quiet=True).reason == "mutated_input"
    wider = check_merge_softmax_blocks(
        lambda a, b: tuple(x.astype(np.float64) for x in merge_softmax_blocks(a, b)), quiet=True)
    assert wider.failed_case == "float32 stays float32" and wider.reason == "wrong_dtype"


def test_merge_cases_are_finite_and_masked_where_they_say():
    cases = check_merge_softmax_blocks.cases()
    for case in cases:
        a, b = case.args
        m, l, o = np_nn.merge_softmax_blocks(a, b)  # noqa: E741
        assert np.isfinite(m).all() and (l >= 1).all() and np.isfinite(o).all(), case.name
    masked = {c.name: c for c in cases}["block a fully masked (m = -inf, l = 0, o = 0)"]
    assert np.isneginf(masked.args[0][0]).all() and not masked.args[0][1].any()
    big = {c.name: c for c in cases}["scores around +1000 in a and -1000 in b"]
    assert big.args[0][0].min() > 700 and big.args[1][0].max() < -700


# --- int8 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mistake, failed, says", [
    ({"per": "tensor"}, "a 2 × 3 matrix", "one number for the whole matrix"),
    ({"qmax": 128}, "a 2 × 3 matrix", "127, not 128"),
    ({"maximum": "signed"}, "a 2 × 3 matrix", "ABSOLUTE"),
    ({"rounding": "trunc"}, "a 2 × 3 matrix", "truncation toward 0"),
    ({"rounding": "floor"}, "a 2 × 3 matrix", "that is the floor"),
    ({"zero_rows": False}, "a row of zeros", "give such a row the scale 1"),
    ({"keepdim": True}, "a 2 × 3 matrix", "without keepdim"),
    ({"q_dtype": torch.float32}, "a 2 × 3 matrix", ".to(torch.int8)"),
])
def test_quantize_mistakes_are_named(mistake, failed, says):
    result = check_quantize_int8(lambda w: quantize_int8(w, **mistake), quiet=True)
    assert result.failed_case == failed, result.message
    assert says in result.message, result.message


def test_one_scale_for_the_matrix_is_named_when_it_has_a_row_shape():
    def expanded(w):
        q, s = quantize_int8(w, per="tensor")
        return q, s.expand(w.shape[0]).clone()

    result = check_quantize_int8(expanded, quiet=True)
    assert result.failed_case == "a 2 × 3 matrix" and "whole matrix" in result.message


def test_quantize_must_return_a_pair_of_tensors():
    assert "return a tuple (q, scale)" in check_quantize_int8(
        lambda w: quantize_int8(w)[0], quiet=True).message
    numpy = check_quantize_int8(lambda w: tuple(t.numpy() for t in quantize_int8(w)), quiet=True)
    assert "must be a torch.Tensor" in numpy.message
    same = check_quantize_int8(lambda w: (w, torch.ones(w.shape[0])), quiet=True)
    assert not same.passed and "q has dtype torch.float32" in same.message


def test_dequantize_mistakes():
    columns = check_dequantize_int8(lambda q, s: q.float() * s, quiet=True)
    assert columns.failed_case == "a 2 × 3 matrix" and columns.reason == "raised"
    assert "scale[:, None]" in columns.message

    def square_only(q, s):  # q * s only where it broadcasts without an error
        return q.float() * s if q.shape[0] == q.shape[1] else dequantize_int8(q, s)

    square = check_dequantize_int8(square_only, quiet=True)
    assert square.failed_case == "a square 4 × 4 matrix, rows on different scales"
    assert "along the COLUMNS" in square.message
    assert check_dequantize_int8(lambda q, s: q, quiet=True).reason == "wrong_dtype"
    assert check_dequantize_int8(lambda q, s: q.double() * s[:, None],
                                 quiet=True).reason == "wrong_dtype"


def test_ties_are_the_only_place_where_q_may_differ_by_one():
    def off_by_one(w):  # one weight rounded the wrong way, away from any tie
        q, s = quantize_int8(w)
        q = q.clone()
        q[0, 0] += 1 if q[0, 0] < 127 else -1
        return q, s

    result = check_quantize_int8(off_by_one, quiet=True)
    assert result.failed_case == "a 2 × 3 matrix" and "q[0, 0]" in result.message


# --- hidden grading cases ----------------------------------------------------------------------


@pytest.mark.parametrize("check, solution", SOLUTIONS, ids=[c.exercise for c, _ in SOLUTIONS])
def test_hidden_cases_pass_a_solution_change_with_the_seed_and_fail_a_cheat(check, solution):
    assert_hidden_cases_work(check, solution)
