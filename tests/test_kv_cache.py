"""KV cache (chapter 8): GPT.forward_step and generate_cached against the uncached forward and
generate, on a tiny random GPT."""

from __future__ import annotations

import pytest
import torch

from book import textgen as tg
from book import torch_nn

torch.set_num_threads(1)

V, L = 13, 24  # vocabulary, max_len


def tiny_gpt(seed: int = 0, dropout: float = 0.0, **options) -> tg.GPT:
    """A 2-layer GPT whose weights are random and large enough (std 0.3) that its greedy
    continuations vary, rather than GPT's small initialisation; options: chapter 8's
    GPTConfig block options."""
    torch.manual_seed(seed)
    model = tg.GPT(tg.GPTConfig(vocab_size=V, max_len=L, num_layers=2, num_heads=2,
                                embed_dim=16, dropout=dropout, **options))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model.eval()


def ids(B: int, T: int, seed: int) -> torch.Tensor:
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


def test_self_attention_prefill_is_forward_and_its_cache_continues_with_step() -> None:
    torch.manual_seed(0)
    attn = torch_nn.SelfAttention(8, 2, causal=True).eval()
    x = torch.randn(2, 6, 8)
    y, (k, v) = attn.prefill(x[:, :5])
    assert torch.equal(y, attn(x[:, :5]))
    assert k.shape == v.shape == (2, 2, 5, 4)
    y_last, (k, v) = attn.step(x[:, 5:], (k, v))
    torch.testing.assert_close(y_last, attn(x)[:, 5:], rtol=1e-5, atol=1e-6)
    assert k.shape == (2, 2, 6, 4)


def test_forward_step_gives_forwards_logits() -> None:
    model, idx = tiny_gpt(), ids(2, L, seed=1)
    want, _ = model(idx)  # (2, L, V)
    with torch.no_grad():
        logits, cache = model.forward_step(idx[:, :5])  # the prompt: exactly forward's ops
        assert torch.equal(logits, model(idx[:, :5])[0])
        torch.testing.assert_close(logits, want[:, :5], rtol=1e-5, atol=1e-5)
        assert len(cache) == 2 and model.cache_len(cache) == 5
        for t in range(5, L):
            step_logits, cache = model.forward_step(idx[:, t:t + 1], cache)
            torch.testing.assert_close(step_logits[:, 0], want[:, t], rtol=1e-5, atol=1e-5)
    assert model.cache_len(cache) == L


def test_forward_step_stops_at_max_len_and_refuses_bad_input() -> None:
    model = tiny_gpt()
    with torch.no_grad():
        _, cache = model.forward_step(ids(1, L, seed=2))
        with pytest.raises(ValueError, match="past max_len"):
            model.forward_step(ids(1, 1, seed=3), cache)
        with pytest.raises(ValueError, match="past max_len"):
            model.forward_step(ids(1, L + 1, seed=3))
        _, cache = model.forward_step(ids(1, 3, seed=2))
        with pytest.raises(ValueError, match=r"one new token \(B, 1\)"):
            model.forward_step(ids(1, 2, seed=3), cache)
    with pytest.raises(RuntimeError, match="model.eval"):
        tiny_gpt(dropout=0.1).train().forward_step(ids(1, 3, seed=2))


@pytest.mark.parametrize("prompt", [(1, 1), (1, 5), (2, 3), (3, 10)], ids=str)
def test_greedy_generation_with_and_without_the_cache_is_the_same(prompt) -> None:
    B, T = prompt
    model, idx = tiny_gpt(seed=T), ids(B, T, seed=10 + T)
    n = L - T + 1  # as far as the cache goes: the last new token is never read
    plain = tg.generate(model, idx, n, greedy=True)
    cached = tg.generate_cached(model, idx, n, greedy=True)
    assert plain.shape == (B, T + n)
    assert torch.equal(cached, plain)
    assert len(set(plain[0, T:].tolist())) > 2  # a continuation that varies, not one token


def test_sampling_with_and_without_the_cache_draws_the_same_tokens() -> None:
    model, idx = tiny_gpt(seed=4), ids(2, 4, seed=5)
    kwargs = {"temperature": 0.9, "top_k": 8}
    plain = tg.generate(model, idx, 15, generator=torch.Generator().manual_seed(7), **kwargs)
    cached = tg.generate_cached(model, idx, 15, generator=torch.Generator().manual_seed(7),
                                **kwargs)
    assert torch.equal(cached, plain)


def test_generate_cached_checks_its_input_and_restores_the_mode() -> None:
    model, idx = tiny_gpt().train(), ids(1, 4, seed=6)
    with pytest.raises(ValueError, match="past max_len"):
        tg.generate_cached(model, idx, L - 4 + 2)
    with pytest.raises(ValueError, match="LongTensor"):
        tg.generate_cached(model, idx.float(), 3)
    with pytest.raises(ValueError, match="outside"):
        tg.generate_cached(model, idx + V, 3)
    with pytest.raises(TypeError, match="generate"):
        tg.generate_cached(tg.CharLSTM(tg.CharLSTMConfig(vocab_size=V)), idx, 3)
    assert torch.equal(tg.generate_cached(model, idx, 0), idx)
    tg.generate_cached(model, idx, 3)
    assert model.training


# chapter 8's block options, alone and all together (Llama's block)
OPTIONS = {"rope": dict(positions="rope"), "rmsnorm": dict(norm="rmsnorm"),
           "swiglu": dict(mlp="swiglu", mlp_hidden=40), "mqa": dict(num_kv_heads=1),
           "llama": dict(positions="rope", norm="rmsnorm", mlp="swiglu", mlp_hidden=40,
                         num_kv_heads=1)}


@pytest.mark.parametrize("name", OPTIONS)
def test_forward_step_gives_forwards_logits_with_every_block_option(name) -> None:
    model, idx = tiny_gpt(**OPTIONS[name]), ids(2, L, seed=1)
    want, _ = model(idx)
    with torch.no_grad():
        logits, cache = model.forward_step(idx[:, :5])
        assert torch.equal(logits, model(idx[:, :5])[0])
        nkv = OPTIONS[name].get("num_kv_heads", 2)
        assert cache[0][0].shape == (2, nkv, 5, 8)  # grouped-query attention: a smaller cache
        for t in range(5, L):
            step_logits, cache = model.forward_step(idx[:, t:t + 1], cache)
            torch.testing.assert_close(step_logits[:, 0], want[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", OPTIONS)
def test_generation_with_and_without_the_cache_is_the_same_with_every_block_option(name
                                                                                   ) -> None:
    model, idx = tiny_gpt(seed=3, **OPTIONS[name]), ids(2, 3, seed=13)
    n = L - 3 + 1
    plain = tg.generate(model, idx, n, greedy=True)
    assert torch.equal(tg.generate_cached(model, idx, n, greedy=True), plain)
    assert len(set(plain[0, 3:].tolist())) > 2
    kwargs = {"temperature": 0.9, "top_k": 8}
    sampled = tg.generate(model, idx, 15, generator=torch.Generator().manual_seed(7), **kwargs)
    cached = tg.generate_cached(model, idx, 15, generator=torch.Generator().manual_seed(7),
                                **kwargs)
    assert torch.equal(cached, sampled)
