"""Show the package's own code in a chapter, so the reader sees exactly what later chapters import."""

from __future__ import annotations

import inspect
import textwrap

from IPython.display import Markdown


def source(obj: object) -> Markdown:
    """The source of a function, method or class, as a Python code block in the page.

    Markdown, not IPython's `Code`: the website renders it with the book's own highlighting,
    whereas `Code` would inject a global <style> into the page.
    """
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError) as err:
        raise TypeError(f"cannot show the source of {obj!r}: pass a function, method or class") from err
    return Markdown(f"```python\n{textwrap.dedent(text).rstrip()}\n```")
