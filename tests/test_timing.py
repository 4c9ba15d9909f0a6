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
