"""The bilingual glossary: one well-formed entry per term, chapter links that resolve, and every
term of the article's §1.4 present.

Each entry is a definition-list item: `**English** · 中文`, then `: definition`, then a line
`→ [chapter N](chapters/NN_name.ipynb), …` (a chapter not yet written is named without a link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = (ROOT / "glossary.md").read_text(encoding="utf-8")
SEED = ROOT.parent / "shared" / "seed" / "000_e6c56b927fe799f1.txt"
ENTRY = re.compile(
    r"^\*\*(?P<english>[^*\n]+)\*\* · (?P<chinese>[^\n]+)\n"
    r": (?P<definition>[^\n]+)\n"
    r"  → (?P<chapters>[^\n]+)$",
    flags=re.M,
)
CHAPTER_LINK = re.compile(r"\[chapter (\d+)\]\((chapters/[^)]+\.ipynb)\)")
CHAPTER_UNWRITTEN = re.compile(r"(?<!\[)chapter (\d+) \(not yet written\)")


@dataclass
class Entry:
    english: str
    chinese: str
    definition: str
    chapters: str


def entries() -> list[Entry]:
    """The glossary's entries, in page order."""
    return [Entry(**m.groupdict()) for m in ENTRY.finditer(GLOSSARY)]


def test_every_term_line_starts_a_complete_entry():
    term_lines = re.findall(r"^\*\*[^*\n]+\*\* · .*$", GLOSSARY, flags=re.M)
    assert len(term_lines) == len(entries()), (
        "a term line without its ': definition' and '  → chapter' lines below it"
    )


def test_every_entry_has_english_chinese_definition_and_chapter():
    found = entries()
    assert len(found) >= 80
    with_chinese = [e for e in found if re.search(r"[\u4e00-\u9fff]", e.chinese)]
    assert len(with_chinese) >= 0.9 * len(found)
    for entry in found:
        assert entry.english.strip() and entry.definition.strip(), entry
        assert entry.chinese.strip(), entry  # names such as AdamW or PyTorch read the same
        numbers = [int(n) for n in re.findall(r"chapter (\d+)", entry.chapters)]
        assert numbers and all(1 <= n <= 10 for n in numbers), entry
        linked = CHAPTER_LINK.findall(entry.chapters)
        unwritten = CHAPTER_UNWRITTEN.findall(entry.chapters)
        assert len(linked) + len(unwritten) == len(numbers), entry


def test_chapter_links_resolve_and_written_chapters_are_linked():
    written = {int(p.name[:2]): p for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")}
    for entry in entries():
        for number, target in CHAPTER_LINK.findall(entry.chapters):
            assert (ROOT / target).exists(), f"{entry.english}: {target} does not exist"
            assert (ROOT / target) == written.get(int(number)), (
                f"{entry.english}: 'chapter {number}' links to {target}"
            )
        for number in CHAPTER_UNWRITTEN.findall(entry.chapters):
            assert int(number) not in written, (
                f"{entry.english}: chapter {number} exists now; link it as "
                f"[chapter {number}](chapters/{written[int(number)].name})"
            )


def test_the_article_glossary_terms_are_all_here():
    if not SEED.exists():
        pytest.skip("the article is in ../shared/seed (present in CI and on the course's machines)")
    text = SEED.read_text(encoding="utf-8")
    section = text[text.index("### 1.4"):text.index("## 2.")]
    terms = re.findall(r"^- \*\*(.+?)\*\*", section, flags=re.M)
    assert len(terms) >= 10
    for term in terms:
        assert term in GLOSSARY or term.replace("算法", "") in GLOSSARY, (
            f"§1.4 term {term!r} is missing"
        )
