"""The course's bibliography: `assets/references.bib` read into entries, and the `{cite}` roles
of the chapters, solutions and pages found, so that a test and chapter 10 can check and count them.

    >>> from book import bibliography
    >>> entries = bibliography.load()                 # list[Entry], in file order
    >>> cited = bibliography.citations()              # {key: {"chapters/05_text_generation", ...}}
    >>> bibliography.identifier_problems(entries[0])  # [] when its doi/eprint/url is well-formed

The parser reads the subset of BibTeX the file uses (`@type{key, field = {...} or "..." or 123}`,
braces nested); anything else raises a ValueError that names the line to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from book.env import REPOSITORY, repository_file

BIB = ("assets", "references.bib")
# Where citations live: the chapters, their solutions, and the book's Markdown pages.
SOURCES = ("chapters/*.ipynb", "solutions/*.ipynb", "*.md")
# {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {cite:ts}`a` ...; the keys are between the backticks.
# (`{cite}` in code quotes, as in this sentence, is no citation: keys have no spaces.)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([\w:.-]+(?:,\s*[\w:.-]+)*)`")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ARXIV = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
URL = re.compile(r"^https?://[^\s{}]+$")


@dataclass
class Entry:
    """One BibTeX entry: its type (`article`), key, fields (lower-case names) and line."""
    kind: str
    key: str
    fields: dict[str, str] = field(default_factory=dict)
    line: int = 0

    @property
    def year(self) -> int:
        text = self.fields.get("year", "")
        if not re.fullmatch(r"\d{4}", text):
            raise ValueError(f"{self.key} (line {self.line}): year {text!r} is not a 4-digit year")
        return int(text)

    @property
    def title(self) -> str:
        """The title without BibTeX's protective braces."""
        return re.sub(r"[{}]", "", self.fields.get("title", ""))


def _value(text: str, start: int, line: int) -> tuple[str, int]:
    """The field value that starts at text[start] and the index after it."""
    opener = text[start]
    if opener.isdigit():
        end = start
        while end < len(text) and text[end].isdigit():
            end += 1
        return text[start:end], end
    if opener not in "{\"":
        raise ValueError(f"line {line}: a field value must start with {{, \" or a digit, "
                         f"not {opener!r}")
    closer = "}" if opener == "{" else "\""
    depth, i = 0, start + 1
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}" and depth > 0:
            depth -= 1
        elif c == closer and depth == 0:
            return text[start + 1:i], i + 1
        i += 1
    raise ValueError(f"line {line}: a field value is never closed (unbalanced braces?)")


def parse(text: str) -> list[Entry]:
    """The entries of a BibTeX text, in order. Lines outside entries (comments) are skipped."""
    entries = []
    for match in re.finditer(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", text, flags=re.M):
        line = text.count("\n", 0, match.start()) + 1
        entry = Entry(match.group(1).lower(), match.group(2), {}, line)
        i = match.end()
        while True:
            m = re.compile(r"\s*(\})|\s*(\w+)\s*=\s*").match(text, i)
            if m is None:
                at = text.count("\n", 0, i) + 1
                raise ValueError(f"{entry.key} (line {at}): expected `name = {{value}},` or "
                                 "the entry's closing brace")
            if m.group(1):
                break
            name = m.group(2).lower()
            if name in entry.fields:
                raise ValueError(f"{entry.key} (line {line}): field {name!r} given twice")
            value, i = _value(text, m.end(), text.count("\n", 0, m.end()) + 1)
            entry.fields[name] = " ".join(value.split())
            i = re.compile(r"\s*,?").match(text, i).end()
        entries.append(entry)
    return entries


def load(path: Path | None = None) -> list[Entry]:
    """The entries of the course's bibliography (or of the .bib file at `path`)."""
    path = Path(path) if path is not None else repository_file(*BIB)
    return parse(path.read_text(encoding="utf-8"))


def duplicates(entries: Iterable[Entry]) -> dict[str, list[str]]:
    """Keys used twice, and works entered twice (same doi, eprint or url, or the same title in the
    same year): {what: keys}."""
    seen: dict[str, list[str]] = {}
    for e in entries:
        for name in ("doi", "eprint", "url"):
            if name in e.fields:
                seen.setdefault(f"{name} {e.fields[name].lower()}", []).append(e.key)
        seen.setdefault(f"key {e.key.lower()}", []).append(e.key)
        title = re.sub(r"\W+", " ", e.title.lower()).strip()  # "Deep Learning" is two works
        seen.setdefault(f"title {title} ({e.fields.get('year', '')})", []).append(e.key)
    return {what: keys for what, keys in seen.items() if len(keys) > 1}


def identifier_problems(entry: Entry) -> list[str]:
    """What is wrong with the entry's identifiers: none of doi, eprint, url, or a malformed one."""
    f = entry.fields
    problems = []
    if not any(name in f for name in ("doi", "eprint", "url")):
        problems.append(f"{entry.key}: no doi, eprint or url (add the one readers can follow)")
    if "doi" in f and not DOI.match(f["doi"]):
        problems.append(f"{entry.key}: doi {f['doi']!r} is not of the form 10.NNNN/suffix "
                        "(no https://doi.org/ prefix)")
    if "eprint" in f and not ARXIV.match(f["eprint"]):
        problems.append(f"{entry.key}: eprint {f['eprint']!r} is not an arXiv id (2005.14165)")
    if "url" in f and not URL.match(f["url"]):
        problems.append(f"{entry.key}: url {f['url']!r} is not an http(s) address")
    arxiv_url = re.match(r"https?://arxiv\.org/abs/(\S+)$", f.get("url", ""))
    if "eprint" in f and arxiv_url and arxiv_url.group(1) != f["eprint"]:
        problems.append(f"{entry.key}: url points to another arXiv id than eprint {f['eprint']}")
    return problems


def _texts(path: Path) -> Iterable[str]:
    """The Markdown a file contributes: a notebook's markdown cells, or a page's whole text."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            if cell["cell_type"] == "markdown":
                yield "".join(cell["source"])
    else:
        yield path.read_text(encoding="utf-8")


def citations(root: Path | None = None) -> dict[str, set[str]]:
    """{key: the files that cite it}, files named without suffix (`chapters/05_text_generation`),
    from every `{cite}` role in the chapters, the solutions and the book's Markdown pages."""
    root = Path(root) if root is not None else REPOSITORY
    found: dict[str, set[str]] = {}
    for pattern in SOURCES:
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(root).with_suffix("").as_posix()
            for text in _texts(path):
                for match in CITE.finditer(text):
                    for key in match.group(1).split(","):
                        found.setdefault(key.strip(), set()).add(name)
    return found
