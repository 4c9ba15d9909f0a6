"""book.datasize: nested, seeded training subsets; learning-curve rows; the published table."""

from __future__ import annotations

import pytest
import torch

from book import datasize, scaling
from book import textgen as tg

torch.set_num_threads(1)


def test_nested_subsets_are_nested_and_seeded():
    ids = torch.arange(100)
    a = datasize.nested_subsets(ids, [5, 20, 60], seed=0)
    assert [len(s) for s in a] == [5, 20, 60]
    assert torch.equal(a[1][:5], a[0]) and torch.equal(a[2][:20], a[1])
    steps = torch.diff(a[2]) % 100
    assert torch.all(steps == 1)  # contiguous, wrapping round once at most
    assert all(torch.equal(x, y) for x, y in zip(a, datasize.nested_subsets(ids, [5, 20, 60], 0)))
    b = datasize.nested_subsets(ids, [5], seed=1)[0]
    assert not torch.equal(a[0], b)
    assert torch.equal(datasize.nested_subsets(ids, [100], 3)[0].sort().values, ids)


def test_nested_subsets_bad_sizes():
    with pytest.raises(ValueError, match="outside"):
        datasize.nested_subsets(torch.arange(10), [5, 11])
    with pytest.raises(ValueError, match="at least one"):
        datasize.nested_subsets(torch.arange(10), [])


def _data() -> scaling.ScalingData:
    g = torch.Generator().manual_seed(0)
    train = torch.where(torch.rand(3000, generator=g) < 0.1, torch.randint(6, (3000,),
                        generator=g), torch.arange(3000) % 6)
    return scaling.ScalingData(train, torch.arange(300) % 6, 6)


def test_learning_curve_rows():
    model = dict(max_len=8, num_layers=1, num_heads=1, embed_dim=8, dropout=0.0, bias=False)
    train = dict(batch_size=4, lr=1e-2, min_lr=1e-3, warmup_iters=2, weight_decay=0.0,
                 beta2=0.99, grad_clip=1.0)
    rows = datasize.learning_curve(_data(), model=model, train=train, sizes=(50, 2000),
                                   steps=20, seeds=(0,), train_eval_tokens=64)
    assert [r["chars"] for r in rows] == [50, 2000]
    params = tg.GPT(tg.GPTConfig(vocab_size=6, **model)).num_params()
    for r in rows:
        assert set(r) == set(datasize.COLUMNS)
        assert r["params"] == params and r["tokens_seen"] == 20 * 4 * 8
        assert r["epochs"] == pytest.approx(r["tokens_seen"] / r["chars"])
        assert r["gap"] == pytest.approx(r["val_loss"] - r["train_loss"])
    with pytest.raises(ValueError, match="no training window"):
        datasize.learning_curve(_data(), model=model, train=train, sizes=(9,), steps=1,
                                seeds=(0,), train_eval_tokens=64)


def test_published_tokens_per_parameter():
    table = {r["model"]: r["tokens_per_param"] for r in datasize.published_table()}
    assert table["Chinchilla 70B"] == pytest.approx(20.0)
    assert table["GPT-3 175B"] == pytest.approx(300 / 175)
    assert datasize.chinchilla_tokens(1e9) == 2e10
    with pytest.raises(ValueError, match="positive"):
        datasize.chinchilla_tokens(0)


def test_csv_with_other_columns_round_trips(tmp_path):
    rows = [{"chars": 10, "seed": 0, "val_loss": 2.5, "model": "GPT"}]
    path = tmp_path / "x.csv"
    head = {"command": "c", "device": "d", "torch": "t", "date": "now"}
    scaling.write_csv(path, rows, head, columns=("chars", "seed", "val_loss", "model"))
    got_head, got = scaling.read_csv(path, columns=("chars", "val_loss"))
    assert got_head == head and got == [{"chars": 10, "val_loss": 2.5}]
    with pytest.raises(ValueError, match="lacks the column"):
        scaling.read_csv(path, columns=("tokens",))
