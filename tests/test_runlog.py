"""Tests of book.runlog: what is written to TensorBoard event files reads back the same; logging
a training run leaves its results bit for bit as they were; plots and smoothing."""

from __future__ import annotations

import math

import pytest
import torch

from book import env, runlog
from book import textgen as tg
from book.debugging import bitwise_equal

# dropout: the run draws random numbers, so a logger that drew any would change the weights
TINY = tg.GPTConfig(vocab_size=11, max_len=8, num_layers=2, num_heads=2, embed_dim=16,
                    dropout=0.1)
CFG = tg.TrainConfig(batch_size=4, max_iters=12, lr=1e-2, min_lr=1e-3, warmup_iters=2,
                     eval_interval=6, eval_iters=2)


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Letters:
    """A tokenizer of the 11 letters a..k."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) - 97 for c in text]

    def decode(self, ids) -> str:
        return "".join(chr(97 + i) for i in ids)


def token_ids(n: int, seed: int) -> torch.Tensor:
    return torch.randint(TINY.vocab_size, (n,), generator=torch.Generator().manual_seed(seed))


def test_scalars_and_text_round_trip(tmp_path):
    values = [4.125, 3.5, 2.75, 2.0625, float("inf")]  # exact in float32, as they are stored
    with runlog.RunLog(tmp_path / "run") as run:
        for step, v in zip([1, 10, 20, 30, 40], values, strict=True):
            run.scalar("train/loss", v, step)
        run.scalar("train/lr", torch.tensor(0.5), 3)  # a 0-dim tensor is a number too
        run.text("sample", "ROMEO:\n  O, she doth teach", 40)
        run.text("note", "*markdown*", code=False)
        run.hparams({"lr": 0.01, "compile": False, "dropout": None, "name": "tiny"},
                    ["train/loss"])
    scalars = runlog.read_scalars(tmp_path / "run")
    assert scalars == {"train/loss": ([1, 10, 20, 30, 40], values), "train/lr": ([3], [0.5])}
    assert runlog.read_text(tmp_path / "run") == {
        "note": [(0, "*markdown*")], "sample": [(40, "ROMEO:\n  O, she doth teach")]}
    assert runlog.read_hparams(tmp_path / "run") == {
        "compile": 0.0, "dropout": "None", "lr": 0.01, "name": "tiny"}


def test_a_directory_holds_one_run(tmp_path):
    with runlog.RunLog(tmp_path) as run:
        run.scalar("a", 1.0, 0)
    with pytest.raises(FileExistsError, match="its own directory"):
        runlog.RunLog(tmp_path)
    with runlog.RunLog(tmp_path, exist_ok=True) as run:
        run.scalar("b", 2.0, 0)
    assert set(runlog.read_scalars(tmp_path)) == {"a", "b"}
    assert runlog.read_hparams(tmp_path) == {} and runlog.read_text(tmp_path) == {}
    with pytest.raises(FileNotFoundError, match="no TensorBoard event files"):
        runlog.read_scalars(tmp_path / "nothing")
    with pytest.raises(ValueError, match="at least 1"):
        run.on_step(0)


def test_log_training_logs_the_run_and_changes_nothing_in_it(tmp_path):
    train_ids, val_ids = token_ids(400, 0), token_ids(100, 1)
    torch.manual_seed(0)
    plain = tg.GPT(TINY)
    logged = tg.GPT(TINY)
    logged.load_state_dict(plain.state_dict())
    log = tg.train(plain, train_ids, val_ids, CFG, progress=False)
    log2 = runlog.log_training(tmp_path, logged, train_ids, val_ids, CFG, every=5,
                               tokenizer=Letters(), prompt="abc", sample_tokens=10)
    assert bitwise_equal(plain.state_dict(), logged.state_dict())  # the same weights
    assert log2.history == [{**row, "elapsed_s": r2["elapsed_s"]}
                            for row, r2 in zip(log.history, log2.history, strict=True)]
    scalars = runlog.read_scalars(tmp_path)
    assert set(scalars) == {"train/loss", "train/grad_norm", "train/lr", "eval/train_loss",
                            "eval/val_loss"}
    assert scalars["train/loss"][0] == [1, 5, 10]  # step 1 and every 5
    assert scalars["train/lr"][1] == pytest.approx([tg.lr_at(s - 1, CFG) for s in (1, 5, 10)])
    assert all(v > 0 and math.isfinite(v) for v in scalars["train/grad_norm"][1])
    steps, val = scalars["eval/val_loss"]
    assert steps == [6, 12]
    assert val == pytest.approx([row["val_loss"] for row in log.history], rel=1e-6)
    texts = runlog.read_text(tmp_path)
    assert texts["environment"] == [(0, env.report())]
    (step, sample), = texts["sample"]
    assert step == 12 and sample.startswith("abc") and len(sample) == 13
    hparams = runlog.read_hparams(tmp_path)
    assert hparams["train.lr"] == 0.01 and hparams["model.embed_dim"] == 16


def test_smooth_is_tensorboards_debiased_average():
    assert runlog.smooth([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
    assert runlog.smooth([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no pull to 0
    assert runlog.smooth([0.0, 1.0], 0.5) == pytest.approx([0.0, 0.5 / 0.75])
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        runlog.smooth([1.0], 1.0)


def test_plot_runs_draws_one_panel_per_tag_and_one_line_per_run(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    for name, scale in (("a", 1.0), ("b", 2.0)):
        with runlog.RunLog(tmp_path / name) as run:
            for step in range(1, 6):
                run.scalar("train/loss", scale / step, step)
                run.scalar("train/lr", scale * 1e-3, step)
    runs = {"lr 1e-3": tmp_path / "a", "lr 2e-3": tmp_path / "b"}
    fig = runlog.plot_runs(runs, ["train/loss", "train/lr"])
    loss_ax, lr_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["lr 1e-3", "lr 2e-3"]
    assert list(loss_ax.get_lines()[1].get_ydata()) == pytest.approx([2 / s for s in range(1, 6)])
    assert lr_ax.get_yscale() == "log" and loss_ax.get_yscale() == "linear"
    with pytest.raises(KeyError, match="has no scalar 'eval/val_loss'"):
        runlog.plot_runs(runs, ["eval/val_loss"])
