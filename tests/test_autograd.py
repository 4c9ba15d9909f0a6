"""book.autograd: gradients equal torch.autograd's, deep graphs work, the engine imports no
plotting library (drawing: test_autograd_draw.py)."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from book.autograd import Value, graph_edges, topological_order

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
    # An operation written outside the class, following Value's docstring: softplus(x) =
    # log(1 + e^x), whose derivative is the sigmoid.
    def softplus(x: Value) -> Value:
        out = Value(math.log1p(math.exp(x.data)), parents=(x,), op="softplus")

        def _backward() -> None:
            x.grad += 1 / (1 + math.exp(-x.data)) * out.grad

        out._backward = _backward
        return out

    a, b = Value(0.7), Value(-1.3)
    out = softplus(a * b) * a + softplus(b)  # b reaches the output by two paths
    out.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.7, -1.3))
    softplus_t = torch.nn.functional.softplus
    torch_out = softplus_t(ta * tb) * ta + softplus_t(tb)
    torch_out.backward()
    assert out.data == pytest.approx(torch_out.item(), abs=1e-12)
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), abs=1e-12)


def test_the_docstring_does_not_hand_out_the_sin_exercise():
    # chapter 4 asks for sin as a new operation (book.exercises.ch04.check_sin_op)
    assert not re.search(r"\b(sin|cos)\b", Value.__doc__)


def test_importing_the_engine_does_not_import_matplotlib():
    code = "import sys, book.autograd; print('matplotlib' in sys.modules)"
    root = str(Path(__file__).resolve().parent.parent)  # this checkout's book, not an installed one
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={**os.environ, "PYTHONPATH": root})
    assert result.stdout.strip() == "False"


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
