"""Turning corpus files into Python objects: texts, labelled splits, poems, tagged sentences.

`load(name)` is what the chapters call. It gets a verified copy of every file of the corpus
(through `book.data.fetching`) and hands them to the corpus's loader:

* ``tinyshakespeare`` -> one `str`;
* ``bbc_news``, ``ag_news_test`` -> `TextClassificationData` (train / val / test `TextSplit`s,
  stratified by class and seeded, so every run and every learner gets the same split);
* ``chinese_poetry`` -> a list of `Poem`;
* ``cmn_eng`` -> `TranslationData` (train / val / test lists of `SentencePair`, seeded, with
  every sentence's translations in one split);
* ``wnut17`` -> `TaggingData` (the official train / dev / test as lists of `TaggedSentence`,
  BIO entity tags);
* ``sst2`` -> `TextClassificationData` (GLUE's train less a held-out test of full sentences
  and their phrases, GLUE's dev as val);
* ``ud_english_ewt`` -> `TreebankData` (dev and test `TaggedSentence`s: words, UPOS tags).

The pretrained model ``gpt2`` has files but no loader: `book.data.path("gpt2")` is its folder.

The parsers also undo each corpus's quirks (HTML character references in the BBC articles, the
odd escaping of AG News, the byte-order mark and zero-width spaces of the Tatoeba file, the
lone-TAB sentence breaks of WNUT-17, the multiword tokens of CoNLL-U), so that the chapters
start from clean text. Each loader's docstring gives the sizes it produces.
"""

from __future__ import annotations

import bisect
import csv
import html
import inspect
import json
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal, NamedTuple, overload

import numpy as np

from book.data.errors import DataError, os_problem
from book.data.fetching import fetch
from book.data.registry import CORPORA, get_corpus

__all__ = ["SST2_CLASSES", "UPOS_TAGS", "WNUT17_TAGS", "Poem", "SentencePair", "TaggedSentence",
           "TaggingData", "TextClassificationData", "TextSplit", "TranslationData", "TreebankData",
           "load", "load_options", "sst2_full_sentences", "stratified_split"]

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


# --------------------------------------------------------------------------------------------
# Chapter 6: translation pairs, tagged sentences, sentiment, a treebank
# --------------------------------------------------------------------------------------------


class SentencePair(NamedTuple):
    """One Tatoeba pair: an English sentence, its Chinese translation, and its attribution."""

    english: str
    chinese: str
    attribution: str  # CC BY 2.0 FR: sentence numbers and contributors; keep it with the pair


@dataclass(frozen=True)
class TranslationData:
    """Sentence pairs split into train, validation and test sets."""

    train: list[SentencePair]
    val: list[SentencePair]
    test: list[SentencePair]

    def __repr__(self) -> str:
        """The split sizes, not the thousands of pairs."""
        return (f"TranslationData(train={len(self.train)}, val={len(self.val)}, "
                f"test={len(self.test)})")


class TaggedSentence(NamedTuple):
    """A sentence as tokens with one tag each (BIO entity tags, or part-of-speech tags)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class TaggingData:
    """A sequence-labelling corpus: train, validation and test sentences, and its tag set."""

    train: list[TaggedSentence]
    val: list[TaggedSentence]
    test: list[TaggedSentence]
    tag_names: tuple[str, ...]

    def __repr__(self) -> str:
        """The split sizes and the number of tags, not the sentences."""
        return (f"TaggingData(train={len(self.train)}, val={len(self.val)}, "
                f"test={len(self.test)}, tag_names=<{len(self.tag_names)} tags>)")


@dataclass(frozen=True)
class TreebankData:
    """A treebank's dev and test sentences as (words, universal POS tags), and the tag set."""

    dev: list[TaggedSentence]
    test: list[TaggedSentence]
    tag_names: tuple[str, ...]

    def __repr__(self) -> str:
        """The split sizes and the number of tags, not the sentences."""
        return (f"TreebankData(dev={len(self.dev)}, test={len(self.test)}, "
                f"tag_names=<{len(self.tag_names)} tags>)")


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    """ValueError unless both fractions are >= 0 and leave something for training."""
    if not (val_fraction >= 0 and test_fraction >= 0 and val_fraction + test_fraction < 1):
        raise ValueError("need 0 <= val_fraction, test_fraction and val + test < 1, got "
                         f"{val_fraction} and {test_fraction}")


def _pair_groups(pairs: Sequence[SentencePair]) -> list[int]:
    """A group number per pair: pairs that share an English or a Chinese sentence, directly or
    through other pairs, get the same one (numbered in order of first appearance)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        """The representative of x's group (union-find)."""
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the chains short
            x = parent[x]
        return x

    for p in pairs:
        a, b = root("en:" + p.english), root("zh:" + p.chinese)
        if a != b:
            parent[a] = b
    numbers: dict[str, int] = {}
    return [numbers.setdefault(root("en:" + p.english), len(numbers)) for p in pairs]


def _load_cmn_eng(paths: dict[str, Path], val_fraction: float = 0.1, test_fraction: float = 0.1,
                  seed: int = 0) -> TranslationData:
    """Tatoeba pairs, split by groups of shared sentences so that no sentence is in two splits.

    The file starts with a byte-order mark (read as utf-8-sig), ends with an extra empty line,
    and 5 Chinese sentences hold zero-width spaces (U+200B, 10 in all), which are removed. All
    29,155 pairs are kept; they hold 27,661 distinct English and 25,543 distinct Chinese
    sentences. A pair's group joins every pair that shares its English sentence (its other
    translations) or its Chinese sentence (other English sentences with that translation),
    transitively: 24,363 groups, the largest of 25 pairs. A seeded draw of round(fraction x
    groups) groups makes the validation and test sets, so neither direction of translation
    sees a test sentence in training. With the defaults: 23,360 / 2,896 / 2,899 pairs.
    Within a split the pairs keep the file's order (shortest English sentences first).
    """
    _check_fractions(val_fraction, test_fraction)
    rel = "cmn_eng/cmn.txt"
    pairs: list[SentencePair] = []
    with open(paths[rel], encoding="utf-8-sig", newline="\n") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.replace("\u200b", "").split("\t")
            if len(fields) != 3 or not all(x.strip() for x in fields):
                raise DataError(f"{rel} line {lineno}: expected 3 tab-separated fields "
                                f"(English, Chinese, attribution), got {line!r:.200}")
            pairs.append(SentencePair(*fields))
    groups = np.asarray(_pair_groups(pairs))
    order = np.random.default_rng(seed).permutation(int(groups.max()) + 1 if pairs else 0)
    n_test = round(len(order) * test_fraction)
    n_val = round(len(order) * val_fraction)
    split_of = np.zeros(len(order), dtype=np.int64)  # 0 train, 1 val, 2 test, by group
    split_of[order[:n_test]] = 2
    split_of[order[n_test:n_test + n_val]] = 1
    where = split_of[groups]
    train, val, test = ([p for p, w in zip(pairs, where) if w == k] for k in range(3))
    return TranslationData(train, val, test)


# BIO tags over WNUT-17's six entity types, in the id order Hugging Face's wnut_17 uses.
WNUT17_TAGS: tuple[str, ...] = ("O",) + tuple(
    f"{bio}-{t}" for t in ("corporation", "creative-work", "group", "location", "person",
                           "product") for bio in ("B", "I"))


def _read_conll_pairs(path: Path, rel: str) -> list[TaggedSentence]:
    """``token<TAB>tag`` lines; a sentence ends at a line that is empty once stripped.

    In wnut17train.conll 2,394 of the 3,394 sentence breaks are a line holding a lone TAB, so
    a break is ``line.strip() == ""``, never ``line == ""``.
    """
    allowed = set(WNUT17_TAGS)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                if tokens:
                    sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
                    tokens, tags = [], []
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2 or not fields[0].strip() or fields[1] not in allowed:
                raise DataError(f"{rel} line {lineno}: expected a token, a TAB and one of the "
                                f"{len(allowed)} BIO tags, got {line!r:.200}")
            tokens.append(fields[0])
            tags.append(fields[1])
    if tokens:
        sentences.append(TaggedSentence(tuple(tokens), tuple(tags)))
    return sentences


def _load_wnut17(paths: dict[str, Path]) -> TaggingData:
    """The official splits: train, dev (as `val`) and test, each a list of TaggedSentence.

    3,394 / 1,009 / 1,287 sentences with 62,730 / 15,733 / 23,394 tokens and 1,975 / 836 /
    1,079 entities (B- tags). Dev and test hold emoji; no token is empty or holds a space.
    """
    files = ("wnut17/wnut17train.conll", "wnut17/emerging.dev.conll",
             "wnut17/emerging.test.annotated")
    train, val, test = (_read_conll_pairs(paths[rel], rel) for rel in files)
    return TaggingData(train, val, test, WNUT17_TAGS)


# The 17 universal part-of-speech tags (https://universaldependencies.org/u/pos/).
UPOS_TAGS: tuple[str, ...] = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
                              "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")


def _read_conllu(path: Path, rel: str) -> list[TaggedSentence]:
    """Words and UPOS tags of each sentence of a CoNLL-U file.

    Multiword-token lines (ID ``3-4``, e.g. "don't" above "do" and "n't") and empty nodes (ID
    ``8.1``) are skipped: the words are the lines with an integer ID.
    """
    allowed = set(UPOS_TAGS)
    sentences: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                if words:
                    sentences.append(TaggedSentence(tuple(words), tuple(tags)))
                    words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 10:
                raise DataError(f"{rel} line {lineno}: expected 10 tab-separated CoNLL-U "
                                f"columns, got {len(cols)}: {line!r:.200}")
            if not cols[0].isdigit():  # "3-4" or "8.1"
                continue
            if cols[3] not in allowed or not cols[1]:
                raise DataError(f"{rel} line {lineno}: expected a word and one of the 17 "
                                f"UPOS tags, got {cols[1]!r} {cols[3]!r}")
            words.append(cols[1])
            tags.append(cols[3])
    if words:
        sentences.append(TaggedSentence(tuple(words), tuple(tags)))
    return sentences


def _load_ud_english_ewt(paths: dict[str, Path]) -> TreebankData:
    """Dev and test sentences of UD English-EWT r2.16 as (words, UPOS tags).

    Dev: 2,001 sentences, 25,147 words; test: 2,077 sentences, 25,094 words (skipped: 359 and
    354 multiword-token lines, 4 and 2 empty nodes). The treebank's train file is not included.
    """
    dev, test = (_read_conllu(paths[f"ud_english_ewt/en_ewt-ud-{s}.conllu"],
                              f"ud_english_ewt/en_ewt-ud-{s}.conllu") for s in ("dev", "test"))
    return TreebankData(dev, test, UPOS_TAGS)


SST2_CLASSES = ["negative", "positive"]
# GLUE's SST-2 test.tsv has 1,821 sentences (labels hidden); the held-out test is as large.
SST2_TEST_SIZE = 1821


def _read_sst2(path: Path, rel: str) -> tuple[list[str], list[int]]:
    """Sentences (without the space GLUE leaves before the TAB) and 0/1 labels of a GLUE tsv."""
    texts: list[str] = []
    labels: list[int] = []
    with open(path, encoding="utf-8", newline="\n") as f:
        header = f.readline().rstrip("\n")
        if header != "sentence\tlabel":
            raise DataError(f"{rel}: expected the header 'sentence<TAB>label', got {header!r}")
        for lineno, line in enumerate(f, 2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2 or fields[1] not in ("0", "1") or not fields[0].strip():
                raise DataError(f"{rel} line {lineno}: expected a sentence, a TAB and 0 or 1, "
                                f"got {line!r:.200}")
            texts.append(fields[0].strip())
            labels.append(int(fields[1]))
    return texts, labels


class _SpanIndex:
    """Answers "is this string a run of whole words of one of these sentences?" quickly.

    Every word-suffix of every sentence is kept, sorted: a string is a span exactly when it is
    one of the suffixes, or the start of one up to a space, which a binary search finds.
    Building it is linear in the words, where listing every span would be quadratic.
    """

    def __init__(self, sentences: Sequence[str]) -> None:
        """Index every word-suffix of the sentences (each sentence counts as its own suffix)."""
        proper: set[str] = set()
        for s in sentences:
            i = s.find(" ")
            while i >= 0:  # str.find, not a loop over characters: 3.8 MB for SST-2's train
                proper.add(s[i + 1:])
                i = s.find(" ", i + 1)
        self._proper = proper
        self._suffixes = proper | set(sentences)
        self._sorted = sorted(self._suffixes)

    def _starts_a_suffix(self, s: str) -> bool:
        """True if some suffix is s followed by more words (so its sentence is longer than s)."""
        head = s + " "
        i = bisect.bisect_left(self._sorted, head)
        return i < len(self._sorted) and self._sorted[i].startswith(head)

    def is_span(self, s: str) -> bool:
        """True if s is one of the sentences, or a run of whole words inside one."""
        return s in self._suffixes or self._starts_a_suffix(s)

    def in_longer(self, s: str) -> bool:
        """True if s is a run of whole words inside a sentence longer than s."""
        return s in self._proper or self._starts_a_suffix(s)


def _extended(strings: Sequence[str]) -> set[str]:
    """The strings that some other string of the list continues with a space and more words."""
    ordered = sorted(strings)
    out = set()
    for s in ordered:
        head = s + " "
        i = bisect.bisect_left(ordered, head)
        if i < len(ordered) and ordered[i].startswith(head):
            out.add(s)
    return out


def sst2_full_sentences(texts: Sequence[str]) -> list[str]:
    """The distinct strings of texts that are not a run of words inside a longer one, in order.

    SST-2's train.tsv lists each training sentence and its sub-phrases; these are the sentences.
    A phrase that begins or ends a longer string (most do: a parse tree's children begin and
    end their parent) is dropped first, by sorting the strings and the reversed strings. The
    other candidates hold every full sentence, so looking for each candidate inside the
    others settles the rest, with a span index of about 12,000 strings rather than 67,000.
    """
    distinct = list(dict.fromkeys(texts))
    starts = _extended(distinct)
    ends = {r[::-1] for r in _extended([s[::-1] for s in distinct])}
    candidates = [s for s in distinct if s not in starts and s not in ends]
    index = _SpanIndex(candidates)
    return [s for s in candidates if not index.in_longer(s)]


def _load_sst2(paths: dict[str, Path], test_size: int = SST2_TEST_SIZE,
               seed: int = 0) -> TextClassificationData:
    """GLUE's SST-2: train, GLUE's dev as `val`, and a test set held out of GLUE's train.

    GLUE keeps its test labels hidden, so `test` is a seeded draw of `test_size` full sentences
    from train.tsv (1,821 by default, the size of GLUE's test). train.tsv holds every training
    sentence *and its sub-phrases*, each labelled, so every train string that is a run of words
    of a test sentence (the sentence itself and all its phrases) is removed from `train`;
    otherwise the model would have seen the test sentences' pieces with their labels.

    Measured on GLUE's files (seed 0, default size):

    * train.tsv: 67,349 rows, 66,978 distinct strings (371 appear twice, 5 of them with both
      labels: single words such as "sleeper"); 6,885 full sentences (strings that are not a run
      of words inside a longer one). Labels: 37,569 positive, 29,780 negative.
    * test: 1,821 full sentences, 968 positive and 853 negative.
    * train: 47,986 rows left (26,492 positive, 21,494 negative). The 19,363 rows removed are
      the test sentences and every phrase of them, short ones included; 2,679 of those (mostly
      one or two words: "the film", ".") are also phrases of sentences that stay in train.
    * val (GLUE's dev.tsv): 872 sentences, 444 positive, 428 negative, left as GLUE has them. Its
      overlap with GLUE's train: no dev sentence is a train string; 2 dev sentences ("bad .",
      "very bad .") occur inside longer train strings; 1,578 distinct train strings (1,769 rows)
      are runs of words of dev sentences, 1,446 of them one or two words long and none longer
      than seven ("one of the year 's best films"). These are phrases any review may use, not
      pieces of the dev sentences (train's phrases come from train's own sentences), so train
      is not filtered against dev, and `val` scores compare with published SST-2 dev results.

    Sentences are lowercased and tokenised by GLUE (``it 's``, ``does n't``); the space GLUE
    leaves before each TAB is dropped. `train` and `val` keep the files' order; `test` is in the
    drawn order.
    """
    train_texts, train_labels = _read_sst2(paths["sst2/train.tsv"], "sst2/train.tsv")
    val = TextSplit(*_read_sst2(paths["sst2/dev.tsv"], "sst2/dev.tsv"))
    full = sst2_full_sentences(train_texts)
    if not 0 < test_size < len(full):
        raise ValueError(f"test_size must be between 1 and {len(full) - 1} (the full sentences "
                         f"of train.tsv), got {test_size}")
    label_of = dict(zip(train_texts, train_labels))  # a full sentence has one label
    picked = np.random.default_rng(seed).permutation(len(full))[:test_size]
    test_texts = [full[i] for i in picked]
    test = TextSplit(test_texts, [label_of[t] for t in test_texts])
    in_test = _SpanIndex(test_texts)
    keep = [i for i, t in enumerate(train_texts) if not in_test.is_span(t)]
    train = TextSplit([train_texts[i] for i in keep], [train_labels[i] for i in keep])
    return TextClassificationData(train, val, test, list(SST2_CLASSES))


_LOADERS: dict[str, Callable[..., object]] = {
    "tinyshakespeare": _load_tinyshakespeare,
    "bbc_news": _load_bbc,
    "ag_news_test": _load_ag_news,
    "chinese_poetry": _load_poetry,
    "cmn_eng": _load_cmn_eng,
    "wnut17": _load_wnut17,
    "sst2": _load_sst2,
    "ud_english_ewt": _load_ud_english_ewt,
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
def load(name: Literal["cmn_eng"], *, progress: bool = ..., val_fraction: float = ...,
         test_fraction: float = ..., seed: int = ...) -> TranslationData: ...
@overload
def load(name: Literal["wnut17"], *, progress: bool = ...) -> TaggingData: ...
@overload
def load(name: Literal["sst2"], *, progress: bool = ..., test_size: int = ...,
         seed: int = ...) -> TextClassificationData: ...
@overload
def load(name: Literal["ud_english_ewt"], *, progress: bool = ...) -> TreebankData: ...
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
    """Load a corpus ready to use: str, TextClassificationData, list[Poem], TranslationData,
    TaggingData or TreebankData (see the module docstring)."""
    corpus = get_corpus(name)
    loader = _LOADERS.get(corpus.name)
    if loader is None:
        what = "a pretrained model" if corpus.kind == "model" else "a corpus"
        raise ValueError(f"{name!r} is {what} with files but no loader; use "
                         f"data.path({name!r}) for its folder")
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
