"""The bilingual glossary: well-formed tables, and every term of the article's §1.4 present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = (ROOT / "glossary.md").read_text(encoding="utf-8")
SEED = ROOT.parent / "shared" / "seed" / "000_e6c56b927fe799f1.txt"


def rows() -> list[list[str]]:
    """The glossary's table rows (header and separator lines left out), split into cells."""
    table_lines = [line for line in GLOSSARY.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table_lines]
    return [r for r in cells if r[0] != "English" and not set(r[0]) <= set("-: ")]


def test_every_row_has_english_chinese_definition_and_chapter():
    assert len(rows()) >= 80
    with_chinese = [r for r in rows() if re.search(r"[\u4e00-\u9fff]", r[1])]
    assert len(with_chinese) >= 0.9 * len(rows())
    for row in rows():
        assert len(row) == 4, row
        english, chinese, definition, chapters = row
        assert english and definition, row
        assert chinese, row  # names such as AdamW or PyTorch are written the same in Chinese
        assert all(1 <= int(n) <= 10 for n in re.findall(r"\d+", chapters)) and chapters, row


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
