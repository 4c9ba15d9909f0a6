"""Chapter 8 checkers: a GPT's parameter count, the size of a KV cache, the merge of two blocks
of an online softmax, and int8 weights with one scale per row (quantize and dequantize).

The references are the package's own functions (`book.scale`: TransformerShape.params and
kv_cache_bytes_per_token; `book.np_nn.merge_softmax_blocks`; `book.quantize`:
quantize_per_channel and dequantize), so a pass means "agrees with the code the chapter measures
with". They are imported when a check runs (`book.scale` and `book.quantize` import torch).

The counts are exact integers: a wrong one is compared with the answers of the usual mistakes
(a head counted twice, no positions, biases, a cache without its values, bits for bytes) and the
message names the one it matches. The int8 check allows q to differ by one only where w / scale
lies within 1e-4 of a half-way point, where two correct ways of dividing can round apart.
Each checker also draws hidden grading cases of the same kinds from a seeded generator
(`grading=`: new shapes, scores and weights).
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np

from book.exercises._shared import TOL_F32, tol_for, torch_module
from book.exercises.cases import MATHS_KINDS, OR_RAISED, VALUE_KINDS, Case, Hint
from book.exercises.check import checker
from book.exercises.compare import describe_type, short_repr


def _int_problem(out: Any, what: str) -> str | None:
    """Why `out` is not an int count, or None: floats, tensors and None each get their fix."""
    if out is None:
        return f"your function returned None: did you forget to `return` {what}?"
    if isinstance(out, (bool, np.bool_)):
        return f"return {what} as an int; got {out!r}, a bool"
    if isinstance(out, (numbers.Integral, np.integer)):
        return None
    if isinstance(out, (float, np.floating)):
        whole = float(out).is_integer()
        return (f"return {what} as an int; got the float {float(out):,.6g}" + (
            ": / always gives a float in Python; use // for a whole division (E // nh), "
            "or int(...) at the end" if whole else
            ": a count is a whole number; check for a / that should be //"))
    if type(out).__module__.startswith("torch"):
        return f"return a Python int, not {describe_type(out)} ({short_repr(out, 40)}): .item()"
    return f"return {what} as an int; got {describe_type(out)}"


def _mistake(out: int, want: int, mistakes: list[tuple[int, str]], unit: str = "") -> str:
    """'expected ..., got ...', with the first mistake whose answer equals `out`."""
    head = f"expected {want:,}{unit}, got {int(out):,}"
    whys = [why for value, why in mistakes if value != want and int(out) == value]
    if whys:  # several mistakes can give one number (bytes = 2: no factor 2, or no bytes)
        return f"{head}: {'; or '.join(dict.fromkeys(whys))}"
    return f"{head} (off by {int(out) - want:+,})"


# ---------------------------------------------------------------------------------------------
# The parameters of a GPT
# ---------------------------------------------------------------------------------------------

_PARAMS_HINT = Hint(
    "add up the tensors of the model: the token embedding (V, E) and the position table (T, E); "
    "in each of the L blocks two LayerNorms of E weights, the query and output projections "
    "(E × E each), the key and value projections (E × nkv·hd each, hd = E // nh: with fewer "
    "key/value heads they are narrower), and the MLP's Linear(E, 4E) and Linear(4E, E); then a "
    "final LayerNorm (E). No biases, and no head: it reuses the token embedding's matrix.",
    MATHS_KINDS,
)


def _transformer(V: int, T: int, E: int, L: int, nh: int, nkv: int | None = None,
                 **changes: Any) -> Any:
    """book.scale's TransformerShape of chapter 5's GPT (tied head, learned positions, GELU MLP
    of 4 E, LayerNorm, no biases), with `changes`."""
    from book.scale import TransformerShape

    return TransformerShape(vocab_size=V, max_len=T, embed_dim=E, num_layers=L, num_heads=nh,
                            num_kv_heads=nkv, **changes)


def _ref_gpt_params(V: int, T: int, E: int, L: int, nh: int,
                    num_kv_heads: int | None = None) -> int:
    return _transformer(V, T, E, L, nh, num_kv_heads).params()["total"]


def _params_judge(out: Any, V: int, T: int, E: int, L: int, nh: int,
                  num_kv_heads: int | None = None) -> str | None:
    """A problem with the learner's count, or None; a wrong count that is a classic mistake's
    answer says which mistake."""
    problem = _int_problem(out, "the number of parameters")
    if problem:
        return problem
    shape = _transformer(V, T, E, L, nh, num_kv_heads)
    parts = shape.params()
    want = parts["total"]
    if int(out) == want:
        return None
    mistakes = [
        (want + V * E, "you counted the head's V × E matrix as well; it IS the token "
         "embedding's matrix (weight tying), so it is counted once"),
        (want - T * E, "the learned position embeddings, a (max_len, E) table, are missing"),
        (_transformer(V, T, E, L, nh, num_kv_heads, bias=True).params()["total"],
         "you counted biases; this GPT has none (bias=False), in its Linear layers and in its "
         "LayerNorms"),
        (want - (2 * L + 1) * E, "the LayerNorms are missing: two in each block and a final "
         "one, E weights each"),
        (want - E, "the final LayerNorm (E weights, after the last block) is missing"),
        (want - 2 * L * E, "the two LayerNorms of each block (E weights each) are missing"),
        (want + (2 * L + 1) * E, "you gave each LayerNorm a bias too; with bias=False it has "
         "only its E weights"),
        (_transformer(V, T, E, L, nh, num_kv_heads, mlp_hidden=E).params()["total"],
         "the MLP's hidden layer has 4 E units: Linear(E, 4E) and Linear(4E, E)"),
        (want - (L - 1) * (parts["attention"] + parts["mlp"] + parts["norms"]),
         "that is ONE block; there are num_layers of them"),
    ]
    if shape.kv_heads != nh:
        mistakes.append((_ref_gpt_params(V, T, E, L, nh),
                         f"you gave the keys and values {nh} heads, as many as the queries; with "
                         f"num_kv_heads = {shape.kv_heads} the key and value projections are "
                         f"E × (num_kv_heads · head_dim) = {E} × {shape.kv_heads * E // nh} "
                         "each"))
    return _mistake(out, want, mistakes)


def _params_case(name: str, V: int, T: int, E: int, L: int, nh: int, nkv: int | None = None,
                 hint: Any = None) -> Case:
    """A case for gpt_params; nkv=None leaves num_kv_heads out of the call (its default)."""
    kwargs = {} if nkv is None else {"num_kv_heads": nkv}
    return Case(name, (V, T, E, L, nh), kwargs, check=_params_judge, hint=hint)


def _params_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new vocabularies, contexts, widths, depths and groupings of heads."""

    def shape() -> tuple[int, int, int, int, int]:
        nh = int(rng.choice([2, 4, 6, 8, 12, 16]))
        hd = int(rng.choice([16, 32, 64, 128]))
        return (int(rng.integers(50, 60_000)), int(rng.choice([128, 256, 512, 1024, 2048, 4096])),
                nh * hd, int(rng.integers(2, 33)), nh)

    s1, s2, s3, s4 = shape(), shape(), shape(), shape()
    groups = [g for g in range(1, s3[4]) if s3[4] % g == 0]
    nkv = int(rng.choice(groups))
    V, T = int(rng.integers(10, 200)), int(rng.integers(8, 65))
    return [
        _params_case(f"a GPT (V = {s1[0]}, T = {s1[1]}, E = {s1[2]}, {s1[3]} layers, {s1[4]} "
                     "heads)", *s1),
        _params_case(f"one layer, one head (V = {V}, T = {T})", V, T, int(rng.integers(2, 17)),
                     1, 1),
        _params_case(f"grouped-query attention: {s3[4]} heads share {nkv} key/value heads",
                     *s3, nkv=nkv),
        _params_case("multi-query attention: one key/value head", *s2, nkv=1),
        _params_case(f"num_kv_heads = num_heads = {s4[4]}: multi-head attention", *s4,
                     nkv=s4[4]),
    ]


@checker(
    "gpt_params",
    what="the exact count of book.scale.TransformerShape(...).params()['total'] for chapter 5's "
    "GPT (tied head, learned positions, no biases), with multi-head, grouped-query and "
    "multi-query attention",
    hint=_PARAMS_HINT,
    grading=_params_grading,
)
def check_gpt_params() -> list[Case]:
    """Check `gpt_params(vocab_size, max_len, embed_dim, num_layers, num_heads,
    num_kv_heads=None) -> int`: the number of parameters of chapter 5's GPT of this shape.

    The GPT: token and learned position embeddings; num_layers blocks of LayerNorm, causal
    attention (query and output projections E × E; key and value projections for num_kv_heads
    heads of head_dim = E / num_heads features; None means num_heads), LayerNorm and a GELU MLP
    of 4 E; a final LayerNorm; a head tied to the token embedding; no biases anywhere.
    """
    return [
        _params_case("chapter 5's GPT (V = 65, T = 256, E = 384, 6 layers, 6 heads)",
                     65, 256, 384, 6, 6,
                     hint="GPT(GPTConfig()).num_params() gives the same count, 10,745,088."),
        _params_case("one layer, one head (V = 10, T = 8, E = 4)", 10, 8, 4, 1, 1),
        _params_case("GPT-2 small's shape, without biases", 50257, 1024, 768, 12, 12,
                     hint="GPT-2 small has 124,439,808 parameters with its biases; without "
                     "them, fewer."),
        _params_case("grouped-query attention: 8 heads share 2 key/value heads",
                     32000, 4096, 1024, 8, 8, nkv=2,
                     hint=Hint("hd = 1024 // 8 = 128; the keys and values have 2 heads of 128: "
                               "their projections are 1024 × 256 each, the query's 1024 × 1024.",
                               MATHS_KINDS | {"raised"})),
        _params_case("num_kv_heads = num_heads: multi-head attention", 1000, 512, 256, 4, 8,
                     nkv=8),
        _params_case("multi-query attention: one key/value head", 5000, 2048, 512, 6, 8, nkv=1),
    ]


# ---------------------------------------------------------------------------------------------
# The size of the KV cache
# ---------------------------------------------------------------------------------------------

_KV_HINT = Hint(
    "for every sequence of the batch and every token of its context, every layer keeps a key "
    "and a value vector for each key/value head, head_dim numbers each; multiply the counts "
    "together, and by bytes_per_number.",
    MATHS_KINDS,
)


def _ref_kv_cache_bytes(num_layers: int, num_kv_heads: int, head_dim: int, context: int,
                        batch: int, bytes_per_number: int) -> int:
    """book.scale.kv_cache_bytes_per_token of a shape with these heads, per number, times
    bytes_per_number, context and batch (the precisions of book.scale have 2 or 4 bytes; an
    int8 or fp8 cache has 1)."""
    from book.scale import BYTES, kv_cache_bytes_per_token

    shape = _transformer(1, context, num_kv_heads * head_dim, num_layers, num_kv_heads)
    numbers_per_token = kv_cache_bytes_per_token(shape, "fp32") // BYTES["fp32"]
    return numbers_per_token * bytes_per_number * context * batch


def _kv_judge(out: Any, num_layers: int, num_kv_heads: int, head_dim: int, context: int,
              batch: int, bytes_per_number: int) -> str | None:
    """A problem with the learner's byte count, or None; the classic mistakes are named."""
    problem = _int_problem(out, "the number of bytes")
    if problem:
        return problem
    want = _ref_kv_cache_bytes(num_layers, num_kv_heads, head_dim, context, batch,
                               bytes_per_number)
    if int(out) == want:
        return None
    mistakes = [
        (want // 2, "that is the keys alone; each layer caches a key AND a value vector per "
         "head and token: a factor 2"),
        (want // batch, "that is one sequence; each of the batch's sequences has its own cache"),
        (want // num_layers, "that is one layer; every layer keeps its own keys and values"),
        (want // bytes_per_number, "that is the number of numbers; times bytes_per_number for "
         "bytes"),
        (want * 8, "that is bits; a byte has 8"),
        (want // context, "that is the cache of one token; times context"),
        (want // 2 // bytes_per_number, "that is the keys alone, counted in numbers"),
    ]
    gib = f" ({want / 2**30:.4g} GiB)" if want >= 2**20 else ""
    return _mistake(out, want, mistakes, " bytes" + gib)


def _kv_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new depths, heads, head sizes, contexts, batches and precisions."""
    case = functools.partial(Case, check=_kv_judge)

    def draw() -> tuple[int, ...]:
        return (int(rng.integers(2, 97)), int(rng.choice([1, 2, 4, 8, 16, 32])),
                int(rng.choice([32, 64, 80, 128, 256])), int(rng.integers(2, 131_073)),
                int(rng.integers(2, 65)), int(rng.choice([1, 2, 4])))

    drawn = [draw() for _ in range(4)]
    L, nkv, hd = (int(v) for v in (rng.integers(1, 13), rng.integers(1, 13),
                                   rng.choice([16, 32, 64])))
    return [
        *[case(f"{d[0]} layers, {d[1]} key/value heads of {d[2]}, {d[3]:,} tokens, batch "
               f"{d[4]}, {d[5]} byte(s) a number", d) for d in drawn],
        case(f"one token of one sequence ({L} layers, {nkv} heads of {hd})",
             (L, nkv, hd, 1, 1, 4)),
    ]


@checker(
    "kv_cache_bytes",
    what="the exact byte count of book.scale's KV cache (kv_cache_bytes_per_token × context × "
    "batch) for Llama 2, GPT-2, int8 caches and one token",
    hint=_KV_HINT,
    grading=_kv_grading,
)
def check_kv_cache_bytes() -> list[Case]:
    """Check `kv_cache_bytes(num_layers, num_kv_heads, head_dim, context, batch,
    bytes_per_number) -> int`: the bytes of the KV cache of `batch` sequences of `context`
    tokens each, for a model of num_layers layers whose attention has num_kv_heads key/value
    heads of head_dim numbers, each number stored in bytes_per_number bytes."""
    case = functools.partial(Case, check=_kv_judge)
    return [
        case("Llama 2 7B: 32 layers, 32 heads of 128, 4,096 tokens in bf16",
             (32, 32, 128, 4096, 1, 2),
             hint="2 GiB exactly: 2 × 32 × 32 × 128 × 4,096 × 2 bytes."),
        case("Llama 2 70B: 80 layers, grouped-query attention with 8 key/value heads",
             (80, 8, 128, 4096, 1, 2),
             hint="grouped-query attention caches only the 8 key/value heads, not the 64 "
             "query heads: 1.25 GiB for 4,096 tokens."),
        case("GPT-2 in fp32: a batch of 8 sequences of 1,024 tokens", (12, 12, 64, 1024, 8, 4)),
        case("an int8 cache (1 byte a number), 32,768 tokens, batch 4",
             (32, 8, 128, 32768, 4, 1)),
        case("chapter 5's GPT, one token", (6, 6, 64, 1, 1, 4)),
    ]


# ---------------------------------------------------------------------------------------------
# Merging two blocks of an online softmax
# ---------------------------------------------------------------------------------------------

_MERGE_HINT = Hint(
    "the merged maximum is m = np.maximum(m1, m2). Each part's l and o were summed relative to "
    "its own m_i: multiply them by exp(m_i - m), which is at most 1 (and 0 for a part with "
    "m_i = -inf), then add the two parts. o has a feature axis more than m and l: the factor "
    "needs [..., None] to multiply o. Leave o undivided by l.",
    MATHS_KINDS | {"raised"},
)


def _softmax_block(scores: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """(m, l, o) of one block of keys: scores (..., T, n), v (..., n, dv). A query that sees no
    key of the block (a row of -inf) gets m = -inf, l = 0, o = 0."""
    m = scores.max(axis=-1)                                       # (..., T)
    base = np.where(np.isfinite(m), m, 0.0)
    p = np.exp(scores - base[..., None])                          # (..., T, n), each <= 1
    return m, p.sum(axis=-1), p @ v                               # (..., T), (..., T, dv)


def _merge_case(name: str, rng: np.random.Generator, lead: tuple[int, ...], T: int, dv: int,
                n: tuple[int, int], *, offsets: tuple[float, float] = (0.0, 0.0),
                scale: float = 3.0, masked: str = "", dtype: Any = np.float64,
                hint: Any = None) -> Case:
    """Two blocks of n[0] and n[1] keys over the same T queries; `masked` "a" hides block a
    from every query, "rows" hides block a from some queries and block b from others."""
    s = [offsets[i] + scale * rng.standard_normal((*lead, T, n[i])) for i in range(2)]
    if masked == "a":
        s[0][...] = -np.inf
    elif masked == "rows":
        rows = rng.permutation(T)
        s[0][..., rows[: T // 2], :] = -np.inf                    # these see block b only
        s[1][..., rows[T // 2: T // 2 + max(1, T // 4)], :] = -np.inf  # these block a only
    v = [rng.standard_normal((*lead, n[i], dv)) for i in range(2)]
    a, b = (tuple(x.astype(dtype) for x in _softmax_block(s[i], v[i])) for i in range(2))
    return Case(name, (a, b), expected=_ref_merge, hint=hint, **tol_for(np.zeros(1, dtype)))


def _ref_merge(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from book.np_nn import merge_softmax_blocks

    return tuple(merge_softmax_blocks(a, b))  # type: ignore[return-value]


def _merge_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new sizes, scores, offsets up to ±1000 and masked queries."""

    def size() -> int:
        return int(rng.integers(2, 9))

    T, dv = size(), size()
    n = (size(), size())
    sign = float(rng.choice([-1.0, 1.0]))
    big = (sign * rng.uniform(800, 1200), -sign * rng.uniform(800, 1200))
    lead = (int(rng.integers(1, 4)), int(rng.integers(1, 5)))
    return [
        _merge_case(f"{T} queries, blocks of {n[0]} and {n[1]} keys, dv = {dv}", rng, (), T, dv,
                    n),
        _merge_case(f"T = dv = {T}", rng, (), T, T, n),
        _merge_case(f"batched heads {lead}", rng, lead, T, dv, n),
        _merge_case(f"scores around {big[0]:+.0f} and {big[1]:+.0f}", rng, (), T, dv, n,
                    offsets=big),
        _merge_case("block a fully masked", rng, (), T, dv, n, masked="a"),
        _merge_case("some queries see only one block", rng, (), max(T, 4), dv, n,
                    masked="rows"),
        _merge_case("float32 stays float32", rng, (), T, dv, n, dtype=np.float32),
    ]


@checker(
    "merge_softmax_blocks",
    what="(m, l, o) equal to book.np_nn.merge_softmax_blocks' within rtol=1e-10 (1e-5 for "
    "float32): batched heads, scores of ±1000, masked blocks and queries",
    hint=_MERGE_HINT,
    grading=_merge_grading,
)
def check_merge_softmax_blocks() -> list[Case]:
    """Check `merge_softmax_blocks(a, b) -> (m, l, o)`: two partial softmax-attention results
    over disjoint sets of keys, merged into the one over all their keys.

    Each of a and b is (m, l, o) for the same queries: m (..., T) the largest score of the
    part, l (..., T) the sum of exp(score - m) over its keys, o (..., T, dv) the sum of
    exp(score - m) · value. A part with no key for a query has m = -inf, l = 0, o = 0 there
    (never both parts). The result has the same form and dtype, over the union of the keys.
    """
    rng = np.random.default_rng(80)
    return [
        _merge_case("one query, two keys in each block", rng, (), 1, 2, (2, 2)),
        _merge_case("4 queries, blocks of 3 and 5 keys, dv = 2", rng, (), 4, 2, (3, 5)),
        _merge_case("T = dv = 3: o's factor needs its own axis", rng, (), 3, 3, (4, 2),
                    hint="o is (T, dv) and the factor exp(m_i - m) is (T,): with T = dv, "
                    "factor * o broadcasts along the wrong axis without an error; use "
                    "factor[..., None] * o."),
        _merge_case("batched heads: (B, nh) = (2, 3), T = 5", rng, (2, 3), 5, 4, (3, 6)),
        _merge_case("scores around +1000 in a and -1000 in b", rng, (), 4, 3, (3, 3),
                    offsets=(1000.0, -1000.0),
                    hint=Hint("np.exp(1000) is inf, and inf / inf is nan: never take exp of a "
                              "maximum itself, only of a difference m_i - m <= 0.", OR_RAISED)),
        _merge_case("scores around -1000 in a and +1000 in b", rng, (), 4, 3, (3, 3),
                    offsets=(-1000.0, 1000.0)),
        _merge_case("block a fully masked (m = -inf, l = 0, o = 0)", rng, (), 4, 3, (3, 3),
                    masked="a",
                    hint=Hint("exp(-inf - m) is 0, so a masked part adds nothing; but -inf - "
                              "(-inf) is nan: subtract the merged maximum m, which is finite.",
                              OR_RAISED)),
        _merge_case("some queries see only block a, others only block b", rng, (), 8, 3, (4, 4),
                    masked="rows"),
        _merge_case("float32 stays float32", rng, (), 4, 3, (3, 5), dtype=np.float32),
    ]


# ---------------------------------------------------------------------------------------------
# int8 weights with one scale per row
# ---------------------------------------------------------------------------------------------

_QMAX = 127
# w / scale this close to a half-way point may round either way in two correct computations
# (w / (max / 127) and w * 127 / max differ in the last bit).
_TIE = 1e-4

_QUANTIZE_HINT = Hint(
    "for each row, scale = max|w| over the row / 127 (amax(dim=1) of w.abs()), so that the "
    "row's largest weight maps to ±127; a row of zeros gets scale 1. Then q = round(w / "
    "scale[:, None]) (torch.round), clamped to [-127, 127] and converted with "
    ".to(torch.int8). Return (q, scale), scale float32 of shape (N,).",
    VALUE_KINDS,
)
_DEQUANTIZE_HINT = Hint(
    "each row of q has its own scale: q.float() * scale[:, None] (N, K), float32.",
    MATHS_KINDS | {"raised"},
)


def _ref_quantize(w: Any) -> tuple[Any, Any]:
    from book.quantize import quantize_per_channel

    return quantize_per_channel(w)


def _ref_dequantize(q: Any, scale: Any) -> Any:
    from book.quantize import dequantize

    return dequantize(q, scale)


def _tensor_problem(x: Any, name: str, shape: tuple[int, ...], dtype: Any,
                    fix: str) -> str | None:
    """Why x is not a tensor of this shape and dtype, or None."""
    torch = torch_module()
    if not isinstance(x, torch.Tensor):
        return f"{name} must be a torch.Tensor {shape}; got {describe_type(x)}"
    if tuple(x.shape) != shape:
        return f"{name} has shape {tuple(x.shape)}; expected {shape}{fix}"
    if x.dtype != dtype:
        return f"{name} has dtype {x.dtype}; expected {dtype}"
    return None


def _quantize_judge(out: Any, w: Any) -> str | None:
    """A problem with the learner's (q, scale), or None; wrong scales and roundings are named."""
    torch = torch_module()
    if out is None:
        return "your function returned None: did you forget to `return` (q, scale)?"
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return f"return a tuple (q, scale); got {describe_type(out)}"
    q, scale = out
    N, K = w.shape
    if isinstance(scale, torch.Tensor) and scale.dim() == 0 and N > 1:
        return ("scale is one number for the whole matrix (shape ()); each row (output "
                f"channel) gets its own: scale has shape ({N},), the max over each row / 127")
    problem = (_tensor_problem(scale, "scale", (N,), torch.float32,
                               ": one scale per row, amax over dim 1 without keepdim")
               or _tensor_problem(q, "q", (N, K), torch.int8, ""))
    if problem:
        if "q has dtype" in problem:
            problem += ": round, clamp, then .to(torch.int8)"
        return problem
    q_ref, s_ref = _ref_quantize(w)
    scale, q = scale.detach(), q.detach()
    w = w.detach().double()
    zero = (w == 0).all(dim=1)
    bad = ~torch.isfinite(scale) | (scale <= 0)
    if bad.any():
        i = int(bad.nonzero()[0, 0])
        why = (": this row is all zeros, so max|w| / 127 = 0 and w / scale = 0 / 0 = nan; give "
               "such a row the scale 1 (its q is 0 whatever the scale)") if zero[i] else ""
        return f"row {i}: the scale must be finite and positive; got {float(scale[i]):.6g}{why}"
    rows = ~zero
    off = ((scale.double() - s_ref.double()).abs() > 1e-6 * s_ref.double()) & rows
    if off.any():
        return _wrong_scale(scale, s_ref, w, int(off.nonzero()[0, 0]))
    x = w / s_ref.double()[:, None]                       # what is rounded, in float64
    near_tie = ((x - x.floor()) - 0.5).abs() < _TIE
    diff = (q.long() - q_ref.long()).abs()
    wrong = (diff > 1) | ((diff == 1) & ~near_tie)
    if not wrong.any():
        return None
    i, j = (int(v) for v in wrong.nonzero()[0])
    head = (f"q[{i}, {j}]: w = {float(w[i, j]):.6g}, w / scale = {float(x[i, j]):.6g}, expected "
            f"q = {int(q_ref[i, j])}, got {int(q[i, j])}")
    x32 = w.float() / s_ref[:, None]                      # as float32 code divides

    def matches(rounded: Any) -> bool:
        return any(torch.equal(q.long(), rounded(y).long()) for y in (x, x32))

    if matches(torch.trunc):
        return head + ": that is truncation toward 0 (.to(torch.int8) or .int() alone); round " \
                      "to the nearest integer first, torch.round"
    if matches(torch.floor):
        return head + ": that is the floor; round to the nearest integer, torch.round"
    if int(q[i, j]) == -int(q_ref[i, j]):
        return head + ": the sign is lost; q keeps the sign of w"
    return head


def _wrong_scale(scale: Any, s_ref: Any, w: Any, i: int) -> str:
    """The message for a wrong scale of row i, with the likely cause when it is another rule's."""
    torch = torch_module()
    head = f"row {i}: expected scale {float(s_ref[i]):.6g}, got {float(scale[i]):.6g}"
    got, top = float(scale[i]), float(w[i].abs().max())

    def near(value: float) -> bool:
        return abs(got - value) <= 1e-5 * abs(value)

    if near(float(w.abs().max()) / _QMAX) and torch.allclose(scale, scale[0].expand_as(scale)):
        return (head + ": that is one scale for the whole matrix (max over all of w); each row "
                "(output channel) gets its own, max over the row / 127")
    for qmax, why in ((128, "127, not 128: 128 does not fit in int8 (-128..127), and a "
                            "symmetric range leaves -128 unused"),
                      (255, "127: the integers are signed, -127..127, not 0..255"),
                      (256, "127: the integers are signed, -127..127")):
        if near(top / qmax):
            return head + f": the largest integer is {why}"
    if near(float(w[i].max()) / _QMAX) or near(abs(float(w[i].max())) / _QMAX):
        return (head + ": use the largest ABSOLUTE value of the row (w.abs().amax(dim=1)); "
                "this row's largest magnitude is a negative weight")
    if near(top):
        return head + ": divide max|w| by 127, so that the largest weight maps to ±127"
    columns = w.abs().amax(dim=0) / _QMAX                  # (K,): a scale per column
    if i < len(columns) and near(float(columns[i])):
        return head + ": that is a column's maximum; one scale per ROW (amax over dim 1)"
    return head


def _weights(rng: np.random.Generator, N: int, K: int, *, spread: float = 0.0,
             zero_rows: int = 0) -> Any:
    """A float32 (N, K) tensor of normal weights, rows scaled by 10^U(-spread, spread), with
    `zero_rows` rows of zeros."""
    torch = torch_module()
    w = rng.standard_normal((N, K)) * 10.0 ** rng.uniform(-spread, spread, size=(N, 1))
    for i in rng.choice(N, size=zero_rows, replace=False):
        w[i] = 0.0
    return torch.from_numpy(w.astype(np.float32))


def _linear_weight(rng: np.random.Generator, N: int, K: int) -> Any:
    """An nn.Linear's weight: a Parameter that requires grad, seeded from rng."""
    torch = torch_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(0, 2**31 - 1)))
        return torch.nn.Linear(K, N).weight


def _quantize_cases(rng: np.random.Generator, hidden: bool) -> list[tuple[str, Any, Any]]:
    """(name, w, hint) of the quantize cases: visible ones from a fixed generator, hidden ones
    with drawn sizes."""
    torch = torch_module()

    def n() -> int:
        return int(rng.integers(2, 65)) if hidden else 0

    if hidden:
        N, K = n(), n()
        small = torch.from_numpy(rng.uniform(-2, 2, size=(2, 3)).astype(np.float32))
        small[int(rng.integers(0, 2)), 0] = -3.0                   # a negative maximum
        return [
            ("a 2 × 3 matrix, one row's largest |w| negative", small, None),
            (f"rows on very different scales ({N} × {K})", _weights(rng, N, K, spread=3.0),
             None),
            (f"a row of zeros ({N} × {K})", _weights(rng, N, K, zero_rows=1), None),
            (f"an nn.Linear's weight ({N} × {K})", _linear_weight(rng, N, K), None),
            (f"one row of {K}", _weights(rng, 1, K), None),
            (f"a {N} × {K} matrix", _weights(rng, N, K, spread=0.5), None),
        ]
    return [
        ("a 2 × 3 matrix", torch.tensor([[0.5, -1.27, 0.026], [2.54, 0.613, -0.3]]),
         "row 0: max|w| = 1.27, so scale = 0.01 and q = [50, -127, 3]; row 1: scale = 0.02 "
         "and q = [127, 31, -15]."),
        ("the largest |w| of a row is negative", torch.tensor([[0.1, -4.0, 2.0, 0.3]]),
         "max|w| is 4.0, from the weight -4.0: scale = 4 / 127, and -4.0 becomes -127."),
        ("rows on very different scales (8 × 6)", _weights(rng, 8, 6, spread=3.0),
         "one scale per row: a row of weights near 0.001 must not be rounded with the step of "
         "a row near 1000."),
        ("a row of zeros", _weights(rng, 4, 5, zero_rows=1),
         Hint("max|w| of a zero row is 0 and 0 / 0 is nan: give that row scale 1 (torch.where, "
              "or clamp the denominator), and its q is 0.", OR_RAISED)),
        ("an nn.Linear's weight (a Parameter that requires grad)", _linear_weight(rng, 16, 8),
         Hint("the weight requires grad: work on w.detach() (q and scale are data, not part "
              "of a graph).", OR_RAISED)),
        ("one column (5 × 1)", _weights(rng, 5, 1), None),
        ("a 64 × 48 matrix", _weights(rng, 64, 48, spread=0.5), None),
    ]


def _quantize_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new weights, sizes and scales of rows, a zero row, a Parameter."""
    return [Case(name, (w,), check=_quantize_judge, hint=hint)
            for name, w, hint in _quantize_cases(rng, hidden=True)]


@checker(
    "quantize_int8",
    what="(q, scale) of book.quantize.quantize_per_channel: int8 q equal to it (±1 only at "
    "exact half-way points), float32 scales within 1e-6, one per row, positive for a zero row",
    hint=_QUANTIZE_HINT,
    grading=_quantize_grading,
)
def check_quantize_int8() -> list[Case]:
    """Check `quantize_int8(w) -> (q, scale)`: symmetric int8 quantization with one scale per
    row of a float32 (N, K) tensor w.

    scale (N,) float32: the row's largest |w| divided by 127 (1 for a row of zeros);
    q (N, K) torch.int8: w / scale rounded to the nearest integer, in -127..127.
    """
    rng = np.random.default_rng(84)
    return [Case(name, (w,), check=_quantize_judge, hint=hint)
            for name, w, hint in _quantize_cases(rng, hidden=False)]


def _dequantize_case(name: str, w: Any, hint: Any = None) -> Case:
    q, scale = _ref_quantize(w)
    return Case(name, (q, scale), expected=_ref_dequantize, hint=hint, **TOL_F32)


def _dequantize_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: the quantized weights of new matrices, a square one, a zero row."""
    N, K = (int(v) for v in rng.integers(2, 65, size=2))
    square = int(rng.integers(2, 17))
    return [
        _dequantize_case(f"a {N} × {K} matrix", _weights(rng, N, K, spread=1.0)),
        _dequantize_case(f"a square {square} × {square} matrix", _weights(rng, square, square,
                                                                          spread=1.0)),
        _dequantize_case(f"a row of zeros ({N} × {K})", _weights(rng, N, K, zero_rows=1)),
        _dequantize_case(f"one row of {K}", _weights(rng, 1, K)),
    ]


@checker(
    "dequantize_int8",
    what="float32 (N, K) weights equal to book.quantize.dequantize's within rtol=1e-5",
    hint=_DEQUANTIZE_HINT,
    grading=_dequantize_grading,
)
def check_dequantize_int8() -> list[Case]:
    """Check `dequantize_int8(q, scale) -> w_hat`: the float32 (N, K) weights that int8 q (N, K)
    stands for, with one float32 scale per row, scale (N,)."""
    rng = np.random.default_rng(85)
    return [
        _dequantize_case("a 2 × 3 matrix",
                         torch_module().tensor([[0.5, -1.27, 0.026], [2.54, 0.613, -0.3]])),
        _dequantize_case("a square 4 × 4 matrix, rows on different scales",
                         _weights(rng, 4, 4, spread=2.0),
                         hint="with N = K, q * scale broadcasts scale along the COLUMNS without "
                         "an error; each row has its own scale: scale[:, None]."),
        _dequantize_case("a row of zeros (scale 1)", _weights(rng, 3, 5, zero_rows=1)),
        _dequantize_case("a 64 × 48 matrix", _weights(rng, 64, 48, spread=0.5)),
    ]

