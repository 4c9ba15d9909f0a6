"""Tests of book.cost: the saved-for-backward bytes and FLOP counts are exact, and grow as the
complexity table of chapter 4 says (attention ∝ T², an LSTM ∝ T)."""

from __future__ import annotations

import pytest
import torch

from book import cost


def test_count_adds_each_saved_storage_once():
    a = torch.randn(10, requires_grad=True)
    b = torch.randn(10, requires_grad=True)
    assert cost.count(lambda: a * b).saved_bytes == 2 * 10 * 4  # mul saves both factors
    assert cost.count(lambda: a * a).saved_bytes == 10 * 4  # one tensor saved twice: once
    assert cost.count(lambda: (a + b).exp()).saved_bytes == 10 * 4  # exp keeps its output only
    assert cost.count(lambda: a + b).saved_bytes == 0  # a sum needs nothing for its backward


def test_count_flops_of_a_matrix_product_forward_and_backward():
    x = torch.randn(3, 5, requires_grad=True)
    w = torch.randn(5, 7, requires_grad=True)
    # forward 2·3·5·7; backward: one product for each input's gradient, the same size each
    assert cost.count(lambda: x @ w).flops == 3 * (2 * 3 * 5 * 7)


@pytest.fixture(scope="module")
def rows():
    return cost.count_layers([16, 32, 64, 128], embed_dim=8, num_heads=2)


def test_attention_flops_follow_the_formula(rows):
    E = 8
    for r in rows:
        T = r["T"]
        # projections 8·T·E² and the two (T, T) products 4·T²·E, forward; backward twice that
        assert r["attention"].flops == 3 * (8 * T * E**2 + 4 * T**2 * E)


def second_difference(rows, name: str, i: int) -> int:
    """f(4T) − 3 f(2T) + 2 f(T) of the saved bytes: 6aT² for f = aT² + bT + c, 0 if f is linear."""
    f = [r[name].saved_bytes for r in rows[i:i + 3]]
    return f[2] - 3 * f[1] + 2 * f[0]


def test_lstm_and_fused_attention_keep_bytes_linear_in_T(rows):
    for small, big in zip(rows, rows[1:]):
        assert big["lstm"].flops / small["lstm"].flops == pytest.approx(2, rel=0.02)
    for i in range(len(rows) - 2):
        assert second_difference(rows, "lstm", i) == 0
        assert second_difference(rows, "attention_fused", i) == 0


def test_attention_keeps_one_float32_T_by_T_matrix_per_head(rows):
    nh = 2
    for i in range(len(rows) - 2):
        T = rows[i]["T"]
        assert second_difference(rows, "attention", i) == 6 * (4 * nh) * T**2


def test_time_layers_reports_every_layer():
    t = cost.time_layers([8], embed_dim=8, num_heads=2, repeats=1)
    assert set(t[0]) == {"T", "attention", "attention_fused", "lstm"}
    assert all(t[0][k] > 0 for k in ("attention", "attention_fused", "lstm"))
