"""book.challenges: character noise, verbatim continuation, attention-head ablation."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book import challenges as ch
from book import textgen as tg

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
        "\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n\n") * 40


def tiny_gpt(seed: int = 0, layers: int = 2, heads: int = 4, V: int = 20) -> tg.GPT:
    torch.manual_seed(seed)
    return tg.GPT(tg.GPTConfig(vocab_size=V, max_len=16, num_layers=layers, num_heads=heads,
                               embed_dim=16)).eval()


# --- corrupt ---

@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.5, 1.0])
def test_corrupt_changes_exactly_the_fraction(fraction):
    noisy = ch.corrupt(TEXT, fraction, 0)
    assert len(noisy) == len(TEXT)
    changed = sum(a != b for a, b in zip(TEXT, noisy))
    assert changed == round(fraction * len(TEXT))
    assert set(noisy) <= set(TEXT)  # noise stays inside the vocabulary


def test_corrupt_is_seeded():
    assert ch.corrupt(TEXT, 0.2, 7) == ch.corrupt(TEXT, 0.2, 7)
    assert ch.corrupt(TEXT, 0.2, 7) == ch.corrupt(TEXT, 0.2, np.random.default_rng(7))
    assert ch.corrupt(TEXT, 0.2, 7) != ch.corrupt(TEXT, 0.2, 8)


def test_corrupt_draws_the_other_characters_uniformly():
    noisy = ch.corrupt("a" * 30_000, 1.0, 0, vocab="abcd")
    counts = [noisy.count(c) for c in "abcd"]
    assert counts[0] == 0  # a replaced character always changes
    assert all(abs(n - 10_000) < 400 for n in counts[1:]), counts  # ~4.3 standard deviations


@pytest.mark.parametrize("fraction", [-0.1, 1.01, float("nan")])
def test_corrupt_rejects_a_fraction_outside_0_1(fraction):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ch.corrupt(TEXT, fraction, 0)


def test_corrupt_rejects_characters_outside_the_vocab():
    with pytest.raises(ValueError, match="outside vocab"):
        ch.corrupt("abcz", 0.5, 0, vocab="abc")


# --- continuation_match ---

class CopyModel(nn.Module):
    """A stub that has memorised `ids`: it predicts the token that followed the last n tokens
    there (token 0 for a context it never saw)."""

    def __init__(self, ids: torch.Tensor, n: int, V: int) -> None:
        super().__init__()
        self.config = SimpleNamespace(vocab_size=V, max_len=64)
        self.n, self.V = n, V
        seq = ids.tolist()
        self.table = {tuple(seq[i:i + n]): seq[i + n] for i in range(len(seq) - n)}
        assert len(self.table) == len(seq) - n  # every context is unique: a copy is possible

    def forward(self, idx: torch.Tensor, targets=None):
        B, T = idx.shape
        logits = torch.zeros(B, T, self.V)
        for b in range(B):
            row = idx[b].tolist()
            for t in range(self.n - 1, T):
                logits[b, t, self.table.get(tuple(row[t - self.n + 1:t + 1]), 0)] = 1.0
        return logits, None


def test_a_model_that_copies_its_training_text_scores_1_and_0_on_other_text():
    g = torch.Generator().manual_seed(0)
    train_ids, other_ids = torch.randint(20, (1500,), generator=g), torch.randint(20, (1500,),
                                                                                generator=g)
    copier = CopyModel(train_ids, n=6, V=20)
    on_train = ch.continuation_match(copier, train_ids, 8, 16, 24, seed=1)
    assert on_train == {"exact": 1.0, "prefix": 16.0, "char": 1.0}
    on_other = ch.continuation_match(copier, other_ids, 8, 16, 24, seed=1)
    assert on_other["exact"] == 0.0 and on_other["prefix"] < 1 and on_other["char"] < 0.2


def test_an_untrained_gpt_reproduces_nothing():
    ids = torch.randint(20, (1000,), generator=torch.Generator().manual_seed(0))
    found = ch.continuation_match(tiny_gpt(), ids, 8, 8, 32)
    assert found["exact"] == 0.0 and found["char"] < 0.25


def test_continuation_match_counts_the_prefix_before_the_first_miss():
    # the copier continues 0, 1, 2, ... but every tenth token of the text it is tested on was
    # set to 0: a continuation that runs over one matches up to it, then differs
    ids = torch.arange(40) % 40
    copier = CopyModel(ids, n=1, V=40)
    changed = ids.clone()
    changed[torch.arange(40) % 10 == 9] = 0
    assert ch.continuation_match(copier, ids, 3, 6, 8)["exact"] == 1.0
    found = ch.continuation_match(copier, changed, 3, 6, 50)
    assert 0 < found["exact"] < 1 and found["prefix"] < 6


def test_continuation_match_rejects_too_short_a_text():
    with pytest.raises(ValueError, match="at least"):
        ch.continuation_match(tiny_gpt(), torch.zeros(10, dtype=torch.long), 8, 8, 4)


# --- attention maps and offsets ---

def test_attention_maps_are_causal_distributions():
    model = tiny_gpt()
    idx = torch.randint(20, (3, 16), generator=torch.Generator().manual_seed(0))
    maps = ch.attention_maps(model, idx)
    assert maps.shape == (2, 3, 4, 16, 16)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 3, 4, 16))
    assert maps.triu(diagonal=1).abs().max() == 0  # nothing on the future


def test_offset_attention_finds_a_previous_token_map():
    T = 10
    prev = torch.diag(torch.ones(T - 1), -1)
    prev[0, 0] = 1.0
    maps = torch.stack([prev, torch.eye(T)])[None, None]  # (L, B, nh, T, T) = (1, 1, 2, T, T)
    offsets = ch.offset_attention(maps, max_offset=3)
    torch.testing.assert_close(offsets, torch.tensor([[[0.0, 1.0, 0.0, 0.0],
                                                       [1.0, 0.0, 0.0, 0.0]]]))
    with pytest.raises(ValueError, match="max_offset"):
        ch.offset_attention(maps, max_offset=T)


# --- ablate_heads ---

def test_ablation_restores_the_weights_exactly_even_after_an_error():
    model = tiny_gpt()
    before = copy.deepcopy(model.state_dict())
    with ch.ablate_heads(model, [(0, 1), (1, 3), (0, 1)]):
        w = model.blocks[0].attn.out_proj.weight
        assert w[:, 4:8].abs().max() == 0 and torch.equal(w[:, :4], before[
            "blocks.0.attn.out_proj.weight"][:, :4])
    with pytest.raises(RuntimeError, match="inside"):
        with ch.ablate_heads(model, [(1, 0)]):
            raise RuntimeError("inside")
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_ablating_every_head_removes_attention():
    model = tiny_gpt()
    idx = torch.randint(20, (2, 16), generator=torch.Generator().manual_seed(1))

    class NoAttention(nn.Module):
        def forward(self, x, key_padding_mask=None):
            return torch.zeros_like(x)

    without = copy.deepcopy(model)
    for block in without.blocks:
        block.attn = NoAttention()
    with ch.ablate_heads(model, [(l, h) for l in range(2) for h in range(4)]):
        ablated = model(idx)[0]
    assert torch.equal(ablated, without(idx)[0])
    assert not torch.allclose(ablated, model(idx)[0])  # and attention did matter


def test_ablating_one_head_acts_only_through_that_head():
    model = tiny_gpt()
    idx = torch.randint(20, (2, 16), generator=torch.Generator().manual_seed(2))
    attn = model.blocks[1].attn
    seen = {}
    hooks = [attn.out_proj.register_forward_pre_hook(lambda m, a: seen.__setitem__("y", a[0])),
             attn.register_forward_hook(lambda m, a, out: seen.__setitem__("out", out)),
             model.blocks[0].register_forward_hook(lambda m, a, out: seen.__setitem__("b0", out))]
    model(idx)
    clean = dict(seen)
    with ch.ablate_heads(model, [(1, 2)]):
        model(idx)
    for hook in hooks:
        hook.remove()
    assert torch.equal(seen["b0"], clean["b0"])  # the layer below is untouched
    assert torch.equal(seen["y"], clean["y"])    # every head of layer 1 computes the same
    y = clean["y"].clone()
    y[..., 8:12] = 0                              # head 2's slice of the merged heads
    torch.testing.assert_close(seen["out"], F.linear(y, attn.out_proj.weight))
    assert not torch.allclose(seen["out"], clean["out"])


def test_ablate_heads_rejects_a_missing_head_and_changes_nothing():
    model = tiny_gpt()
    before = model.blocks[0].attn.out_proj.weight.clone()
    with pytest.raises(ValueError, match="no such"):
        with ch.ablate_heads(model, [(0, 0), (2, 0)]):
            pass
    assert torch.equal(model.blocks[0].attn.out_proj.weight, before)


def test_token_losses_average_to_estimate_loss():
    model = tiny_gpt()
    ids = torch.randint(20, (500,), generator=torch.Generator().manual_seed(3))
    losses, inputs, targets = ch.token_losses(model, ids, batch_size=5)
    assert losses.shape == inputs.shape == targets.shape == ((499 // 16) * 16,)
    assert torch.equal(targets[:-1][(torch.arange(len(targets) - 1) % 16) != 15],
                       inputs[1:][(torch.arange(1, len(inputs)) % 16) != 0])
    assert losses.mean().item() == pytest.approx(tg.estimate_loss(model, ids, 8), rel=1e-5)


def test_char_class():
    assert [ch.char_class(c) for c in "a Z\n,"] == ["lower", "space", "upper", "newline",
                                                    "other"]


# --- the experiments, at toy sizes ---

SMALL = dict(max_len=16, num_layers=1, num_heads=2, embed_dim=16)
RECIPE = dict(batch_size=8, lr=4e-3, min_lr=4e-4, warmup_iters=5)


def test_noise_experiment_is_paired_and_reproducible():
    rows = ch.noise_experiment(TEXT, SMALL, RECIPE, 15, fractions=(0.0, 0.5), seeds=(0,))
    assert [(r["fraction"], r["seed"]) for r in rows] == [(0.0, 0), (0.5, 0)]
    assert rows[0]["val_loss"] != rows[1]["val_loss"]
    again = ch.noise_experiment(TEXT, SMALL, RECIPE, 15, fractions=(0.5,), seeds=(0,))
    assert again[0]["val_loss"] == rows[1]["val_loss"]
    assert rows[0]["bpc"] == pytest.approx(rows[0]["val_loss"] / np.log(2))


def test_memorisation_experiment_measures_at_each_checkpoint():
    rows = ch.memorisation_experiment(TEXT, SMALL, RECIPE, slice_chars=300,
                                      checkpoints=(10, 5), prompt_len=8, cont_len=8,
                                      num_prompts=8)
    assert [r["step"] for r in rows] == [5, 10]
    assert all(0 <= r[k] <= 1 for r in rows for k in ("train_exact", "heldout_char"))


def test_head_ablation_experiment_ablates_every_head():
    out = ch.head_ablation_experiment(TEXT, SMALL, RECIPE, steps=10)
    assert out["ablated"].shape == (1, 2) and out["offsets"].shape == (1, 2, 5)
    assert out["focus"] in [(0, 0), (0, 1)]
    n_val = len(tg.nanogpt_split(TEXT)[1])
    assert sum(n for n, _ in out["by_class"].values()) == ((n_val - 1) // 16) * 15
