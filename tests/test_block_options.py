"""Chapter 8's options of the one Transformer block (book.torch_nn) and of GPT: rotary positions,
RMSNorm, SwiGLU, grouped-query attention, each checked against what it claims to be; and the
live comparison of the variants (book.textgen.variants)."""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
from pathlib import Path

import pytest
import torch
from site_tools import run_benchmark

from book import textgen as tg
from book import torch_nn
from book.np_nn import TransformerBlock
from book.textgen import variants as bv

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MIRROR = Path(os.environ.get("LLM_BOOK_DATA") or "/work/shared/data")


# --------------------------------------------------------------------------------------------
# RoPE
# --------------------------------------------------------------------------------------------


def test_rope_turns_adjacent_pairs_by_position_times_frequency():
    # hd = 4: pair 0 = features (0, 1) turns by m * 1, pair 1 = (2, 3) by m * base^(-1/2)
    x = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64).view(1, 1, 1, 4)
    for m in (0, 1, 7):
        got = torch_nn.rotary(x, start=m, base=100.0).flatten()
        a, b = m * 1.0, m * 100.0 ** -0.5
        want = torch.tensor([math.cos(a), math.sin(a), math.cos(b), math.sin(b)],
                            dtype=torch.float64)
        torch.testing.assert_close(got, want)
    assert torch.equal(torch_nn.rotary(x, start=0), x)  # position 0: no turn


def test_rope_keeps_norms_and_scores_depend_only_on_the_offset():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 1, 1, 16, generator=g, dtype=torch.float64)

    def score(m: int, n: int) -> float:
        return (torch_nn.rotary(q, m) * torch_nn.rotary(k, n)).sum().item()

    x = torch.randn(2, 3, 10, 16, generator=g, dtype=torch.float64)
    torch.testing.assert_close(torch_nn.rotary(x, 5).norm(dim=-1), x.norm(dim=-1))
    for m, n in [(0, 0), (3, 1), (1, 3), (10, 2)]:
        for shift in (1, 17, 1000):
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-9)
    # ... and on the offset it does depend (the test can fail)
    assert abs(score(3, 1) - score(1, 3)) > 1e-3 and abs(score(3, 1) - score(2, 1)) > 1e-3
    # one call over T positions = T calls of one position each (what the KV cache relies on)
    whole = torch_nn.rotary(x, 4)
    one_by_one = torch.cat([torch_nn.rotary(x[:, :, t:t + 1], 4 + t) for t in range(10)], 2)
    assert torch.equal(whole, one_by_one)


def test_rope_keeps_the_dtype_and_runs_under_bf16_autocast():
    """On CUDA `train` runs in bf16 autocast: q and k come out of in_proj as bf16 while the
    angles are float32; the turned q, k must stay bf16 like v (SDPA wants one dtype)."""
    x = torch.randn(2, 2, 5, 8, generator=torch.Generator().manual_seed(0))
    turned = torch_nn.rotary(x.bfloat16(), 3)
    assert turned.dtype == torch.bfloat16
    torch.testing.assert_close(turned.float(), torch_nn.rotary(x, 3), rtol=2e-2, atol=2e-2)
    torch.manual_seed(0)
    model = tg.GPT(tg.GPTConfig(vocab_size=11, max_len=8, num_layers=1, num_heads=2,
                                embed_dim=16, positions="rope", norm="rmsnorm", mlp="swiglu",
                                mlp_hidden=40, num_kv_heads=1))
    idx = torch.randint(11, (2, 8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, loss = model(idx, idx)
    loss.backward()
    assert logits.dtype == torch.bfloat16 and torch.isfinite(loss)
    with torch.no_grad():
        want = model(idx)[0]
    torch.testing.assert_close(logits.float(), want, rtol=0.1, atol=0.05)


def test_rope_attention_sees_relative_positions_only():
    """Attention with RoPE: prefill + step = forward, forward_with_weights = forward, and the
    order of earlier positions matters (without RoPE the last position sees them as a set)."""
    torch.manual_seed(0)
    attn = torch_nn.SelfAttention(16, 2, causal=True, rope=True).eval()
    x = torch.randn(2, 7, 16)
    y, cache = attn.prefill(x[:, :6])
    assert torch.equal(y, attn(x[:, :6]))
    y_last, cache = attn.step(x[:, 6:], cache)
    torch.testing.assert_close(y_last, attn(x)[:, 6:], rtol=1e-5, atol=1e-6)
    out, w = attn.forward_with_weights(x)
    torch.testing.assert_close(out, attn(x), rtol=1e-5, atol=1e-6)
    # positions matter: without RoPE the same weights ignore the order of earlier positions
    plain = torch_nn.SelfAttention(16, 2, causal=True).eval()
    plain.load_state_dict(attn.state_dict())
    swapped = x[:, [1, 0, 2, 3, 4, 5, 6]]
    torch.testing.assert_close(plain(swapped)[:, -1], plain(x)[:, -1], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(attn(swapped)[:, -1], attn(x)[:, -1], atol=1e-4)


# --------------------------------------------------------------------------------------------
# RMSNorm and SwiGLU
# --------------------------------------------------------------------------------------------


def test_rmsnorm_equals_torch_and_is_layernorm_for_zero_mean_vectors():
    torch.manual_seed(0)
    ours, ref = torch_nn.RMSNorm(12), torch.nn.RMSNorm(12, eps=1e-5)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(12))
        ref.weight.copy_(ours.weight)
    x = 3 * torch.randn(4, 5, 12) + 1
    torch.testing.assert_close(ours(x), ref(x))
    assert [n for n, _ in ours.named_parameters()] == ["weight"]
    ln = torch.nn.LayerNorm(12, bias=False)
    with torch.no_grad():
        ln.weight.copy_(ours.weight)
    centred = x - x.mean(-1, keepdim=True)
    torch.testing.assert_close(ours(centred), ln(centred), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(ours(x), ln(x), atol=1e-2)  # the mean makes the difference


def test_swiglu_is_its_formula():
    torch.manual_seed(0)
    mlp = torch_nn.SwiGLU(8, 20, bias=False)
    x = torch.randn(3, 8, dtype=torch.float64)
    mlp.double()
    W1, W3, W2 = mlp.gate.weight, mlp.up.weight, mlp.down.weight  # (20, 8), (20, 8), (8, 20)
    a = x @ W1.T
    want = ((a * torch.sigmoid(a)) * (x @ W3.T)) @ W2.T  # W2 (silu(W1 x) * W3 x)
    torch.testing.assert_close(mlp(x), want)
    assert sum(p.numel() for p in mlp.parameters()) == 3 * 8 * 20
    with_bias = torch_nn.SwiGLU(8, 20)
    assert sum(p.numel() for p in with_bias.parameters()) == 3 * 8 * 20 + 2 * 20 + 8


# --------------------------------------------------------------------------------------------
# Grouped-query attention
# --------------------------------------------------------------------------------------------


def _mha_with_shared_kv(gqa: torch_nn.SelfAttention) -> torch_nn.SelfAttention:
    """A multi-head SelfAttention whose key and value heads are gqa's, repeated for each query
    head of their group (head j g .. j g + g - 1 reads key/value head j)."""
    E, nh, nkv, hd = gqa.embed_dim, gqa.num_heads, gqa.num_kv_heads, gqa.head_dim
    mha = torch_nn.SelfAttention(E, nh, causal=gqa.causal, rope=gqa.rope)
    w, b = gqa.in_proj.weight, gqa.in_proj.bias
    wq, wk, wv = w.split([E, nkv * hd, nkv * hd])
    bq, bk, bv = b.split([E, nkv * hd, nkv * hd])

    def tile(t: torch.Tensor) -> torch.Tensor:  # (nkv hd, ...) -> (nh hd, ...)
        return t.view(nkv, hd, *t.shape[1:]).repeat_interleave(nh // nkv, 0).flatten(0, 1)

    with torch.no_grad():
        mha.in_proj.weight.copy_(torch.cat([wq, tile(wk), tile(wv)]))
        mha.in_proj.bias.copy_(torch.cat([bq, tile(bk), tile(bv)]))
        mha.out_proj.load_state_dict(gqa.out_proj.state_dict())
    return mha.eval()


@pytest.mark.parametrize("rope", [False, True])
def test_gqa_with_as_many_kv_heads_is_multi_head_attention(rope):
    torch.manual_seed(0)
    mha = torch_nn.SelfAttention(16, 4, causal=True, rope=rope).eval()
    gqa = torch_nn.SelfAttention(16, 4, causal=True, rope=rope, num_kv_heads=4).eval()
    assert gqa.in_proj.weight.shape == mha.in_proj.weight.shape == (48, 16)
    gqa.load_state_dict(mha.state_dict())
    x = torch.randn(2, 6, 16)
    assert torch.equal(gqa(x), mha(x))


@pytest.mark.parametrize("num_kv_heads", [1, 2])
@pytest.mark.parametrize("rope", [False, True])
def test_gqa_is_multi_head_attention_with_shared_keys_and_values(num_kv_heads, rope):
    """num_kv_heads=1 is multi-query attention: one key and value head for all query heads."""
    torch.manual_seed(0)
    gqa = torch_nn.SelfAttention(16, 4, causal=True, rope=rope, num_kv_heads=num_kv_heads)
    gqa.eval()
    hd = 4
    assert gqa.in_proj.weight.shape == (16 + 2 * num_kv_heads * hd, 16)
    mha = _mha_with_shared_kv(gqa)
    x = torch.randn(2, 6, 16)
    torch.testing.assert_close(gqa(x), mha(x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gqa.forward_with_weights(x)[1], mha.forward_with_weights(x)[1])
    # the cache holds the nkv heads only, and continues as forward does
    y, (k, v) = gqa.prefill(x[:, :5])
    assert k.shape == v.shape == (2, num_kv_heads, 5, hd)
    y_last, _ = gqa.step(x[:, 5:], (k, v))
    torch.testing.assert_close(y_last, mha(x)[:, 5:], rtol=1e-5, atol=1e-6)
    if num_kv_heads == 1:  # all query heads read the same keys: one (T, hd) key matrix
        E = 16
        k_all = x @ gqa.in_proj.weight[E:E + hd].T + gqa.in_proj.bias[E:E + hd]
        if not rope:
            torch.testing.assert_close(gqa.prefill(x)[1][0][:, 0], k_all)


# --------------------------------------------------------------------------------------------
# The block and GPT with the options
# --------------------------------------------------------------------------------------------

OPTIONS = [dict(zip(("positions", "norm", "mlp", "num_kv_heads"), combo))
           for combo in itertools.product(("learned", "rope"), ("layernorm", "rmsnorm"),
                                          ("gelu", "swiglu"), (None, 1))]


def _ids(opts: dict) -> str:
    return "-".join(str(v) for v in opts.values())


def test_block_parameter_names_by_option():
    names = {n for n, _ in torch_nn.Block(8, 2, bias=False, norm="rmsnorm", mlp="swiglu",
                                          num_kv_heads=1, rope=True).named_parameters()}
    assert names == {"ln1.weight", "ln2.weight", "attn.in_proj.weight", "attn.out_proj.weight",
                     "mlp.gate.weight", "mlp.up.weight", "mlp.down.weight"}
    default = {n for n, _ in torch_nn.Block(8, 2, bias=False).named_parameters()}
    assert default == {"ln1.weight", "ln2.weight", "attn.in_proj.weight",
                       "attn.out_proj.weight", "mlp.0.weight", "mlp.2.weight"}


def test_bad_options_say_what_to_do():
    with pytest.raises(ValueError, match="unknown norm 'batchnorm'"):
        torch_nn.Block(8, 2, norm="batchnorm")
    with pytest.raises(ValueError, match="unknown mlp 'relu'"):
        torch_nn.Block(8, 2, mlp="relu")
    with pytest.raises(ValueError, match="must divide num_heads"):
        torch_nn.SelfAttention(12, 4, num_kv_heads=3)
    with pytest.raises(ValueError, match="must be even"):
        torch_nn.SelfAttention(12, 4, rope=True)  # hd = 3
    with pytest.raises(ValueError, match="unknown positions 'alibi'"):
        tg.GPT(tg.GPTConfig(positions="alibi"))
    with pytest.raises(ValueError, match="GPT-2's block only"):
        TransformerBlock.from_torch(torch_nn.Block(8, 2, norm="rmsnorm"))


def test_default_options_are_gpt2s_block_and_gpt():
    """Naming the defaults builds the same model, parameter for parameter, draw for draw."""
    cfg = tg.GPTConfig(vocab_size=11, max_len=8, num_layers=2, num_heads=2, embed_dim=16)
    torch.manual_seed(0)
    plain = tg.GPT(cfg)
    torch.manual_seed(0)
    named = tg.GPT(tg.GPTConfig(**{**cfg.__dict__, "positions": "learned", "norm": "layernorm",
                                   "mlp": "gelu", "mlp_hidden": 64, "num_kv_heads": 2}))
    assert [n for n, _ in plain.named_parameters()] == [n for n, _ in named.named_parameters()]
    for (_, a), (_, b) in zip(plain.named_parameters(), named.named_parameters(), strict=True):
        assert torch.equal(a, b)
    assert isinstance(plain.ln_f, torch.nn.LayerNorm) and plain.pos_emb is not None


@pytest.mark.parametrize("opts", OPTIONS, ids=_ids)
def test_gpt_with_options_is_causal_and_initialised_like_gpt2(opts):
    torch.manual_seed(0)
    cfg = tg.GPTConfig(vocab_size=11, max_len=12, num_layers=2, num_heads=2, embed_dim=16,
                       mlp_hidden=40 if opts["mlp"] == "swiglu" else None, **opts)
    model = tg.GPT(cfg).eval()
    assert (model.pos_emb is None) == (opts["positions"] == "rope")
    assert isinstance(model.ln_f, torch_nn.RMSNorm) == (opts["norm"] == "rmsnorm")
    out = model.blocks[0].mlp.down if opts["mlp"] == "swiglu" else model.blocks[0].mlp[2]
    assert abs(out.weight.std().item() - 0.02 / math.sqrt(4)) < 0.004  # residual projection
    idx = torch.randint(11, (2, 10))
    later = idx.clone()
    later[:, 6:] = (later[:, 6:] + 1) % 11
    a, loss = model(idx, torch.randint(11, (2, 10)))
    b, _ = model(later)
    torch.testing.assert_close(a[:, :6], b[:, :6], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(a[:, 6:], b[:, 6:], atol=1e-4)
    assert abs(loss.item() - math.log(11)) < 0.1  # small init: about uniform


def test_rope_gpt_trains_and_resumes_from_a_checkpoint(tmp_path):
    cfg = tg.GPTConfig(vocab_size=11, max_len=8, num_layers=1, num_heads=2, embed_dim=16,
                       positions="rope", norm="rmsnorm", mlp="swiglu", mlp_hidden=40,
                       num_kv_heads=1)
    ids = torch.arange(400) % 11  # predictable: the loss must fall well below log 11
    torch.manual_seed(0)
    model = tg.GPT(cfg)
    tcfg = tg.TrainConfig(batch_size=4, max_iters=30, warmup_iters=3, lr=1e-2, eval_interval=0,
                          eval_iters=4)
    log = tg.train(model, ids[:300], ids[300:], tcfg, progress=False,
                   checkpoint_path=tmp_path / "c.pt")
    assert log.history[-1]["val_loss"] < math.log(11) - 0.5
    loaded, _ = tg.load_checkpoint(tmp_path / "c.pt")
    assert loaded.config == cfg
    x = ids[:8].view(1, 8)
    assert torch.equal(loaded.eval()(x)[0], model.eval()(x)[0])


# --------------------------------------------------------------------------------------------
# The comparison of the variants
# --------------------------------------------------------------------------------------------


def test_block_variants_settings():
    v = bv.block_variants(96, 4)
    assert list(v) == list(bv.VARIANTS)
    assert v["swiglu"] == {"mlp": "swiglu", "mlp_hidden": 256}  # 3 x 96 x 256 = 2 x 96 x 384
    assert v["gqa"] == {"num_kv_heads": 2} and bv.block_variants(16, 3)["gqa"]["num_kv_heads"] == 1
    assert v["llama"] == {"positions": "rope", "norm": "rmsnorm", "mlp": "swiglu",
                          "mlp_hidden": 256, "num_kv_heads": 2}
    for settings in v.values():
        tg.GPTConfig(**settings)  # every one is a GPTConfig setting


def test_compare_block_variants_on_a_tiny_config():
    ids = torch.randint(11, (600,), generator=torch.Generator().manual_seed(0))
    model = dict(max_len=8, num_layers=1, num_heads=2, embed_dim=12)
    train = dict(batch_size=4, max_iters=3, warmup_iters=1)
    rows = bv.compare_block_variants(ids[:500], ids[500:], model, train, seeds=(0, 1))
    assert [(r["variant"], r["seed"]) for r in rows] == [
        (v, s) for s in (0, 1) for v in bv.VARIANTS]
    params = {r["variant"]: r["params"] for r in rows}
    E, T, L = 12, 8, 1
    assert params["gpt2"] - params["rope"] == T * E                 # no position table
    assert params["rmsnorm"] == params["gpt2"]                      # bias=False: weights only
    assert params["swiglu"] - params["gpt2"] == L * (3 * E * 32 - 2 * E * 48)  # F = 32 vs 48
    assert params["gpt2"] - params["gqa"] == L * 2 * E * (2 - 1) * 6  # one k/v head of hd 6
    # the same seed: the same result again (paired runs repeat)
    again = bv.compare_block_variants(ids[:500], ids[500:], model, train, seeds=(1,),
                                      variants=("llama",))
    assert again[0]["val_loss"] == rows[-1]["val_loss"]
    s = bv.summarize(rows)
    assert s["gpt2"]["delta_mean"] == 0.0 and s["rope"]["n"] == 2
    losses = [r["val_loss"] for r in rows if r["variant"] == "rope"]
    assert s["rope"]["mean"] == pytest.approx(sum(losses) / 2)
    assert s["rope"]["std"] == pytest.approx(abs(losses[0] - losses[1]) / math.sqrt(2))
    table = bv.format_table(s)
    assert table.count("\n") == len(bv.VARIANTS) and "llama" in table
    with pytest.raises(ValueError, match="unknown variants"):
        bv.compare_block_variants(ids, ids, model, train, variants=("alibi",))



@pytest.mark.skipif(not (MIRROR / "tinyshakespeare" / "input.txt").is_file(),
                    reason=f"no local mirror of tinyshakespeare at {MIRROR}")
def test_benchmark_writes_its_csv_and_last_line(tmp_path):
    out_csv = tmp_path / "runs.csv"
    out = run_benchmark("block_variants", "--config", "live", "--max-iters", "3", "--seeds",
                        "0", "--variants", "gpt2", "llama", "--csv", str(out_csv), mirror=MIRROR)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"gpt2 (\d+\.\d{4}) llama (\d+\.\d{4})", last), last
    lines = out_csv.read_text().splitlines()
    assert lines[0].startswith("# command: python benchmarks/block_variants.py --config live")
    assert lines[1].startswith("# date: ") and "torch " in lines[2] and "thread" in lines[2]
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))
    assert [r["variant"] for r in rows] == ["gpt2", "llama"]
    assert all(3.0 < float(r["val_loss"]) < math.log(65) + 0.3 for r in rows)  # 3 steps
