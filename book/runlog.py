"""Logging a training run to TensorBoard event files, and reading them back (chapter 7).

`RunLog(logdir)` writes scalars, text and hyper-parameters with
`torch.utils.tensorboard.SummaryWriter`; its `on_step` plugs into chapter 5's
`book.textgen.train`. `log_training` trains a language model and logs the whole run: the loss,
learning rate and gradient norm of every few steps, the evaluations, a generated sample, the
settings and the environment (`book.env.report()`). `read_scalars`, `read_text` and
`read_hparams` read the event files back with TensorBoard's `EventAccumulator` (no server),
and `plot_runs` draws runs side by side.

    log = log_training("runs/gpt-lr4e-3", model, train_ids, val_ids, cfg, tokenizer=tok)
    curves = read_scalars("runs/gpt-lr4e-3")        # {"train/loss": (steps, values), ...}
    plot_runs({"lr 4e-3": "runs/gpt-lr4e-3", "lr 4e-2": "runs/gpt-lr4e-2"}, ["train/loss"])

Or, with a server: `tensorboard --logdir runs`. Event files also hold the wall time of every
value and the machine's name in their file names: nothing here prints either.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book import env
from book.textgen import TrainConfig, TrainLog, generate, train

__all__ = ["RunLog", "log_training", "plot_runs", "read_hparams", "read_scalars", "read_text",
           "smooth"]

# `add_text` stores its text under this suffix of the tag; read_text takes it off again
_TEXT_SUFFIX = "/text_summary"
_FENCE = re.compile(r"\A```\n(.*)\n```\Z", re.DOTALL)


def _event_files(logdir: Path) -> list[Path]:
    return sorted(logdir.glob("events.out.tfevents.*"))


def _hparam_value(v: Any) -> int | float | str | bool:
    """A value TensorBoard's hparams accept: numbers, strings and booleans as they are, anything
    else (None, a tuple) as its repr."""
    return v if isinstance(v, (bool, int, float, str)) else repr(v)


class RunLog:
    """One run's TensorBoard event file in `logdir` (created if missing). A context manager:
    the file is flushed and closed on leaving.

    Tags group with "/": "train/loss", "eval/val_loss". A directory that already holds event
    files is refused unless exist_ok=True: two runs in one directory read back as one
    (TensorBoard reads every event file of a directory together).
    """

    def __init__(self, logdir: str | Path, *, exist_ok: bool = False) -> None:
        from torch.utils.tensorboard import SummaryWriter  # imported when wanted: tensorboard

        self.logdir = Path(logdir)
        if _event_files(self.logdir) and not exist_ok:
            raise FileExistsError(f"{self.logdir} already holds a run's event files: give each "
                                  "run its own directory (or pass exist_ok=True to add to it)")
        self.logdir.mkdir(parents=True, exist_ok=True)
        # flush_secs is long: the file is written at close (or flush()), never by the clock
        self.writer = SummaryWriter(log_dir=str(self.logdir), flush_secs=3600)

    def scalar(self, tag: str, value: float | torch.Tensor, step: int) -> None:
        """Log one number (stored as float32) at `step`."""
        self.writer.add_scalar(tag, float(value), step)

    def text(self, tag: str, text: str, step: int = 0, code: bool = True) -> None:
        """Log a text at `step`; code=True shows it in TensorBoard as a code block (line breaks
        and spaces kept), and read_text gives back the text without the fence."""
        self.writer.add_text(tag, f"```\n{text}\n```" if code else text, step)

    def hparams(self, hparams: Mapping[str, Any], metrics: Sequence[str] = ()) -> None:
        """Log the run's settings, and which of its scalar tags measure how good it is
        (`metrics`, e.g. ["eval/val_loss"]): TensorBoard's HPARAMS tab lists runs side by side
        by them. Values that are not numbers, strings or booleans are logged as their repr."""
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        values = {k: _hparam_value(v) for k, v in hparams.items()}
        for summary in hparams_summary(values, dict.fromkeys(metrics, 0.0)):
            self.writer.file_writer.add_summary(summary)

    def history(self, history: Sequence[Mapping[str, float]]) -> None:
        """Log `TrainLog.history` (train's evaluations): "eval/train_loss" (the mean loss since
        the previous evaluation) and "eval/val_loss" at each evaluation's step."""
        for row in history:
            for key in ("train_loss", "val_loss"):
                if row.get(key) is not None:
                    self.scalar(f"eval/{key}", row[key], row["step"])

    def on_step(self, every: int = 10) -> Callable[[int, dict], None]:
        """A callback for `book.textgen.train(on_step=...)`: logs "train/loss",
        "train/grad_norm" and "train/lr" at step 1 and every `every` steps (each read makes
        the CPU wait for the GPU, so not every step of a fast run)."""
        if every < 1:
            raise ValueError(f"every must be at least 1; got {every}")

        def log(step: int, info: dict) -> None:
            if step == 1 or step % every == 0:
                for key in ("loss", "grad_norm", "lr"):
                    if info.get(key) is not None:
                        self.scalar(f"train/{key}", info[key], step)
        return log

    def flush(self) -> None:
        """Write what is buffered to the event file."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def log_training(logdir: str | Path, model: nn.Module, train_ids: Sequence[int] | torch.Tensor,
                 val_ids: Sequence[int] | torch.Tensor | None, cfg: TrainConfig,
                 device: str | torch.device = "cpu", *, every: int = 10,
                 tokenizer: Any = None, prompt: str = "\n", sample_tokens: int = 200,
                 progress: bool = False) -> TrainLog:
    """`book.textgen.train(model, train_ids, val_ids, cfg, device)`, logged to `logdir`.

    The event file gets "train/loss", "train/grad_norm", "train/lr" (see RunLog.on_step),
    "eval/train_loss" and "eval/val_loss" (the history), the text "environment"
    (`book.env.report()`), with a tokenizer the text "sample" (sample_tokens tokens after
    `prompt`, top-k 20, seeded by cfg.seed), and the hyper-parameters (cfg and the model's
    config), with "eval/val_loss" as their metric. Returns train's TrainLog, the same as without
    logging.
    """
    with RunLog(logdir) as run:
        run.text("environment", env.report(), code=False)
        log = train(model, train_ids, val_ids, cfg, device, progress=progress,
                    on_step=run.on_step(every))
        run.history(log.history)
        if tokenizer is not None:
            dev = next(model.parameters()).device
            gen = torch.Generator(device=dev).manual_seed(cfg.seed)
            idx = torch.tensor([tokenizer.encode(prompt)], device=dev)
            ids = generate(model, idx, sample_tokens, top_k=20, generator=gen)
            run.text("sample", tokenizer.decode(ids[0].tolist()), log.steps)
        settings = {f"train.{k}": v for k, v in dataclasses.asdict(cfg).items()}
        config = getattr(model, "config", None)
        if dataclasses.is_dataclass(config):
            settings |= {f"model.{k}": v for k, v in dataclasses.asdict(config).items()}
        run.hparams(settings, ["eval/val_loss"] if log.history else [])
    return log


def _accumulator(logdir: str | Path):
    """TensorBoard's EventAccumulator over `logdir`, loaded with every event it holds."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = Path(logdir)
    if not _event_files(path):
        raise FileNotFoundError(f"no TensorBoard event files (events.out.tfevents.*) in {path}: "
                                "give the directory a RunLog wrote to")
    # size_guidance 0 = keep everything (the default keeps a random sample of 10,000 scalars)
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def read_scalars(logdir: str | Path) -> dict[str, tuple[list[int], list[float]]]:
    """Every scalar tag of the run in `logdir`: tag -> (steps, values), in step order. The
    values come back as the float32 they were stored as; wall times are left out."""
    acc = _accumulator(logdir)
    out = {}
    for tag in sorted(acc.Tags()["scalars"]):
        events = sorted(acc.Scalars(tag), key=lambda e: e.step)
        out[tag] = ([e.step for e in events], [e.value for e in events])
    return out


def read_text(logdir: str | Path) -> dict[str, list[tuple[int, str]]]:
    """Every text of the run in `logdir`: tag -> [(step, text)], without the code fence that
    RunLog.text(code=True) added."""
    from tensorboard.util import tensor_util

    acc = _accumulator(logdir)
    out: dict[str, list[tuple[int, str]]] = {}
    for tag in sorted(acc.Tags()["tensors"]):
        if not tag.endswith(_TEXT_SUFFIX):
            continue
        rows = []
        for event in sorted(acc.Tensors(tag), key=lambda e: e.step):
            raw = tensor_util.make_ndarray(event.tensor_proto).reshape(-1)[0]
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            fenced = _FENCE.match(text)
            rows.append((event.step, fenced.group(1) if fenced else text))
        out[tag[:-len(_TEXT_SUFFIX)]] = rows
    return out


def read_hparams(logdir: str | Path) -> dict[str, float | str]:
    """The hyper-parameters RunLog.hparams logged in `logdir`: name -> value (numbers come back
    as floats, booleans as 1.0 and 0.0, anything else as the string it was logged as)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = _accumulator(logdir)
    try:
        contents = acc.PluginTagToContent("hparams").values()
    except KeyError:  # no hparams in this run
        return {}
    for content in contents:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if data.HasField("session_start_info"):
            values = data.session_start_info.hparams
            return {name: getattr(v, v.WhichOneof("kind")) for name, v in sorted(values.items())}
    return {}


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average with `weight` (0 = none, 0.99 =
    very smooth), divided by 1 − weight^n so that the start is not pulled towards 0."""
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1); got {weight}")
    out, avg = [], 0.0
    for n, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** n) if weight > 0 else v)
    return out


def plot_runs(runs: Mapping[str, str | Path], tags: Sequence[str], *, weight: float = 0.0,
              log_y: Sequence[str] = ("train/grad_norm", "train/lr"), axes: Any = None):
    """Compare runs: one panel per scalar tag, one line per run (name -> its logdir), smoothed
    as TensorBoard does with `weight`; tags in `log_y` on a log scale. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not runs or not tags:
        raise ValueError("give at least one run ({name: logdir}) and one tag")
    curves = {name: read_scalars(path) for name, path in runs.items()}
    if axes is None:
        _, axes = plt.subplots(1, len(tags), figsize=(4.2 * len(tags), 3.2), squeeze=False)
        axes = axes[0]
    for ax, tag in zip(axes, tags, strict=True):
        for name, scalars in curves.items():
            if tag not in scalars:
                raise KeyError(f"run {name!r} has no scalar {tag!r}; it has {sorted(scalars)}")
            steps, values = scalars[tag]
            finite = [v if math.isfinite(v) else math.nan for v in values]
            ax.plot(steps, smooth(finite, weight), label=name, linewidth=1.2)
        ax.set_title(tag, fontsize=10)
        ax.set_xlabel("step")
        if tag in log_y:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig = axes[0].figure
    fig.tight_layout()
    return fig
