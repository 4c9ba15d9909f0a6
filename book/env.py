"""Where the code runs: device choice, seeding, Colab detection, a one-line environment report."""

from __future__ import annotations

import functools
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np

try:  # torch is optional: chapter 1 and the NumPy parts run without it
    import torch
except ImportError:  # pragma: no cover - exercised only where torch is absent
    torch = None


# The course's folder: the one that holds the `book` package (an editable install, `make setup`).
REPOSITORY = Path(__file__).resolve().parent.parent


def repository_file(*parts: str) -> Path:
    """A file of the course repository that is not part of the package, such as a benchmark's
    CSV (`repository_file("benchmarks", "results", "scaling.csv")`), found from the package's
    own location, so that it does not depend on the folder the notebook runs in.

    A FileNotFoundError says what to do when the file is not there (the package was installed
    from a wheel, without the rest of the course)."""
    path = REPOSITORY.joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"{'/'.join(parts)} is not in {REPOSITORY}: this file comes with the course "
            "repository, not with the `book` package; run the notebooks from a clone of the "
            "course with the package installed from it (`make setup` or `pip install -e .`)")
    return path


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

    In Jupyter (and on the website) the bar is _widget_bar_class(): it keeps a visible bar and
    wraps its numbers, however long the postfix and however narrow the column.
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm  # imported when wanted: a bare GPU box may lack it

    if _is_widget_bar(tqdm):
        tqdm = _widget_bar_class()
    every = max(1, total // max(1, updates))
    # miniters without mininterval: redraw after every `every` steps; an infinite maxinterval
    # stops tqdm's monitor thread from switching back to clock-driven redraws on a slow machine
    return tqdm(total=total, desc=desc, miniters=every, mininterval=0, maxinterval=float("inf"),
                **kwargs)


BAR_MIN_PX = 120  # the narrowest the drawn bar of a widget progress bar may get


def _is_widget_bar(cls) -> bool:
    """True for tqdm's Jupyter widget bar (what tqdm.auto gives inside a notebook kernel)."""
    from tqdm.notebook import tqdm_notebook

    return isinstance(cls, type) and issubclass(cls, tqdm_notebook)


@functools.cache
def _widget_bar_class():
    """tqdm's Jupyter bar, laid out to fit any column.

    tqdm.notebook draws a bar as an ipywidgets HBox of three children in one row: an HTML text
    ("LSTMClassifier: 100%"), the progress bar, and an HTML text with the numbers and the postfix
    ("1200/1200 [01:23<00:00, 14.3it/s, loss=..., val_acc=..., val_loss=...]"). tqdm writes the
    texts' spaces as U+2007 figure spaces, which never break a line, so neither text can get
    narrower than its whole length, while the bar can (ipywidgets gives it a 300 px width, but a
    flex item with no content of its own shrinks to nothing). With a long postfix the texts alone
    are wider than the row: the bar is squeezed to 0 px and the numbers run past the end of the
    box and are cut (chapter 4: 697 and 741 px of text in a 688 px column).

    This bar lets the row wrap, gives the bar a minimum width (BAR_MIN_PX: it grows into the free
    space, but never shrinks below that) and puts a line-break opportunity (a zero-width space)
    after every ", " of the numbers, so that on a narrow column they wrap onto further lines
    instead of running out of the box.
    """
    from tqdm.notebook import tqdm_notebook

    class WidgetBar(tqdm_notebook):
        @staticmethod
        def status_printer(*args, **kwargs):
            box = tqdm_notebook.status_printer(*args, **kwargs)
            _fit_bar_layout(box)
            return box

        @staticmethod
        def format_meter(*args, **kwargs):
            return tqdm_notebook.format_meter(*args, **kwargs).replace(", ", ", \u200b")

    return WidgetBar


def _fit_bar_layout(box) -> None:
    """Lay out tqdm's HBox (description, bar, numbers) as _widget_bar_class() explains."""
    _, bar, _ = box.children
    box.layout.flex_flow = "row wrap"  # the numbers go onto the next line when the row is full
    box.layout.align_items = "center"
    bar.layout.flex = f"1 0 {BAR_MIN_PX}px"  # grows into the free space, never below the minimum
    bar.layout.min_width = f"{BAR_MIN_PX}px"


def with_settings(settings: dict, changes: list[str] | tuple[str, ...]) -> dict:
    """A deep copy of the nested `settings` with each 'a.b.c=value' change made, the value read
    as a Python literal ('model.crf=False', 'train.steps=900', 'curve.sizes=(50, None)').

    The benchmarks take such changes from the command line (`--set`); a misspelt path is an
    error that lists the settings that exist there, never a new key that nothing reads.
    """
    import ast
    import copy

    out = copy.deepcopy(settings)
    for change in changes:
        path, sep, value = change.partition("=")
        if not sep or not path:
            raise ValueError(f"{change!r}: write a change as a.b=value, e.g. model.dropout=0.3")
        *parents, key = path.split(".")
        node = out
        for depth, name in enumerate(parents):
            if not isinstance(node, dict) or name not in node:
                raise KeyError(f"{path}: no setting {'.'.join(parents[:depth + 1])!r}")
            node = node[name]
        if not isinstance(node, dict) or key not in node:
            known = sorted(node) if isinstance(node, dict) else []
            raise KeyError(f"{path}: no such setting (known here: {known})")
        try:
            node[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError) as err:
            raise ValueError(f"{change!r}: the value must be a Python literal "
                             f"(a number, True, None, 'text', a tuple)") from err
    return out
