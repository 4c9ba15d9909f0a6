"""book.autograd_draw: one box per node and one arrow per edge, grads shown after backward."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from book.autograd import Value, graph_edges, topological_order  # noqa: E402
from book.autograd_draw import draw  # noqa: E402


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
