"""Show the package's own code in a chapter: readers see exactly what later chapters import."""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

from IPython.display import Markdown

from book.env import REPOSITORY  # captions give paths relative to it (book/x.py)


def where(obj: object) -> str:
    """Where `obj` is defined, as a caption: its qualified name and its file in the repository."""
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    module = getattr(obj, "__module__", None)
    name = f"{module}.{qualname}" if module else qualname
    try:  # a decorated function (e.g. @torch.no_grad) lives where its __wrapped__ original does
        path = Path(inspect.getsourcefile(inspect.unwrap(obj)) or "").resolve()
    except TypeError:  # a built-in: no file to name
        return f"`{name}`:"
    inside = path.is_relative_to(REPOSITORY)
    shown = path.relative_to(REPOSITORY).as_posix() if inside else path.name
    return f"`{name}`, defined in `{shown}`:"


def source(obj: object) -> Markdown:
    """The source of a function, method or class, captioned with where it lives, for the page.

    Markdown, not IPython's `Code`: the website renders it with the book's own highlighting,
    whereas `Code` would inject a global <style> into the page. The caption (like d2l's
    "Defined in") names the qualified name and the file, e.g. `book/textgen.py`, so a reader
    can find the code in the repository and import it.
    """
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError) as err:
        raise TypeError(
            f"cannot show the source of {obj!r}: pass a function, method or class"
        ) from err
    return Markdown(f"{where(obj)}\n\n```python\n{textwrap.dedent(text).rstrip()}\n```")
