"""A cache of finished training runs, for `train(..., cache=True)`.

Chapters 8 and 9 both start from the same small GPT (the same initial weights, data, settings and
steps). On one machine, with the same number of threads, training is deterministic, so the
second chapter can load the weights the first one trained instead of training them again.

A run is found by a SHA-256 key over everything that decides its result: the model's class,
configuration and initial weights, the training and validation tokens, the training
configuration and optimizer, the device, the number of threads, the CPU's vector instructions,
the versions of Python and torch, and the source of the whole `book` package (any change to the
course's code makes a new key). What is stored: the trained weights, the TrainLog, and the
global random state that training left behind, so that the cells after a cached run draw the
same random numbers as after a real one. Runs live in `$XDG_CACHE_HOME/llm-course/runs/`
(`book.data.fetching.cache_dir()`), the newest `KEEP` of them (3 MB each for chapter 8's GPT);
delete the folder to train everything again.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from book.data.fetching import cache_dir
from book.textgen.checkpoint import tensor_digest

__all__ = ["load_run", "run_key", "runs_dir", "store_run"]

PACKAGE = Path(__file__).resolve().parent.parent  # book/
KEEP = 16  # runs kept; older ones are deleted (any edit of the package makes new keys)


def runs_dir() -> Path:
    """Where finished runs are kept: `cache_dir()/runs`."""
    return cache_dir() / "runs"


def _package_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_key(model: nn.Module, train_data: torch.Tensor, val_data: torch.Tensor | None,
            cfg, optimizer: str, device: torch.device) -> str | None:
    """The run's key, or None when the run cannot be cached: a model whose class is not the
    course's (defined in a notebook, its code is not part of the key) or a device other than
    the CPU (a GPU's kernels need not repeat bit for bit)."""
    cls = type(model)
    if not cls.__module__.startswith("book.") or device.type != "cpu":
        return None
    parts = [
        f"{cls.__module__}.{cls.__qualname__}", repr(getattr(model, "config", None)),
        tensor_digest(model.state_dict()),
        tensor_digest({"train": train_data, "val": val_data if val_data is not None else []}),
        repr(asdict(cfg)), optimizer, str(device), str(torch.get_num_threads()),
        torch.backends.cpu.get_cpu_capability(), platform.machine(), sys.version,
        torch.__version__, _package_digest(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def load_run(key: str, model: nn.Module) -> dict | None:
    """Load a stored run into `model` and restore the random state it left; return its log (a
    dict of TrainLog's fields), or None if there is none or it cannot be read (then the run
    trains again, and a damaged file is replaced)."""
    path = runs_dir() / f"{key}.pt"
    if not path.is_file():
        return None
    try:
        run = torch.load(path, map_location="cpu", weights_only=True)
        if tensor_digest(run["model"]) != run["sha256"]:
            raise ValueError("the weights' checksum does not match")
        model.load_state_dict(run["model"])
    except Exception as e:  # noqa: BLE001 - any unreadable file: train again
        warnings.warn(f"ignoring the cached run {path} ({e}); training again", stacklevel=3)
        return None
    torch.set_rng_state(run["torch_rng"])
    return run["log"]


def store_run(key: str, model: nn.Module, log) -> None:
    """Keep a finished run (whole or not at all). A cache that cannot be written only warns:
    the run has its result either way."""
    folder = runs_dir()
    state = {name: t.detach().cpu() for name, t in model.state_dict().items()}
    run = {"model": state, "sha256": tensor_digest(state), "log": asdict(log),
           "torch_rng": torch.get_rng_state()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{key}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            torch.save(run, f)
        os.replace(tmp, folder / f"{key}.pt")
        runs = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in runs[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as e:
        warnings.warn(f"could not keep this run in {folder} ({e}); it will train again next "
                      f"time. Set XDG_CACHE_HOME to a writable folder to keep runs.",
                      stacklevel=3)
