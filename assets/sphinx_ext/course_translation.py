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

This extension does what Sphinx and MyST-NB do not:

- **Notebook messages are read as MyST Markdown.** Sphinx parses a translated message with the
  parser of the page's file type, and for a notebook that is MyST-NB's, which expects a whole
  notebook in JSON and fails (MyST-NB issue 587). Each message is one Markdown paragraph, so
  the translations of notebooks (and of the Markdown pages, which MyST-NB reads too) are parsed
  with myst-parser's parser and the book's MyST settings, roles and math included.
- **Outputs are not prose.** Code cells, their outputs and the widgets are the same in both
  editions: the text a cell prints (as Markdown, e.g. `book.display.source`) is marked as not
  translatable, so it is neither extracted into the catalogs nor replaced.
- **Tables inside directives and exercises' titles are translated too**: MyST and
  sphinx-exercise leave them without a source, which Sphinx reads as text it generated itself.
- **The interface in Chinese**: the site's title, the search field and the theme's labels
  that Sphinx's and the theme's catalogs lack, from `locales/zh_CN/LC_MESSAGES/interface.po`;
  the table of contents' captions, which sphinx-external-toc adds after Sphinx translated a page.
- **A language switcher** on every page leads to the same page in the other edition: the
  English edition is the site's root, the Chinese one its `zh/` folder.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import sphinx.locale as sphinx_locale
import sphinx.transforms.i18n as sphinx_i18n
from babel.messages.pofile import read_po
from docutils import nodes
from myst_parser.mdit_to_docutils.sphinx_ import SphinxRenderer
from myst_parser.parsers.mdit import create_md_parser
from myst_parser.parsers.sphinx_ import MystParser
from sphinx import addnodes
from sphinx.builders.gettext import MsgOrigin
from sphinx.locale import init as init_locale
from sphinx.search.zh import SearchChinese
from sphinx.transforms import SphinxTransform
from sphinx.util.i18n import docname_to_domain

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
        inputstring = _title_as_markdown(inputstring)
        config = document.settings.env.myst_config
        key = id(config)
        if key not in self._parsers:
            self._parsers[key] = (config, create_md_parser(config, SphinxRenderer))
        parser = self._parsers[key][1]
        parser.options["document"] = document
        parser.render(inputstring)


# Sphinx turns a translated section title into a document of one section by underlining it
# ("1. 背景介绍\n==========", reStructuredText's way); in Markdown that underline also makes a
# heading, but a title that starts like a list item ("1. ", "- ") would be read as a list.
_SPHINX_TITLE = re.compile(r"(?P<text>[^\n]*)\n=+\Z")
_LIST_MARKER = re.compile(r"^(?P<n>\d+)(?P<mark>[.)]) |^(?P<bullet>[-+*]) ")


def _title_as_markdown(text: str) -> str:
    """A title that Sphinx underlined, with a leading list marker escaped ("1\\. 背景介绍")."""
    m = _SPHINX_TITLE.fullmatch(text)
    if not m:
        return text
    def escaped(k: re.Match) -> str:
        return f"{k['n']}\\{k['mark']} " if k["n"] else f"\\{k['bullet']} "

    title = _LIST_MARKER.sub(escaped, m["text"], count=1)
    return f"{title}\n{'=' * max(len(title), 3)}"


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


class TranslatableTextsHaveASource(SphinxTransform):
    """Give a source to the texts that MyST and sphinx-exercise leave without one: the cells of
    a table inside a directive (an Errata box's table) and an exercise's title (the directive's
    argument). Sphinx takes a text without a source for one it generated itself, which it
    neither extracts nor translates."""

    default_priority = 10  # before sphinx.transforms.i18n.Locale (20)
    TITLES = ("exercise_subtitle",)  # sphinx_exercise.nodes: the title given in {exercise} …

    def apply(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            owner = next((n for n in _ancestors(table) if n.source), None)
            if owner is not None:
                for node in table.findall(nodes.TextElement):
                    if not node.source:
                        node.source, node.line = owner.source, owner.line
        for node in self.document.findall(nodes.TextElement):
            if type(node).__name__ in self.TITLES and not node.source:
                owner = next((n for n in _ancestors(node) if n.source), None)
                if owner is not None:
                    node.source, node.line = owner.source, owner.line
                    node.rawsource = node.rawsource or node.astext()
                    # sphinx-exercise rebuilds the title after reading, without this node, so
                    # the gettext builder would never see it: it is added to the catalog below
                    self.env.course_titles.setdefault(self.env.docname, []).append(
                        (node.rawsource, node.source, node.line))


def _catalog_titles(app, doctree, docname) -> None:
    """In the gettext build: add the exercises' titles that sphinx-exercise took out of the
    page to its catalog."""
    if app.builder.name != "gettext":
        return
    domain = docname_to_domain(docname, app.config.gettext_compact)
    for text, source, line in getattr(app.env, "course_titles", {}).get(docname, []):
        app.builder.catalogs[domain].add(text, MsgOrigin(source, line))


def _env_titles(app, env, docnames, other) -> None:
    env.course_titles = {**getattr(env, "course_titles", {}),
                         **getattr(other, "course_titles", {})}


def _purge_titles(app, env, docname) -> None:
    if not hasattr(env, "course_titles"):
        env.course_titles = {}
    env.course_titles.pop(docname, None)


def _ancestors(node):
    while node is not None:
        yield node
        node = node.parent


class TocCaptionsTranslated(SphinxTransform):
    """Translate the captions of the table of contents ("Chapters", "Solutions"): the page's
    catalog has them (the gettext build extracts them), but sphinx-external-toc inserts the
    toctree after Sphinx has translated the page."""

    default_priority = 101  # after sphinx_external_toc's InsertToctrees (100)

    def apply(self, **kwargs) -> None:
        if edition_language(self.config) == "en":
            return
        toctrees = [t for t in self.document.findall(addnodes.toctree) if t.get("caption")]
        if not toctrees:
            return
        dirs = [str(Path(self.env.srcdir, d)) for d in self.config.locale_dirs]
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        catalog, _ = init_locale(dirs, self.config.language, domain)
        for toctree in toctrees:
            toctree["caption"] = toctree["rawcaption"] = catalog.gettext(toctree["caption"])


INTERFACE = "interface"  # locales/<language>/LC_MESSAGES/interface.po: the site's own labels


def interface_strings(app) -> dict[str, str]:
    """{English: translation} of the interface catalog of this edition's language."""
    language = edition_language(app.config)
    found = {}
    for folder in app.config.locale_dirs:
        po = Path(app.srcdir, folder, language, "LC_MESSAGES", f"{INTERFACE}.po")
        if po.exists():
            with po.open("rb") as f:
                found.update({m.id: m.string for m in read_po(f)
                              if m.id and m.string and not m.fuzzy})
    return found


class _Preferred(gettext.NullTranslations):
    """A translator that answers from `strings` first, then asks the one it was put before."""

    def __init__(self, strings: dict[str, str], fallback) -> None:
        super().__init__()
        self.strings = strings
        if fallback is not None:
            self.add_fallback(fallback)

    def gettext(self, message: str) -> str:
        if message in self.strings:
            return self.strings[message]
        return super().gettext(message)


def _interface(app) -> None:
    """In a translated edition: the site's title and search label from the interface catalog,
    and its strings put before Sphinx's and the themes' own catalogs."""
    if edition_language(app.config) == "en":
        return
    strings = interface_strings(app)
    config = app.config
    config.html_title = strings.get(config.html_title, config.html_title)
    options = config.html_theme_options
    options["search_bar_text"] = strings.get(options.get("search_bar_text", ""),
                                             options.get("search_bar_text", ""))
    for domain in ("sphinx", "booktheme"):
        key = ("general", domain)  # sphinx.locale.init's default namespace
        translator = sphinx_locale.translators.get(key)
        if isinstance(translator, gettext.GNUTranslations):
            # the templates hold this very object (Jinja's gettext was bound to it): add ours
            # to its catalog, in front of its own
            translator._catalog.update(strings)
        else:
            sphinx_locale.translators[key] = _Preferred(strings, translator)


_LABEL = re.compile(r'\b(title|aria-label)="([^"<>]+)"')


def _translate_labels(app, exception) -> None:
    """After a translated HTML build: the labels that the themes write into their templates in
    English, not through gettext (a sidebar button's title="Toggle primary sidebar", a
    diagram's aria-label="Close fullscreen"), from the interface catalog."""
    if exception or app.builder.format != "html" or edition_language(app.config) == "en":
        return
    strings = interface_strings(app)
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        translated = _LABEL.sub(lambda m: f'{m[1]}="{strings.get(m[2], m[2])}"', text)
        if translated != text:
            page.write_text(translated, encoding="utf-8")


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


class _Terms(set):
    """A set that also answers to `list.extend`, the one method SearchChinese calls on it."""

    extend = set.update


class ChineseSearch(SearchChinese):
    """Sphinx's Chinese search index, with its Latin words in a set. Sphinx keeps every Latin
    word of the site in a list (one list shared by every instance, growing from page to page)
    and looks each word it stems up in that list: 16 of the Chinese build's 70 s went to those
    look-ups. The index is the same."""

    def init(self, options: dict[str, str]) -> None:
        super().init(options)
        self.latin_terms = _Terms()


def _one_document(app, doctree) -> None:
    """Make every node of a page belong to the page. A translated message is parsed as a small
    document of its own, and its nodes keep a reference to it: each page's doctree pickled
    dozens of those documents along (chapter 6's: 3.8 MB against the English 0.3 MB), and
    Sphinx unpickles every doctree twice."""
    for node in doctree.findall():
        if getattr(node, "_document", None) not in (None, doctree):
            node.document = doctree


def setup(app):
    sphinx_i18n.get_filetype = message_filetype
    app.add_search_language(ChineseSearch)
    app.connect("doctree-read", _one_document)
    app.add_source_parser(TranslatedMarkdown)
    app.add_transform(OutputsAreNotTranslated)
    app.add_transform(TranslatableTextsHaveASource)
    app.add_transform(TocCaptionsTranslated)
    app.connect("builder-inited", _interface)
    app.connect("build-finished", _translate_labels)
    app.connect("env-purge-doc", _purge_titles)
    app.connect("env-merge-info", _env_titles)
    app.connect("doctree-resolved", _catalog_titles)
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _page)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
