"""book.gradcheck: finite differences agree with known derivatives; rel_error is what it says."""

import numpy as np
import pytest

from book.display import source
from book.gradcheck import numerical_grad, rel_error


def test_numerical_grad_of_a_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = numerical_grad(lambda: float(np.sum(np.sin(x) * x)), x)
    assert rel_error(grad, np.cos(x) * x + np.sin(x)) < 1e-9
    assert np.array_equal(x, [[0.3, -1.2], [2.0, 0.5]]), "x must be restored"


def test_numerical_grad_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_grad(lambda: 0.0, np.zeros(2, np.float32))


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([0.0, 4.0]), np.array([0.0, 3.0])) == pytest.approx(0.25)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_source_shows_the_code_as_a_python_block():
    md = source(rel_error)._repr_markdown_()
    assert "\n```python\ndef rel_error(" in md and md.endswith("\n```")
    with pytest.raises(TypeError, match="cannot show the source"):
        source(3)
