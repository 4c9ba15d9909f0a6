"""Turning corpus files into Python objects: texts, labelled splits, poems.

`load(name)` is what the chapters call. It gets a verified copy of every file of the corpus
(through `book.data.fetching`) and hands them to the corpus's loader:

* ``tinyshakespeare`` -> one `str`;
* ``bbc_news``, ``ag_news_test`` -> `TextClassificationData` (train / val / test `TextSplit`s,
  stratified by class and seeded, so every run and every learner gets the same split);
* ``chinese_poetry`` -> a list of `Poem`.

The parsers also undo each corpus's quirks (HTML character references in the BBC articles, the
odd escaping of AG News), so that the chapters start from clean text.
"""

from __future__ import annotations

import csv
import html
import inspect
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, overload

import numpy as np

from book.data.errors import DataError, os_problem
from book.data.fetching import fetch
from book.data.registry import CORPORA, get_corpus

__all__ = ["Poem", "TextClassificationData", "TextSplit", "load", "load_options",
           "stratified_split"]

@dataclass
class TextSplit:
    """One split of a classification set: parallel lists of texts and integer labels."""

    texts: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TextClassificationData:
    """A text classification corpus split into train, validation and test sets."""

    train: TextSplit
    val: TextSplit
    test: TextSplit
    class_names: list[str]

    def __repr__(self) -> str:
        return (f"TextClassificationData(train={len(self.train)}, val={len(self.val)}, "
                f"test={len(self.test)}, class_names={self.class_names})")


@dataclass
class Poem:
    """A poem: title, author, its lines (paragraphs) and the file it came from."""

    title: str
    author: str
    paragraphs: list[str] = field(default_factory=list)
    source: str = ""


def stratified_split(labels: Sequence[int], val_fraction: float = 0.1,
                     test_fraction: float = 0.1, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded split of indices into (train, val, test), keeping class proportions in each."""
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val + test < 1, got "
                         f"{val_fraction} and {test_fraction}")
    y = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = round(len(idx) * test_fraction)
        n_val = round(len(idx) * val_fraction)
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    # Shuffled across classes so that a split read in order is not sorted by class.
    train, val, test = (rng.permutation(np.concatenate(p)) if p else np.empty(0, np.int64)
                        for p in parts)
    return train, val, test


def _make_splits(texts: list[str], labels: list[int], class_names: list[str],
                 val_fraction: float, test_fraction: float, seed: int) -> TextClassificationData:
    """Wrap texts and labels into a seeded, stratified TextClassificationData."""
    tr, va, te = stratified_split(labels, val_fraction, test_fraction, seed)

    def take(idx: np.ndarray) -> TextSplit:
        return TextSplit([texts[i] for i in idx], [labels[i] for i in idx])

    return TextClassificationData(take(tr), take(va), take(te), class_names)


_SPACES = re.compile(r"[ \t\f\v\xa0]+")


def _tidy_article(raw: str) -> str:
    """Title + body with runs of spaces collapsed and paragraphs separated by one blank line.

    22 of the 2,225 articles still hold HTML character references ("&#163;1.8m" is "£1.8m",
    "&#233;" is "é"): they are decoded.
    """
    raw = html.unescape(raw)
    lines = [_SPACES.sub(" ", line).strip() for line in raw.replace("\r", "").split("\n")]
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _load_tinyshakespeare(paths: dict[str, Path]) -> str:
    """The whole text."""
    return paths["tinyshakespeare/input.txt"].read_text(encoding="utf-8")


def _load_bbc(paths: dict[str, Path], val_fraction: float = 0.1, test_fraction: float = 0.1,
              seed: int = 0) -> TextClassificationData:
    """Articles read straight from the zip; the class is the folder name."""
    texts: list[str] = []
    classes: list[str] = []
    with zipfile.ZipFile(paths["bbc_news/bbc-fulltext.zip"]) as z:
        # Sorted so that the split does not depend on how the zip was packed.
        names = sorted(n for n in z.namelist() if not n.endswith("/"))
        for n in names:
            parts = PurePosixPath(n).parts
            if len(parts) != 3 or not parts[2].lower().endswith(".txt"):
                continue  # e.g. bbc/README.TXT
            texts.append(_tidy_article(z.read(n).decode("utf-8")))
            classes.append(parts[1])
    class_names = sorted(set(classes))
    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[c] for c in classes]
    return _make_splits(texts, labels, class_names, val_fraction, test_fraction, seed)


# The "&" of each character reference was replaced by a space in AG News: " #39;" is "'".
_ENTITY = re.compile(r" ?#(\d{2,5});")
# Markup only, by tag name: "<TXN.N>" and the like are stock tickers and stay.
_TAG = re.compile(r"</?(?:a|b|i|p|br|em|font|img|nobr|strong)\b[^<>]*>", re.IGNORECASE)


def _tidy_ag(s: str) -> str:
    """Undo the AG News encoding quirks, drop HTML tags and collapse whitespace.

    In test.csv a line break is a lone backslash ("second\\team"), a dollar sign is "\\$",
    character references lost their "&" ("#39;" for an apostrophe), and HTML is escaped
    ("&lt;b&gt;").
    """
    s = s.replace("\\$", "$")
    s = re.sub(r"\\+", " ", s)
    s = _ENTITY.sub(r"&#\1;", s)
    s = _TAG.sub(" ", html.unescape(s))
    return " ".join(s.split())


def _load_ag_news(paths: dict[str, Path], val_fraction: float = 0.1, test_fraction: float = 0.1,
                  seed: int = 0) -> TextClassificationData:
    """Rows of test.csv as "title description", labels 0-3 in the order of classes.txt."""
    class_names = [line.strip() for line in
                   paths["ag_news/classes.txt"].read_text(encoding="utf-8").splitlines()
                   if line.strip()]
    texts: list[str] = []
    labels: list[int] = []
    with open(paths["ag_news/test.csv"], encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if len(row) != 3 or not row[0].strip().isdigit():
                raise DataError(f"ag_news/test.csv row {lineno}: expected 3 fields "
                                f"(class, title, description), got {row!r:.200}")
            label = int(row[0]) - 1
            if not 0 <= label < len(class_names):
                raise DataError(f"ag_news/test.csv row {lineno}: class {row[0]} out of range")
            texts.append(_tidy_ag(f"{row[1]} {row[2]}"))
            labels.append(label)
    return _make_splits(texts, labels, class_names, val_fraction, test_fraction, seed)


def _load_poetry(paths: dict[str, Path]) -> list[Poem]:
    """Poems from every JSON file, in registry order; the primers nest them by chapter."""
    poems: list[Poem] = []
    for rel, p in paths.items():
        if not rel.endswith(".json"):
            continue
        source = str(PurePosixPath(rel).relative_to("chinese_poetry"))
        doc = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(doc, list):  # 全唐诗: a flat list of poems
            for item in doc:
                poems.append(Poem(item.get("title", ""), item.get("author", ""),
                                  list(item.get("paragraphs", [])), source))
        else:  # 蒙学: {"title", "content": [{"type", "content": [{"chapter", ...}]}]}
            for section in doc.get("content", []):
                for item in section.get("content", []):
                    title = item.get("chapter", "")
                    author = item.get("author", doc.get("author", ""))
                    lines = item.get("paragraphs", [])
                    if lines and all(isinstance(x, dict) for x in lines):
                        # A set of poems under one title ("其一", "其二"): one Poem each.
                        for sub in lines:
                            name = "·".join(x for x in (title, sub.get("subchapter", "")) if x)
                            poems.append(Poem(name, author, list(sub.get("paragraphs", [])),
                                              source))
                    else:
                        poems.append(Poem(title, author, list(lines), source))
    return poems


_LOADERS: dict[str, Callable[..., object]] = {
    "tinyshakespeare": _load_tinyshakespeare,
    "bbc_news": _load_bbc,
    "ag_news_test": _load_ag_news,
    "chinese_poetry": _load_poetry,
}


@overload
def load(name: Literal["tinyshakespeare"], *, progress: bool = ...) -> str: ...
@overload
def load(name: Literal["bbc_news", "ag_news_test"], *, progress: bool = ...,
         val_fraction: float = ..., test_fraction: float = ...,
         seed: int = ...) -> TextClassificationData: ...
@overload
def load(name: Literal["chinese_poetry"], *, progress: bool = ...) -> list[Poem]: ...
@overload
def load(name: str, *, progress: bool = ..., **kw: float) -> object: ...


def load_options(name: str) -> dict[str, object]:
    """The keyword options `load(name, ...)` accepts besides `progress`, with their defaults."""
    loader = _LOADERS.get(get_corpus(name).name)
    if loader is None:
        return {}
    params = list(inspect.signature(loader).parameters.values())[1:]  # after `paths`
    return {p.name: p.default for p in params}


def load(name: str, *, progress: bool = True, **kw: float) -> object:
    """Load a corpus ready to use: str, TextClassificationData or list[Poem] (see module doc)."""
    corpus = get_corpus(name)
    loader = _LOADERS.get(corpus.name)
    if loader is None:
        raise ValueError(f"corpus {name!r} has files but no loader; use data.path({name!r})")
    # Checked here, before any download, so that a wrong option names the corpus and its
    # options rather than a private loader function.
    accepted = load_options(name)
    unknown = [k for k in kw if k not in accepted]
    if unknown:
        if accepted:
            options = ", ".join(f"{k}={v!r}" for k, v in accepted.items())
            takes = f"accepts only progress and {options}"
        else:
            others = [n for n in CORPORA if load_options(n)]
            takes = ("takes no options besides progress"
                     + (f" (the split options are for {', '.join(others)})" if others else ""))
        raise TypeError(f"load({name!r}) got unexpected option(s) {', '.join(unknown)}: "
                        f"the {name} corpus {takes}.")
    paths = fetch(corpus.name, progress=progress)
    try:
        return loader(paths, **kw)
    except OSError as exc:  # e.g. a verified file made unreadable since
        raise DataError(f"Cannot read the {name} corpus: {os_problem(exc)}. Check that its "
                        f"files are readable; `python -m book.data verify` checks them all."
                        ) from None
