"""Checkpoints: save a model, its optimizer and where training stands; load them back, checked.

A checkpoint is plain data (tensors, numbers, strings, dicts), read with
`torch.load(weights_only=True)`: no pickled classes, nothing executed. It records a SHA-256 of
the model's and the optimizer's tensors, so a file damaged on disk is refused rather than
loaded with wrong weights (torch itself does not check its zip's CRCs). A truncated, empty or
foreign file gives a `CheckpointError` that says what it is and what to do.

`save_checkpoint(path, model, optimizer, step, cfg)` writes one; `load_checkpoint(path)` builds
the model from it; `train(..., resume_from=path)` continues training from it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from book.textgen.models import MODELS

__all__ = ["CheckpointError", "TrainState", "load_checkpoint", "resume", "rng_states",
           "save_checkpoint", "tensor_digest"]

FORMAT = 2  # bumped when the layout changes; 2 = with checksums and the training state


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint of this course, with what to do about it."""


@dataclass
class TrainState:
    """Where a training run stands: what `train` needs to resume it exactly."""

    step: int = 0
    history: list[dict] = field(default_factory=list)
    running_loss: tuple[float, int] = (0.0, 0)  # sum and count of losses since the last eval
    rng: dict | None = None  # generator states: "batch", "torch", "cuda"; None if not saved


def rng_states(batch_generator: torch.Generator, device: torch.device) -> dict:
    """The random states that decide the next batches and dropout masks."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"batch": batch_generator.get_state(), "torch": torch.get_rng_state(), "cuda": cuda}


def tensor_digest(state: Any) -> str:
    """SHA-256 over every tensor of a (nested) state dict, in key order: name, dtype, shape
    and bytes. Equal digests mean bit-identical tensors."""
    h = hashlib.sha256()

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous().reshape(-1)  # 0-d tensors cannot be viewed
            h.update(f"{prefix}|{t.dtype}|{tuple(value.shape)}|".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(value, dict):
            for key in sorted(value, key=str):
                visit(f"{prefix}/{key}", value[key])
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(f"{prefix}/{i}", item)

    visit("", state)
    return h.hexdigest()


def _model_name(model: nn.Module) -> str:
    for name, (cls, _) in MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"checkpoints know {', '.join(MODELS)} models; got {type(model).__name__}")


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    step: int, cfg: Any, state: TrainState | None = None) -> None:
    """Save the model and optimizer states, both configs, the step and (when given) the
    training state, with checksums of the tensors. The file appears whole or not at all."""
    state = TrainState(step) if state is None else state
    model_state, opt_state = model.state_dict(), optimizer.state_dict()
    ckpt = {"format": FORMAT, "model_class": _model_name(model),
            "model_config": asdict(model.config), "train_config": asdict(cfg),
            "model": model_state, "optimizer": opt_state, "step": step,
            "history": state.history, "running_loss": list(state.running_loss),
            "rng": state.rng,
            "sha256": {"model": tensor_digest(model_state), "optimizer": tensor_digest(opt_state)}}
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save {path}: the folder {path.parent} does not exist")
    # a unique temporary name in the same folder: two savers never share it, and the final
    # rename is atomic, so a crash never leaves half a checkpoint behind
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(ckpt, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read(path: Path, map_location: str | torch.device) -> dict:
    """torch.load(weights_only=True), with each way a file can be wrong said plainly."""
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}" +
                                (" (it is a folder)" if path.is_dir() else ""))
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty: it was not written completely. Use another "
                              "checkpoint, or train again.")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a checkpoint written by torch.save (it is not a "
                              "zip archive: truncated, or another kind of file).")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch reports damage as OSError, RuntimeError, EOFError, ...
        raise CheckpointError(f"{path} could not be read as a checkpoint "
                              f"({type(e).__name__}: {str(e)[:200]}): it is damaged or "
                              "truncated, or holds Python objects other than tensors and plain "
                              "data. Use another checkpoint, or train again.") from e
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint of "
                              "this course (a dict written by save_checkpoint)")
    if "model_class" not in ckpt or "model" not in ckpt:
        raise CheckpointError(f"{path} is not a checkpoint written by save_checkpoint (no "
                              "'model_class'/'model' entries; a plain state_dict?). Load a "
                              "state_dict with model.load_state_dict(torch.load(path, "
                              "weights_only=True)).")
    return ckpt


def _check_digest(path: Path, ckpt: dict, part: str) -> None:
    expected = (ckpt.get("sha256") or {}).get(part)
    if expected is None:
        warnings.warn(f"{path} has no checksum (written before checkpoints had one): its "
                      f"{part} weights cannot be verified", stacklevel=3)
    elif tensor_digest(ckpt[part]) != expected:
        raise CheckpointError(f"{path}: the {part} tensors do not match the checksum saved "
                              "with them: the file was damaged after it was written. Use "
                              "another checkpoint, or train again.")


def load_checkpoint(path: str | Path, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(model, checkpoint): load the states into `model` and `optimizer` (the model is built
    from the saved config when None) and return the checkpoint's dict as well.

    The tensors are checked against the checksums saved with them; a damaged, truncated or
    foreign file raises CheckpointError."""
    path = Path(path)
    ckpt = _read(path, map_location)
    if ckpt["model_class"] not in MODELS:
        raise CheckpointError(f"{path} holds a {ckpt['model_class']!r} model; this course "
                              f"knows {', '.join(MODELS)}")
    cls, config_cls = MODELS[ckpt["model_class"]]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(ckpt["model_config"]) - known)
    if unknown:
        raise CheckpointError(f"{path}'s model config has settings {unknown} that "
                              f"{config_cls.__name__} does not know (saved by another version "
                              "of the course?)")
    _check_digest(path, ckpt, "model")
    # settings added since the file was written take their defaults (which build the old model)
    saved = asdict(config_cls(**ckpt["model_config"]))
    if model is None:
        model = cls(config_cls(**saved))
    elif type(model) is not cls or asdict(model.config) != saved:
        raise ValueError(f"{path} holds a {ckpt['model_class']} with config "
                         f"{ckpt['model_config']}, not a {type(model).__name__} with "
                         f"{asdict(model.config)}: build the model from the checkpoint "
                         "(load_checkpoint(path)) or from the same config")
    model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        _check_digest(path, ckpt, "optimizer")
        optimizer.load_state_dict(ckpt["optimizer"])
    return model, ckpt


# Settings that may differ when resuming: they change how the run is watched or computed,
# not which weights it reaches.
_RESUMABLE_CHANGES = frozenset({"compile", "compile_mode", "eval_interval", "eval_iters"})


def resume(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg: Any,
           batch_generator: torch.Generator) -> TrainState:
    """Load a checkpoint into `model` and `optimizer` for `train(resume_from=path)`, restore
    the random generators, and return where training stands.

    A run resumed with another TrainConfig would not reach the weights of an uninterrupted
    run, so a difference (other than the compile or evaluation settings) is refused, named.
    A checkpoint saved without random states (by `save_checkpoint` without a TrainState)
    resumes too, with a warning: its next batches cannot be the ones the first run drew.
    """
    _, ckpt = load_checkpoint(path, model, optimizer)  # RNG states must stay on the CPU
    saved, now = ckpt["train_config"], asdict(cfg)
    changed = sorted(k for k in set(saved) | set(now)
                     if saved.get(k) != now.get(k) and k not in _RESUMABLE_CHANGES)
    if changed:
        diff = ", ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}" for k in changed)
        raise ValueError(f"{path} was trained with another TrainConfig ({diff}): resume with "
                         f"the saved one, TrainConfig(**load_checkpoint(path)[1]"
                         f"['train_config']), or start a new run")
    state = TrainState(int(ckpt["step"]), list(ckpt.get("history") or []),
                       tuple(ckpt.get("running_loss") or (0.0, 0)), ckpt.get("rng"))
    if state.rng is None:
        warnings.warn(f"{path} has no random-generator states (saved by save_checkpoint "
                      "without a TrainState): training continues, but not with the batches "
                      "an uninterrupted run would have drawn", stacklevel=3)
        batch_generator.manual_seed(cfg.seed + state.step)
    else:
        batch_generator.set_state(state.rng["batch"])
        torch.set_rng_state(state.rng["torch"])
        device = batch_generator.device
        if device.type == "cuda" and state.rng.get("cuda") is not None:
            torch.cuda.set_rng_state(state.rng["cuda"], device)
    return state
