"""The Chinese edition of the website (_build/html/zh), read as files: every page has its twin,
the switcher on each page leads to the twin, the pages read in Chinese (titles, headings, prose,
interface), the code and outputs are the English edition's, and Chinese text can be searched.
(The browser checks of the Chinese pages are in tests/test_site_quality.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

CJK = re.compile(r"[\u4e00-\u9fff]")
SKIP = ("_static", "_sources", "_images", "zh")


def reading_pages(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html")
                  if p.relative_to(root).parts[0] not in SKIP
                  and p.name not in ("index.html", "search.html"))


@pytest.fixture(scope="module")
def zh(site: Path) -> Path:
    if not (site / "zh" / "intro.html").exists():
        pytest.fail("the Chinese edition is not built: run `make book` (it builds both)")
    return site / "zh"


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_page_has_a_chinese_twin_and_the_switchers_lead_to_each_other(site, zh):
    english = reading_pages(site)
    assert english == reading_pages(zh)
    for rel in english:
        for page, lang, twin in [(site / rel, "en", zh / rel), (zh / rel, "zh-CN", site / rel)]:
            html = soup(page)
            assert html.html["lang"] == lang, page
            link = html.select_one("a.course-language-switch")
            assert link is not None, f"{page}: no language switcher"
            assert (page.parent / link["href"]).resolve() == twin.resolve(), (page, link["href"])


def test_chinese_pages_read_in_chinese(zh):
    """Headings and prose are Chinese (a paragraph of English prose would be an untranslated or
    stale message); the code cells and their outputs are the English edition's."""
    english_prose = {}
    for rel in reading_pages(zh):
        article = soup(zh / rel).select_one("article")
        assert article is not None, rel
        for h in article.select("h1, h2"):
            text = h.get_text(" ", strip=True)
            if re.search(r"[A-Za-z]{4,}", text):  # a heading with words: Chinese among them
                assert CJK.search(text), f"{rel}: heading {text!r}"
        for p in article.select("p, li"):
            if p.find_parent(class_=re.compile(r"cell_output|cell_input|highlight|bibliography"
                                               r"|citation|docutils container")):
                continue
            text = p.get_text(" ", strip=True)
            if re.fullmatch(r"[“\"].*[”\"]", text):  # a work's title, quoted as it is
                continue
            words = re.findall(r"\b[A-Za-z]{3,}\b", text)
            if len(words) >= 8 and not CJK.search(text):
                english_prose.setdefault(rel, []).append(text[:80])
    assert not english_prose, f"English prose on Chinese pages: {english_prose}"


def test_code_and_outputs_are_the_english_editions(site, zh):
    for rel in ["chapters/02_core_concepts.html", "chapters/05_text_generation.html"]:
        blocks = [[b.get_text() for b in soup(root / rel).select("div.cell_input, div.cell_output")]
                  for root in (site, zh)]
        assert blocks[0] and blocks[0] == blocks[1], rel


def test_the_interface_is_chinese(zh):
    page = soup(zh / "chapters" / "03_core_algorithms.html")
    assert CJK.search(page.title.get_text())
    assert CJK.search(page.select_one("input[name=q]")["placeholder"])
    captions = [c.get_text(strip=True) for c in page.select(".caption-text")]
    assert captions and all(CJK.search(c) for c in captions), captions
    labels = [e.get(a) for e in page.select("button, nav") for a in ("title", "aria-label")
              if e.get(a)]
    english = [v for v in labels if re.fullmatch(r"[A-Za-z ]{4,}", v) and v != "English"]
    assert not english, f"interface labels left in English: {english}"
    assert page.select_one(".exercise .caption-number").get_text(strip=True).startswith("练习")


def test_chinese_text_can_be_searched(zh):
    index = (zh / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1:index.rindex(")")])["terms"]
    chinese = [t for t in terms if CJK.search(t)]
    assert len(chinese) > 1000, "Chinese words are not indexed (is jieba installed?)"
    assert "注意力" in terms and "梯度" in terms
