"""Set (or unset) the course's public repository everywhere it appears.

    python tools/set_repository.py https://github.com/OWNER/REPO   # a fork sets its own
    python tools/set_repository.py --unset                         # no public repository
    python tools/set_repository.py --check                         # is every copy in step?

The address is one setting, `repository.url` in _config.yml. The site reads it from there (the
repository button, the issue link, the Colab launch button: assets/sphinx_ext/course_site.py builds
none of them while it is unset). Three places cannot read a config file, so this tool writes the
address into them: each notebook's "Open in Colab" link (first cell), its install cell (Colab
installs the `book` package from the repository) and pyproject.toml's project URL. While the
address is unset there is no Colab link, and the install cell tells a Colab user what to do.
tests/test_notebooks.py fails when a copy differs from what this tool would write.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from execute_notebooks import write_notebook  # noqa: E402  (tools/ is not a package)

CONFIG = ROOT / "_config.yml"
PYPROJECT = ROOT / "pyproject.toml"
GITHUB = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+")

# The header line of a chapter (or solutions) notebook, under its title: an optional Colab link,
# then one link (to its solutions, its chapter, or the list of chapters), kept as it is.
HEADER = re.compile(r"(?P<colab>\[Open (?:this chapter )?in Colab\]\([^)]*\)\s*·\s*)?"
                    r"\[(?P<text>[^\]]+)\]\((?P<target>[^)]+)\)")
# The install block of a notebook's first code cell: the `if` line and its indented body.
INSTALL = re.compile(r'if "google\.colab" in sys\.modules:[^\n]*\n(?:    [^\n]*(?:\n|$))+')


def notebooks() -> list[Path]:
    return sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])


def configured_url() -> str:
    """`repository.url` from _config.yml ("" when unset)."""
    return (yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["repository"]["url"] or "").strip()


def check_url(url: str) -> str:
    url = url.strip().removesuffix("/").removesuffix(".git")
    if not GITHUB.fullmatch(url):
        raise ValueError(f"expected a GitHub repository address such as "
                         f"https://github.com/OWNER/REPO, got {url!r}")
    return url


def header(url: str, path: Path, text: str, target: str) -> str:
    """The notebook's header links: Colab (when a repository is set), then [text](target)."""
    if not url:
        return f"[{text[0].upper()}{text[1:]}]({target})"
    rel = path.relative_to(ROOT).as_posix()
    colab = "Open this chapter in Colab" if path.parent.name == "chapters" else "Open in Colab"
    owner_repo = url.removeprefix("https://github.com/")
    return (f"[{colab}](https://colab.research.google.com/github/{owner_repo}/blob/main/{rel})\n"
            f"· [{text[0].lower()}{text[1:]}]({target})")


def install_block(url: str) -> str:
    """The block of the first code cell that installs the course package in Colab."""
    if url:
        return ('if "google.colab" in sys.modules:  # in Colab only: install the course package\n'
                f'    %pip install -q "llm-course @ git+{url}"\n')
    return ('if "google.colab" in sys.modules:  # in Colab the course package must be installed\n'
            '    raise RuntimeError("this copy of the course names no public repository to '
            'install the `book` "\n'
            '                       "package from: upload the course folder, run `%pip install '
            '-e .` in it, "\n'
            '                       "and open the notebooks from there")\n')


def pyproject_text(text: str, url: str) -> str:
    """pyproject.toml with its [project.urls] table naming `url` (no table while unset)."""
    text = re.sub(r'\[project\.urls\]\nRepository = "[^"]*"\n\n', "", text)
    if url:
        table = f'[project.urls]\nRepository = "{url}"\n\n'
        text = text.replace("[tool.setuptools.dynamic]", table + "[tool.setuptools.dynamic]", 1)
    return text


def first_cells(nb: nbformat.NotebookNode, path: Path):
    """The notebook's first markdown cell (its header) and first code cell (its setup)."""
    try:
        return (next(c for c in nb.cells if c.cell_type == "markdown"),
                next(c for c in nb.cells if c.cell_type == "code"))
    except StopIteration:
        raise ValueError(f"{path.name}: a notebook needs a header cell and a setup cell") from None


def expected_cells(nb: nbformat.NotebookNode, path: Path, url: str) -> tuple[str, str]:
    """The sources of the header cell and the setup cell as this tool writes them for `url`."""
    first_md, first_code = first_cells(nb, path)
    if not HEADER.search(first_md.source):
        raise ValueError(f"{path.name}: the first cell has no header links (Colab/solutions)")
    if not INSTALL.search(first_code.source):
        raise ValueError(f"{path.name}: the first code cell has no `if \"google.colab\" in "
                         "sys.modules:` install block")
    md = HEADER.sub(lambda m: header(url, path, m["text"], m["target"]), first_md.source, count=1)
    code = INSTALL.sub(lambda _m: install_block(url), first_code.source, count=1)
    return md, code


def changes(url: str) -> dict[Path, object]:
    """The files whose copy of the address differs from `url`, each with its new content (text,
    or a notebook)."""
    out: dict[Path, object] = {}
    config = CONFIG.read_text(encoding="utf-8")
    new = re.sub(r"(?m)^(repository:\n  url: ).*$", lambda m: m.group(1) + (url or '""'), config)
    if new != config:
        out[CONFIG] = new
    text = PYPROJECT.read_text(encoding="utf-8")
    if pyproject_text(text, url) != text:
        out[PYPROJECT] = pyproject_text(text, url)
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        sources = expected_cells(nb, path, url)
        cells = first_cells(nb, path)
        if tuple(c.source for c in cells) != sources:
            for cell, source in zip(cells, sources):
                cell.source = source
            out[path] = nb
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("url", nargs="?", help="https://github.com/OWNER/REPO")
    group.add_argument("--unset", action="store_true", help="no public repository")
    group.add_argument("--check", action="store_true", help="report files out of step")
    args = parser.parse_args(argv)
    if args.check:
        stale = [p.relative_to(ROOT).as_posix() for p in changes(configured_url())]
        for name in stale:
            print(f"out of step with _config.yml: {name}")
        return 1 if stale else 0
    try:
        url = "" if args.unset else check_url(args.url)
    except ValueError as err:
        parser.error(str(err))
    todo = changes(url)
    for path, content in todo.items():
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            write_notebook(content, path)
    names = ", ".join(p.relative_to(ROOT).as_posix() for p in todo) or "nothing to change"
    print(f"repository {url or 'unset'}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
