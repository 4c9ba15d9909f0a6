"""Tests for book.scaling: the fits on synthetic data with known answers, the CSV round trip and
its errors, and a minuscule live sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from book import scaling as sc
from book.scale import param_count

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_fit_power_law_recovers_known_parameters():
    N = np.geomspace(3e3, 1e6, 8)
    L = 1.2 + 30.0 * N ** -0.35
    fit = sc.fit_power_law(N, L)
    assert fit.E == pytest.approx(1.2, rel=1e-3)
    assert fit.A == pytest.approx(30.0, rel=1e-2)
    assert fit.alpha == pytest.approx(0.35, rel=1e-3)
    assert np.abs(fit.residuals).max() < 1e-6
    assert fit(1e4) == pytest.approx(1.2 + 30.0 * 1e4 ** -0.35, rel=1e-6)


def test_fit_power_law_with_noise_stays_close():
    rng = np.random.default_rng(0)
    N = np.geomspace(1e3, 1e7, 12)
    L = 1.5 + 8.0 * N ** -0.3 + rng.normal(0, 0.002, len(N))
    fit = sc.fit_power_law(N, L)
    assert fit.alpha == pytest.approx(0.3, abs=0.05)
    assert fit.E == pytest.approx(1.5, abs=0.05)
    assert len(fit.residuals) == 12 and np.abs(fit.residuals).max() < 0.01


@pytest.mark.parametrize("N, L, message", [
    ([1e3, 1e4], [2.0, 1.8], "at least 3 points"),
    ([0, 1e3, 1e4], [2.5, 2.0, 1.8], "positive"),
    ([-1e3, 1e3, 1e4], [2.5, 2.0, 1.8], "positive"),
    ([1e3, 1e4, 1e5], [2.0, 1.8], "one L per N"),
    ([1e3, 1e4, 1e5], [2.0, float("nan"), 1.7], "finite"),
])
def test_fit_power_law_rejects_bad_input(N, L, message):
    with pytest.raises(ValueError, match=message):
        sc.fit_power_law(N, L)


def test_fit_parabola_finds_the_minimum():
    N = np.geomspace(1e3, 1e6, 6)
    x_opt = math.log(3e4)
    L = 1.7 + 0.05 * (np.log(N) - x_opt) ** 2
    p = sc.fit_parabola(N, L)
    assert p.N_opt == pytest.approx(3e4, rel=1e-6)
    assert p.loss_opt == pytest.approx(1.7, abs=1e-9)
    assert p.inside


def test_fit_parabola_flags_extrapolation_and_rejects_no_minimum():
    N = np.geomspace(1e3, 1e4, 4)
    assert not sc.fit_parabola(N, 2 + 0.1 * (np.log(N) - math.log(1e5)) ** 2).inside
    with pytest.raises(ValueError, match="no minimum"):
        sc.fit_parabola(N, 2 - 0.1 * (np.log(N) - math.log(3e3)) ** 2)


def test_fit_isoflop_recovers_the_exponents():
    # synthetic IsoFLOP curves whose minimum sits at N* = k C^0.6, with D = C / (6 N)
    rows, budgets = [], [1e11, 1e12, 1e13]
    for C in budgets:
        n_star = 0.05 * C ** 0.6
        for N in n_star * np.geomspace(0.1, 10, 5):
            D = C / (6 * N)
            rows.append({"sweep": "isoflop", "N": N, "tokens": D, "flops": 6 * N * D,
                         "val_loss": 1.5 + 0.04 * (math.log(N / n_star)) ** 2})
    rows.append({"sweep": "size", "N": 1.0, "tokens": 1.0, "flops": 1e12, "val_loss": 9.0})
    fit = sc.fit_isoflop(rows)
    assert fit.a == pytest.approx(0.6, abs=1e-6)
    assert fit.b == pytest.approx(0.4, abs=1e-6)
    assert fit.budgets == pytest.approx(budgets, rel=1e-9)
    np.testing.assert_allclose(fit.tokens_per_param,
                               [C / (6 * (0.05 * C ** 0.6) ** 2) for C in budgets], rtol=1e-6)
    assert fit.inside.all()


def test_fit_isoflop_needs_two_budgets():
    rows = [{"sweep": "isoflop", "N": N, "tokens": 1e9 / N, "flops": 6e9, "val_loss": 2.0}
            for N in (1e3, 1e4, 1e5)]
    with pytest.raises(ValueError, match="at least 2 budgets"):
        sc.fit_isoflop(rows)


def test_isoflop_plan_spends_each_budget():
    plan = sc.isoflop_plan({1e11: sc.SIZES[:3], 1e12: sc.SIZES[1:4]}, vocab_size=65)
    assert len(plan) == 6
    for C, size, steps in plan:
        fpt = sc.model_cost(size, 65, 64)["flops_per_token"]
        assert steps * 16 * 64 * fpt == pytest.approx(C, rel=0.05)
    assert [s.name for C, s, _ in plan if C == 1e12] == [s.name for s in sc.SIZES[1:4]]
    for C, family in sc.ISOFLOP_GRID.items():  # the benchmark's grid: >= 4 sizes per budget
        assert len(family) >= 4


def test_model_cost_uses_book_scale_counts():
    size = sc.SIZES[2]
    cost = sc.model_cost(size, 65, 64)
    p = param_count(size.config(65, 64))
    assert cost["N"] == p["non_embedding"] and cost["N_total"] == p["total"]
    assert cost["N"] < cost["N_total"]
    # about 6 N per token, more for the head and attention
    assert 6 * cost["N"] < cost["flops_per_token"] < 12 * cost["N"]
    Ns = [sc.model_cost(s, 65, 64)["N"] for s in sc.SIZES]
    assert Ns == sorted(Ns) and Ns[-1] / Ns[0] > 30


def _row(i: int) -> dict:
    return {"sweep": "size", "size": f"E{16 * (i + 1)}-L1", "embed_dim": 16 * (i + 1),
            "layers": 1, "heads": i + 1, "N": 1000 * (i + 1), "N_total": 2000 * (i + 1),
            "tokens": 10240, "flops": 1.2345e9 * (i + 1), "steps": 10,
            "val_loss": 2.5 - 0.1 * i, "train_loss": 2.4 - 0.1 * i, "seconds": 0.5}


HEADER = {"command": "python benchmarks/scaling.py", "device": "cpu", "torch": "2.x",
          "date": "2026-12-06"}


def test_csv_round_trip(tmp_path):
    rows = [_row(i) for i in range(3)]
    path = tmp_path / "scaling.csv"
    sc.write_csv(path, rows, HEADER)
    header, back = sc.read_csv(path)
    assert header == HEADER
    assert [r["N"] for r in back] == [1000, 2000, 3000]
    assert back[0].keys() == set(sc.COLUMNS)
    for r, b in zip(rows, back):
        for k in sc.COLUMNS:
            assert b[k] == (pytest.approx(r[k], rel=1e-5) if isinstance(r[k], float) else r[k])


def test_csv_without_header_or_column_is_a_clear_error(tmp_path):
    rows = [_row(i) for i in range(2)]
    path = tmp_path / "scaling.csv"
    sc.write_csv(path, rows, {k: v for k, v in HEADER.items() if k != "device"})
    with pytest.raises(ValueError, match="# device"):
        sc.read_csv(path)
    sc.write_csv(path, rows, HEADER)
    text = path.read_text().replace(",val_loss,", ",vloss,")
    path.write_text(text)
    with pytest.raises(ValueError, match="lacks the column.*val_loss"):
        sc.read_csv(path)
    path.write_text("\n".join(line for line in text.splitlines() if not line.startswith("#")))
    with pytest.raises(ValueError, match="header"):
        sc.read_csv(path)


def _toy_data() -> sc.ScalingData:
    """Random token ids in place of Tiny Shakespeare: no data files, the same code path."""
    g = torch.Generator().manual_seed(0)
    return sc.ScalingData(torch.randint(0, 65, (4000,), generator=g),
                          torch.randint(0, 65, (300,), generator=g), 65)


def test_live_sweep_on_a_minuscule_configuration():
    family = sc.sizes([(16, 1), (32, 1), (32, 2)])
    rows = sc.live_sweep(family, steps=3, data=_toy_data(),
                         settings={"batch_size": 2, "max_len": 16})
    assert [r["size"] for r in rows] == ["E16-L1", "E32-L1", "E32-L2"]
    Ns = [r["N"] for r in rows]
    assert Ns == sorted(Ns) and len(set(Ns)) == 3
    for r in rows:
        assert set(r) == set(sc.COLUMNS) and r["sweep"] == "live"
        assert r["steps"] == 3 and r["tokens"] == 3 * 2 * 16
        assert math.isfinite(r["val_loss"]) and math.isfinite(r["train_loss"])
        # untrained on uniform random ids: close to ln 65
        assert abs(r["val_loss"] - math.log(65)) < 0.5


def test_train_size_is_repeatable_and_checks_its_arguments():
    data, size = _toy_data(), sc.SIZES[0]
    kw = dict(steps=2, settings={"batch_size": 2, "max_len": 16})
    first, again = sc.train_size(size, data, **kw), sc.train_size(size, data, **kw)
    assert first["val_loss"] == again["val_loss"] and first["train_loss"] == again["train_loss"]
    with pytest.raises(ValueError, match="exactly one"):
        sc.train_size(size, data, settings={"max_len": 16})
    with pytest.raises(ValueError, match="unknown settings"):
        sc.train_size(size, data, steps=1, settings={"lrate": 1.0})
    with pytest.raises(ValueError, match="multiple of head_dim"):
        sc.sizes([(50, 1)])  # 3 heads do not divide 50
    assert [s.num_heads for s in sc.sizes([(8, 1), (48, 2)])] == [1, 3]
    assert sc.peak_lr(sc.sizes([(64, 1)])[0]) == pytest.approx(sc.TRAIN_SETTINGS["lr"])
    assert sc.peak_lr(sc.sizes([(8, 1)])[0]) == sc.TRAIN_SETTINGS["max_lr"]


def test_plot_sweep_has_title_labels_and_log_axes():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    rows = [_row(i) for i in range(3)]
    fit = sc.fit_power_law([r["N"] for r in rows], [r["val_loss"] for r in rows])
    ax = sc.plot_sweep(rows, fit)
    assert ax.get_title() and "N" in ax.get_xlabel() and "loss" in ax.get_ylabel()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.lines) == 2  # the points and the fitted law
    matplotlib.pyplot.close(ax.figure)


def test_the_committed_sweep_has_the_promised_shape():
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "results" / "scaling.csv"
    header, rows = sc.read_csv(path)
    assert header["command"].startswith("python benchmarks/scaling.py")
    size = [r for r in rows if r["sweep"] == "size"]
    assert len(size) >= 5 and max(r["N"] for r in size) / min(r["N"] for r in size) >= 30
    assert len({r["tokens"] for r in size}) == 1  # one token budget for every size
    iso = sc.fit_isoflop(rows)
    assert len(iso.budgets) >= 3 and all(len(p.coeffs) == 3 for p in iso.parabolas)
    assert sum(r["sweep"] == "isoflop" for r in rows) >= 4 * len(iso.budgets)
    fit = sc.fit_power_law([r["N"] for r in size], [r["val_loss"] for r in size])
    assert 0 < fit.alpha and 0 <= fit.E < min(r["val_loss"] for r in size)
