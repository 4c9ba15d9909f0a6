"""Tests of book.debugging: each tool finds the bug planted for it, and passes the model without.

Activation statistics against hand-computed ones, hooks removed afterwards; the first NaN of a
forward pass (a planted log of negatives) and of a backward pass (sqrt under torch.where);
update ratios of known steps; causality of the GPT with and without its mask; verdicts on
synthetic loss curves; overfitting one batch with and without the tokens; gradient checks of a
right and a wrong backward (torch and NumPy); named shapes; reproducibility and determinism.
"""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from book import debugging as dbg
from book import np_nn
from book import textgen as tg
from book.torch_nn import Block, SelfAttention

TINY = tg.GPTConfig(vocab_size=11, max_len=8, num_layers=2, num_heads=2, embed_dim=16)


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def gpt() -> tg.GPT:
    torch.manual_seed(0)
    return tg.GPT(TINY)


@pytest.fixture
def idx() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(TINY.vocab_size, (3, TINY.max_len), generator=g)


def hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


# ---------------------------------------------------------------------------------------------
# ActivationStats


def test_activation_stats_match_hand_computed_ones():
    lin = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    model = nn.Sequential(lin, nn.ReLU())
    x = torch.tensor([[1.0, -3.0, 5.0], [4.0, 0.5, 0.0]])
    with dbg.ActivationStats(model) as acts:
        model(x)
    out0 = np.array([[1.0, -6.0], [4.0, 1.0]])  # x @ W.T
    out1 = np.maximum(out0, 0)
    for name, out in (("0", out0), ("1", out1)):
        s = acts.stats[name]
        assert s.shape == (2, 2)
        assert s.mean == pytest.approx(out.mean())
        assert s.std == pytest.approx(out.std(ddof=1))  # torch's std: Bessel's correction
        assert s.max_abs == pytest.approx(np.abs(out).max())
        assert s.nonfinite == 0.0


def test_activation_stats_count_nonfinite_and_take_max_over_finite_values():
    s = dbg.layer_stats("x", torch.tensor([1.0, -7.0, float("inf"), float("nan")]))
    assert s.nonfinite == 0.5 and s.max_abs == 7.0 and math.isnan(s.mean)
    assert dbg.layer_stats("y", torch.full((3,), float("nan"))).max_abs == 0.0


def test_activation_stats_hooks_are_removed_even_after_an_error(gpt, idx):
    assert hooks(gpt) == 0
    with pytest.raises(RuntimeError, match="planted"):
        with dbg.ActivationStats(gpt) as acts:
            assert hooks(gpt) == len(acts.modules) > 0
            raise RuntimeError("planted")
    assert hooks(gpt) == 0
    gpt(idx)
    assert acts.history == {}  # no hook left to record the call after the block


def test_activation_stats_choose_modules_by_class_or_name(gpt, idx):
    with dbg.ActivationStats(gpt, Block) as acts:
        gpt(idx)
        gpt(idx)
    assert list(acts.stats) == ["blocks.0", "blocks.1"]
    assert len(acts.history["blocks.0"]) == 2  # one record per call
    with dbg.ActivationStats(gpt, ["ln_f", "head"]) as acts:
        gpt(idx)
    assert list(acts.stats) == ["ln_f", "head"] and acts.stats["head"].shape == (3, 8, 11)
    table = acts.table().splitlines()
    assert table[0].split() == ["layer", "shape", "mean", "std", "max", "|x|", "NaN/inf"]
    assert table[1].split()[:3] == ["ln_f", "3x8x16", "0"]  # LayerNorm's mean: round-off -> 0
    with pytest.raises(KeyError, match="no module named"):
        dbg.ActivationStats(gpt, ["blocks.7"])
    with pytest.raises(ValueError, match="picks no module"):
        dbg.ActivationStats(gpt, nn.LSTM)


def test_activation_stats_plot_one_point_per_layer(gpt, idx):
    import matplotlib

    matplotlib.use("Agg")
    with dbg.ActivationStats(gpt, Block) as acts:
        gpt(idx)
    ax = acts.plot("std")
    assert list(ax.get_lines()[0].get_ydata()) == [s.std for s in acts.stats.values()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["blocks.0", "blocks.1"]
    with pytest.raises(ValueError, match="stat must be"):
        acts.plot("var")


def test_default_is_every_leaf_module(gpt, idx):
    with dbg.ActivationStats(gpt) as acts:
        gpt(idx)
    leaves = [n for n, m in gpt.named_modules() if n and not list(m.children())]
    assert list(acts.stats) == leaves  # the order they ran in is the order they are declared
    assert "blocks.0.attn" not in acts.stats and "blocks.0.attn.in_proj" in acts.stats


def test_a_bad_init_shows_in_the_blocks_std(gpt, idx):
    bad = copy.deepcopy(gpt)
    nn.init.normal_(bad.blocks[0].mlp[2].weight, std=1.0)  # planted: std 1, not 0.02 / 2
    stds = []
    for model in (gpt, bad):
        with dbg.ActivationStats(model, Block) as acts:
            model(idx)
        stds.append(acts.stats["blocks.0"].std)
    assert stds[1] > 10 * stds[0]


# ---------------------------------------------------------------------------------------------
# NaN and inf


class Log(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x)  # planted: half of the inputs are negative


def test_first_nonfinite_finds_the_planted_log(gpt, idx):
    assert dbg.first_nonfinite(gpt, idx) is None
    bad = copy.deepcopy(gpt)
    bad.blocks[1].mlp[1] = Log()
    found = dbg.first_nonfinite(bad, idx)
    assert (found.module, found.kind, found.seen_at) == ("blocks.1.mlp.1", "Log",
                                                         "output of blocks.1.mlp.1")
    assert found.nan > 0 and found.size == 3 * 8 * 64
    assert str(found).startswith("blocks.1.mlp.1 (Log) made the first non-finite values")
    assert hooks(bad) == 0


def test_first_nonfinite_blames_the_code_between_submodules():
    class LogInside(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner, self.out = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(torch.log(self.inner(x)))  # planted: the log is no module

    model = nn.Sequential(nn.Identity(), LogInside())
    found = dbg.first_nonfinite(model, torch.randn(5, 4, generator=torch.Generator()
                                                   .manual_seed(0)))
    assert (found.module, found.kind, found.seen_at) == ("1", "LogInside", "input of 1.out")
    assert "so its own code did it" in str(found)


def test_first_nonfinite_refuses_inputs_that_are_already_bad(gpt):
    with pytest.raises(ValueError, match="upstream of the model"):
        dbg.first_nonfinite(nn.Linear(2, 2), torch.tensor([[1.0, float("nan")]]))


class SqrtReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # planted: finite forward, but sqrt(negative) = NaN makes 0 / NaN in the backward
        return torch.where(x > 0, torch.sqrt(x), torch.zeros_like(x))


def test_anomaly_report_names_the_backward_op_without_paths(gpt, idx):
    bad = copy.deepcopy(gpt)
    bad.blocks[0].mlp[1] = SqrtReLU()
    assert dbg.first_nonfinite(bad, idx, idx) is None  # the forward pass is clean

    def step() -> None:
        _, loss = bad(idx, idx)
        loss.backward()

    report = dbg.anomaly_report(step)
    lines = report.splitlines()
    assert lines[0] == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert "book/torch_nn.py, _feed_forward: return x + self.mlp(self.ln2(x))" in report
    assert lines[-1].endswith("torch.where(x > 0, torch.sqrt(x), torch.zeros_like(x))")
    assert not re.search(r'File "|line \d|0x[0-9a-f]|/tmp/|/work/|site-packages', report)


def test_anomaly_report_is_none_for_finite_gradients_and_passes_other_errors(gpt, idx):
    def step() -> None:
        gpt(idx, idx)[1].backward()

    assert dbg.anomaly_report(step) is None
    with pytest.raises(RuntimeError, match="not a NaN"):
        dbg.anomaly_report(lambda: (_ for _ in ()).throw(RuntimeError("not a NaN")))


# ---------------------------------------------------------------------------------------------
# Update ratios


def test_update_ratios_of_known_tensors():
    before = {"w": torch.ones(4, dtype=torch.float64), "zero": torch.zeros(2)}
    after = {"w": torch.tensor([1.002, 1.0, 1.0, 1.0], dtype=torch.float64),
             "zero": torch.ones(2)}
    ratios = dbg.update_ratios(before, after)
    assert ratios["w"] == pytest.approx(0.002 / 2, rel=1e-9)  # ||Δw|| = 0.002, ||w|| = 2
    assert math.isnan(ratios["zero"])
    with pytest.raises(KeyError, match="same tensors"):
        dbg.update_ratios(before, {"w": torch.ones(4)})


def test_track_update_ratios_measures_each_sgd_step():
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    x = torch.randn(5, 3)
    expected = []

    def step() -> None:
        opt.zero_grad()
        lin(x).pow(2).sum().backward()
        expected.append((0.1 * lin.weight.grad.norm() / lin.weight.norm()).item())
        opt.step()

    history = dbg.track_update_ratios(lin, step, 3)
    assert set(history) == {"weight", "bias"}
    assert history["weight"] == pytest.approx(expected, rel=1e-5)
    assert "tok_emb.weight" in dbg.snapshot(tg.GPT(TINY))
    assert "head.weight" not in dbg.snapshot(tg.GPT(TINY))  # tied: listed once
    with pytest.raises(ValueError, match="at least 1"):
        dbg.track_update_ratios(lin, step, 0)


def test_a_tiny_learning_rate_shows_in_the_update_ratios(gpt, idx):
    medians = []
    for lr in (4e-3, 4e-6):
        model = copy.deepcopy(gpt)
        opt = tg.make_optimizer(model, tg.TrainConfig(lr=lr))
        history = dbg.track_update_ratios(
            model, lambda m=model, o=opt, r=lr: tg.train_step(m, o, idx, idx, r, 1.0), 3)
        medians.append(np.median(history["blocks.0.mlp.0.weight"]))
    assert medians[0] > 100 * medians[1]


def test_plot_update_ratios_draws_one_line_per_matrix_and_the_guide():
    import matplotlib

    matplotlib.use("Agg")
    history = {"a.weight": [1e-3, 2e-3], "a.bias": [1e-2, 1e-2]}
    ax = dbg.plot_update_ratios(history, only_matrices={"a.weight": 2, "a.bias": 1})
    assert [line.get_label() for line in ax.get_lines()] == ["a.weight", "0.001"]
    assert ax.get_yscale() == "log"


# ---------------------------------------------------------------------------------------------
# Causality


def test_the_gpt_does_not_leak_the_future_and_without_its_mask_it_does(gpt, idx):
    assert dbg.future_leakage(gpt, idx) == 0.0
    assert not dbg.leaks_future(gpt, idx)
    leaky = copy.deepcopy(gpt)
    for block in leaky.blocks:
        block.attn.causal = False  # planted: the mask is gone
    assert dbg.leaks_future(leaky, idx)
    assert dbg.leaks_future(leaky, idx, t=0)  # the first position already sees the rest
    assert gpt.training and leaky.training  # put back in training mode


class SplitHeadsWithoutTranspose(SelfAttention):
    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        B, T, E = t.shape
        return t.reshape(B, self.num_heads, T, E // self.num_heads)  # planted: no transpose


def test_a_reshape_that_mixes_positions_leaks_the_future(gpt, idx):
    bad = copy.deepcopy(gpt)
    for block in bad.blocks:
        block.attn.__class__ = SplitHeadsWithoutTranspose
    assert bad(idx)[0].shape == gpt(idx)[0].shape  # the shapes cannot tell
    assert dbg.leaks_future(bad, idx)


def test_leakage_of_a_block_on_features():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8)
    assert not dbg.leaks_future(Block(8, 2, causal=True), x)
    assert dbg.leaks_future(Block(8, 2, causal=False), x)


def test_future_leakage_errors(gpt, idx):
    with pytest.raises(ValueError, match="T >= 2"):
        dbg.future_leakage(gpt, idx[:, :1])
    with pytest.raises(ValueError, match="0 <= t <= 6"):
        dbg.future_leakage(gpt, idx, t=7)
    with pytest.raises(ValueError, match="vocab_size="):
        dbg.future_leakage(nn.Embedding(11, 4), idx)


# ---------------------------------------------------------------------------------------------
# Loss curves

STEPS = np.arange(300)
NOISE = np.random.default_rng(0).normal(size=300)


@pytest.mark.parametrize("curve, verdict", [
    (2.3 + 1.9 * np.exp(-STEPS / 40) + 0.04 * NOISE, "ok"),                  # a good run
    (4.2 - 0.0003 * STEPS + 0.01 * NOISE, "too slow"),                        # lr too small
    (np.full(300, 4.2), "too slow"),                                           # nothing learns
    (np.r_[4.2 - 0.01 * STEPS[:150], [math.nan] * 150], "diverged"),            # NaN
    (4.2 * np.exp(STEPS / 100), "diverged"),                                    # climbs
    (4.2 + 0.001 * STEPS + 0.01 * NOISE, "diverged"),                          # 7% up and on
    (4.2 + 0.0005 * STEPS + 0.01 * NOISE, "too slow"),                         # 3.5% up: noise
    (np.where(STEPS % 2 == 0, 1.0, 2.5) + 1.7 * np.exp(-STEPS / 40), "oscillating"),  # zigzag
    (np.r_[4.2 - 0.01 * STEPS[:10], 9.0 * np.ones(40), 3.0 + 0.05 * NOISE[:250]],
     "oscillating"),                                                            # blow-up, back
    (np.r_[4.2, 3.3 + 0.5 * NOISE[1:]], "oscillating"),                        # noise, no trend
    (2.5 + 1.7 * np.exp(-STEPS / 40) + 0.8 * np.abs(np.sin(STEPS / 25)), "oscillating"),  # waves
])
def test_diagnose_loss_curve(curve, verdict):
    assert dbg.diagnose_loss_curve(curve) == verdict
    assert verdict in dbg.VERDICTS


def test_diagnose_loss_curve_needs_enough_losses():
    with pytest.raises(ValueError, match="at least 20"):
        dbg.diagnose_loss_curve([3.0] * 19)


# ---------------------------------------------------------------------------------------------
# Data bugs


def one_batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    chunk = torch.randint(TINY.vocab_size, (4, TINY.max_len + 1), generator=g)
    chunk[:, 0] = torch.arange(4)  # rows that start alike would be a floor no model can pass
    return chunk[:, :-1], chunk[:, 1:]


class NoTokens(tg.GPT):
    """Planted: the forward pass forgets the token embedding, so it sees positions only."""

    def forward(self, idx, targets=None):
        h = self.pos_emb(torch.arange(idx.shape[1]))[None].expand(idx.shape[0], -1, -1)
        for block in self.blocks:
            h = block(h)
        logits = self.head(self.ln_f(h))
        return logits, tg.lm_loss(logits, targets)


def test_overfit_one_batch_goes_near_zero_and_not_when_the_tokens_are_unseen(gpt):
    batch = one_batch()
    losses = dbg.overfit_one_batch(copy.deepcopy(gpt), batch, steps=100, lr=1e-2)
    assert len(losses) == 100 and losses[0] > 2.0 and losses[-1] < 0.05
    blind = NoTokens(TINY)
    blind.load_state_dict(gpt.state_dict())
    assert dbg.overfit_one_batch(blind, batch, steps=100, lr=1e-2)[-1] > 0.5
    class NotALanguageModel(nn.Bilinear):
        def forward(self, x, y):
            return super().forward(x, y), super().forward(x, y)  # the "loss" is not 0-dim

    with pytest.raises(TypeError, match="0-dim tensor"):
        dbg.overfit_one_batch(NotALanguageModel(2, 2, 2), (torch.ones(3, 2), torch.ones(3, 2)))


class Chars:
    """A tokenizer of letters: id i is chr(97 + i), 26 is a space, 27 a newline."""

    def decode(self, ids):
        return "".join(" " if i == 26 else "\n" if i == 27 else chr(97 + i) for i in ids)


def test_decode_batch_shows_targets_one_token_to_the_left():
    ids = torch.tensor([[7, 4, 11, 11, 14, 26, 24, 14, 20, 27]])  # "hello you\n"
    x, y = ids[:, :-1], ids[:, 1:]
    assert dbg.decode_batch(x, y, Chars()) == "row 0\n  x: hello·you\n  y: ello·you⏎"
    assert dbg.targets_are_shifted(x, y)
    assert not dbg.targets_are_shifted(x, x)  # planted: the targets were not shifted
    assert dbg.decode_batch(x, y, Chars(), max_tokens=4) == "row 0\n  x: hell …\n  y: ello …"
    with pytest.raises(ValueError, match="both be"):
        dbg.decode_batch(x, y[:, :3], Chars())


def test_decode_batch_aligns_tokens_of_several_characters():
    bpe = tg.BPETokenizer(list("abc "), merges=[(0, 1)])  # id 4 = "ab"
    x, y = torch.tensor([[4, 2, 3]]), torch.tensor([[2, 3, 4]])
    assert dbg.decode_batch(x, y, bpe) == "row 0\n  x: ab|c|· \n  y: c |·|ab"


# ---------------------------------------------------------------------------------------------
# Gradient checks


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x  # planted: x where the derivative has x²


def test_gradient_check_passes_a_right_function_and_fails_a_wrong_one():
    x = torch.randn(6, generator=torch.Generator().manual_seed(0))
    right, wrong = dbg.gradient_check(Cube.apply, x), dbg.gradient_check(WrongCube.apply, x)
    assert right.ok and right.torch_ok and right.finite_diff_ok and right.worst_rel_error < 1e-8
    assert not wrong.ok and wrong.torch_ok is False and not wrong.finite_diff_ok
    assert wrong.worst_rel_error > 0.1
    assert str(right) == ("torch.autograd.gradcheck passes; finite differences pass: worst "
                          "relative error < 1e-06 (input 0)")
    assert str(wrong).startswith("torch.autograd.gradcheck FAILS; finite differences FAIL")


def test_gradient_check_of_a_module_checks_its_parameters():
    class WrongBias(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y, b):
            return y + b

        @staticmethod
        def backward(ctx, grad):
            return grad, -grad.sum(0)  # planted: the sign of the bias's gradient

    class Affine(nn.Linear):
        def forward(self, x):
            return WrongBias.apply(x @ self.weight.T, self.bias)

    torch.manual_seed(0)
    x = torch.randn(2, 3)
    assert dbg.gradient_check(nn.Linear(3, 2), x).ok
    wrong = dbg.gradient_check(Affine(3, 2), x)
    assert not wrong.ok and wrong.worst == "bias"
    assert dbg.gradient_check(Affine(3, 2), x, params=False).ok  # the inputs' gradient is right
    with pytest.raises(TypeError, match="floating-point"):
        dbg.gradient_check(nn.Embedding(4, 2), torch.tensor([1, 2]))


class SignSlipLinear(np_nn.Linear):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["weight"] = -self.grads["weight"]  # planted: a sign error
        return dx


def test_gradient_check_of_numpy_layers():
    x = np.random.default_rng(0).normal(size=(2, 4))
    right = dbg.gradient_check(np_nn.Linear(4, 3), x)
    assert right.ok and right.torch_ok is None
    assert str(right) == "finite differences pass: worst relative error < 1e-06 (input)"
    wrong = dbg.gradient_check(SignSlipLinear(4, 3), x)
    assert not wrong.ok and wrong.worst == "weight" and wrong.worst_rel_error == pytest.approx(2)
    with pytest.raises(TypeError, match="build the layer in float64"):
        dbg.gradient_check(np_nn.Linear(4, 3, dtype=np.float32), x)


# ---------------------------------------------------------------------------------------------
# Shapes


def test_check_shapes_binds_letters_and_reads_well():
    assert dbg.check_shapes(torch.zeros(4, 8, 16), "B T E") == {"B": 4, "T": 8, "E": 16}
    dims = dbg.check_shapes(torch.zeros(4, 8, 16), "B T E", E=16)
    assert dbg.check_shapes(torch.zeros(4, 2, 8, 8), "B nh T T", **dims)["nh"] == 2
    assert dbg.check_shapes(np.zeros((4, 3, 7)), "B 3 _") == {"B": 4}
    with pytest.raises(dbg.ShapeError) as err:
        dbg.check_shapes(torch.zeros(4, 8, 16, 2), "B T E", B=4)
    assert str(err.value) == ("expected x to be (B, T, E) with B=4; got (4, 8, 16, 2): "
                              "4 dimensions, not 3")
    with pytest.raises(dbg.ShapeError) as err:
        dbg.check_shapes(torch.zeros(4, 2, 8, 7), "B nh T T", name="att")
    assert str(err.value) == ("expected att to be (B, nh, T, T); got (4, 2, 8, 7): dimension 3 "
                              "(T) is 7, but T = 8 (dimension 2)")
    with pytest.raises(dbg.ShapeError, match=r"dimension 1 \(3\) is 4, but 3 = 3"):
        dbg.check_shapes(torch.zeros(2, 4), "B 3")
    with pytest.raises(ValueError, match="names no dimension"):
        dbg.check_shapes(torch.zeros(2), " ")


def test_check_shapes_catches_a_silent_broadcast():
    pred, target = torch.zeros(8, 1), torch.zeros(8)
    assert ((pred - target) ** 2).shape == (8, 8)  # planted: (B, 1) - (B,) broadcasts to (B, B)
    with pytest.raises(dbg.ShapeError, match=r"expected pred to be \(B\) with B=8; got \(8, 1\)"):
        dbg.check_shapes(pred, "B", name="pred", B=len(target))


# ---------------------------------------------------------------------------------------------
# Reproducibility


def gpt_step(rng_of_its_own: bool = False) -> dict[str, torch.Tensor]:
    """Build a GPT, take one AdamW step on a batch, return the weights."""
    model = tg.GPT(TINY)
    opt = tg.make_optimizer(model, tg.TrainConfig())
    if rng_of_its_own:  # planted: a generator that no seed reaches
        data = torch.from_numpy(np.random.default_rng().integers(0, TINY.vocab_size, 100))
    else:
        data = torch.randint(TINY.vocab_size, (100,))
    x, y = tg.get_batch(data, 4, TINY.max_len)
    tg.train_step(model, opt, x, y, 1e-3, 1.0)
    return model.state_dict()


def test_reproducible_for_a_seeded_gpt_step_and_not_with_an_unseeded_generator():
    assert dbg.reproducible(gpt_step, seed=3)
    assert not dbg.reproducible(lambda: gpt_step(rng_of_its_own=True), seed=3)
    with pytest.raises(ValueError, match="at least 2"):
        dbg.reproducible(gpt_step, runs=1)


def test_bitwise_equal():
    nan = float("nan")
    assert dbg.bitwise_equal({"a": [torch.tensor([nan, 1.0])], "b": 2.5},
                             {"a": [torch.tensor([nan, 1.0])], "b": 2.5})
    assert not dbg.bitwise_equal(torch.tensor([0.0]), torch.tensor([-0.0]))  # equal, not same
    assert not dbg.bitwise_equal(torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    assert not dbg.bitwise_equal(np.zeros(2), np.zeros(3))
    assert not dbg.bitwise_equal([1, 2], (1, 2))
    assert dbg.bitwise_equal(nan, nan) and not dbg.bitwise_equal(0.1 + 0.2, 0.3)


def test_deterministic_raises_on_a_nondeterministic_op_and_restores_the_setting():
    assert not torch.are_deterministic_algorithms_enabled()

    def put() -> torch.Tensor:  # two values written to one place: which one wins?
        return torch.zeros(3).put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))

    put()
    with pytest.raises(RuntimeError, match="put_ does not have a deterministic"):
        with dbg.deterministic():
            assert torch.empty(4).isnan().all()  # new memory is filled with NaN
            put()
    assert not torch.are_deterministic_algorithms_enabled()
    with pytest.warns(UserWarning, match="put_ does not have a deterministic"):
        with dbg.deterministic(warn_only=True):
            put()
            with dbg.deterministic():  # nested: the outer setting comes back
                assert not torch.is_deterministic_algorithms_warn_only_enabled()
            assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert not torch.are_deterministic_algorithms_enabled()


def test_a_fast_smooth_fall_is_ok_even_on_a_short_curve():
    """The first loss of a fast fall sits well above the median of the first three; it is the
    start of the fall, not a blow-up (20 steps: the first window is two losses)."""
    from book.debugging import diagnose_loss_curve

    for tau in (3, 5, 8):
        assert diagnose_loss_curve([1 + 2 * np.exp(-t / tau) for t in range(20)]) == "ok", tau
