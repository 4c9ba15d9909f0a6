"""The Chinese edition (中文版): Sphinx's own translation workflow (gettext), made to work for
notebooks. Loaded by `_config.yml` (`sphinx: local_extensions`) in both editions; see
tools/translations.py for the commands and locales/README.md for the workflow.

The English pages are the source. A gettext build extracts every paragraph, heading, list item,
table cell and admonition title into one message catalog per page (`gettext_compact = False`);
the translations live in `locales/zh_CN/LC_MESSAGES/<page>.po`, and a build with
`language = "zh_CN"` replaces each English message by its translation while it reads the page.
A message whose English changed is marked fuzzy by `tools/translations.py update`, and Sphinx
never uses a fuzzy translation: the page shows the new English until someone translates it,
and the staleness test lists it.

This extension does four things that Sphinx and MyST-NB do not:

- **Notebook messages are read as MyST Markdown.** Sphinx parses a translated message with the
  parser of the page's file type, and for a notebook that is MyST-NB's, which expects a whole
  notebook in JSON and fails (MyST-NB issue 587). Each message is one Markdown paragraph, so
  the translations of notebooks (and of the Markdown pages, which MyST-NB reads too) are parsed
  with myst-parser's parser and the book's MyST settings, roles and math included.
- **Outputs are not prose.** Code cells, their outputs and the widgets are the same in both
  editions: the text a cell prints (as Markdown, e.g. `book.display.source`) is marked as not
  translatable, so it is neither extracted into the catalogs nor replaced.
- **Tables inside directives are translated too**: MyST leaves their cells without a source
  line, which Sphinx reads as text it generated itself; they get the table's.
- **A language switcher** on every page leads to the same page in the other edition: the
  English edition is the site's root, the Chinese one its `zh/` folder.
"""

from __future__ import annotations

import sphinx.transforms.i18n as sphinx_i18n
from docutils import nodes
from myst_parser.mdit_to_docutils.sphinx_ import SphinxRenderer
from myst_parser.parsers.mdit import create_md_parser
from myst_parser.parsers.sphinx_ import MystParser
from sphinx.transforms import SphinxTransform

TRANSLATED_MYST = "course-translated-myst"  # the file type under which the parser is registered
NOTEBOOK_FILETYPE = "myst-nb"  # Jupyter Book maps .ipynb and .md to MyST-NB's parser
EDITION_FOLDER = {"en": "", "zh_CN": "zh/"}  # where each edition lives, from the site's root
LANGUAGE_LABEL = {"en": "English", "zh_CN": "中文"}


class TranslatedMarkdown(MystParser):
    """myst-parser's Markdown parser, for translated messages of MyST-NB pages. myst-parser
    builds a new markdown-it parser for every text it parses, which for 2,000 messages took
    most of the Chinese build; a message has no front matter, so one parser per configuration
    serves them all."""

    supported = (TRANSLATED_MYST,)
    _parsers: dict = {}

    def parse(self, inputstring: str, document: nodes.document) -> None:
        config = document.settings.env.myst_config
        key = id(config)
        if key not in self._parsers:
            self._parsers[key] = (config, create_md_parser(config, SphinxRenderer))
        parser = self._parsers[key][1]
        parser.options["document"] = document
        parser.render(inputstring)


_sphinx_filetype = sphinx_i18n.get_filetype


def message_filetype(source_suffix, filename) -> str:
    """The parser for a translated message: Markdown for pages that MyST-NB reads."""
    filetype = _sphinx_filetype(source_suffix, filename)
    return TRANSLATED_MYST if filetype == NOTEBOOK_FILETYPE else filetype


class OutputsAreNotTranslated(SphinxTransform):
    """Mark every text node inside a code cell's output as not translatable."""

    default_priority = 10  # before sphinx.transforms.i18n.Locale (20) replaces messages

    def apply(self, **kwargs) -> None:
        for output in self.document.findall(nodes.container):
            if "cell_output" in output.get("classes", []):
                for node in output.findall(nodes.TextElement):
                    node["translatable"] = False


class TableCellsHaveASource(SphinxTransform):
    """Give the cells of a table inside a directive (an Errata box's table) the source of the
    table: MyST leaves them without one, and Sphinx takes a text without a source for one it
    generated itself, which it neither extracts nor translates."""

    default_priority = 10

    def apply(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            owner = next((n for n in _ancestors(table) if n.source), None)
            if owner is None:
                continue
            for node in table.findall(nodes.TextElement):
                if not node.source:
                    node.source, node.line = owner.source, owner.line


def _ancestors(node):
    while node is not None:
        yield node
        node = node.parent


def edition_language(config) -> str:
    """"en" or "zh_CN": the edition this build makes (Sphinx's `language`)."""
    language = config.language or "en"
    if language not in EDITION_FOLDER:
        raise ValueError(f"language must be one of {sorted(EDITION_FOLDER)} (the course's "
                         f"editions), got {language!r}")
    return language


def other_edition_href(pagename: str, language: str) -> tuple[str, str]:
    """(the other edition's language, the relative link from `pagename`'s page in this
    edition to the same page in the other one)."""
    other = next(lang for lang in EDITION_FOLDER if lang != language)
    up = "../" * pagename.count("/") + ("../" if EDITION_FOLDER[language] else "")
    return other, f"{up}{EDITION_FOLDER[other]}{pagename}.html"


def _configure(app, config) -> None:
    edition_language(config)  # fails early on an unknown language
    options = config.html_theme_options
    end = options.get("article_header_end") or ["article-header-buttons.html"]
    if isinstance(end, str):
        end = [item.strip() for item in end.split(",") if item.strip()]
    if "language-switcher.html" not in end:
        options["article_header_end"] = ["language-switcher.html", *end]


def _page(app, pagename, templatename, context, doctree) -> None:
    language = edition_language(app.config)
    other, href = other_edition_href(pagename, language)
    context["course_other_language"] = {"href": href, "label": LANGUAGE_LABEL[other],
                                        "lang": other.replace("_", "-")}


def setup(app):
    sphinx_i18n.get_filetype = message_filetype
    app.add_source_parser(TranslatedMarkdown)
    app.add_transform(OutputsAreNotTranslated)
    app.add_transform(TableCellsHaveASource)
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _page)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
