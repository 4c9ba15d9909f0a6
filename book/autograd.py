"""A small scalar reverse-mode autodiff engine: the chain rule, applied node by node on a graph.

Every arithmetic step on a `Value` creates a new node that remembers its inputs and how to send
a gradient back to them. `backward()` then visits the nodes from the output to the inputs.
Drawing a graph is in `book.autograd_draw`: the engine needs nothing but the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Number = int | float


class Value:
    """A scalar node of a computational graph: its value, its gradient and how it was made.

    Attributes:
        data: the number computed in the forward pass.
        grad: d(output)/d(this node), filled in by `output.backward()`; 0.0 before.
        parents: the nodes this one was computed from (empty for an input, a "leaf").
        op: the name of the operation that made it ("+", "*", "tanh", ...; "" for a leaf).
        label: an optional name, shown by `book.autograd_draw.draw`.
        _backward: the node's share of the chain rule. The contract:
            `_backward()` takes no argument, and for each parent p it ADDS
            (∂ self.data / ∂ p.data) · self.grad  to  p.grad.
            It adds (`+=`) rather than sets, because a node used twice (`x * x`, or `x` feeding
            two layers) receives one contribution per use, and the total derivative is their sum.
            It may assume `self.grad` is final: `backward()` calls it only after every node
            that uses `self` has run its own `_backward`. A leaf's `_backward` does nothing.

    A new operation needs only a forward value and that closure: create `out` from the
    inputs' `.data` with `parents` and `op` set, define a `_backward` that adds each input's
    local derivative times `out.grad` to that input's `.grad`, attach it as `out._backward`, and
    return `out`. The methods below (`exp`, `tanh`, `__mul__`, ...) all follow this pattern.
    """

    def __init__(self, data: Number, parents: tuple[Value, ...] = (), op: str = "",
                 label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self.parents = tuple(parents)
        self.op = op
        self.label = label
        self._backward: Callable[[], None] = _nothing

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("op", self.op), ("label", self.label)) if v)
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{extra})"

    # --- binary operations: Python numbers on either side become leaves -----------------------

    def __add__(self, other: Value | Number) -> Value:
        a, b = self, _as_value(other)
        out = Value(a.data + b.data, parents=(a, b), op="+")

        def _backward() -> None:
            a.grad += out.grad  # ∂(a+b)/∂a = 1
            b.grad += out.grad  # ∂(a+b)/∂b = 1

        out._backward = _backward
        return out

    def __sub__(self, other: Value | Number) -> Value:
        a, b = self, _as_value(other)
        out = Value(a.data - b.data, parents=(a, b), op="−")

        def _backward() -> None:
            a.grad += out.grad  # ∂(a−b)/∂a = 1
            b.grad -= out.grad  # ∂(a−b)/∂b = −1

        out._backward = _backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        a, b = self, _as_value(other)
        out = Value(a.data * b.data, parents=(a, b), op="*")

        def _backward() -> None:
            a.grad += b.data * out.grad  # ∂(ab)/∂a = b
            b.grad += a.data * out.grad  # ∂(ab)/∂b = a

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | Number) -> Value:
        a, b = self, _as_value(other)
        out = Value(a.data / b.data, parents=(a, b), op="/")

        def _backward() -> None:
            a.grad += out.grad / b.data  # ∂(a/b)/∂a = 1/b
            b.grad -= a.data / b.data**2 * out.grad  # ∂(a/b)/∂b = −a/b²

        out._backward = _backward
        return out

    def __radd__(self, other: Number) -> Value:
        return _as_value(other) + self

    def __rsub__(self, other: Number) -> Value:
        return _as_value(other) - self

    def __rmul__(self, other: Number) -> Value:
        return _as_value(other) * self

    def __rtruediv__(self, other: Number) -> Value:
        return _as_value(other) / self

    # --- unary operations ---------------------------------------------------------------------

    def __neg__(self) -> Value:
        a = self
        out = Value(-a.data, parents=(a,), op="neg")

        def _backward() -> None:
            a.grad -= out.grad  # ∂(−a)/∂a = −1

        out._backward = _backward
        return out

    def __pow__(self, n: Number) -> Value:
        if isinstance(n, Value):
            raise TypeError("only number exponents: write (a.log() * b).exp() for a ** b")
        a = self
        out = Value(a.data**n, parents=(a,), op=f"**{n:g}")

        def _backward() -> None:
            a.grad += n * a.data ** (n - 1) * out.grad  # ∂(aⁿ)/∂a = n aⁿ⁻¹

        out._backward = _backward
        return out

    def exp(self) -> Value:
        a = self
        out = Value(math.exp(a.data), parents=(a,), op="exp")

        def _backward() -> None:
            a.grad += out.data * out.grad  # ∂eᵃ/∂a = eᵃ, already computed

        out._backward = _backward
        return out

    def log(self) -> Value:
        a = self
        out = Value(math.log(a.data), parents=(a,), op="log")

        def _backward() -> None:
            a.grad += out.grad / a.data  # ∂ln(a)/∂a = 1/a

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        a = self
        out = Value(math.tanh(a.data), parents=(a,), op="tanh")

        def _backward() -> None:
            a.grad += (1 - out.data**2) * out.grad  # ∂tanh(a)/∂a = 1 − tanh²(a)

        out._backward = _backward
        return out

    def sigmoid(self) -> Value:
        a = self
        if a.data >= 0:
            s = 1 / (1 + math.exp(-a.data))
        else:  # the same number, written so that e^−a cannot overflow for very negative a
            s = math.exp(a.data) / (1 + math.exp(a.data))
        out = Value(s, parents=(a,), op="sigmoid")

        def _backward() -> None:
            a.grad += out.data * (1 - out.data) * out.grad  # ∂σ(a)/∂a = σ(a)(1 − σ(a))

        out._backward = _backward
        return out

    def relu(self) -> Value:
        a = self
        out = Value(max(a.data, 0.0), parents=(a,), op="relu")

        def _backward() -> None:
            a.grad += (a.data > 0) * out.grad  # 1 where a > 0, else 0 (0 at a = 0, like PyTorch)

        out._backward = _backward
        return out

    # --- the backward pass --------------------------------------------------------------------

    def backward(self) -> None:
        """Fill `.grad` of every node of the graph with d(self)/d(node)."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0  # start fresh, so calling backward twice gives the same answer
        self.grad = 1.0  # d(self)/d(self)
        for node in reversed(order):  # every node runs after all the nodes that use it
            node._backward()


def _nothing() -> None:
    """A leaf's `_backward`: it has no parents to pass a gradient to."""


def _as_value(x: Value | Number) -> Value:
    """`x` itself if it is a Value, else a new leaf holding the number (labelled "const")."""
    return x if isinstance(x, Value) else Value(x, label="const")


def topological_order(root: Value) -> list[Value]:
    """Every node of root's graph once, each after all of its parents (inputs first, root last)."""
    # Depth-first search with an explicit stack, not recursion: a chain of 10,000 nodes would
    # exceed Python's recursion limit. A node is emitted once all of its parents have been.
    order: list[Value] = []
    seen = {root}  # Value keeps Python's identity hash, since it does not define ==
    stack = [(root, iter(root.parents))]
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, iter(parent.parents)))
                break
        else:  # all parents done
            stack.pop()
            order.append(node)
    return order


def graph_edges(root: Value) -> list[tuple[Value, Value]]:
    """The (parent, child) edges of root's graph, each distinct edge once."""
    edges: dict[tuple[int, int], tuple[Value, Value]] = {}
    for child in topological_order(root):
        for parent in child.parents:
            edges.setdefault((id(parent), id(child)), (parent, child))  # x * x: one arrow
    return list(edges.values())
