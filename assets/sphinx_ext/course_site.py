"""The website's own Sphinx extension: what the theme and the other extensions do not do for us.

Loaded by `_config.yml` (`sphinx: local_extensions`). It

- defines the tag `student` in the student edition (`course_edition: student`, which
  tools/student_edition.py sets), so that a chapter can say different things to each audience:
  ```{only} student
  ...
  ```
- builds the repository button, the issue link and the launch buttons when `repository.url` is
  set (and defines the tag `has_repository`), and none of them while it is unset (a fork sets its
  own address: see the README);
- loads only what a page uses: MathJax where there is math, mermaid where there is a diagram;
- ends the reading order at the references: "next" never leads from the references into the
  solutions, and the first solutions page has no "previous";
- gives each exercise and solution block its own HTML id (sphinx-exercise gives them all the same);
- labels the bibliography the way the text cites (`Vaswani et al., 2017`), not with alpha keys.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

EDITIONS = ("full", "student")
CITATION_STYLE = "course_author_year"


# --- the bibliography's labels ---

def _surname(person) -> str:
    """A person's surname as plain text ("von Neumann", "Łukasz" from LaTeX escapes)."""
    return _latex_to_text(" ".join(person.prelast_names + person.last_names))


@functools.lru_cache(maxsize=None)
def _latex_to_text(latex: str) -> str:
    # render_as("text") looks its backend up among the installed packages' entry points on
    # every call (30 ms each): once per name is enough
    return Text.from_latex(latex).render(_TEXT_BACKEND())


_TEXT_BACKEND = functools.lru_cache(maxsize=None)(
    lambda: pybtex.plugin.find_plugin("pybtex.backends", "text")())


def author_year(entry) -> str:
    """The label that sphinxcontrib-bibtex's author_year citations print for `entry`:
    "Elman, 1990", "Hochreiter and Schmidhuber, 1997", "Vaswani et al., 2017"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = entry.fields.get("organization") or entry.fields.get("publisher") or entry.key
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author–year labels; works by the same authors in the same year get a, b, c."""

    def format_labels(self, sorted_entries):
        labels = [author_year(e) for e in sorted_entries]
        counts = Counter(labels)
        seen: Counter = Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield f"{label}{chr(ord('a') + seen[label] - 1)}"
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    """The unsrt entry format, sorted by author, year and title, with author–year labels."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


pybtex.plugin.register_plugin("pybtex.style.formatting", CITATION_STYLE, AuthorYearStyle)


# --- configuration ---

def _configure(app, config) -> None:
    if config.course_edition not in EDITIONS:
        raise ValueError(f"course_edition must be one of {EDITIONS}, "
                         f"got {config.course_edition!r} (see _config.yml)")
    if config.course_edition == "student":
        app.tags.add("student")
    options = config.html_theme_options
    has_repository = bool(options.get("repository_url"))
    options["use_repository_button"] = options["use_issues_button"] = has_repository
    if has_repository:  # pages may say how to open a chapter in Colab
        app.tags.add("has_repository")
    if not has_repository:  # no public repository: build no link that leads nowhere
        options["launch_buttons"] = {}


# --- per page ---

MATHJAX = "vendor/mathjax/"
MERMAID = "mermaid"


def _script_name(script) -> str:
    """The file a script entry loads, or the start of its inline body."""
    return str(getattr(script, "filename", "") or "") + str(
        getattr(script, "attributes", {}).get("body", ""))[:2000]


def lean_scripts(scripts: list, body: str) -> list:
    """The page's scripts without MathJax when it has no math and without mermaid when it has no
    diagram (MathJax is 1.2 MB and mermaid 18 module files: pages load only what they show)."""
    has_math = 'class="math' in body
    has_diagram = 'class="mermaid' in body
    kept = []
    for script in scripts:
        name = _script_name(script)
        if MATHJAX in name and not has_math:
            continue
        if MERMAID in name and not has_diagram:
            continue
        kept.append(script)
    return kept


def unique_ids(body: str, ids=("exercise-content", "solution-content")) -> str:
    """`id="exercise-content"` (one per exercise block) numbered so that each id is unique."""
    for name in ids:
        count = iter(range(1, 10_000))
        body = re.sub(f'id="{name}"', lambda _m, n=name: f'id="{n}-{next(count)}"', body)
    return body


def _page(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body", "")
    if "script_files" in context:
        context["script_files"] = lean_scripts(context["script_files"], body)
    if body:
        context["body"] = unique_ids(body)
    # the reading order ends at the references; the solutions are reached from the contents
    nxt, prev = context.get("next") or {}, context.get("prev") or {}
    if "solutions/" in nxt.get("link", "") and not pagename.startswith("solutions/"):
        context["next"] = None
    if pagename.startswith("solutions/") and "solutions/" not in prev.get("link", ""):
        context["prev"] = None


def setup(app):
    app.add_config_value("course_edition", "full", "env")
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _page, priority=900)  # after MathJax and mermaid add theirs
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
