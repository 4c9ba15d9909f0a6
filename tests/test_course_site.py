"""assets/sphinx_ext/course_site.py, the site's Sphinx extension, without a build: editions and
repository buttons, the scripts each page loads, unique ids, the bibliography's labels."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from pybtex.database import parse_string
from site_tools import ROOT

sys.path.insert(0, str(ROOT / "assets" / "sphinx_ext"))
import course_site  # noqa: E402


def _configure(edition="full", url=""):
    app = SimpleNamespace(tags=set())
    options = {"repository_url": url, "launch_buttons": {"colab_url": "https://colab"}}
    course_site._configure(app, SimpleNamespace(course_edition=edition,
                                                html_theme_options=options))
    return app.tags, options


def test_without_a_repository_no_button_or_launch_link_is_built():
    tags, options = _configure(url="")
    assert options["launch_buttons"] == {}
    assert not options["use_repository_button"] and not options["use_issues_button"]
    assert "has_repository" not in tags


def test_with_a_repository_its_buttons_are_built_and_pages_may_say_so():
    tags, options = _configure(url="https://github.com/someone/fork")
    assert options["launch_buttons"] == {"colab_url": "https://colab"}
    assert options["use_repository_button"] and options["use_issues_button"]
    assert "has_repository" in tags


def test_the_student_edition_defines_its_tag_and_a_typo_is_refused():
    assert "student" in _configure("student")[0] and "student" not in _configure("full")[0]
    with pytest.raises(ValueError, match="course_edition must be one of"):
        _configure("students")


def _script(filename, body=""):
    return SimpleNamespace(filename=filename, attributes={"body": body} if body else {})


def test_pages_keep_only_the_scripts_they_use():
    scripts = [_script("_static/doctools.js"), _script("_static/vendor/mathjax/tex-mml-chtml.js"),
               _script(None, 'import mermaid from "../_static/vendor/mermaid/m.mjs";')]
    names = lambda kept: [s.filename for s in kept]  # noqa: E731
    assert names(course_site.lean_scripts(scripts, "<p>text</p>")) == ["_static/doctools.js"]
    with_math = course_site.lean_scripts(scripts, '<span class="math notranslate">x</span>')
    assert names(with_math) == ["_static/doctools.js", "_static/vendor/mathjax/tex-mml-chtml.js"]
    assert len(course_site.lean_scripts(scripts, '<pre class="mermaid">graph</pre>')) == 2


def test_exercise_blocks_get_ids_of_their_own():
    body = '<section id="exercise-content">a</section><section id="exercise-content">b</section>'
    assert course_site.unique_ids(body) == (
        '<section id="exercise-content-1">a</section><section id="exercise-content-2">b</section>')


BIB = r"""
@article{a1, author = {Elman, Jeffrey L.}, title = {Finding structure}, year = {1990}}
@article{a2, author = {Hochreiter, Sepp and Schmidhuber, J{\"u}rgen}, title = {LSTM}, year = {1997}}
@article{a3, author = {Vaswani, A. and Shazeer, N. and Parmar, N.}, title = {A}, year = {2017}}
@article{a4, author = {Mikolov, T. and Chen, K. and Corrado, G.}, title = {E}, year = {2013}}
@article{a5, author = {Mikolov, T. and Sutskever, I. and Chen, K.}, title = {D},
  year = {2013}}
"""


def test_bibliography_labels_read_like_author_year_citations():
    entries = list(parse_string(BIB, "bibtex").entries.values())
    labels = list(course_site.AuthorYearLabels().format_labels(entries))
    assert labels == ["Elman, 1990", "Hochreiter and Schmidhuber, 1997", "Vaswani et al., 2017",
                      "Mikolov et al., 2013a", "Mikolov et al., 2013b"]
