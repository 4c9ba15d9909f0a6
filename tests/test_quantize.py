"""Int8 weight quantization (book.quantize): round-trip error bounds, per-channel against
per-tensor, Int8Linear against nn.Linear, a quantized GPT against the float one and against
PyTorch's dynamic quantization."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from book import quantize as qz
from book import textgen as tg

torch.set_num_threads(1)


def small_gpt(seed: int = 0) -> tg.GPT:
    """A tiny GPT (2 layers of 32) in eval mode, with the GPT's own random initialisation."""
    torch.manual_seed(seed)
    cfg = tg.GPTConfig(vocab_size=20, max_len=16, num_layers=2, num_heads=2, embed_dim=32)
    return tg.GPT(cfg).eval()


@pytest.mark.parametrize("bits", [8, 4])
def test_round_trip_error_at_most_half_a_step(bits):
    torch.manual_seed(0)
    w = torch.randn(8, 50) * torch.logspace(-3, 1, 8)[:, None]   # rows of different sizes
    q, scale = qz.quantize_per_channel(w, bits)
    qmax = 2 ** (bits - 1) - 1
    assert q.dtype == torch.int8 and scale.dtype == torch.float32 and scale.shape == (8,)
    assert q.abs().max() <= qmax
    torch.testing.assert_close(scale, w.abs().amax(dim=1) / qmax)
    err = (qz.dequantize(q, scale) - w).abs()
    assert (err <= scale[:, None] / 2 * (1 + 1e-5)).all()
    assert (q.abs().amax(dim=1) == qmax).all()   # each row's largest weight uses the full range


def test_multiples_of_the_scale_are_exact():
    scale = torch.tensor([0.5, 0.01, 3.0])
    ints = torch.randint(-127, 128, (3, 20), generator=torch.Generator().manual_seed(1))
    ints[:, 0] = 127                       # the row's max sets scale = 127 * s / 127 = s
    w = ints.float() * scale[:, None]
    q, s = qz.quantize_per_channel(w)
    torch.testing.assert_close(s, scale)
    assert torch.equal(q.long(), ints)
    torch.testing.assert_close(qz.dequantize(q, s), w, rtol=1e-6, atol=0)


def test_zero_row_gets_scale_one():
    w = torch.zeros(2, 5)
    w[1] = torch.linspace(-1, 1, 5)
    q, scale = qz.quantize_per_channel(w)
    assert scale[0] == 1 and torch.isfinite(scale).all()
    assert (q[0] == 0).all()
    q_t, scale_t = qz.quantize_per_tensor(torch.zeros(3, 3))
    assert scale_t == 1 and (q_t == 0).all()


def test_per_channel_beats_per_tensor_on_rows_of_different_scales():
    torch.manual_seed(0)
    w = torch.randn(6, 64) * torch.tensor([1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])[:, None]
    q_c, s_c = qz.quantize_per_channel(w)
    q_t, s_t = qz.quantize_per_tensor(w)
    assert s_t.dim() == 0
    err_c = (qz.dequantize(q_c, s_c) - w).abs()
    err_t = (qz.dequantize(q_t, s_t) - w).abs()
    assert (err_t <= s_t / 2 * (1 + 1e-5)).all()
    # relative to each row's size: per channel every row gets 127 steps, per tensor the small
    # rows get a fraction of one
    rel_c = err_c.mean(dim=1) / w.abs().amax(dim=1)
    rel_t = err_t.mean(dim=1) / w.abs().amax(dim=1)
    assert (rel_c <= 0.5 / 127).all()
    assert (rel_c[:-1] < rel_t[:-1] / 5).all()
    torch.testing.assert_close(rel_c[-1], rel_t[-1])      # the largest row sets both scales
    # per tensor, the smallest row's weights all round to zero: the row is lost
    assert (q_t[0] == 0).all() and not (q_c[0] == 0).all()


@pytest.mark.parametrize("bad", [torch.randn(5), torch.randn(2, 3, 4), torch.ones(2, 2,
                                 dtype=torch.int64), [[1.0, 2.0]]])
def test_bad_weights_are_refused(bad):
    with pytest.raises(ValueError, match="2-D float"):
        qz.quantize_per_channel(bad)


@pytest.mark.parametrize("bits", [1, 9, 16, 8.0])
def test_bad_bits_are_refused(bits):
    with pytest.raises(ValueError, match="bits"):
        qz.quantize_per_channel(torch.randn(2, 2), bits)


def test_non_finite_weights_are_refused():
    with pytest.raises(ValueError, match="inf or NaN"):
        qz.quantize_per_tensor(torch.tensor([[1.0, float("nan")]]))


def test_int8_linear_matches_linear_within_quantization_error():
    torch.manual_seed(0)
    linear = nn.Linear(40, 7)
    small = qz.Int8Linear.from_linear(linear)
    assert small.weight_q.dtype == torch.int8 and small.scale.shape == (7,)
    x = torch.randn(3, 5, 40)
    with torch.no_grad():
        got, want = small(x), linear(x)
    # each output moves by at most sum_k |x_k| * scale / 2
    bound = x.abs().sum(-1, keepdim=True) * small.scale / 2
    assert ((got - want).abs() <= bound * (1 + 1e-4) + 1e-6).all()
    assert not torch.equal(got, want)      # it really is rounded
    torch.testing.assert_close(small.bias, linear.bias)
    with pytest.raises(TypeError, match="nn.Linear"):
        qz.Int8Linear.from_linear(nn.Conv1d(2, 2, 1))


def test_quantize_model_keeps_the_tied_head_float_and_the_original_untouched():
    model = small_gpt()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    small = qz.quantize_model(model)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert isinstance(model.blocks[0].attn.in_proj, nn.Linear)
    linears = [m for m in small.modules() if isinstance(m, nn.Linear)]
    assert linears == [small.head]         # every Linear replaced except the tied head
    assert small.head.weight is small.tok_emb.weight
    assert sum(isinstance(m, qz.Int8Linear) for m in small.modules()) == 4 * 2
    assert "head" not in qz.quantizable_linears(model)


def test_quantized_gpt_logits_close_and_size_about_a_quarter():
    model = small_gpt()
    small = qz.quantize_model(model)
    idx = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = model(idx)[0], small(idx)[0]
    spread = want.std()
    # stated tolerance: the largest logit error under 5% of the logits' spread
    assert (got - want).abs().max() < 0.05 * spread
    assert not torch.equal(got, want)
    lin_w = [m.weight for n, m in model.named_modules()
             if n in qz.quantizable_linears(model)]
    lin_bytes = sum(w.numel() * 4 for w in lin_w)
    scales = sum(w.shape[0] * 4 for w in lin_w)
    saved = qz.model_bytes(model) - qz.model_bytes(small)
    assert saved == lin_bytes - lin_bytes // 4 - scales     # 4 bytes -> 1, plus the scales
    assert qz.model_bytes(model) == sum(p.numel() * 4 for p in model.parameters())


def test_model_bytes_counts_shared_and_int8_once():
    layer = nn.Linear(4, 4, bias=False)
    tied = nn.Sequential(layer, layer)
    assert qz.model_bytes(tied) == 16 * 4
    assert qz.model_bytes(qz.Int8Linear.from_linear(layer)) == 16 + 4 * 4


def test_torch_dynamic_quantization_agrees_with_ours():
    model = small_gpt(1)
    ours, theirs = qz.quantize_model(model), qz.torch_dynamic_int8(model)
    assert isinstance(theirs.blocks[0].mlp[0], torch.ao.nn.quantized.dynamic.Linear)
    assert isinstance(theirs.head, nn.Linear)           # the tied head left float there too
    idx = torch.randint(0, 20, (2, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, a, b = model(idx)[0], ours(idx)[0], theirs(idx)[0]
    spread = want.std()
    assert (a - want).abs().max() < 0.05 * spread
    assert (b - want).abs().max() < 0.05 * spread
    assert qz.model_bytes(theirs) < qz.model_bytes(model) / 2
