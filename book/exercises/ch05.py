"""Chapter 5 checkers: top-k and top-p filtering, causal self-attention with an explicit mask,
bits per character from a BPE model's losses, and one merge step of byte-pair encoding.

The references are book.textgen's functions and PyTorch's `F.scaled_dot_product_attention`, so
a pass means "agrees with the code the chapter trains and samples with". They are private
(underscore names) so that tab completion does not hand out the solutions; torch is imported
only when a check runs. Each checker also draws hidden grading cases of the same kinds from a
seeded generator (`grading=`: new logits, k, p, shapes, losses and id lists).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from book.exercises._shared import TOL_F32, torch_module
from book.exercises.cases import Case
from book.exercises.check import checker

# ---------------------------------------------------------------------------------------------
# Top-k and top-p
# ---------------------------------------------------------------------------------------------

_TOP_K_HINT = (
    "find the k-th largest logit of each row (torch.topk(logits, k, dim=-1).values[..., -1:], "
    "shape (B, 1)) and set every logit below it to -inf with masked_fill; logits equal to it "
    "stay. Work row by row: every row has its own threshold."
)
_TOP_P_HINT = (
    "sort each row's probabilities in decreasing order; the mass *before* token i is the "
    "cumulative sum shifted right by one (0 for the first token). Keep token i while that mass "
    "is < p — so the first token is always kept, and the token that crosses p is kept too — "
    "and set the other logits to -inf. Return logits, not probabilities."
)


def _kept_counts(expected_fn: Callable[..., Any]) -> Callable[..., str | None]:
    """A property check that names the row whose number of kept tokens is wrong."""

    def check(out: Any, logits: Any, *args: Any) -> str | None:
        torch = torch_module()
        if not isinstance(out, torch.Tensor) or out.shape != logits.shape:
            return None  # the value comparison reports type and shape
        want = torch.isfinite(expected_fn(logits.clone(), *args)).sum(-1)
        got = torch.isfinite(out).sum(-1)
        for b, (w, g) in enumerate(zip(want.tolist(), got.tolist(), strict=True)):
            if w != g:
                return f"row {b} keeps {g} tokens (finite logits), expected {w}"
        return None

    return check


def _ref_top_k(logits: Any, k: int) -> Any:
    from book.textgen import top_k_filter

    return top_k_filter(logits, k)


def _ref_top_p(logits: Any, p: float) -> Any:
    from book.textgen import top_p_filter

    return top_p_filter(logits, p)


def _logit_rows() -> Any:
    torch = torch_module()
    g = torch.Generator().manual_seed(5)
    return torch.randn(4, 12, generator=g) * 2


def _random_rows(rng: np.random.Generator, B: int, V: int, scale: float = 2.0) -> Any:
    """A float32 tensor (B, V) of normal logits drawn from rng."""
    return torch_module().from_numpy(rng.standard_normal((B, V), dtype=np.float32) * scale)


def _top_k_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new logits, sizes and k, of the same kinds as the visible ones."""
    torch = torch_module()
    case = functools.partial(Case, expected=_ref_top_k, check=_kept_counts(_ref_top_k), **TOL_F32)
    V1 = int(rng.integers(4, 11))
    k1 = int(rng.integers(2, V1))
    B2, V2 = int(rng.integers(2, 6)), int(rng.integers(5, 17))
    k2 = int(rng.integers(2, V2))
    B3, V3 = int(rng.integers(2, 6)), int(rng.integers(5, 17))
    B4, V4 = int(rng.integers(2, 6)), int(rng.integers(5, 17))
    k4 = V4 + int(rng.integers(0, 4))
    ties, k5 = _tied_row(rng)
    return [
        case(f"one row, k = {k1} (V = {V1})", (_random_rows(rng, 1, V1), k1)),
        case(
            f"{B2} rows, each with its own threshold, k = {k2} (V = {V2})",
            (_random_rows(rng, B2, V2), k2),
        ),
        case(f"k = 1 is greedy (B = {B3}, V = {V3})", (_random_rows(rng, B3, V3), 1)),
        case(f"k >= V keeps everything (V = {V4}, k = {k4})", (_random_rows(rng, B4, V4), k4)),
        case(
            f"ties with the k-th largest are kept (k = {k5})",
            (torch.from_numpy(ties), k5),
            hint="several logits equal the k-th largest: all of them stay.",
        ),
    ]


def _tied_row(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One row (1, V) of float32 logits and a k whose k-th largest is tied with the next one."""
    for _ in range(1000):
        V = int(rng.integers(6, 11))
        # few distinct values, so ties are common; scaled, as equal logits stay equal
        row = (rng.integers(-3, 4, size=V) * rng.uniform(0.5, 2.0)).astype(np.float32)
        ranked = np.sort(row)[::-1]
        # k-th largest equal to the (k+1)-th, and something below it that goes
        ks = [k for k in range(1, V) if ranked[k - 1] == ranked[k] and ranked[-1] < ranked[k]]
        if ks:
            return row[None, :], int(rng.choice(ks))
    raise RuntimeError("no row with a tie at the k-th largest")


@checker(
    "top_k_filter",
    what="the same logits and -inf as book.textgen.top_k_filter, per row, ties kept, k = 1 and "
    "k >= V",
    hint=_TOP_K_HINT,
    grading=_top_k_grading,
)
def check_top_k_filter() -> list[Case]:
    """Check `top_k_filter(logits (B, V), k) -> (B, V)`: logits below the k-th largest of
    their row become -inf, the rest are unchanged (ties with the k-th largest are kept)."""
    torch = torch_module()
    case = functools.partial(Case, expected=_ref_top_k, check=_kept_counts(_ref_top_k), **TOL_F32)
    hand = torch.tensor([[1.0, 3.0, 2.0, 0.5], [9.0, 8.0, 7.0, 1.0]])
    ties = torch.tensor([[2.0, 1.0, 2.0, 2.0, 0.0]])
    return [
        case("one row, k = 2", (hand[:1].clone(), 2),
             hint="[1, 3, 2, 0.5] with k = 2 keeps 3 and 2: [-inf, 3, 2, -inf]."),
        case("two rows, each with its own threshold", (hand.clone(), 2)),
        case("k = 1 is greedy", (_logit_rows(), 1)),
        case("k >= V keeps everything", (_logit_rows(), 12)),
        case("ties with the k-th largest are kept", (ties, 2),
             hint="three logits equal 2.0, the 2nd largest: all three stay."),
        case("random rows, k = 5", (_logit_rows(), 5)),
    ]


def _top_p_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new distributions, logits and p, of the same kinds as the visible ones."""
    torch = torch_module()
    case = functools.partial(Case, expected=_ref_top_p, check=_kept_counts(_ref_top_p), **TOL_F32)
    # one row of known probabilities, as the visible cases' [0.5, 0.3, 0.15, 0.05]
    probs = torch.from_numpy(rng.dirichlet(np.ones(int(rng.integers(4, 9)))).astype(np.float32))
    hand = probs[None, :].log()
    p_hand = _nucleus_p(rng, hand, 0.3, 0.9)
    B, V = int(rng.integers(2, 6)), int(rng.integers(6, 17))
    small = _random_rows(rng, B, V)
    top = float(small.softmax(-1).max(-1).values.min())
    p_small = _nucleus_p(rng, small, 0.01, top)
    everything = _random_rows(rng, int(rng.integers(2, 6)), int(rng.integers(6, 17)))
    shift = float(rng.uniform(1.0, 5.0))
    p_shift = _nucleus_p(rng, hand + shift, 0.3, 0.9)
    rows = _random_rows(rng, int(rng.integers(2, 6)), int(rng.integers(6, 17)))
    p_rows = _nucleus_p(rng, rows, 0.5, 0.95)
    n = hand.size(-1)
    return [
        case(f"p = {p_hand:.3g} on {n} known probabilities", (hand, p_hand)),
        case(f"a small p still keeps one token (p = {p_small:.3g})", (small, p_small)),
        case("p = 1 keeps everything", (everything, 1.0)),
        case(
            f"logits, not probabilities: softmax first (log-probabilities + {shift:.3g})",
            (hand + shift, p_shift),
        ),
        case(f"random rows, p = {p_rows:.3g}", (rows, p_rows)),
    ]


def _nucleus_p(rng: np.random.Generator, logits: Any, low: float, high: float) -> float:
    """A p from [low, high) at least 1e-3 from every row's cumulative probabilities.

    At a boundary, whether the next token is kept depends on rounding (float32 softmax and
    cumsum), so a hidden case keeps clear of it, as the visible ones do by design.
    """
    probs = logits.double().softmax(-1).sort(-1, descending=True).values
    boundaries = probs.cumsum(-1).flatten().numpy()
    for _ in range(1000):
        p = float(rng.uniform(low, high))
        if np.abs(boundaries - p).min() > 1e-3:
            return p
    raise RuntimeError(f"no p in [{low}, {high}) clear of the cumulative probabilities")


@checker(
    "top_p_filter",
    what="the same logits and -inf as book.textgen.top_p_filter, per row, at least one token "
    "kept, p = 1 keeps all",
    hint=_TOP_P_HINT,
    grading=_top_p_grading,
)
def check_top_p_filter() -> list[Case]:
    """Check `top_p_filter(logits (B, V), p) -> (B, V)`: keep the smallest set of most probable
    tokens whose probability reaches p (at least one token), the rest become -inf."""
    torch = torch_module()
    case = functools.partial(Case, expected=_ref_top_p, check=_kept_counts(_ref_top_p), **TOL_F32)
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    return [
        case("p = 0.7 keeps 0.5 and 0.3", (probs.log(), 0.7),
             hint="probabilities [0.5, 0.3, 0.15, 0.05]: 0.5 < 0.7, so 0.3 is needed too "
             "(0.8 >= 0.7); 0.15 and 0.05 go."),
        case("p = 0.5 keeps the top token only", (probs.log(), 0.5),
             hint="0.5 alone already reaches p = 0.5: the mass before the 2nd token is 0.5, "
             "not < 0.5."),
        case("a small p still keeps one token", (probs.log(), 0.1)),
        case("p = 1 keeps everything", (_logit_rows(), 1.0)),
        case("logits, not probabilities: softmax first", (probs.log() + 3.0, 0.7)),
        case("random rows, p = 0.9", (_logit_rows(), 0.9)),
    ]


# ---------------------------------------------------------------------------------------------
# Causal self-attention
# ---------------------------------------------------------------------------------------------

_CAUSAL_HINT = (
    "scores = q @ k.transpose(-2, -1) / sqrt(hd), shape (..., T, T); build a lower-triangular "
    "boolean mask with torch.tril(torch.ones(T, T, dtype=torch.bool)) and set the scores above "
    "the diagonal (the future: key index > query index) to -inf before the softmax over the "
    "last dimension; then multiply by v."
)


def _ref_causal(q: Any, k: Any, v: Any) -> Any:
    import torch.nn.functional as F

    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def _causal_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new q, k, v and shapes, of the same kinds as the visible ones."""
    torch = torch_module()

    def qkv(*shape: int) -> tuple[Any, Any, Any]:
        """Normal float32 q, k, v of this shape."""
        return tuple(torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))
                     for _ in range(3))

    case = functools.partial(Case, expected=_ref_causal, **TOL_F32)
    T1, hd1 = int(rng.integers(3, 9)), int(rng.integers(2, 9))
    B, nh, T2 = (int(n) for n in rng.integers([2, 2, 4], [4, 5, 11]))
    hd2 = int(rng.choice([hd for hd in range(2, 17) if hd != T2]))  # so √T is not √hd
    B3, nh3, T3 = (int(n) for n in rng.integers([1, 1, 3], [3, 3, 8]))
    # Scores in the hundreds, as the visible case's, but exact in float32: integer q and k, and
    # hd = 16 so that 1/√hd = 1/4. Random float32 scores of that size are rounded by ~1e-5,
    # which moves the output by more than rtol for some draws, correct code or not.
    q3, k3 = _large_scores(rng, (B3, nh3, T3, 16))
    big = (q3, k3, torch.from_numpy(rng.standard_normal((B3, nh3, T3, 16), dtype=np.float32)))
    return [
        case(f"one head, T = {T1}, hd = {hd1}", qkv(1, 1, T1, hd1),
             hint="the first output row must equal v[..., 0, :]: position 0 sees only itself."),
        case(f"{B} sequences x {nh} heads, T = {T2}, hd = {hd2}", qkv(B, nh, T2, hd2),
             hint="scale by sqrt of the head size, q.size(-1), not of T."),
        case(f"large scores stay finite (B = {B3}, {nh3} heads, T = {T3})", big,
             hint="use -inf (or torch.finfo(dtype).min) for masked scores and let softmax "
             "subtract the max; do not exponentiate the raw scores yourself."),
    ]


def _large_scores(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """Integer q, k (float32) whose largest unmasked score q·k/√hd is at least 100.

    exp overflows float32 past ~88.7, so an implementation that exponentiates the raw scores
    gives inf and nan on every draw, not only on most.
    """
    torch = torch_module()
    T, hd = shape[-2], shape[-1]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for _ in range(1000):
        q, k = (rng.integers(-15, 16, size=shape).astype(np.float32) for _ in range(2))
        scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(hd)
        if np.where(future, -np.inf, scores).max() >= 100:
            return torch.from_numpy(q), torch.from_numpy(k)
    raise RuntimeError("no q, k with a score of 100")


@checker(
    "causal_attention",
    what="equal to F.scaled_dot_product_attention(q, k, v, is_causal=True) within 1e-5, "
    "several heads and sequences, large scores",
    hint=_CAUSAL_HINT,
    grading=_causal_grading,
)
def check_causal_attention() -> list[Case]:
    """Check `causal_attention(q, k, v) -> (B, nh, T, hd)`: softmax(q kᵀ/√hd + mask) v, where the
    mask stops position t from attending to positions after t."""
    torch = torch_module()
    g = torch.Generator().manual_seed(7)

    def qkv(*shape: int) -> tuple[Any, Any, Any]:
        return tuple(torch.randn(*shape, generator=g) for _ in range(3))

    case = functools.partial(Case, expected=_ref_causal, **TOL_F32)
    q1, k1, v1 = qkv(1, 1, 4, 2)
    q2, k2, v2 = qkv(2, 3, 6, 4)
    big = tuple(10 * t for t in qkv(2, 2, 5, 8))
    return [
        case("one head, T = 4", (q1, k1, v1),
             hint="the first output row must equal v[..., 0, :]: position 0 sees only itself."),
        case("2 sequences x 3 heads, T = 6", (q2, k2, v2),
             hint="scale by sqrt of the head size, q.size(-1), not of T."),
        case("large scores stay finite", big,
             hint="use -inf (or torch.finfo(dtype).min) for masked scores and let softmax "
             "subtract the max; do not exponentiate the raw scores yourself."),
    ]


# ---------------------------------------------------------------------------------------------
# Bits per character
# ---------------------------------------------------------------------------------------------

_BPC_HINT = (
    "the model pays -ln P nats for each token; add them up over the text (that is the text's "
    "whole cost), convert nats to bits (divide by ln 2) and divide by the number of "
    "characters, not of tokens. A mean over tokens would make a model with longer tokens look "
    "worse than it is."
)


def _ref_bpc(token_losses: Any, n_chars: int) -> float:
    return float(sum(float(x) for x in token_losses)) / math.log(2) / n_chars


def _bpc_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new losses and lengths, as lists and as a tensor, as the visible ones."""
    torch = torch_module()
    case = functools.partial(Case, dtype="any", rtol=1e-6, atol=1e-9, expected=_ref_bpc)
    n = int(rng.integers(5, 41))
    chars = rng.uniform(0.2, 4.0, size=n).tolist()
    m = int(rng.integers(3, 21))
    bpe = rng.uniform(0.5, 6.0, size=m).tolist()
    m_chars = m * int(rng.integers(2, 5)) + int(rng.integers(0, m))
    t = int(rng.integers(30, 81))
    losses = torch.from_numpy(rng.uniform(0.0, 4.0, size=t).astype(np.float32))
    t_chars = int(t * rng.uniform(2.0, 4.0))
    return [
        case(f"a character model: {n} tokens, {n} characters", (chars, n)),
        case(f"a BPE model: {m} tokens for {m_chars} characters", (bpe, m_chars)),
        case(f"a tensor of {t} losses, {t_chars} characters", (losses, t_chars)),
    ]


@checker(
    "bits_per_char",
    what="total nats / ln 2 / characters, for lists and tensors",
    hint=_BPC_HINT,
    grading=_bpc_grading,
)
def check_bits_per_char() -> list[Case]:
    """Check `bits_per_char(token_losses, n_chars) -> float`: the total cross-entropy of a text
    (nats per token, one per token) in bits, divided by the text's number of characters."""
    torch = torch_module()
    g = torch.Generator().manual_seed(3)
    losses = torch.rand(50, generator=g) * 4
    case = functools.partial(Case, dtype="any", rtol=1e-6, atol=1e-9)
    return [
        case("a character model: one token per character", ([math.log(2)] * 8, 8),
             expected=1.0,
             hint="8 characters, each predicted with P = 1/2: exactly 1 bit per character."),
        case("a BPE model: 3 tokens for 12 characters", ([math.log(4)] * 3, 12), expected=0.5,
             hint="3 tokens at 2 bits each is 6 bits for 12 characters: 0.5 bits per character."),
        case("a tensor of 50 losses, 140 characters", (losses, 140), expected=_ref_bpc),
    ]


# ---------------------------------------------------------------------------------------------
# One BPE merge
# ---------------------------------------------------------------------------------------------

_BPE_HINT = (
    "count the adjacent pairs with Counter(zip(ids, ids[1:])) (overlaps count: [5, 5, 5] has the "
    "pair (5, 5) twice); take the most frequent pair, the smallest pair among equally frequent "
    "ones (min over (-count, pair)); then walk through ids left to right, replacing each "
    "occurrence by new_id and jumping over both of its tokens."
)


def _ref_bpe_step(ids: list[int], new_id: int) -> tuple[tuple[int, int], list[int]]:
    from book.textgen import merge_pair

    counts = Counter(zip(ids, ids[1:], strict=False))
    pair = min(counts, key=lambda p: (-counts[p], p))
    return pair, merge_pair(ids, pair, new_id)


def _plain_pair_and_list(out: Any, *args: Any) -> str | None:
    """bpe_merge_step returns a tuple (pair, new_ids): a tuple of two ids and a list."""
    if not (isinstance(out, tuple) and len(out) == 2):
        return "return a tuple (pair, new_ids)"
    pair, new = out
    if not (isinstance(pair, tuple) and len(pair) == 2):
        return f"the pair must be a tuple of two ids, got {pair!r}"
    if not isinstance(new, list):
        return f"new_ids must be a list of ints, got {type(new).__name__}"
    return None


def _bpe_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new id lists and new_id, of the same kinds as the visible ones."""
    case = functools.partial(Case, expected=_ref_bpe_step, check=_plain_pair_and_list)

    def vocab(size: int) -> list[int]:
        """`size` distinct token ids below 60."""
        return rng.choice(60, size=size, replace=False).tolist()

    def new_id(ids: list[int]) -> int:
        """An id above every id of the list, as BPE gives a merge."""
        return max(ids) + 1 + int(rng.integers(0, 10))

    def draw(
        make: Callable[[], list[int]], accept: Callable[[list[tuple[int, int]]], bool]
    ) -> list[int]:
        """make() until its most frequent pairs (see _most_frequent_pairs) pass `accept`."""
        for _ in range(1000):
            ids = make()
            if accept(_most_frequent_pairs(ids)):
                return ids
        raise RuntimeError("no id list of the kind asked for")

    def random_ids() -> list[int]:
        """10 to 24 ids over a vocabulary of 3 to 5, so that pairs repeat."""
        tokens = vocab(int(rng.integers(3, 6)))
        return rng.choice(tokens, size=int(rng.integers(10, 25))).tolist()

    def with_run() -> list[int]:
        """A run of 4 to 7 equal ids among a few others."""
        a, *others = vocab(4)
        around = rng.choice(others, size=int(rng.integers(3, 9))).tolist()
        at = int(rng.integers(0, len(around) + 1))
        return around[:at] + [a] * int(rng.integers(4, 8)) + around[at:]

    def word_chunk() -> list[int]:
        """A pair repeated 3 to 5 times between two other ids, as [7, 3, 8, 3, 8, 3, 8, 2]."""
        a, b, *others = vocab(5)
        r = int(rng.integers(3, 6))
        return [int(rng.choice(others)), *[a, b] * r, int(rng.choice(others))]

    unique = draw(random_ids, lambda top: len(top) == 1)
    # a tie that the smallest pair wins and the first one found (Counter.most_common) does not
    tie = draw(random_ids, lambda top: len(top) > 1 and min(top) != top[0])
    run = draw(with_run, lambda top: len(top) == 1 and top[0][0] == top[0][1])
    chunk = draw(word_chunk, lambda top: len(top) == 1)
    return [
        case(f"random ids, one most frequent pair ({len(unique)} ids)", (unique, new_id(unique))),
        case(f"a tie goes to the smaller pair ({len(tie)} ids)", (tie, new_id(tie))),
        case("a run: occurrences do not overlap", (run, new_id(run))),
        case("the chunk of a word", (chunk, new_id(chunk))),
    ]


def _most_frequent_pairs(ids: list[int]) -> list[tuple[int, int]]:
    """The pairs of ids with the highest count (at least 2), in order of first occurrence."""
    counts = Counter(zip(ids, ids[1:], strict=False))
    top = max(counts.values())
    return [pair for pair, count in counts.items() if count == top] if top >= 2 else []


@checker(
    "bpe_merge_step",
    what="the most frequent pair (ties: the smallest), merged left to right without overlaps",
    hint=_BPE_HINT,
    grading=_bpe_grading,
)
def check_bpe_merge_step() -> list[Case]:
    """Check `bpe_merge_step(ids, new_id) -> (pair, new_ids)`: the most frequent adjacent pair
    (ties: the smallest pair) and ids with every occurrence, left to right, replaced by new_id.
    The ids are ints; the pair is a tuple and new_ids a list."""
    case = functools.partial(Case, expected=_ref_bpe_step, check=_plain_pair_and_list)
    return [
        case("'abab c ab'", ([0, 1, 0, 1, 2, 0, 1], 3),
             hint="(0, 1) occurs 3 times: merged, [3, 3, 2, 3]."),
        case("a tie goes to the smaller pair", ([4, 2, 9, 1, 4, 2, 9, 1], 10),
             hint="(4, 2), (2, 9) and (9, 1) occur twice each: (2, 9) is the smallest."),
        case("a run: occurrences do not overlap", ([5, 5, 5, 5, 5, 1], 6),
             hint="(5, 5) occurs 4 times in 5, 5, 5, 5, 5; merging left to right gives "
             "[6, 6, 5, 1]."),
        case("the chunk of a word", ([7, 3, 8, 3, 8, 3, 8, 2], 9)),
    ]
