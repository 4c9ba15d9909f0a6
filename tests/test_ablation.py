"""Tests for book.ablation: the range test's suggestion rule on hand-built curves (divergence,
NaN, ties, the bias correction), its input checks, variants that change one knob each, paired
differences, the committed benchmark CSV, and tiny runs that repeat."""

from __future__ import annotations

import math
import os
import re
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from site_tools import ROOT, run_benchmark

from book import ablation as ab
from book.textgen import GPT, GPTConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MIRROR = Path(os.environ.get("LLM_BOOK_DATA") or "/work/shared/data")
LRS = [1e-4 * 2 ** i for i in range(8)]
TINY = dict(max_len=8, num_layers=1, num_heads=2, embed_dim=12)


def ids(n: int = 600, seed: int = 0) -> torch.Tensor:
    return torch.randint(11, (n,), generator=torch.Generator().manual_seed(seed))


def test_smooth_losses_is_the_bias_corrected_moving_average():
    assert ab.smooth_losses([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # corrected
    losses, beta = [3.0, 1.0, 2.0, 5.0], 0.5
    m, expected = 0.0, []
    for t, x in enumerate(losses, start=1):
        m = beta * m + (1 - beta) * x
        expected.append(m / (1 - beta ** t))
    assert ab.smooth_losses(losses, beta) == pytest.approx(expected)
    assert ab.smooth_losses(losses, 0.0) == losses


@pytest.mark.parametrize("losses, index, why", [
    ([5, 4, 3, 2, 3, 4, 4.5, 5], 3, "the lowest point"),
    ([5, 4, 1, 5, 0.5, 0.1, 0.1, 0.1], 2, "after 5 > 4 x 1 nothing counts, however low"),
    ([5, 4, 2, math.nan, 1, 1, 1, 1], 2, "a NaN stops the scan"),
    ([5, 4, 2, math.inf, 1, 1, 1, 1], 2, "so does an infinity"),
    ([5, 2, 3, 2, 6, 7, 8, 9], 1, "the first of two equal minima"),
    ([5, 4, 3, 2, 1, 0.9, 0.8, 0.7], 7, "no divergence: the last point"),
])
def test_suggest_lr_unsmoothed(losses, index, why):
    assert ab.suggest_lr(LRS, losses, beta=0.0) == pytest.approx(LRS[index] / 10), why


def test_suggest_lr_smooths_before_it_looks():
    # raw minimum at index 2 (a single lucky batch); smoothed, the plateau 4..6 is lower
    losses = [4.0, 3.0, 1.0, 2.6, 2.0, 1.6, 1.5, 9.0]
    smooth = ab.smooth_losses(losses, 0.9)
    best = min(range(7), key=lambda i: smooth[i])
    assert best != 2
    assert ab.suggest_lr(LRS, losses) == pytest.approx(LRS[best] / 10)
    assert isinstance(ab.suggest_lr(LRS, losses), float)
    # the divergence test reads the smoothed curve: one wild raw point does not stop it
    wild = [4.0, 3.0, 2.0, 30.0] + [0.5] * 16  # raw, 30 > 4 x 2 would stop the scan
    lrs = [1e-4 * 1.5 ** i for i in range(20)]
    smooth = ab.smooth_losses(wild)
    assert all(s <= 4 * min(smooth[:t]) for t, s in enumerate(smooth) if t)
    best = smooth.index(min(smooth))
    assert best > 3 and ab.suggest_lr(lrs, wild) == pytest.approx(lrs[best] / 10)


@pytest.mark.parametrize("lrs, losses, message", [
    ([1e-3, 1e-2], [1.0], "same length"),
    ([1e-3], [1.0], "at least 2"),
    ([1e-3, 1e-3], [1.0, 1.0], "strictly increasing"),
    ([1e-2, 1e-3], [1.0, 1.0], "strictly increasing"),
    ([0.0, 1e-3], [1.0, 1.0], "positive"),
    ([-1e-3, 1e-3], [1.0, 1.0], "positive"),
    ([1e-3, math.nan], [1.0, 1.0], "positive"),
    ([1e-3, 1e-2], [math.nan, 1.0], "smaller lr_min"),
])
def test_suggest_lr_rejects_bad_curves(lrs, losses, message):
    with pytest.raises(ValueError, match=message):
        ab.suggest_lr(lrs, losses)


def test_smooth_losses_rejects_bad_beta():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        ab.smooth_losses([1.0, 2.0], beta=1.0)


def test_geometric_lrs():
    lrs = ab.geometric_lrs(1e-5, 1.0, 6)
    assert lrs[0] == pytest.approx(1e-5) and lrs[-1] == pytest.approx(1.0)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert ratios == pytest.approx([10.0] * 5)
    with pytest.raises(ValueError, match="lr_min < lr_max"):
        ab.geometric_lrs(1.0, 1e-5, 6)


def test_every_variant_changes_exactly_one_knob():
    recipes = ab.variants()
    assert list(recipes) == list(ab.VARIANTS) and recipes["baseline"] == ab.BASELINE
    knobs = [f.name for f in fields(ab.Recipe)]
    changed = {name: [k for k in knobs if getattr(r, k) != getattr(ab.BASELINE, k)]
               for name, r in recipes.items()}
    assert changed.pop("baseline") == []
    assert all(len(c) == 1 for c in changed.values()), changed
    assert sorted({c[0] for c in changed.values()}) == sorted(knobs)  # every knob is turned
    assert recipes["lr x3"].lr == pytest.approx(3 * ab.BASELINE.lr)
    with pytest.raises(ValueError, match="unknown variants"):
        ab.variants(names=("baseline", "lion"))


def test_batch_variants_keep_the_tokens_and_scale_the_schedule():
    recipes = ab.variants()
    tokens, T = 300 * 16 * 64, 64
    base, half, double = (ab.train_config(recipes[n], tokens, T)
                          for n in ("baseline", "half batch", "double batch"))
    assert (half.max_iters, base.max_iters, double.max_iters) == (600, 300, 150)
    assert {c.max_iters * c.batch_size * T for c in (base, half, double)} == {tokens}
    assert (half.warmup_iters, base.warmup_iters, double.warmup_iters) == (60, 30, 15)
    assert base.min_lr == pytest.approx(base.lr / 10)
    assert ab.train_config(recipes["constant lr"], tokens, T).min_lr == base.lr
    assert ab.train_config(recipes["no warm-up"], tokens, T).warmup_iters == 0
    with pytest.raises(ValueError, match="multiple"):
        ab.train_config(ab.BASELINE, tokens + 1, T)


@pytest.mark.parametrize("change, message", [
    ({"decay": "linear"}, "cosine"), ({"init": "xavier"}, "pytorch"), ({"warmup": 1.5}, "[0, 1)"),
])
def test_recipe_rejects_unknown_settings(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ab.Recipe(**change)


def test_pytorch_init_replaces_the_gpt_init():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=11, max_len=8, num_layers=2, num_heads=2, embed_dim=32))
    assert gpt.tok_emb.weight.std().item() == pytest.approx(0.02, rel=0.2)
    ab.pytorch_init(gpt)
    assert gpt.head.weight is gpt.tok_emb.weight  # still tied
    bound = 1 / math.sqrt(32)  # the head's Linear comes last: uniform within 1/sqrt(fan_in)
    assert gpt.head.weight.abs().max().item() <= bound
    assert gpt.head.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.2)
    assert gpt.pos_emb.weight.std().item() == pytest.approx(1.0, rel=0.2)  # N(0, 1)


def test_paired_differences_follow_the_seed():
    rows = [{"variant": v, "seed": s, "val_loss": loss} for v, s, loss in [
        ("baseline", 0, 2.0), ("baseline", 1, 3.0), ("x", 1, 3.5), ("x", 0, 2.1)]]
    s = ab.summarize(rows, "baseline")
    assert s["x"]["delta_mean"] == pytest.approx(0.3)  # (0.1 + 0.5) / 2, paired by seed
    assert s["x"]["delta_std"] == pytest.approx(0.4 / math.sqrt(2))
    assert s["x"]["std"] == pytest.approx(1.4 / math.sqrt(2))  # unpaired: far larger
    assert s["baseline"]["delta_mean"] == 0.0 and s["x"]["params"] is None
    table = ab.format_table(s, "baseline", params=False, digits=2)
    assert "params" not in table and "+0.30 ± 0.28" in table
    one = ab.format_table(ab.summarize(rows[:1] + rows[3:], "baseline"), "baseline", False)
    assert "nan" not in one and one.count("± -") == 4  # one run: no spread to show


def test_a_tiny_ablation_repeats_and_pairs_its_runs():
    settings = {**ab.NOTEBOOK, "model": TINY, "steps": 4, "seeds": (0, 1), "val_tokens": 200,
                "variants": ("baseline", "half batch", "PyTorch init")}
    rows = ab.run_ablation(ids()[:500], ids()[500:], settings)
    assert [(r["variant"], r["seed"]) for r in rows] == [
        (v, s) for s in (0, 1) for v in settings["variants"]]
    assert [r["steps"] for r in rows[:3]] == [4, 8, 4]
    assert len({r["tokens"] for r in rows}) == 1
    assert all(set(r) == set(ab.COLUMNS) and math.isfinite(r["val_loss"]) for r in rows)
    again = ab.run_ablation(ids()[:500], ids()[500:], {**settings, "seeds": (1,)})
    assert [r["val_loss"] for r in again] == [r["val_loss"] for r in rows[3:]]
    assert rows[0]["val_loss"] != rows[3]["val_loss"]  # another seed, another run


def test_the_range_test_repeats_and_stops_when_the_loss_blows_up():
    a = ab.lr_range_test(TINY, ids(), seed=0, steps=12, lr_min=1e-4, lr_max=1e-2)
    b = ab.lr_range_test(TINY, ids(), seed=0, steps=12, lr_min=1e-4, lr_max=1e-2)
    assert a.losses == b.losses and len(a.lrs) == 12 and not a.stopped_early
    assert a.lrs == pytest.approx(ab.geometric_lrs(1e-4, 1e-2, 12))
    assert a.suggestion() == ab.suggest_lr(a.lrs, a.losses)
    wild = ab.lr_range_test(TINY, ids(), seed=0, steps=60, lr_min=1e-3, lr_max=1e4,
                            recipe=ab.Recipe(grad_clip=0.0))
    assert wild.stopped_early and len(wild.lrs) == len(wild.losses) < 60
    last = wild.losses[-1]
    assert not math.isfinite(last) or last > 4 * min(wild.losses[:-1])


def test_csv_round_trip(tmp_path):
    from book import scaling

    rows = ab.run_ablation(ids()[:500], ids()[500:], {
        **ab.NOTEBOOK, "model": TINY, "steps": 2, "val_tokens": 100,
        "variants": ("baseline", "dropout 0.1")})
    scaling.write_csv(tmp_path / "a.csv", rows, {"command": "c", "device": "d", "torch": "t",
                                                 "date": "x"}, ab.COLUMNS)
    header, back = ab.read_csv(tmp_path / "a.csv")
    assert header["command"] == "c" and len(back) == 2
    assert back[1]["dropout"] == 0.1 and back[1]["steps"] == 2 and back[1]["init"] == "gpt"
    assert back[0]["val_loss"] == pytest.approx(rows[0]["val_loss"], rel=1e-5)


def test_the_committed_sweep_has_every_variant_and_enough_seeds():
    results = ROOT / "benchmarks" / "results"
    header, rows = ab.read_csv(results / "training_ablation.csv")
    assert header["command"].startswith("python benchmarks/training_ablation.py")
    seeds = {r["seed"] for r in rows}
    assert len(seeds) >= 3
    assert sorted((r["variant"], r["seed"]) for r in rows) == sorted(
        (v, s) for v in ab.VARIANTS for s in seeds)
    assert len({r["tokens"] for r in rows}) == 1  # equal tokens for every run
    _, curves = ab.read_csv(results / "training_ablation_range.csv", ab.RANGE_COLUMNS)
    assert {c["seed"] for c in curves} == seeds


@pytest.mark.skipif(not (MIRROR / "tinyshakespeare" / "input.txt").is_file(),
                    reason=f"no local mirror of tinyshakespeare at {MIRROR}")
def test_benchmark_writes_its_csvs_and_last_line(tmp_path):
    out = run_benchmark("training_ablation", "--steps", "2", "--seeds", "0", "--variants",
                        "baseline", "lr x3", "--out", str(tmp_path / "a.csv"), "--range-out",
                        str(tmp_path / "r.csv"), mirror=MIRROR)
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"baseline \+0\.0000 lr_x3 [+-]\d\.\d{4}", last), last
    header, rows = ab.read_csv(tmp_path / "a.csv")
    assert [r["variant"] for r in rows] == ["baseline", "lr x3"] and "seeds" in header
    _, curve = ab.read_csv(tmp_path / "r.csv", ab.RANGE_COLUMNS)
    assert curve[0]["step"] == 0 and curve[0]["lr"] == pytest.approx(1e-5)
