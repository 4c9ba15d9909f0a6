"""book.timing: how often each side runs (no wall-clock assertions), and that each pair's NumPy
and torch steps work on the same weights and inputs."""

from __future__ import annotations

import pytest

from book import timing


def test_median_ms_warms_up_then_times_each_repeat():
    calls = []
    ms = timing.median_ms(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and ms >= 0


def test_compare_alternates_both_sides_in_three_rounds():
    order = []

    def pair():
        return (lambda: order.append("numpy")), (lambda: order.append("torch"))

    ours, theirs = timing.compare(pair, repeats=6)
    # three rounds of (3 warm-ups + 6 // 3 + 1 timed) calls, NumPy's before torch's
    assert order == (["numpy"] * 6 + ["torch"] * 6) * 3
    assert ours >= 0 and theirs >= 0


@pytest.mark.parametrize("make_pair, sizes", [(timing.lstm_pair, dict(T=3, B=2, H=4)),
                                              (timing.mha_pair, dict(B=2, T=3, E=4, heads=2))])
def test_the_pairs_run_forward_and_backward(make_pair, sizes):
    numpy_step, torch_step = make_pair(**sizes)
    assert numpy_step() is None and torch_step() is None


@pytest.mark.parametrize("layer, sizes", [("lstm", dict(T=3, B=2, H=4)),
                                          ("mha", dict(B=2, T=3, E=4, heads=2))])
def test_breakdown_times_the_step_its_products_and_its_python_in_turn(monkeypatch, layer, sizes):
    calls = []
    real = timing.median_ms
    monkeypatch.setattr(timing, "median_ms",
                        lambda step, steps: calls.append(step) or real(step, steps))
    ms = timing.breakdown(layer, rounds=2, steps=1, **sizes)
    assert set(ms) == {"step", "products", "python", "elementwise"}
    assert all(v >= 0 for v in ms.values())
    assert len(calls) == 6 and calls[:3] == calls[3:]  # the three parts, in turn, each round
    assert ms["elementwise"] == max(0.0, ms["step"] - ms["products"] - ms["python"])


def test_breakdown_measures_python_at_the_tiny_sizes(monkeypatch):
    made = []
    real = timing.lstm_pair
    monkeypatch.setitem(timing.LAYERS, "lstm", ((lambda **s: made.append(s) or real(**s)),
                                                timing.lstm_products, {"B": 1, "H": 1}))
    timing.breakdown("lstm", rounds=1, steps=1, T=5, B=2, H=3)
    assert made == [dict(T=5, B=2, H=3), dict(T=5, B=1, H=1)]  # the same T: the loop runs as often


def test_breakdown_names_the_layers_it_knows():
    with pytest.raises(ValueError, match="'lstm', 'mha'"):
        timing.breakdown("gru")
