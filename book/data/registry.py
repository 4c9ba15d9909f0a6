"""The registry: which corpora the course uses, where each file comes from, and its checksum.

A corpus (`Corpus`) is a name, a description, a licence, a citation and a few files. Each file
(`FileSpec`) has a path relative to the data folder (``<corpus folder>/<file>``), the sha256 and
size of the one good copy, and the URLs to download it from, tried in order. Nothing here reads
or writes a file: `book.data.fetching` uses these records to find or download a verified copy,
and `book.data.loaders` turns the files into Python objects.

To add a corpus: add a `Corpus` to `CORPORA` (sha256 and size from a copy you checked), then a
loader in `book.data.loaders`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["CORPORA", "Corpus", "FileSpec", "corpora", "corpus_of", "get_corpus"]


@dataclass(frozen=True)
class FileSpec:
    """One file of a corpus: where it lives (relative path), its sha256, size and URLs."""

    path: str
    sha256: str
    size: int
    urls: tuple[str, ...]
    # For zips that upstream may re-pack: a digest of the members, see zip_content_sha256().
    content_sha256: str | None = None

    def fetch(self, progress: bool = True) -> Path:
        """Return a verified local copy of this file (mirror, cache or download)."""
        from book.data.fetching import fetch_file  # here: fetch imports this module

        return fetch_file(self.path, self.sha256, self.urls, size=self.size,
                          content_sha256=self.content_sha256, progress=progress)


@dataclass(frozen=True)
class Corpus:
    """A named corpus: its files, what it is, its licence and how to cite it."""

    name: str
    description: str
    files: tuple[FileSpec, ...]
    license: str
    citation: str

    @property
    def size(self) -> int:
        """Total size of the corpus files in bytes."""
        return sum(f.size for f in self.files)

    @property
    def folder(self) -> str:
        """The top folder of the corpus files (e.g. ``ag_news``)."""
        return PurePosixPath(self.files[0].path).parts[0]


_GH = "https://raw.githubusercontent.com"


def _gh_urls(repo: str, commit: str, path: str) -> tuple[str, str]:
    """The moving ``master`` URL first (canonical), then one pinned to a known commit."""
    quoted = urllib.parse.quote(path)
    return (f"{_GH}/{repo}/master/{quoted}", f"{_GH}/{repo}/{commit}/{quoted}")


_CHARRNN = ("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e")
_AGNEWS = ("mhjabreel/CharCnn_Keras", "555590db4219b1243abb1918effd6a7425a2d75f")
_POETRY = ("chinese-poetry/chinese-poetry", "99ebbef7e1345c0985c44b9fd96a3f9e776f117b")

# Greene & Cunningham's zip is stable byte-for-byte in the GitHub copy, but the official host
# could re-pack it (new dates, new compression), so it is also accepted by content digest.
_BBC_ZIP_SHA256 = "a351031a62325b3d7ff13146eeb035c22feca8290913b5183d1ff3be35109495"
_BBC_CONTENT_SHA256 = "fb6a22717f82468cbe38785ca4637a4751871b331034f5c1bc03cbffdea68fd3"

_POETRY_FILES = (  # (path inside the repository, sha256, bytes)
    ("全唐诗/唐诗三百首.json",
     "d77a145f7470da2ed2f79515944563c062ffc43fceda07f195a36ead66b7e5c7", 190787),
    ("全唐诗/poet.tang.0.json",
     "4f88f429938082523cdc72a1612bd7a7c3e3f7a33f8192c61ae51340efc3c92d", 408405),
    ("全唐诗/poet.tang.1000.json",
     "6e703b8d8dcedbd6110f6d48d043665ca2131db2035a5bfcef5e59a19aeb6d75", 477519),
    ("全唐诗/poet.tang.2000.json",
     "ec28efa7e2ae9cdbbba09f0ed186e32ccae47a325ad1e5816b7ad56071c1665a", 417948),
    ("全唐诗/poet.tang.3000.json",
     "9e4ba2323752b6b9fbdba875cdbc6a26636fe0cabc85fd066370d4915952001f", 453811),
    ("蒙学/tangshisanbaishou.json",
     "8423b65d938d0327e369972e790549b42609fa7ac4a2a72df59f4cb5a49c08f8", 148829),
    ("蒙学/qianjiashi.json",
     "cf34d01ed29528052da5d96543e725ab67814a6cb093183808c889400ff62417", 69087),
    ("LICENSE",
     "c195319aeaa3ffcbe16aa5d26eec19eae5a42f84337dd2b3dc3c9d5ccbbd6507", 1076),
)

CORPORA: dict[str, Corpus] = {
    "tinyshakespeare": Corpus(
        name="tinyshakespeare",
        description="Tiny Shakespeare: 40,000 lines of Shakespeare's plays in one plain-text "
        "file (1,115,394 characters), from Karpathy's char-rnn.",
        files=(
            FileSpec(
                "tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                1115394,
                _gh_urls(*_CHARRNN, "data/tinyshakespeare/input.txt"),
            ),
        ),
        license="MIT (char-rnn README); the text itself is in the public domain.",
        citation="A. Karpathy, char-rnn (2015), https://github.com/karpathy/char-rnn",
    ),
    "bbc_news": Corpus(
        name="bbc_news",
        description="BBC News: 2,225 articles from 2004-2005 in five topics (business, "
        "entertainment, politics, sport, tech), as the official bbc-fulltext.zip.",
        files=(
            FileSpec(
                "bbc_news/bbc-fulltext.zip",
                _BBC_ZIP_SHA256,
                2874079,
                (
                    "http://mlg.ucd.ie/files/datasets/bbc-fulltext.zip",
                    (f"{_GH}/abhijeetlodh/Deep-Learning-Natural-Language-Processing/"
                     "8613a5b418073c5753859f59e175aa1a21b70bbe/data/bbc-fulltext.zip"),
                ),
                content_sha256=_BBC_CONTENT_SHA256,
            ),
        ),
        license="Non-commercial and research use only; all rights in the articles are owned "
        "by the BBC. Do not redistribute.",
        citation='D. Greene and P. Cunningham, "Practical Solutions to the Problem of Diagonal '
        'Dominance in Kernel Document Clustering", Proc. ICML 2006.',
    ),
    "ag_news_test": Corpus(
        name="ag_news_test",
        description="AG News, test split only: 7,600 news titles and descriptions in four "
        "classes (World, Sports, Business, Sci/Tech), 1,900 each.",
        files=(
            FileSpec(
                "ag_news/test.csv",
                "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                1857427,
                _gh_urls(*_AGNEWS, "data/ag_news_csv/test.csv"),
            ),
            FileSpec(
                "ag_news/classes.txt",
                "612dbfa932f07a6ed837295a7d5746ce7412e7bb4bc32ba919fdb3cda3a1b9b5",
                31,
                _gh_urls(*_AGNEWS, "data/ag_news_csv/classes.txt"),
            ),
        ),
        license="Non-commercial / research use (terms of the AG corpus of news articles, "
        "http://www.di.unipi.it/~gulli/AG_corpus_of_news_articles.html).",
        citation='X. Zhang, J. Zhao and Y. LeCun, "Character-level Convolutional Networks for '
        'Text Classification", NIPS 2015.',
    ),
    "chinese_poetry": Corpus(
        name="chinese_poetry",
        description="Classical Chinese poems (traditional characters): five files of the "
        "Complete Tang Poems (全唐诗), including the 300 Tang Poems, plus two primers (蒙学).",
        files=tuple(
            FileSpec(f"chinese_poetry/{rel}", sha, size, _gh_urls(*_POETRY, rel))
            for rel, sha, size in _POETRY_FILES
        ),
        license="MIT, Copyright (c) 2016 JackeyGao (keep chinese_poetry/LICENSE with any "
        "copy); the poems are in the public domain.",
        citation="The chinese-poetry project, https://github.com/chinese-poetry/chinese-poetry",
    ),
}


def corpora() -> list[Corpus]:
    """All registered corpora, in registry order."""
    return list(CORPORA.values())


def get_corpus(name: str) -> Corpus:
    """Look up a corpus by name, with an error that lists the known names."""
    try:
        return CORPORA[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(CORPORA))
        raise ValueError(f"unknown corpus {name!r}; known corpora: {known}") from None


def corpus_of(relpath: str) -> str | None:
    """The name of the corpus that holds a file, if any."""
    for c in CORPORA.values():
        if any(f.path == relpath for f in c.files):
            return c.name
    return None
