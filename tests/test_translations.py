"""The Chinese edition's machinery (tools/translations.py, assets/sphinx_ext/course_translation.py)
and its catalogs: a translation keeps its message's math, code, links and references; a changed
English message turns its translation fuzzy; every page of the site is translated.

The last test needs the English messages that `make book` extracts (`_build/gettext`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "assets" / "sphinx_ext"))
import course_translation  # noqa: E402
import translations  # noqa: E402

# --- a translation keeps what is not prose ---

@pytest.mark.parametrize(("english", "chinese"), [
    ("The loss $\\mathcal L$ falls {cite:p}`kaplan2020scaling`.",
     "损失 $\\mathcal L$ 下降 {cite:p}`kaplan2020scaling`。"),
    ("See [the glossary](../glossary.md) and `tg.train`.",
     "见[术语表](../glossary.md)和 `tg.train`。"),
    ("As {ref}`§4.1 below <ch04-gd>` shows", "如 {ref}`下文 4.1 节 <ch04-gd>` 所示"),
    ("every `{cite}` role in the chapters", "各章中的每个 `{cite}` 角色"),
    ("$$\nx^2\n$$", "$$\nx^2\n$$"),
])
def test_a_faithful_translation_passes(english, chinese):
    assert translations.check_message(english, chinese) == []


@pytest.mark.parametrize(("english", "chinese", "problem"), [
    ("The loss $\\mathcal L$ falls.", "损失 $L$ 下降。", "missing math $\\mathcal L$"),
    ("Call `tg.train`.", "调用 `train`。", "missing code `tg.train`"),
    ("As shown {cite:p}`vaswani2017attention`.", "如文献所示。",
     "missing role {cite:p}vaswani2017attention"),
    ("See [the glossary](../glossary.md).", "见[术语表](glossary.md)。",
     "missing link ../glossary.md"),
    ("As {ref}`§4.1 <ch04-gd>` shows", "如 {ref}`4.1 节 <ch04-sgd>` 所示",
     "missing role {ref}ch04-gd"),
    ("Two words.", "两个 `词`。", "not in the English: code `词`"),
])
def test_a_translation_that_loses_math_code_links_or_references_is_refused(english, chinese,
                                                                          problem):
    assert problem in translations.check_message(english, chinese)


def test_every_committed_translation_keeps_its_math_code_links_and_references():
    problems = translations.check_catalogs()
    assert not problems, "\n".join(f"{where}: {found}" for where, found in problems.items())


def test_the_translations_use_the_glossarys_chinese_terms():
    """One translation per term: where the English uses a glossary term, the Chinese uses the
    glossary's rendering (or keeps the term), in all but a few messages where the English word
    has another sense ("the vocabulary of politics"); `translations.py terms` lists those."""
    uses, deviations = translations.term_usage()
    total, off = sum(uses.values()), sum(map(len, deviations.values()))
    assert total > 1000
    assert off <= 0.02 * total, f"{off} of {total} uses: {deviations}"


# --- staleness: a changed English message turns its translation fuzzy ---

def _pot(path: Path, messages: list[str]) -> None:
    catalog = Catalog(fuzzy=False)
    for m in messages:
        catalog.add(m, "")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog)


def test_update_adds_new_messages_marks_changed_ones_fuzzy_and_drops_removed_ones(tmp_path):
    extracted, locales = tmp_path / "gettext", tmp_path / "locales"
    _pot(extracted / "chapters" / "01_x.pot",
         ["A paragraph that stays.", "The model has 4 layers of 128 units."])
    translations.update(extracted, locales)
    work = tmp_path / "zh.json"
    work.write_text(json.dumps({"1": "不变的段落。", "2": "模型有 4 层，每层 128 个单元。"}),
                    encoding="utf-8")
    assert translations.import_translations("chapters/01_x", work, locales) == []
    status = translations.page_status("chapters/01_x", extracted / "chapters" / "01_x.pot",
                                      locales)
    assert (status.translated, status.total) == (2, 2)

    # the English changes: one message edited, one removed, one added
    _pot(extracted / "chapters" / "01_x.pot",
         ["A paragraph that stays.", "The model has 6 layers of 128 units.", "A new paragraph."])
    translations.update(extracted, locales)
    status = translations.page_status("chapters/01_x", extracted / "chapters" / "01_x.pot",
                                      locales)
    assert status.translated == 1 and status.total == 3
    assert "The model has 6 layers of 128 units." in status.fuzzy
    # a new message is untranslated, or fuzzy with the closest old translation as a suggestion
    assert "A new paragraph." in status.fuzzy + status.missing
    po = (locales / "zh_CN" / "LC_MESSAGES" / "chapters" / "01_x.po").read_text("utf-8")
    # what changed, for the translator
    assert "# English before the change: The model has 4 layers of 128 units." in po
    assert "模型有 4 层" in po  # the old translation is kept, fuzzy, to be edited
    # translating another message of the page keeps what changed beside the fuzzy one
    work.write_text(json.dumps({"3": "一个新段落。"}), encoding="utf-8")
    translations.import_translations("chapters/01_x", work, locales)
    po = (locales / "zh_CN" / "LC_MESSAGES" / "chapters" / "01_x.po").read_text("utf-8")
    assert "# English before the change: The model has 4 layers of 128 units." in po


def test_import_refuses_a_message_number_the_page_does_not_have(tmp_path):
    extracted, locales = tmp_path / "gettext", tmp_path / "locales"
    _pot(extracted / "intro.pot", ["One.", "Two."])
    translations.update(extracted, locales)
    work = tmp_path / "zh.json"
    work.write_text(json.dumps({"3": "三。"}), encoding="utf-8")
    with pytest.raises(SystemExit, match="no message 3 in intro"):
        translations.import_translations("intro", work, locales)


def test_glossary_terms_are_read_with_their_chinese():
    terms = dict(translations.glossary_terms())
    assert len(terms) > 100
    assert terms["Token"].startswith("词元")


# --- the language switcher ---

@pytest.mark.parametrize(("page", "language", "expected"), [
    ("intro", "en", ("zh_CN", "zh/intro.html")),
    ("chapters/05_text_generation", "en", ("zh_CN", "../zh/chapters/05_text_generation.html")),
    ("intro", "zh_CN", ("en", "../intro.html")),
    ("chapters/05_text_generation", "zh_CN", ("en", "../../chapters/05_text_generation.html")),
])
def test_the_switcher_leads_to_the_same_page_in_the_other_edition(page, language, expected):
    assert course_translation.other_edition_href(page, language) == expected


def test_an_unknown_language_is_refused_with_the_editions_named():
    class Config:
        language = "fr"

    with pytest.raises(ValueError, match="en.*zh_CN"):
        course_translation.edition_language(Config())


# --- every page is translated (needs `make book`'s extracted messages) ---

@pytest.mark.site
def test_every_page_is_translated_and_none_is_out_of_date():
    """Fails while any English message has no translation or a fuzzy one (its English changed),
    listing them: run `python tools/translations.py update`, translate, commit."""
    if not translations.EXTRACTED.exists():
        pytest.fail("no extracted English messages: run `make book` (it runs "
                    "`python tools/translations.py extract`)")
    statuses = translations.coverage()
    catalogs = {str(p.relative_to(translations.catalog_dir()).with_suffix(""))
                for p in translations.catalog_dir().rglob("*.po")}
    pages = {s.page for s in statuses}
    assert pages <= catalogs, f"pages without a catalog: {sorted(pages - catalogs)}"
    assert catalogs <= pages | {"interface"}, f"catalogs of no page: {sorted(catalogs - pages)}"
    stale = {s.page: {"fuzzy": s.fuzzy, "missing": s.missing}
             for s in statuses if s.fuzzy or s.missing}
    assert not stale, ("messages to translate (`python tools/translations.py update`, then "
                       f"translate them):\n{json.dumps(stale, ensure_ascii=False, indent=1)}")
