"""book.torch_nn: shapes, SDPA used correctly, causality, attention weights, the LSTM tagger."""

from __future__ import annotations

import math

import pytest
import torch

from book import torch_nn
from book.np_nn import sinusoidal_positions

# Everything runs on the CPU; a machine with CUDA checks that device too.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def explicit_attention(m: torch_nn.SelfAttention, x: torch.Tensor, causal: bool) -> torch.Tensor:
    """softmax(q kᵀ/√hd) v head by head, with plain loops and matmuls, then out_proj."""
    B, T, E = x.shape
    nh, hd = m.num_heads, E // m.num_heads
    W, b = m.in_proj.weight, m.in_proj.bias
    heads = []
    for h in range(nh):
        rows = slice(h * hd, (h + 1) * hd)
        q = x @ W[:E][rows].T + b[:E][rows]  # (B, T, hd)
        k = x @ W[E:2 * E][rows].T + b[E:2 * E][rows]
        v = x @ W[2 * E:][rows].T + b[2 * E:][rows]
        s = q @ k.transpose(1, 2) / math.sqrt(hd)  # (B, T, T)
        if causal:
            future = torch.arange(T)[None, :] > torch.arange(T)[:, None]  # key j after query i
            s = s.masked_fill(future.to(x.device), float("-inf"))
        heads.append(torch.softmax(s, dim=-1) @ v)  # (B, T, hd)
    return m.out_proj(torch.cat(heads, dim=-1))  # (B, T, E)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [True, False])
def test_self_attention_equals_explicit(causal: bool, device: str) -> None:
    torch.manual_seed(0)
    m = torch_nn.SelfAttention(16, 4, causal=causal).double().to(device)
    assert m.causal == causal
    x = torch.randn(3, 7, 16, dtype=torch.float64, device=device)
    expected = explicit_attention(m, x, causal)
    torch.testing.assert_close(m(x), expected, rtol=1e-10, atol=1e-10)
    out, att = m.forward_with_weights(x)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
    assert att.shape == (3, 4, 7, 7)
    assert m.in_proj.weight.shape == (48, 16) and m.out_proj.weight.shape == (16, 16)


@pytest.mark.parametrize("causal", [True, False])
def test_key_padding_mask(causal: bool) -> None:
    torch.manual_seed(1)
    m = torch_nn.SelfAttention(8, 2, causal=causal).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    kpm = torch.tensor([[False] * 5, [False, False, False, True, True]])
    out, att = m.forward_with_weights(x, key_padding_mask=kpm)
    assert torch.all(att[1, :, :, 3:] == 0)  # nobody attends to padding
    torch.testing.assert_close(m(x, key_padding_mask=kpm), out, rtol=1e-10, atol=1e-10)
    # the unpadded positions of row 1 see exactly what a 3-token input would
    torch.testing.assert_close(out[1, :3], m(x[1:, :3])[0], rtol=1e-10, atol=1e-10)


def test_block_shapes_and_parameter_names() -> None:
    block = torch_nn.Block(12, 3, causal=True)
    x = torch.randn(2, 5, 12)
    assert block(x).shape == (2, 5, 12)
    y, att = block.forward_with_weights(x)
    torch.testing.assert_close(y, block(x))
    assert att.shape == (2, 3, 5, 5)
    assert [n for n, _ in block.named_parameters()] == [
        "ln1.weight", "ln1.bias", "attn.in_proj.weight", "attn.in_proj.bias",
        "attn.out_proj.weight", "attn.out_proj.bias", "ln2.weight", "ln2.bias",
        "mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias"]
    assert block.mlp[0].out_features == 48
    assert isinstance(block.mlp[1], torch.nn.GELU) and block.mlp[1].approximate == "tanh"
    assert torch_nn.Block(12, 3, hidden=20).mlp[0].out_features == 20


def test_bad_input() -> None:
    m = torch_nn.SelfAttention(8, 2)
    with pytest.raises(ValueError, match=r"\(B, T, E\) with E = 8"):
        m(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"\(B, T, E\)"):
        m(torch.randn(5, 8))
    with pytest.raises(ValueError, match="multiple of num_heads"):
        torch_nn.SelfAttention(10, 3)
    model = torch_nn.TinyTransformer(10, 8, 2, 1, max_len=4)
    with pytest.raises(ValueError, match="max_len = 4"):
        model(torch.zeros(1, 5, dtype=torch.long))


@pytest.mark.parametrize("device", DEVICES)
def test_tiny_transformer_shapes_and_positions(device: str) -> None:
    torch.manual_seed(0)
    model = torch_nn.TinyTransformer(vocab_size=11, embed_dim=16, num_heads=4, num_layers=2,
                                     max_len=9).to(device)
    idx = torch.randint(0, 11, (3, 7), device=device)
    assert model(idx).shape == (3, 7, 11)
    assert model.attention_weights(idx).shape == (2, 3, 4, 7, 7)
    assert model.pos.device.type == device
    expected = torch.from_numpy(sinusoidal_positions(9, 16)).float()
    torch.testing.assert_close(model.pos.cpu(), expected)
    assert "pos" not in dict(model.named_parameters())
    # the same token at two positions gets two different inputs: the positions are added
    same = torch.full((1, 2), 3, device=device)
    emb = model._embed(same)
    assert not torch.allclose(emb[0, 0], emb[0, 1])


def test_causality() -> None:
    torch.manual_seed(0)
    idx = torch.randint(0, 13, (2, 8))
    changed = idx.clone()
    changed[:, 5] = (idx[:, 5] + 1) % 13  # change token 5 only
    causal = torch_nn.TinyTransformer(13, 16, 2, 2, max_len=8, causal=True)
    a, b = causal(idx), causal(changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], rtol=0, atol=1e-6)  # the past cannot see it
    assert not torch.allclose(a[:, 5:], b[:, 5:])
    full = torch_nn.TinyTransformer(13, 16, 2, 2, max_len=8, causal=False)
    assert not torch.allclose(full(idx)[:, :5], full(changed)[:, :5])  # without the mask it can


@pytest.mark.parametrize("causal", [True, False])
def test_attention_weights(causal: bool) -> None:
    torch.manual_seed(2)
    model = torch_nn.TinyTransformer(10, 12, 3, 2, max_len=6, causal=causal)
    w = model.attention_weights(torch.randint(0, 10, (2, 6)))
    assert w.shape == (2, 2, 3, 6, 6)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 2, 3, 6))
    above = torch.ones(6, 6, dtype=torch.bool).triu(1)
    if causal:
        assert torch.all(w[..., above] == 0)
    else:
        assert torch.all(w[..., above] > 0)


@pytest.mark.parametrize("device", DEVICES)
def test_lstm_tagger(device: str) -> None:
    torch.manual_seed(0)
    tagger = torch_nn.LSTMTagger(vocab_size=20, embed_dim=8, hidden_size=10, num_tags=5).to(device)
    assert not tagger.lstm.batch_first  # sequence-first, so book.np_nn.LSTM can load it
    idx = torch.randint(0, 20, (4, 9), device=device)
    scores = tagger(idx)
    assert scores.shape == (4, 9, 5)
    scores.sum().backward()
    assert all(p.grad is not None for p in tagger.parameters())
    # one time step's tag depends on the past only (a one-directional LSTM)
    changed = idx.clone()
    changed[:, 6] = (idx[:, 6] + 1) % 20
    torch.testing.assert_close(tagger(changed)[:, :6], scores[:, :6])


def test_block_options_dropout_and_no_bias() -> None:
    block = torch_nn.Block(8, 2, causal=True, dropout=0.5, bias=False)
    assert all(not n.endswith("bias") for n, _ in block.named_parameters())
    x = torch.randn(2, 4, 8)
    block.eval()  # no dropout: deterministic, and causal (the first position sees only itself)
    torch.testing.assert_close(block(x), block(x))
    torch.testing.assert_close(block(x)[:, :1], block(x[:, :1]))
    block.train()
    torch.manual_seed(0)
    a = block(x)
    torch.manual_seed(1)
    assert not torch.allclose(a, block(x))  # dropout draws differ with the seed


def test_self_attention_rejects_bad_heads() -> None:
    with pytest.raises(ValueError, match="multiple of num_heads"):
        torch_nn.SelfAttention(8, 3)
    with pytest.raises(ValueError, match="at least 1"):
        torch_nn.SelfAttention(8, 0)


# --------------------------------------------------------------------------------------------
# Chapter 6: cross-attention, the decoder block, decoding one position at a time
# --------------------------------------------------------------------------------------------


def test_cross_attention_equals_multihead_attention() -> None:
    torch.manual_seed(0)
    E, nh = 12, 3
    cross = torch_nn.CrossAttention(E, nh).double()
    mha = torch.nn.MultiheadAttention(E, nh, batch_first=True).double()
    with torch.no_grad():  # the same layout: in_proj stacks the q, k, v projections
        mha.in_proj_weight.copy_(cross.in_proj.weight)
        mha.in_proj_bias.copy_(cross.in_proj.bias)
        mha.out_proj.weight.copy_(cross.out_proj.weight)
        mha.out_proj.bias.copy_(cross.out_proj.bias)
    x, memory = torch.randn(2, 4, E, dtype=torch.double), torch.randn(2, 5, E, dtype=torch.double)
    pad = torch.tensor([[False] * 5, [False, False, False, True, True]])
    expected, expected_w = mha(x, memory, memory, key_padding_mask=pad)
    out, w = cross.forward_with_weights(x, memory, pad)
    torch.testing.assert_close(cross(x, memory, pad), expected)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(w.mean(1), expected_w)  # MHA averages the heads' weights
    assert w.shape == (2, nh, 4, 5) and torch.all(w[1, :, :, 3:] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, nh, 4, dtype=torch.double))
    # keys and values computed once (as a decoder does) give the same output
    torch.testing.assert_close(cross(x, cross.memory_heads(memory), pad), expected)


def test_cross_attention_rejects_bad_input() -> None:
    cross = torch_nn.CrossAttention(8, 2)
    x, memory = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    with pytest.raises(ValueError, match="memory must have shape"):
        cross(x, torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match="same batch size"):
        cross(x, memory[:1])
    with pytest.raises(ValueError, match="key_padding_mask"):
        cross(x, memory, torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask"):
        cross(x, memory, torch.zeros(2, 5))


def test_self_attention_step_by_step_equals_causal_forward() -> None:
    torch.manual_seed(0)
    attn = torch_nn.SelfAttention(8, 2, causal=True).double().eval()
    x = torch.randn(3, 6, 8, dtype=torch.double)
    full, cache = attn(x), None
    for t in range(6):
        y, cache = attn.step(x[:, t:t + 1], cache)
        torch.testing.assert_close(y[:, 0], full[:, t])
    assert cache[0].shape == (3, 2, 6, 4)
    with pytest.raises(ValueError, match="causal"):
        torch_nn.SelfAttention(8, 2).step(x[:, :1])
    with pytest.raises(ValueError, match="causal"):
        attn.step(x[:, :2])


def test_decoder_block_is_causal_masks_the_memory_and_decodes_step_by_step() -> None:
    torch.manual_seed(0)
    block = torch_nn.DecoderBlock(8, 2, dropout=0.1).double().eval()
    assert block.attn.causal and isinstance(block.cross, torch_nn.CrossAttention)
    x, memory = torch.randn(2, 5, 8, dtype=torch.double), torch.randn(2, 4, 8, dtype=torch.double)
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    y = block(x, memory, pad)
    assert y.shape == (2, 5, 8)
    for t in range(4):  # changing position t + 1 leaves positions <= t alone
        changed = x.clone()
        changed[:, t + 1] += 1.0
        torch.testing.assert_close(block(changed, memory, pad)[:, :t + 1], y[:, :t + 1])
    noisy = memory.clone()
    noisy[pad] = 100.0  # the memory's padding is never read
    torch.testing.assert_close(block(x, noisy, pad), y)
    out, self_w, cross_w = block.forward_with_weights(x, memory, pad)
    torch.testing.assert_close(out, y)
    assert self_w.shape == (2, 2, 5, 5) and torch.all(self_w.triu(1) == 0)
    assert cross_w.shape == (2, 2, 5, 4) and torch.all(cross_w[1, :, :, 2:] == 0)
    kv, cache = block.cross.memory_heads(memory), None
    for t in range(5):
        y_t, cache = block.step(x[:, t:t + 1], kv, pad, cache)
        torch.testing.assert_close(y_t[:, 0], y[:, t])
