"""Where the code runs: device choice, seeding, Colab detection, a one-line environment report."""

from __future__ import annotations

import os
import platform
import random
import sys

import numpy as np

try:  # torch is optional: chapter 1 and the NumPy parts run without it
    import torch
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = None


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def device(prefer: str | None = None) -> "torch.device":
    """The best available torch device: cuda > mps > cpu, or `prefer` (also `LLM_BOOK_DEVICE`).

    Asking for a device that is not there raises a RuntimeError that says what is available,
    instead of failing later inside a model.
    """
    if torch is None:
        raise RuntimeError(
            "PyTorch is not installed: `pip install -r requirements.txt` (see README)."
        )
    prefer = prefer or os.environ.get("LLM_BOOK_DEVICE") or None
    available = _available_devices()
    if prefer is not None:
        kind = prefer.split(":")[0]
        if kind not in available:
            raise RuntimeError(
                f"Device {prefer!r} was requested but is not available here "
                f"(available: {', '.join(available)}). Unset LLM_BOOK_DEVICE or pick one of those; "
                "for a GPU, run in Colab (Runtime > Change runtime type) or on a CUDA machine."
            )
        return torch.device(prefer)
    return torch.device(available[0])


def _available_devices() -> list[str]:
    """Device kinds torch can use here, best first."""
    kinds = []
    if torch.cuda.is_available():
        kinds.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        kinds.append("mps")
    kinds.append("cpu")
    return kinds


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices) so that a run is repeatable."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if torch is not None:
        torch.manual_seed(seed)  # also seeds every CUDA device


def gpu_name() -> str | None:
    """The name of the first CUDA GPU, or None."""
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)


def report() -> str:
    """One line that says what this notebook runs on: Python, NumPy, torch, device, GPU, Colab."""
    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    if torch is None:
        parts.append("torch not installed")
    else:
        dev = device()
        parts += [f"torch {torch.__version__}", f"device {dev.type}"]
        name = gpu_name()
        if name:
            parts.append(f"GPU {name}")
    if in_colab():
        parts.append("Colab")
    return " | ".join(parts)


def setup(seed: int = 0) -> "torch.device | None":
    """What a chapter's setup cell does: seed everything, pick the device, print the report."""
    seed_everything(seed)
    if in_colab():  # anywidget views render in Colab only with its custom widget manager
        from google.colab import output

        output.enable_custom_widget_manager()
    print(report())
    return device() if torch is not None else None


def progress_bar(total: int, desc: str, enabled: bool = True, updates: int = 20, **kwargs):
    """A tqdm bar (a widget in Jupyter) that redraws about `updates` times in all, however fast
    or slow the machine is; None when not `enabled`.

    In a notebook every redraw is a message from the kernel. tqdm redraws by the clock (every
    0.1 s), so a slow or busy machine sends many more of them, and a runner that reads them only
    after the cell (nbval) can find its queue overflowed and the cell's end lost. Counting in
    steps keeps the number of messages the same on every machine.
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm  # imported when wanted: a bare GPU box may lack it

    every = max(1, total // max(1, updates))
    # miniters without mininterval: redraw after every `every` steps; an infinite maxinterval
    # stops tqdm's monitor thread from switching back to clock-driven redraws on a slow machine
    return tqdm(total=total, desc=desc, miniters=every, mininterval=0, maxinterval=float("inf"),
                **kwargs)
