"""book.autograd: gradients equal torch.autograd's, deep graphs work, the graph can be drawn."""

import math
import sys

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from book.autograd import Value, draw, graph_edges, topological_order  # noqa: E402

# Each expression is written once and run on both engines: Value and torch.Tensor share
# +, −, *, /, **, unary −, .exp(), .log(), .tanh(), .sigmoid() and .relu().
EXPRESSIONS = {
    "a used twice": lambda a, b, c: a * b + c * a,
    "a used thrice, as a*a*a": lambda a, b, c: a * a * a + b * c,
    "division": lambda a, b, c: (a * b - c) / (a + c) + b / c,
    "numbers on the left": lambda a, b, c: 3 - a + 2 * b + 4 / c - (-c) + 1.5 + 0 * a,
    "powers": lambda a, b, c: a**3 + b**-2 - c**0.5 + (a * c) ** 2,
    "exp and log": lambda a, b, c: (a * b).exp() + (c * c + 1).log() - (b.exp() / c).log(),
    "tanh, sigmoid, relu": lambda a, b, c: (a * b + c).tanh() * (a - c).sigmoid()
    + (b - a).relu() + (a - b).relu() * c,
    "neuron and squared error": lambda a, b, c: ((a * 0.5 + b * -1.5 + c).tanh() - 0.2) ** 2,
}
INPUTS = (0.7, -1.3, 2.1)


def _torch_grads(expr, inputs):
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in inputs]
    out = expr(*leaves)
    out.backward()
    return out.item(), [leaf.grad.item() for leaf in leaves]


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_gradients_match_torch(name):
    expr = EXPRESSIONS[name]
    leaves = [Value(v, label=label) for v, label in zip(INPUTS, "abc")]
    out = expr(*leaves)
    out.backward()
    data, grads = _torch_grads(expr, INPUTS)
    assert out.data == pytest.approx(data, abs=1e-10)
    assert [leaf.grad for leaf in leaves] == pytest.approx(grads, abs=1e-10)


def test_relu_and_sigmoid_at_the_edges():
    # relu'(0) = 0 as in PyTorch; sigmoid of a very negative number must not overflow
    x, y = Value(0.0), Value(-800.0)
    out = x.relu() + y.sigmoid()
    out.backward()
    assert (x.grad, y.grad, out.data) == (0.0, 0.0, 0.0)


def test_deep_chain_does_not_hit_the_recursion_limit():
    depth = 5000
    assert depth > sys.getrecursionlimit()
    x = Value(0.3, label="x")
    y = x
    for _ in range(depth):
        y = y * 1.0001 + 0.001
    y.backward()
    assert len(topological_order(y)) == 1 + 4 * depth  # x, then a "*", a "+" and two constants
    assert x.grad == pytest.approx(1.0001**depth, rel=1e-9)


def test_backward_twice_gives_the_same_grads():
    a, b = Value(1.5), Value(-0.4)
    out = (a * b).tanh() + a * a
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first
    assert first == pytest.approx(_torch_grads(lambda a, b: (a * b).tanh() + a * a, (1.5, -0.4))[1])


def test_a_user_defined_operation_following_the_contract():
    # The example of Value's docstring, typed in as a learner would.
    def sin(x: Value) -> Value:
        out = Value(math.sin(x.data), parents=(x,), op="sin")

        def _backward() -> None:
            x.grad += math.cos(x.data) * out.grad

        out._backward = _backward
        return out

    a, b = Value(0.7), Value(-1.3)
    out = sin(a * b) * a + sin(b)  # b reaches the output by two paths
    out.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.7, -1.3))
    torch_out = torch.sin(ta * tb) * ta + torch.sin(tb)
    torch_out.backward()
    assert out.data == pytest.approx(torch_out.item(), abs=1e-12)
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), abs=1e-12)


def test_topological_order_and_edges():
    a = Value(2.0, label="a")
    b = a * a  # a appears twice among b's parents, but is one node and one edge
    c = b + a
    order = topological_order(c)
    assert order[-1] is c and len(order) == 3
    assert all(order.index(p) < order.index(n) for n in order for p in n.parents)
    assert len(graph_edges(c)) == 3  # a→b, b→c, a→c


def test_repr_is_stable():
    a = Value(2, label="a")
    assert repr(a) == "Value(data=2, grad=0, label='a')"
    assert repr(a.tanh()) == "Value(data=0.964028, grad=0, op='tanh')"


def test_number_exponent_only():
    with pytest.raises(TypeError, match="number exponents"):
        Value(2.0) ** Value(3.0)


def _neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(6.88, label="b")
    out = (x1 * w1 + x2 * w2 + b).tanh()
    out.label = "out"
    return out


def test_draw_one_box_per_node_and_one_arrow_per_edge():
    out = _neuron()
    fig = draw(out)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if p.get_gid() == "node"]
    arrows = [p for p in ax.patches if p.get_gid() == "edge"]
    assert len(boxes) == len(ax.texts) == len(topological_order(out)) == 10
    assert len(arrows) == len(graph_edges(out)) == 9
    assert not any("grad" in t.get_text() for t in ax.texts)  # no backward yet
    plt.close(fig)

    out.backward()
    fig, ax = plt.subplots()
    assert draw(out, ax=ax) is fig
    assert all("grad" in t.get_text() for t in ax.texts)
    assert any(t.get_text() == "out · tanh\ndata 0.7064\ngrad 1" for t in ax.texts)
    plt.close(fig)


def test_draw_a_tiny_mlp():
    x = [Value(1.0, label="x1"), Value(-0.5, label="x2")]
    hidden = []
    for i, (w, bias) in enumerate([((0.3, -0.7), 0.1), ((0.5, 0.2), -0.2)]):
        s = sum((Value(wj, label=f"w{i + 1}{j + 1}") * xj for j, (wj, xj) in enumerate(zip(w, x))),
                Value(bias, label=f"b{i + 1}"))
        hidden.append(s.tanh())
    y_hat = Value(0.8, label="v1") * hidden[0] + Value(-0.4, label="v2") * hidden[1]
    loss = (y_hat - 1.0) ** 2
    loss.backward()
    fig = draw(loss)
    n = len(topological_order(loss))
    assert 20 <= n <= 30
    assert sum(p.get_gid() == "node" for p in fig.axes[0].patches) == n
    plt.close(fig)
