"""book.scale: parameter counts equal our GPT's, FLOP formulas equal FlopCounterMode's count,
memory and time follow their stated formulas, public models match their papers."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from book import cost, scale
from book.textgen import GPT, GPT2_124M, GPTConfig

torch.set_num_threads(1)

CONFIGS = [
    GPTConfig(vocab_size=50, max_len=16, num_layers=2, num_heads=2, embed_dim=32, bias=True),
    GPTConfig(vocab_size=37, max_len=12, num_layers=3, num_heads=4, embed_dim=24, bias=False),
    GPTConfig(vocab_size=65, max_len=8, num_layers=1, num_heads=1, embed_dim=16, bias=True),
]


def _meta_gpt(cfg: GPTConfig) -> GPT:
    """GPT(cfg) on the meta device: shapes without memory, so GPT-2 XL costs nothing."""
    with torch.device("meta"):
        return GPT(cfg)


@pytest.mark.parametrize("cfg", CONFIGS + [GPT2_124M], ids=lambda c: f"E{c.embed_dim}b{c.bias}")
def test_param_count_equals_our_gpt(cfg):
    model = _meta_gpt(cfg)
    p = scale.param_count(cfg)
    assert p["total"] == model.num_params() == sum(t.numel() for t in model.parameters())
    # the parts, read off the modules themselves
    block = model.blocks[0]
    assert p["attention"] == sum(t.numel() for t in block.attn.parameters())
    assert p["mlp"] == sum(t.numel() for t in block.mlp.parameters())
    assert p["norms"] == sum(t.numel() for m in (block.ln1, block.ln2) for t in m.parameters())
    assert p["final_norm"] == sum(t.numel() for t in model.ln_f.parameters())
    assert p["position_embedding"] == model.pos_emb.weight.numel()
    assert p["head"] == 0  # tied: the head IS the token embedding
    matrices = sum(m.weight.numel() for m in model.blocks.modules()
                   if isinstance(m, torch.nn.Linear))
    assert p["matmul_weights"] == matrices


@pytest.mark.parametrize("name, width, layers", [
    ("gpt2", 768, 12), ("gpt2-medium", 1024, 24), ("gpt2-large", 1280, 36),
    ("gpt2-xl", 1600, 48)])
def test_gpt2_sizes_equal_our_gpt_at_that_size(name, width, layers):
    shape = scale.PUBLIC_MODELS[name]
    cfg = GPTConfig(vocab_size=50257, max_len=1024, num_layers=layers,
                    num_heads=width // 64, embed_dim=width, bias=True)
    assert shape == replace(scale.TransformerShape.from_config(cfg), citation="radford2019gpt2")
    assert shape.params()["total"] == _meta_gpt(cfg).num_params()


def test_gpt2_small_is_chapter_6s_124m():
    assert scale.PUBLIC_MODELS["gpt2"].params()["total"] == 124_439_808  # chapter 6 prints it
    assert scale.param_count(GPT2_124M)["total"] == 124_439_808


@pytest.mark.parametrize("name, published", [("llama-2-7b", 6.7e9), ("llama-2-70b", 69e9)])
def test_llama2_counts_within_1_percent_of_the_paper(name, published):
    # Touvron et al. (2023) name them 7B and 70B; their Table 1 / model card: 6.7B and 69B
    total = scale.PUBLIC_MODELS[name].params()["total"]
    assert abs(total / published - 1) < 0.01, f"{total:,}"


def test_llama2_7b_count_exactly():
    # 32 blocks of 4 E^2 attention + 3 E F SwiGLU + 2 E RMSNorm, untied V E twice, final norm
    E, F, V, L = 4096, 11008, 32000, 32
    expected = L * (4 * E * E + 3 * E * F + 2 * E) + 2 * V * E + E
    assert scale.PUBLIC_MODELS["llama-2-7b"].params()["total"] == expected == 6_738_415_616


def test_grouped_query_attention_shrinks_k_v_and_the_cache():
    mha = scale.PUBLIC_MODELS["llama-2-70b"]
    gqa_8, mha_64 = mha, replace(mha, num_kv_heads=64)
    E, hd = mha.embed_dim, mha.head_dim
    assert mha_64.params()["attention"] - gqa_8.params()["attention"] == 2 * E * (64 - 8) * hd
    assert scale.kv_cache_bytes_per_token(mha_64) == 8 * scale.kv_cache_bytes_per_token(gqa_8)
    # 2 (k, v) x L x nkv x hd x 2 bytes
    assert scale.kv_cache_bytes_per_token(gqa_8, "bf16") == 2 * 80 * 8 * 128 * 2
    assert scale.kv_cache_bytes_per_token(gqa_8, "fp32") == 2 * 80 * 8 * 128 * 4


def _counted(model: GPT, idx: torch.Tensor, backward: bool) -> int:
    """FLOPs FlopCounterMode counts, with SDPA's math kernel (the CPU's fused one is invisible
    to the counter; the math one is two batched products it sees)."""
    with sdpa_kernel(SDPBackend.MATH):
        if backward:
            return cost.count(lambda: model(idx)[0]).flops
        with FlopCounterMode(display=False) as fc:
            model(idx)
        return fc.get_total_flops()


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"E{c.embed_dim}b{c.bias}")
@pytest.mark.parametrize("T", [None, 5])
def test_flops_equal_flop_counter_exactly(cfg, T):
    torch.manual_seed(0)
    model = GPT(cfg)
    T = cfg.max_len if T is None else T
    B = 2
    idx = torch.randint(0, cfg.vocab_size, (B, T))
    shape = scale.TransformerShape.from_config(cfg)
    full = scale.flops_per_token(shape, T, causal=False)  # the math kernel computes all T x T
    # exact: the counter sees every matmul (biases ride in addmm uncounted, as in the formula)
    assert _counted(model, idx, backward=False) == B * T * full.forward
    assert _counted(model, idx, backward=True) == B * T * full.training
    # causal counts half the scores: the difference is exactly 2 L T E per token
    causal = scale.flops_per_token(shape, T)
    assert full.forward - causal.forward == 2 * cfg.num_layers * T * cfg.embed_dim


def test_flops_agree_with_gpt_method_and_kaplan():
    cfg = CONFIGS[0]
    shape, model = scale.TransformerShape.from_config(cfg), GPT(cfg)
    f = scale.flops_per_token(shape, cfg.max_len, causal=False)
    # GPT.flops_per_token: 6 N (no position table, biases and norms included) + 12 L E T
    p = shape.params()
    small = p["total"] - p["position_embedding"] - p["token_embedding"] - p["matmul_weights"]
    assert model.flops_per_token() == f.training + 6 * small
    # Kaplan's C_forward = 2 N + 2 L T E, N = 12 L E^2 for GPT's shape; the head left out
    k = scale.flops_per_token(shape, cfg.max_len)
    E, L, T = cfg.embed_dim, cfg.num_layers, cfg.max_len
    assert k.kaplan == 2 * 12 * L * E * E + 2 * L * T * E
    assert k.head == 2 * E * cfg.vocab_size and k.forward == k.kaplan + k.head


def test_training_memory_follows_its_formula():
    shape = scale.PUBLIC_MODELS["gpt2"]
    N, L, E, a, V = shape.params()["total"], 12, 768, 12, 50257
    B, s = 2, 1024
    bf = scale.training_memory(shape, B, s, "bf16-mixed")
    assert (bf["weights"], bf["gradients"], bf["optimizer"]) == (2 * N, 2 * N, 12 * N)
    assert bf["activations"] == L * s * B * E * (34 + 5 * a * s // E)  # Korthikanti eq. 1
    assert bf["logits"] == 4 * B * s * V
    assert bf["total"] == 16 * N + bf["activations"] + bf["logits"]
    fp = scale.training_memory(shape, B, s, "fp32")
    assert (fp["weights"], fp["gradients"], fp["optimizer"]) == (4 * N, 4 * N, 8 * N)
    assert fp["activations"] == L * s * B * E * (66 + 9 * a * s // E)
    sel = scale.training_memory(shape, B, s, "bf16-mixed", recompute_attention=True)
    assert sel["activations"] == L * s * B * E * 34
    no_drop = scale.training_memory(shape, B, s, "bf16-mixed", dropout=False)
    assert no_drop["activations"] == L * s * B * E * (32 + 4 * a * s // E)  # masks gone
    sgd = scale.training_memory(shape, B, s, "fp32", "sgd")
    assert sgd["optimizer"] == 0
    # activations grow linearly in the batch
    assert scale.training_memory(shape, 2 * B, s)["activations"] == 2 * fp["activations"]


def test_activation_estimate_matches_what_our_gpt_keeps():
    """The bytes autograd keeps for one more block of our GPT (fp32, no dropout, SDPA, which
    keeps no (T, T) weights) against the estimate's 16 s b h fp32 values per layer."""
    B, T = 2, 32
    idx = torch.randint(0, 64, (B, T), generator=torch.Generator().manual_seed(0))
    kept = []
    for L in (1, 2):
        cfg = GPTConfig(vocab_size=64, max_len=T, num_layers=L, num_heads=4, embed_dim=64)
        torch.manual_seed(0)
        model = GPT(cfg)
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        kept.append(cost.count(lambda model=model: model(idx)[0]).saved_bytes - params)
    shape = scale.TransformerShape.from_config(cfg)
    one = {L: scale.training_memory(replace(shape, num_layers=L), B, T, "fp32",
                                    recompute_attention=True, dropout=False)["activations"]
           for L in (1, 2)}
    assert one[2] - one[1] == 16 * B * T * 64 * 4
    # the rest is a few numbers per position (LayerNorm statistics, SDPA's logsumexp)
    assert abs((kept[1] - kept[0]) - (one[2] - one[1])) < 0.01 * (one[2] - one[1])


def test_inference_memory_is_weights_plus_cache():
    shape = scale.PUBLIC_MODELS["llama-2-7b"]
    m = scale.inference_memory(shape, context=4096, batch=3, precision="bf16")
    assert m["weights"] == 2 * shape.params()["total"]
    assert m["kv_cache"] == 3 * 4096 * 2 * 32 * 32 * 128 * 2
    assert m["total"] == m["weights"] + m["kv_cache"]


def test_train_time():
    shape = scale.PUBLIC_MODELS["gpt2"]
    flops = scale.flops_per_token(shape).training
    t = scale.train_time_seconds(shape, tokens=1e9, gpus=8, peak_flops=1e15, mfu=0.5)
    assert t == pytest.approx(1e9 * flops / (8 * 1e15 * 0.5), rel=1e-12)
    assert scale.train_time_seconds(shape, 2e9, 8, 1e15, 0.5) == pytest.approx(2 * t)
    # 6 N per token dominates; the head and attention make up the rest
    p = shape.params()
    assert flops == 6 * p["matmul_weights"] + 6 * 768 * 50257 + 6 * 12 * 1024 * 768


@pytest.mark.parametrize("kwargs, message", [
    (dict(embed_dim=30, num_heads=4), "multiple of num_heads"),
    (dict(num_heads=4, num_kv_heads=3), "must divide num_heads"),
    (dict(num_kv_heads=0), "must divide num_heads"),
    (dict(mlp="relu"), "unknown mlp"),
    (dict(norm="batchnorm"), "unknown norm"),
    (dict(positions="alibi"), "unknown positions"),
    (dict(num_layers=0), "num_layers must be positive"),
])
def test_bad_shapes_are_refused(kwargs, message):
    base = dict(vocab_size=10, max_len=8, embed_dim=32, num_layers=2, num_heads=4)
    with pytest.raises(ValueError, match=message):
        scale.TransformerShape(**{**base, **kwargs})


def test_bad_arguments_are_refused():
    shape = scale.PUBLIC_MODELS["gpt2"]
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        scale.training_memory(shape, 1, 8, "fp8")
    with pytest.raises(ValueError, match="unknown precision 'bf16-mixed'"):
        scale.kv_cache_bytes_per_token(shape, "bf16-mixed")
    with pytest.raises(ValueError, match="unknown optimizer"):
        scale.training_memory(shape, 1, 8, optimizer="adam8bit")
    with pytest.raises(ValueError, match="longer than the model's max_len"):
        scale.inference_memory(shape, context=2048)
    with pytest.raises(ValueError, match="mfu is a fraction"):
        scale.train_time_seconds(shape, 1e9, 1, 1e15, 46)
    with pytest.raises(ValueError, match="gpus must be positive"):
        scale.train_time_seconds(shape, 1e9, 0, 1e15, 0.4)
    with pytest.raises(ValueError, match="context must be positive"):
        scale.flops_per_token(shape, 0)
    with pytest.raises(TypeError, match="takes a GPTConfig"):
        scale.param_count(shape)


# Chapter 8's block options: every combination of positions, norm, MLP, key/value heads, bias
OPTION_CONFIGS = [
    GPTConfig(vocab_size=37, max_len=12, num_layers=2, num_heads=4, embed_dim=24, bias=bias,
              positions=positions, norm=norm, mlp=mlp, num_kv_heads=nkv,
              mlp_hidden=64 if mlp == "swiglu" else None)
    for positions in ("learned", "rope") for norm in ("layernorm", "rmsnorm")
    for mlp in ("gelu", "swiglu") for nkv in (None, 2, 1) for bias in (False, True)]


def _option_id(c: GPTConfig) -> str:
    return f"{c.positions}-{c.norm}-{c.mlp}-kv{c.num_kv_heads}-b{c.bias}"


@pytest.mark.parametrize("cfg", OPTION_CONFIGS, ids=_option_id)
def test_param_count_equals_our_gpt_with_every_block_option(cfg):
    model = _meta_gpt(cfg)
    shape = scale.TransformerShape.from_config(cfg)
    assert (shape.positions, shape.norm, shape.mlp, shape.num_kv_heads, shape.mlp_hidden) == (
        cfg.positions, cfg.norm, cfg.mlp, cfg.num_kv_heads, cfg.mlp_hidden)
    p = scale.param_count(cfg)
    assert p["total"] == shape.params()["total"] == model.num_params()
    block = model.blocks[0]
    assert p["attention"] == sum(t.numel() for t in block.attn.parameters())
    assert p["mlp"] == sum(t.numel() for t in block.mlp.parameters())
    assert p["norms"] == sum(t.numel() for m in (block.ln1, block.ln2) for t in m.parameters())
    assert p["final_norm"] == sum(t.numel() for t in model.ln_f.parameters())
    assert p["position_embedding"] == (0 if model.pos_emb is None else model.pos_emb.weight.numel())
    matrices = sum(m.weight.numel() for m in model.blocks.modules()
                   if isinstance(m, torch.nn.Linear))
    assert p["matmul_weights"] == matrices


@pytest.mark.parametrize("cfg", [c for c in OPTION_CONFIGS if c.num_kv_heads != 2],
                         ids=_option_id)
def test_flops_equal_flop_counter_with_every_block_option(cfg):
    """SwiGLU's third matrix and GQA's smaller k and v projections change N_matmul only; the
    scores are still nh heads' (GQA shares keys, not queries); RoPE and RMSNorm multiply
    elementwise, O(E) per token, outside the formula as LayerNorm is."""
    torch.manual_seed(0)
    model, T, B = GPT(cfg), 7, 2
    idx = torch.randint(0, cfg.vocab_size, (B, T))
    full = scale.flops_per_token(scale.TransformerShape.from_config(cfg), T, causal=False)
    assert _counted(model, idx, backward=False) == B * T * full.forward
    assert _counted(model, idx, backward=True) == B * T * full.training
    p = scale.param_count(cfg)
    small = p["total"] - p["position_embedding"] - p["token_embedding"] - p["matmul_weights"]
    assert model.flops_per_token() == scale.flops_per_token(
        scale.TransformerShape.from_config(cfg), causal=False).training + 6 * small
