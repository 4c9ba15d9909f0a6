"""Profiling the course's own models (chapter 7): where does a training step spend its time?

- The workload: `LSTMTrainingStep`, one training step of chapter 3's NumPy LSTM (forward, a
  linear head with softmax cross-entropy, backward, Adam), sized like `book.timing.lstm_pair`.
- cProfile: `profile_call` runs a function under the profiler and gives `pstats.Stats`;
  `function_table` turns them into rows (`ProfileRow`) with readable names such as
  `recurrent.py:226 LSTM.forward`; `slowest_function` is the one-liner a learner writes;
  `profile_chart` draws self against cumulative time; `flame_boxes` / `flame_chart` lay the call
  tree out as an icicle (a flame graph upside down) from the callers that pstats records.
- Call graphs: `call_graph_dot` runs gprof2dot on the stats, `call_graph_svg` renders that with
  Graphviz's `dot` (None, and `GRAPHVIZ_MISSING` says how to install it, when it is absent).
- Lines: `line_profile` times every line of a function with line_profiler (`LineRow`).
- PyTorch: `profile_torch_step` profiles training steps of a model with `torch.profiler`
  (operators, shapes, memory, a Chrome/Perfetto trace; CUDA kernels on a GPU), and
  `torch_operator_table` turns its averages into rows (`OperatorRow`).
- `markdown_table` shows any of those rows as a table that reads well on the website, and
  `blas_report` says which BLAS library NumPy runs its matrix products with.

cProfile sees Python functions and built-in functions, but not operators: the time of `a @ b`
(and of ufuncs such as `np.matmul`, `np.tanh`) counts as the own time (tottime) of the function
whose line runs it. That is why the line-level view is the next step.
"""

from __future__ import annotations

import ast
import contextlib
import cProfile
import difflib
import inspect
import io
import linecache
import marshal
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from book.np_nn import LSTM, Adam, Linear, softmax

__all__ = [
    "GRAPHVIZ_MISSING", "FlameBox", "LSTMTrainingStep", "LineRow", "OperatorRow", "ProfileRow",
    "blas_report", "call_graph_dot", "call_graph_svg", "flame_boxes", "flame_chart",
    "function_name", "function_table", "line_profile", "markdown_table", "profile_call",
    "profile_chart", "profile_torch_step", "slowest_function", "torch_operator_table",
]

Key = tuple[str, int, str]  # pstats' name of a function: (file, first line, name)

# ---------------------------------------------------------------------------------------------
# The workload: one training step of the NumPy LSTM


class LSTMTrainingStep:
    """One training step of chapter 3's NumPy LSTM on a fixed batch, as a callable.

    x (T, B, I = H) are input vectors (data, e.g. frozen word vectors) and `targets` (T, B) one
    of V classes per position: LSTM -> linear head -> softmax cross-entropy -> backward -> Adam.
    `step()` updates the weights and returns the loss. The sizes default to
    `book.timing.lstm_pair`'s (T=64, B=32, H=256; V=65, Tiny Shakespeare's characters).
    `needs_input_grad` is passed to the LSTM: with False its backward skips dx (nothing reads
    it here, x being data); the weights after any number of steps are the same either way.
    """

    def __init__(self, T: int = 64, B: int = 32, H: int = 256, V: int = 65, *,
                 dtype: Any = np.float32, seed: int = 0, lr: float = 1e-3,
                 needs_input_grad: bool = True) -> None:
        sizes = {"T": T, "B": B, "H": H, "V": V}
        bad = {k: v for k, v in sizes.items() if not isinstance(v, (int, np.integer)) or v < 1}
        if bad:
            raise ValueError(f"T, B, H and V must be whole numbers ≥ 1; got {bad}")
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        self.T, self.B, self.H, self.V = T, B, H, V
        self.lstm = LSTM(H, H, dtype=dtype, seed=seed, needs_input_grad=needs_input_grad)
        self.head = Linear(H, V, dtype=dtype, seed=seed + 1)
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((T, B, H)).astype(dtype)  # (T, B, I)
        self.targets = rng.integers(0, V, (T, B))  # (T, B)
        self.optimizer = Adam(self.parameters(), lr=lr)

    def parameters(self) -> dict[str, np.ndarray]:
        """Every weight array (not a copy), keyed "lstm.<name>" and "head.<name>"."""
        return ({f"lstm.{k}": v for k, v in self.lstm.parameters().items()}
                | {f"head.{k}": v for k, v in self.head.parameters().items()})

    def __call__(self) -> float:
        """One step: forward, loss, backward, Adam update; returns the loss before the update."""
        T, B, V = self.T, self.B, self.V
        y, _ = self.lstm.forward(self.x)  # (T, B, H)
        logits = self.head.forward(y).reshape(T * B, V)  # (T, B, V) -> (T*B, V)
        rows, targets = np.arange(T * B), self.targets.reshape(-1)
        p = softmax(logits)
        loss = float(-np.log(p[rows, targets]).mean())
        p[rows, targets] -= 1  # d loss / d logits = (softmax - one-hot) / N
        p /= T * B
        dy = self.head.backward(p.reshape(T, B, V))  # (T*B, V) -> (T, B, V)
        self.lstm.backward(dy)
        grads = ({f"lstm.{k}": v for k, v in self.lstm.grads.items()}
                 | {f"head.{k}": v for k, v in self.head.grads.items()})
        self.optimizer.step(grads)
        return loss


# ---------------------------------------------------------------------------------------------
# cProfile: tables


@dataclass(frozen=True)
class ProfileRow:
    """One function of a cProfile run: calls, own time, time including callees, share."""

    function: str  # readable: "recurrent.py:226 LSTM.forward", "ndarray.reshape (C)"
    ncalls: int  # calls, recursive ones included
    tottime: float  # seconds in the function's own code (operators and ufuncs included)
    cumtime: float  # seconds from entry to exit, callees included
    share: float  # tottime / the run's total time; the shares of all functions sum to 1
    key: Key  # pstats' own name, to look the function up in `stats.stats`

    COLUMNS = (("function", "function", "{}"), ("calls", "ncalls", "{:,}"),
               ("self ms", "tottime", "ms"), ("cumulative ms", "cumtime", "ms"),
               ("share of self time", "share", "bar"))


def profile_call(fn: Callable[..., Any], *args: Any, repeat: int = 1,
                 **kwargs: Any) -> pstats.Stats:
    """Run `fn(*args, **kwargs)` `repeat` times under cProfile and return the statistics.

    The profiler's own `disable` call, which cProfile records too, is left out.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}: pass the function "
                        "itself, not its result (profile_call(f, x), not profile_call(f(x)))")
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a whole number ≥ 1, got {repeat!r}")
    profiler = cProfile.Profile()
    for _ in range(repeat):
        profiler.runcall(fn, *args, **kwargs)
    stats = pstats.Stats(profiler)
    for key in [k for k in stats.stats if _is_profiler(k)]:
        cc, nc, tt, _, _ = stats.stats.pop(key)
        stats.total_tt -= tt
        stats.total_calls -= nc
        stats.prim_calls -= cc
    return stats


def _is_profiler(key: Key) -> bool:
    """Is this entry cProfile's own bookkeeping (`Profiler.disable`)?"""
    return key[0] == "~" and "_lsprof.Profiler" in key[2]


def _as_stats(stats: Any) -> pstats.Stats:
    """`stats` as pstats.Stats (a cProfile.Profile is converted), or an error saying why not."""
    if isinstance(stats, cProfile.Profile):
        return pstats.Stats(stats)
    if not isinstance(stats, pstats.Stats):
        raise TypeError(f"expected pstats.Stats (from profile_call or pstats.Stats(path)), got "
                        f"{type(stats).__name__}")
    if not stats.stats:
        raise ValueError("these statistics are empty: profile something first")
    return stats


def _qualnames(filename: str) -> dict[int, str]:
    """First line of every function in `filename` -> its qualified name ('LSTM.forward').

    pstats keys a function by co_name ('forward') on Python 3.11; the qualified name is read
    back from the source (linecache also knows the cells of a notebook). co_firstlineno is the
    line of the first decorator, so that is the line recorded for a decorated function.
    """
    lines = linecache.getlines(filename)
    key = (filename, len(lines), hash(tuple(lines)))
    if key not in _QUALNAME_CACHE:
        names: dict[int, str] = {}
        try:
            tree = ast.parse("".join(lines))
        except (SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    names[first] = f"{prefix}{child.name}"
                    visit(child, f"{prefix}{child.name}.<locals>.")
                else:
                    visit(child, prefix)

        visit(tree, "")
        _QUALNAME_CACHE[key] = names
    return _QUALNAME_CACHE[key]


_QUALNAME_CACHE: dict[tuple, dict[int, str]] = {}


def _builtin_name(name: str) -> str:
    """'<built-in method numpy.ascontiguousarray>' -> 'numpy.ascontiguousarray (C)',
    "<method 'reshape' of 'numpy.ndarray' objects>" -> 'ndarray.reshape (C)'."""
    if match := re.fullmatch(r"<built-in method (.+)>", name):
        return f"{match[1]} (C)"
    if match := re.fullmatch(r"<method '(.+)' of '(.+)' objects>", name):
        return f"{match[2].rsplit('.', 1)[-1]}.{match[1]} (C)"
    return name


def function_name(key: Key) -> str:
    """A readable name for a pstats key: 'recurrent.py:226 LSTM.forward' for a Python function
    (file name, first line, qualified name), 'ndarray.reshape (C)' for a built-in one."""
    filename, line, name = key
    if filename == "~":
        return _builtin_name(name)
    qualname = _qualnames(filename).get(line, name)
    return f"{Path(filename).name}:{line} {qualname}"


_SORTS = {"tottime": 2, "cumtime": 3, "ncalls": 1}


def function_table(stats: pstats.Stats, n: int = 10, sort: str = "tottime") -> list[ProfileRow]:
    """The `n` functions with the largest `sort` ("tottime", "cumtime" or "ncalls"), as rows."""
    stats = _as_stats(stats)
    if sort not in _SORTS:
        raise ValueError(f"sort must be one of {sorted(_SORTS)}, got {sort!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1, got {n!r}")
    total = stats.total_tt or 1.0
    column = _SORTS[sort]
    # Ties broken by name, so that the same statistics always give the same table.
    ranked = sorted(stats.stats.items(),
                    key=lambda item: (-item[1][column], function_name(item[0])))
    return [ProfileRow(function_name(key), nc, tt, ct, tt / total, key)
            for key, (cc, nc, tt, ct, callers) in ranked[:n]]


def slowest_function(stats: pstats.Stats) -> str:
    """The name of the function that spent the most time in its own code (largest tottime)."""
    # stats.stats maps (file, line, name) -> (primitive calls, calls, tottime, cumtime, callers)
    (file, line, name), _ = max(stats.stats.items(), key=lambda item: item[1][2])
    return name


# ---------------------------------------------------------------------------------------------
# cProfile: charts


def profile_chart(rows: Sequence[ProfileRow], ax: Any = None,
                  title: str = "Where the time goes (cProfile)", calls: int = 1) -> Any:
    """Horizontal bars of each row's self time over its cumulative time, in milliseconds per
    call (`calls`: how many calls the profile holds). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("no rows to draw: pass function_table(stats)")
    if not all(isinstance(r, ProfileRow) for r in rows):
        raise TypeError("rows must be ProfileRow objects, as function_table returns")
    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a whole number ≥ 1, got {calls!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(9.6, 0.42 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]  # the first row on top
    cum = np.array([r.cumtime for r in rows]) * 1000 / calls
    own = np.array([r.tottime for r in rows]) * 1000 / calls
    ax.barh(y, cum, height=0.8, color="#c6dbef", label="cumulative (with callees)")
    ax.barh(y, own, height=0.45, color="#08519c",
            label="self (own code); % = its share of all self time")
    for yi, c, r in zip(y, cum, rows):
        ax.text(c, yi, f" {r.share:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, [r.function for r in rows], fontsize=8)
    ax.set_xlim(0, cum.max() * 1.3)
    ax.set_xlabel("milliseconds" + (" per call" if calls > 1 else ""))
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


@dataclass(frozen=True)
class FlameBox:
    """One box of a flame (icicle) chart: a function, under a chain of callers."""

    function: str  # readable name
    depth: int  # 0 for the root
    start: float  # seconds from the root's left edge
    width: float  # seconds of this function's cumulative time spent under this parent chain
    key: Key | None  # pstats key; None for the synthetic root "all" of several top functions


def _callees(stats: pstats.Stats) -> dict[Key, dict[Key, float]]:
    """parent -> {child: cumulative seconds of child when called from parent}, from the
    callers that pstats records for every function."""
    out: dict[Key, dict[Key, float]] = {}
    for child, (_, _, _, _, callers) in stats.stats.items():
        for parent, edge in callers.items():
            out.setdefault(parent, {})[child] = edge[3]  # (cc, nc, tt, ct) of this edge
    return out


def _find_root(stats: pstats.Stats, root: str) -> Key:
    """The pstats key whose readable name, qualified name or bare name is `root`."""
    keys = [k for k in stats.stats if not _is_profiler(k)]
    names = {k: function_name(k) for k in keys}
    found = [k for k in keys if root in (names[k], names[k].split(" ", 1)[-1], k[2])]
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError(f"{root!r} names {len(found)} functions: pass one of "
                         f"{sorted(names[k] for k in found)}")
    close = difflib.get_close_matches(root, list(names.values()), n=3, cutoff=0.3)
    raise ValueError(f"no function {root!r} in these statistics; close names: {close}")


def flame_boxes(stats: pstats.Stats, root: str | None = None,
                min_share: float = 0.01) -> list[FlameBox]:
    """The boxes of a flame chart of `stats`, from `root` (a function's name as
    `function_table` writes it, its qualified name or its bare name; None: the top-level
    functions, under a box "all" if there are several).

    A child's box is as wide as the child's cumulative time when called from its parent, which
    pstats records exactly. Deeper down pstats keeps only one level of callers, so a function's
    callees are shared out in proportion: a box that holds 30 % of f's cumulative time holds
    30 % of each of f's calls to its callees (gprof's assumption). Boxes narrower than
    `min_share` of the root are left out; a function already on the path (recursion) is not
    drawn again. Children are laid out widest first, so the layout depends on the stats alone.
    """
    stats = _as_stats(stats)
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share must be in [0, 1), got {min_share}")
    callees = _callees(stats)
    if root is None:
        tops = sorted((k for k, v in stats.stats.items() if not v[4] and not _is_profiler(k)),
                      key=lambda k: (-stats.stats[k][3], function_name(k)))
        if len(tops) == 1:
            root_key: Key | None = tops[0]
            root_width = stats.stats[tops[0]][3]
        else:  # several top-level functions: a synthetic root holds them side by side
            root_key, root_width = None, sum(stats.stats[k][3] for k in tops)
            callees = callees | {None: {k: stats.stats[k][3] for k in tops}}  # type: ignore
    else:
        root_key = _find_root(stats, root)
        root_width = stats.stats[root_key][3]
    if root_width <= 0:
        raise ValueError("the root spent no measurable time: profile a longer run (repeat=...)")
    boxes = [FlameBox(function_name(root_key) if root_key else "all", 0, 0.0, root_width,
                      root_key)]
    smallest = min_share * root_width

    def place(key: Key | None, start: float, width: float, depth: int, path: set) -> None:
        total = stats.stats[key][3] if key is not None else root_width
        if total <= 0:
            return
        kids = sorted(callees.get(key, {}).items(), key=lambda kv: (-kv[1], function_name(kv[0])))
        x = start
        for child, edge_time in kids:
            if child in path or _is_profiler(child):
                continue
            w = min(edge_time * width / total, start + width - x)  # never wider than the room left
            if w < smallest or w <= 0:
                continue
            boxes.append(FlameBox(function_name(child), depth + 1, x, w, child))
            place(child, x, w, depth + 1, path | {child})
            x += w

    place(root_key, 0.0, root_width, 0, {root_key})
    return boxes


def flame_chart(stats: pstats.Stats, root: str | None = None, ax: Any = None,
                min_share: float = 0.01, calls: int = 1,
                title: str = "Call tree (cProfile): width = time") -> Any:
    """Draw `flame_boxes(stats, root, min_share)` as an icicle chart, the root on top: a box's
    width is the time spent in that function (callees included) under the boxes above it, in
    milliseconds per call (`calls`: how many calls the profile holds). Boxes are coloured by
    source file. Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a whole number ≥ 1, got {calls!r}")
    boxes = flame_boxes(stats, root, min_share)
    depth = max(b.depth for b in boxes) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(9.6, 0.42 * depth + 1.3))
    fig = ax.figure
    files = sorted({b.key[0] if b.key else "" for b in boxes})
    palette = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fc9272", "#d9d9d9", "#fdd0a2",
               "#c7e9c0", "#dadaeb", "#9e9ac8"]
    color = {f: palette[i % len(palette)] for i, f in enumerate(files)}
    scale = 1000 / calls  # seconds in all -> milliseconds per call
    root_ms = boxes[0].width * scale
    width_pt = ax.get_position().width * fig.get_figwidth() * 72
    chars_per_ms = width_pt / 5.2 / root_ms  # about 5.2 points per character at fontsize 8
    for b in boxes:
        x, w = b.start * scale, b.width * scale
        file = b.key[0] if b.key else ""
        ax.add_patch(Rectangle((x, -b.depth - 1), w, 0.92, facecolor=color[file],
                               edgecolor="white", linewidth=0.8))
        fits = int(w * chars_per_ms) - 1
        # the file is in the legend: a box shows the qualified name, or a built-in's name
        label = b.function.removesuffix(" (C)") if file == "~" else b.function.split(" ", 1)[-1]
        if fits >= 4:
            label = label if len(label) <= fits else label[: fits - 1] + "…"
            ax.text(x + w / 2, -b.depth - 0.54, label, ha="center", va="center", fontsize=8,
                    color="black")
    ax.set_xlim(0, root_ms)
    ax.set_ylim(-depth - 0.1, 0)
    ax.set_yticks([])
    ax.set_xlabel("milliseconds" + (" per call" if calls > 1 else ""))
    ax.set_title(title)
    names = {"": "all", "~": "built-in (C)"}
    handles = [Patch(color=color[f], label=names.get(f, Path(f).name)) for f in files]
    below = 0.55 / (ax.get_position().height * fig.get_figheight())  # 0.55 inch under the axis
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -below),
              ncol=min(6, len(handles)), fontsize=8, frameon=False)
    ax.spines[["top", "right", "left"]].set_visible(False)
    return ax


# ---------------------------------------------------------------------------------------------
# Call graphs: gprof2dot and Graphviz

GRAPHVIZ_MISSING = (
    "Graphviz's `dot` program was not found, so the call graph cannot be drawn. Install "
    "Graphviz (Debian/Ubuntu: `sudo apt install graphviz`; macOS: `brew install graphviz`; "
    "conda: `conda install graphviz`; Windows: graphviz.org/download, then add it to PATH) and "
    "run the cell again. The flame chart shows the same call tree without it."
)


def _readable_stats(stats: pstats.Stats) -> dict:
    """stats.stats with each Python function's name replaced by its qualified name, so that
    gprof2dot labels a node `recurrent:226:LSTM.forward` rather than `recurrent:226:forward`."""
    def rename(key: Key) -> Key:
        file, line, name = key
        if file == "~":
            return (file, line, _builtin_name(name))
        return (file, line, _qualnames(file).get(line, name))

    return {rename(k): (cc, nc, tt, ct, {rename(c): e for c, e in callers.items()})
            for k, (cc, nc, tt, ct, callers) in stats.stats.items() if not _is_profiler(k)}


def call_graph_dot(stats: pstats.Stats, node_thres: float = 0.5,
                   edge_thres: float = 0.1) -> str:
    """The call graph of `stats` in Graphviz's DOT language, made by gprof2dot.

    Nodes below `node_thres` percent of the total time, and edges below `edge_thres` percent,
    are left out (gprof2dot's -n and -e). Each node shows the cumulative and self percentages
    and the number of calls; colour goes from blue (little time) to red (most).
    """
    import importlib.util

    stats = _as_stats(stats)
    if importlib.util.find_spec("gprof2dot") is None:
        raise ModuleNotFoundError("gprof2dot is not installed: pip install gprof2dot")
    for name, value in (("node_thres", node_thres), ("edge_thres", edge_thres)):
        if not 0 <= value <= 100:
            raise ValueError(f"{name} is a percentage in [0, 100], got {value}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "profile.pstats")
        path.write_bytes(marshal.dumps(_readable_stats(stats)))  # what Stats.dump_stats writes
        done = subprocess.run(
            [sys.executable, "-m", "gprof2dot", "--format=pstats", f"--node-thres={node_thres}",
             f"--edge-thres={edge_thres}", str(path)],
            capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"gprof2dot failed: {done.stderr.strip()}")
    return done.stdout


def call_graph_svg(stats: pstats.Stats, node_thres: float = 0.5,
                   edge_thres: float = 0.1) -> str | None:
    """`call_graph_dot(stats, ...)` rendered to SVG by Graphviz's `dot`, scaled to fit its
    column; None when `dot` is not installed (then show `GRAPHVIZ_MISSING`)."""
    dot_source = call_graph_dot(stats, node_thres, edge_thres)
    dot = shutil.which("dot")
    if dot is None:
        return None
    done = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz's dot failed: {done.stderr.strip()}")
    svg = done.stdout[done.stdout.index("<svg"):]  # drop the XML prolog and DOCTYPE
    # dot writes a fixed size in points; a width of 100 % and the viewBox let it scale down on
    # a narrow screen instead of overflowing the page.
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg width="100%"', svg, count=1)


# ---------------------------------------------------------------------------------------------
# line_profiler


@dataclass(frozen=True)
class LineRow:
    """One source line of a line-profiled function."""

    line: int  # line number in the file
    hits: int  # how many times it ran
    time: float  # seconds spent on it in all, callees included
    share: float  # time / the function's total time
    source: str  # the line, without the function's own indentation

    COLUMNS = (("line", "line", "{}"), ("hits", "hits", "{:,}"), ("ms", "time", "ms"),
               ("share", "share", "bar"), ("code", "source", "code"))


def line_profile(fn: Callable[..., Any], call: Callable[[], object]) -> list[LineRow]:
    """Time every line of the Python function `fn` while `call()` runs (line_profiler).

    `fn` is the function to look inside (a method: `LSTM.forward`); `call` is what runs it,
    e.g. `lambda: step()`. Returns a row per line of `fn`, its `def` line first.
    """
    from line_profiler import LineProfiler

    func = inspect.unwrap(getattr(fn, "__func__", fn))  # a bound method -> its function
    if not inspect.isfunction(func):
        raise TypeError(f"line_profile needs a Python function (or method), got "
                        f"{type(fn).__name__}: built-in functions have no lines to time")
    if not callable(call):
        raise TypeError("call must be a function of no arguments that runs fn, e.g. "
                        "lambda: step()")
    profiler = LineProfiler()
    profiler.add_function(func)
    profiler.runcall(call)
    result = profiler.get_stats()
    timings = {ln: (hits, t * result.unit) for entries in result.timings.values()
               for ln, hits, t in entries}
    if not timings:
        raise ValueError(f"{func.__qualname__} never ran during call(): pass a call that "
                         "uses it")
    lines, first = inspect.getsourcelines(func)
    text = [line.rstrip("\n") for line in lines]
    indent = min((len(s) - len(s.lstrip()) for s in text if s.strip()), default=0)
    total = sum(t for _, t in timings.values()) or 1.0
    return [LineRow(first + i, timings.get(first + i, (0, 0.0))[0],
                    timings.get(first + i, (0, 0.0))[1], timings.get(first + i, (0, 0.0))[1]
                    / total, s[indent:]) for i, s in enumerate(text)]


# ---------------------------------------------------------------------------------------------
# torch.profiler


@dataclass(frozen=True)
class OperatorRow:
    """One operator (or CUDA kernel, or a `record_function` label) of a torch.profiler run."""

    name: str  # "aten::mm", a kernel name, or a label such as "forward"
    calls: int
    self_cpu_ms: float  # CPU time in the operator itself, children excluded
    cpu_ms: float  # CPU time including the operators it called
    self_device_ms: float  # GPU time of its own kernels (0 on the CPU)
    self_cpu_memory_mb: float  # memory it allocated minus what it freed, on the CPU
    self_device_memory_mb: float  # the same on the GPU
    input_shapes: str  # shapes of its inputs, when grouped by shape; "" otherwise
    share: float  # its part of the sort column's total over all operators (of the positive
    # values, for memory: what the operators that keep memory keep)

    COLUMNS = (("operator", "name", "{}"), ("calls", "calls", "{:,}"),
               ("self CPU ms", "self_cpu_ms", "{:.2f}"), ("CPU ms", "cpu_ms", "{:.2f}"),
               ("self GPU ms", "self_device_ms", "{:.2f}"),
               ("net CPU MB", "self_cpu_memory_mb", "{:.1f}"),
               ("share", "share", "bar"))


_OPERATOR_SORTS = ("self_cpu_time_total", "cpu_time_total", "self_device_time_total",
                   "device_time_total", "self_cpu_memory_usage", "self_device_memory_usage",
                   "count")


def torch_operator_table(prof: Any, n: int = 10, sort_by: str = "self_cpu_time_total",
                         group_by_input_shape: bool = False) -> list[OperatorRow]:
    """The `n` operators of `prof.key_averages()` with the largest `sort_by`, as rows.

    `prof` is a finished `torch.profiler.profile` (e.g. from `profile_torch_step`). Labels of
    `record_function` ("forward", ...) and the optimiser step are ranges, not operators: they
    are left out, so that the self times are the operators' own. With `group_by_input_shape`
    the same operator on different shapes gives separate rows (needs `record_shapes=True`).
    """
    if sort_by not in _OPERATOR_SORTS:
        raise ValueError(f"sort_by must be one of {_OPERATOR_SORTS}, got {sort_by!r}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a whole number ≥ 1, got {n!r}")
    if not hasattr(prof, "key_averages"):
        raise TypeError(f"expected a torch.profiler.profile, got {type(prof).__name__}")
    try:
        events = prof.key_averages(group_by_input_shape=group_by_input_shape)
    except (AssertionError, AttributeError, RuntimeError) as err:
        raise ValueError("this profiler holds no results: run steps under it and call "
                         "prof.step() after each, or use profile_torch_step") from err
    events = [e for e in events if not e.is_user_annotation and "#" not in e.key]
    # Memory columns are net (allocated minus freed) and can be negative: share out the positive.
    total = sum(max(getattr(e, sort_by), 0) for e in events) or 1.0
    ranked = sorted(events, key=lambda e: (-getattr(e, sort_by), e.key))
    return [OperatorRow(
        name=e.key, calls=e.count, self_cpu_ms=e.self_cpu_time_total / 1000,
        cpu_ms=e.cpu_time_total / 1000, self_device_ms=e.self_device_time_total / 1000,
        self_cpu_memory_mb=e.self_cpu_memory_usage / 2**20,
        self_device_memory_mb=e.self_device_memory_usage / 2**20,
        input_shapes=str(e.input_shapes) if group_by_input_shape else "",
        share=max(getattr(e, sort_by), 0) / total) for e in ranked[:n]]


# What torch's C++ side writes to stderr (file descriptor 2) around a profile on the CPU: start
# and stop notices of Kineto, and a warning about blocks allocated before profiling began that
# it sees freed. None of it is a problem, but in a notebook it lands in the cell's output.
_PROFILER_NOISE = re.compile(r"profiler_(start|stop)|Completed Stage|Memory block of unknown "
                             r"size was allocated before the profiling started")
_CPU_ONLY_NOISE = re.compile(r"CUPTI|cupti|libcuda|CUDA driver")  # a CUDA build without a GPU


@contextlib.contextmanager
def _quiet_profiler(cpu_only: bool) -> Iterator[None]:
    """Catch what is written to file descriptor 2 meanwhile; write back all but the profiler's
    routine notices (and, on the CPU path, the CUDA build's complaints that it has no GPU)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 (a GUI process): nothing to catch
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines()
                    if not _PROFILER_NOISE.search(line)
                    and not (cpu_only and _CPU_ONLY_NOISE.search(line))]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def profile_torch_step(model: Any, batch: tuple[Any, Any], device: Any,
                       trace_path: str | os.PathLike | None = None, steps: int = 3, *,
                       wait: int = 1, warmup: int = 1, lr: float = 1e-3) -> Any:
    """Profile training steps of a language model with torch.profiler; return the profiler.

    `model(idx, targets)` must return `(logits, loss)` (the course's models do); `batch` is
    `(idx, targets)`. The model and the batch are moved to `device`, and an AdamW optimiser
    (`book.optim.adamw`) is made. Each step runs forward, backward and the optimiser step, each
    inside a `record_function` label, so the trace shows the three phases. The schedule skips
    `wait` steps, records but discards `warmup` steps (first-call costs: allocation, kernel
    choice, lazy initialisation), then records `steps` steps. Shapes and memory are recorded;
    on CUDA the GPU kernels too. With `trace_path`, a Chrome trace (JSON, open it in
    ui.perfetto.dev or chrome://tracing) is written there. The model trains meanwhile: its
    weights change over the `wait + warmup + steps` steps.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function, schedule

    from book.optim import adamw

    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a whole number ≥ 1, got {steps!r}")
    if not all(isinstance(v, int) and v >= 0 for v in (wait, warmup)):
        raise ValueError(f"wait and warmup must be whole numbers ≥ 0, got {wait!r}, {warmup!r}")
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("batch must be a pair (idx, targets) of token-id tensors (B, T)")
    device = torch.device(device)
    model.to(device)
    idx, targets = (t.to(device) for t in batch)
    optimizer = adamw(model, lr, weight_decay=0.1, device_type=device.type)
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)

    def save(prof: Any) -> None:
        if trace_path is not None:
            prof.export_chrome_trace(str(trace_path))

    model.train()
    with _quiet_profiler(cpu_only=device.type != "cuda"), profile(
            activities=activities, schedule=schedule(wait=wait, warmup=warmup, active=steps,
                                                     repeat=1),
            on_trace_ready=save, record_shapes=True, profile_memory=True) as prof:
        for _ in range(wait + warmup + steps):
            with record_function("forward"):
                _, loss = model(idx, targets)
            with record_function("backward"):
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            with record_function("optimizer.step"):
                optimizer.step()
            prof.step()
    return prof


# ---------------------------------------------------------------------------------------------
# Showing the rows


def _bar(share: float, width: int = 12) -> str:
    """A share as a bar of block characters and a percentage: '██████ 48%'."""
    full = round(max(0.0, min(1.0, share)) * width)
    return f"{'█' * full}{'·' * (width - full)} {share:.0%}"


def _inline_code(line: str) -> str:
    """A source line as Markdown inline code, its indentation kept as non-breaking spaces
    (a table cell would collapse ordinary ones) and any backticks inside kept literal."""
    code = line.lstrip(" ")
    if not code:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return "\u00a0" * (len(line) - len(code)) + f"{fence}{pad}{code}{pad}{fence}"


def markdown_table(rows: Sequence[Any], min_share: float = 0.0) -> Any:
    """Rows of `function_table`, `line_profile` or `torch_operator_table` as a Markdown table
    (IPython's Markdown: the website renders it in its own style, light or dark). Rows whose
    `share` is below `min_share` are left out; with the default 0, `line_profile`'s lines that
    never ran (comments, docstrings) stay, with empty numbers, so the code reads whole."""
    from IPython.display import Markdown

    if not rows:
        raise ValueError("no rows to show")
    kind = type(rows[0])
    if kind not in (ProfileRow, LineRow, OperatorRow) or any(type(r) is not kind for r in rows):
        raise TypeError("rows must all be ProfileRow, LineRow or OperatorRow objects")
    names = {f.name for f in fields(kind)}
    shown = [r for r in rows if r.share >= min_share]

    def cell(row: Any, attr: str, fmt: str) -> str:
        value = getattr(row, attr)
        if kind is LineRow and row.hits == 0 and fmt != "code":  # a line that never ran
            return ""
        if fmt == "ms":
            text = f"{value * 1000:.2f}"
        elif fmt == "bar":
            text = _bar(value)
        elif fmt == "code":
            text = _inline_code(value)
        else:
            text = fmt.format(value)
        return text.replace("|", "\\|")

    columns = [c for c in kind.COLUMNS if c[1] in names]
    if kind is OperatorRow and not any(r.self_device_ms for r in rows):  # CPU: no GPU column
        columns = [c for c in columns if c[1] != "self_device_ms"]
    lines = ["| " + " | ".join(c[0] for c in columns) + " |",
             "| " + " | ".join("---" if c[2] in ("{}", "code", "bar") else "---:"
                               for c in columns) + " |"]
    lines += ["| " + " | ".join(cell(r, attr, fmt) for _, attr, fmt in columns) + " |"
              for r in shown]
    return Markdown("\n".join(lines))


def blas_report() -> str:
    """Which BLAS library NumPy's matrix products run on, and with how many threads: from
    threadpoolctl when it is installed, else from `numpy.show_config`."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            np.show_config()
        found = re.search(r"blas:\s*\n\s*name:\s*(\S+).*?version:\s*(\S+)", buffer.getvalue(),
                          re.S)
        return f"BLAS {found[1]} {found[2]} (numpy.show_config)" if found else "BLAS unknown"
    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return "BLAS: none loaded (threadpoolctl)"
    return "; ".join(f"BLAS {i['internal_api']} {i.get('version')}, kernel "
                     f"{i.get('architecture')}, {i['num_threads']} thread(s)" for i in libs)
