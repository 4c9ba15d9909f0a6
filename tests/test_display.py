"""`book.display.source`: the code block a chapter shows, captioned with where the code lives."""

from __future__ import annotations

import pytest

from book.display import source, where
from book.gradcheck import rel_error
from book.np_nn.attention import MultiHeadAttention


def test_caption_names_the_qualified_name_and_the_file():
    md = source(rel_error)._repr_markdown_()
    caption, block = md.split("\n\n", 1)
    assert caption == "`book.gradcheck.rel_error`, defined in `book/gradcheck.py`:"
    assert block.startswith("```python\ndef rel_error(") and block.endswith("\n```")


def test_a_method_is_named_with_its_class_and_dedented():
    md = source(MultiHeadAttention.forward)._repr_markdown_()
    assert md.startswith("`book.np_nn.attention.MultiHeadAttention.forward`, defined in "
                         "`book/np_nn/attention.py`:")
    assert "\n```python\ndef forward(" in md  # dedented: no class indentation left


def test_a_decorated_function_is_placed_where_it_is_written_not_where_its_decorator_is():
    # generate is wrapped by @torch.no_grad, whose wrapper lives in torch's _contextlib.py; the
    # caption must not depend on where torch is installed (it did, and differed between machines)
    from book.textgen import generate

    assert where(generate).endswith("defined in `book/textgen/sample.py`:")


def test_code_outside_the_repository_is_named_by_its_file_only():
    import json

    assert where(json.dumps) == "`json.dumps`, defined in `__init__.py`:"


@pytest.mark.parametrize("obj", [3, None, len])
def test_objects_without_source_are_refused_with_a_clear_error(obj):
    with pytest.raises(TypeError, match="cannot show the source"):
        source(obj)
