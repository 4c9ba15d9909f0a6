"""Drawing a `book.autograd` graph with matplotlib: one box per node, one arrow per edge.

    from book.autograd import Value
    from book.autograd_draw import draw
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = (a * b).tanh()
    out.backward()
    draw(out)          # inputs on the left; each box shows data, and grad once backward has run
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from book.autograd import Value, graph_edges, topological_order

__all__ = ["draw"]


_BOX_W, _BOX_H = 1.0, 0.6  # node size, in inches: the figure is sized so that 1 unit = 1 inch
_COL_GAP, _ROW_GAP = 1.4, 0.8  # distance between layer columns and between rows
_COLOURS = {"leaf": "#dbe9f6", "op": "#fdf1d6", "root": "#f9d6d5"}


def _layers(root: Value) -> dict[Value, int]:
    """Column of each node: its depth from the inputs, with each leaf just left of its first use."""
    order = topological_order(root)
    depth: dict[Value, int] = {}
    for node in order:  # parents come first, so their depth is known
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    # With every leaf in column 0, weights and constants would pile up far from where they are
    # used; moving each one just left of its first consumer keeps the arrows short.
    first_use: dict[Value, int] = {}
    for parent, child in graph_edges(root):
        first_use[parent] = min(first_use.get(parent, depth[child]), depth[child])
    for node in order:
        if not node.parents and node in first_use:
            depth[node] = first_use[node] - 1
    return depth


def _positions(root: Value) -> dict[Value, tuple[float, float]]:
    """(x, y) of each node's centre: columns by `_layers`, rows ordered to limit crossings."""
    depth = _layers(root)
    columns: list[list[Value]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in topological_order(root):
        columns[depth[node]].append(node)
    neighbours: dict[Value, list[Value]] = {node: [] for node in depth}
    for parent, child in graph_edges(root):
        neighbours[parent].append(child)
        neighbours[child].append(parent)

    y: dict[Value, float] = {}

    def stack_up(column: list[Value]) -> None:
        for i, node in enumerate(column):  # first node on top, column centred on y = 0
            y[node] = ((len(column) - 1) / 2 - i) * _ROW_GAP

    for column in columns:
        stack_up(column)
    def pull(node: Value) -> float:  # minus the mean height of its neighbours: sorts top first
        return -sum(y[m] for m in neighbours[node]) / max(len(neighbours[node]), 1)

    # The barycentre heuristic: a few passes that move each node towards the mean height of
    # the nodes it is connected to. Cheap, and enough for graphs of a few dozen nodes.
    for _ in range(6):
        for column in columns:
            column.sort(key=pull)
            stack_up(column)
    return {node: (depth[node] * _COL_GAP, y[node]) for node in depth}


def _box_text(node: Value, show_grad: bool) -> str:
    """The lines written in a node's box: name and operation, data, and grad."""
    title = " · ".join(s for s in (node.label, node.op) if s) or "leaf"
    lines = [title, f"data {node.data:.4g}"]
    if show_grad:
        lines.append(f"grad {node.grad:.4g}")
    return "\n".join(lines)


def draw(root: Value, ax: plt.Axes | None = None) -> plt.Figure:
    """Draw root's graph left to right, inputs first; grads are shown once backward has run."""
    pos = _positions(root)
    show_grad = root.grad != 0.0  # backward() sets the root's grad to 1
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    xlim = (min(xs) - _BOX_W / 2 - 0.1, max(xs) + _BOX_W / 2 + 0.1)
    ylim = (min(ys) - _BOX_H / 2 - 0.1, max(ys) + _BOX_H / 2 + 0.1)
    if ax is None:
        _, ax = plt.subplots(figsize=(xlim[1] - xlim[0], ylim[1] - ylim[0]))
        ax.set_position((0, 0, 1, 1))  # no margins: one data unit is one inch
    for node, (x, y) in pos.items():
        kind = "root" if node is root else "op" if node.parents else "leaf"
        ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                    boxstyle="round,pad=0,rounding_size=0.08", gid="node",
                                    facecolor=_COLOURS[kind], edgecolor="#555555", linewidth=0.8))
        ax.text(x, y, _box_text(node, show_grad), ha="center", va="center", fontsize=7.5,
                family="monospace", linespacing=1.3)
    for parent, child in graph_edges(root):
        (x0, y0), (x1, y1) = pos[parent], pos[child]
        ax.add_patch(FancyArrowPatch((x0 + _BOX_W / 2, y0), (x1 - _BOX_W / 2, y1), gid="edge",
                                     arrowstyle="-|>", mutation_scale=8, color="#777777",
                                     linewidth=0.8, shrinkA=1, shrinkB=1))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax.figure
