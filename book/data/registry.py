"""The registry: which corpora the course uses, where each file comes from, and its checksum.

A corpus (`Corpus`) is a name, a description, a licence, a citation and a few files. Each file
(`FileSpec`) has a path relative to the data folder (``<corpus folder>/<file>``), the sha256 and
size of the one good copy, and the URLs to download it from, tried in order. Nothing here reads
or writes a file: `book.data.fetching` uses these records to find or download a verified copy,
and `book.data.loaders` turns the files into Python objects.

Most entries are text corpora (``kind="corpus"``): the course's mirror holds them all, and
``python -m book.data fetch`` without names downloads them. An entry with ``kind="model"`` (the
pretrained GPT-2 of chapter 6, 548 MB) is fetched, cached and verified the same way, but only
when it is asked for by name; it is not expected in the mirror and the tests never download it.
`corpora("corpus")` lists the text corpora only.

To add a corpus: add a `Corpus` to `CORPORA` (sha256 and size from a copy you checked), then a
loader in `book.data.loaders`.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

__all__ = ["CORPORA", "KINDS", "Corpus", "FileSpec", "Kind", "corpora", "corpus_of",
           "get_corpus"]

Kind = Literal["corpus", "model"]
KINDS: tuple[Kind, ...] = ("corpus", "model")


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
    # "corpus": in the course mirror and fetched by default; "model": fetched only by name.
    kind: Kind = "corpus"

    def __post_init__(self) -> None:
        """Refuse an unknown kind, which would silently count as neither corpus nor model."""
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")

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
_WNUT = ("leondz/emerging_entities_17", "e52a2d2a71ac1a051ca2d532eef28653c5c02603")
_UD_EWT = ("UniversalDependencies/UD_English-EWT", "4c89b5833a70aa5ed3a00bad2f23f57992cc7df8")
# Only pinned URLs for these two: the copies are in personal repositories, and the official
# releases (ManyThings' zip, GLUE's SST-2.zip) are zips whose bytes differ from these files.
_CMN_URL = (f"{_GH}/13luoyu/Transformer-machine-translation/"
            "aa43963320ccfacebd1d3542deae559bbca58d03/cmn.txt")
_SST2_BASE = (f"{_GH}/smolPixel/VAETextImages/bf3c9c24582d9683be81cbe5f589c93fb11bf02a/"
              "data/SST2/original")
# The WNUT-17 task site serves the same train and test files; its dev file differs (a stray BOM).
_WNUT_SITE = "http://noisy-text.github.io/2017/files"
_HF_GPT2 = ("https://huggingface.co/openai-community/gpt2/resolve/"
            "607a30d783dfa663caf39e06633721c8d4cfcd7e")
_OPENAI_GPT2 = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"

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
    "cmn_eng": Corpus(
        name="cmn_eng",
        description="English-Chinese sentence pairs from the Tatoeba Project (ManyThings.org "
        "release): 29,155 English sentences with their Mandarin translations (simplified "
        "characters), each with its attribution line.",
        files=(
            FileSpec(
                "cmn_eng/cmn.txt",
                "aa264a2447b26ab7c9d413f8321f9e2a779fd134b5118306b6e26a3499b3926e",
                4151383,
                (_CMN_URL,),
            ),
        ),
        license="CC BY 2.0 FR (Tatoeba, https://tatoeba.org/eng/terms_of_use). Every pair "
        "carries its attribution (Tatoeba sentence numbers and contributors), which must be kept "
        "with any copy; credit tatoeba.org and manythings.org/anki.",
        citation="Tatoeba Project, https://tatoeba.org, sentence pairs as released by "
        "ManyThings.org, https://www.manythings.org/anki/",
    ),
    "wnut17": Corpus(
        name="wnut17",
        description="WNUT-17 emerging and rare entities: tweets, Reddit, YouTube and Stack "
        "Overflow comments, one token per line with BIO tags for six entity types (person, "
        "location, group, creative-work, corporation, product); 3,394 / 1,009 / 1,287 "
        "sentences in train / dev / test.",
        files=tuple(
            FileSpec(f"wnut17/{rel}", sha, size,
                     _gh_urls(*_WNUT, rel) + ((f"{_WNUT_SITE}/{rel}",) if site else ()))
            for rel, sha, size, site in (
                ("wnut17train.conll",
                 "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5", 493781,
                 True),
                ("emerging.dev.conll",
                 "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8", 114749,
                 False),
                ("emerging.test.annotated",
                 "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0", 192425,
                 True),
            )
        ),
        license="CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); the authors ask "
        "users to cite the paper.",
        citation='L. Derczynski, E. Nichols, M. van Erp and N. Limsopatham, "Results of the '
        'WNUT2017 Shared Task on Novel and Emerging Entity Recognition", Proc. 3rd Workshop on '
        "Noisy User-generated Text (W-NUT), EMNLP 2017.",
    ),
    "sst2": Corpus(
        name="sst2",
        description="SST-2, the GLUE version of the Stanford Sentiment Treebank: lowercased, "
        "tokenised movie-review snippets labelled negative (0) or positive (1). train.tsv holds "
        "67,349 training sentences and their sub-phrases, dev.tsv 872 full sentences (GLUE's "
        "test labels are hidden, so the test set is not included).",
        files=(
            FileSpec(
                "sst2/train.tsv",
                "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
                3806081,
                (f"{_SST2_BASE}/train.tsv",),
            ),
            FileSpec(
                "sst2/dev.tsv",
                "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
                94931,
                (f"{_SST2_BASE}/dev.tsv",),
            ),
        ),
        license="Unknown: no licence is stated by the Stanford Sentiment Treebank, GLUE or the "
        "copy used. For research and teaching with citation; do not redistribute.",
        citation='R. Socher, A. Perelygin, J. Wu, J. Chuang, C. D. Manning, A. Ng and C. Potts, '
        '"Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank", '
        'EMNLP 2013; A. Wang, A. Singh, J. Michael, F. Hill, O. Levy and S. R. Bowman, "GLUE: '
        'A Multi-Task Benchmark and Analysis Platform for Natural Language Understanding", '
        "ICLR 2019.",
    ),
    "ud_english_ewt": Corpus(
        name="ud_english_ewt",
        description="Universal Dependencies English Web Treebank (release r2.16), dev and test "
        "sets: 2,001 + 2,077 sentences of web text (blogs, reviews, e-mail, answers) in CoNLL-U, "
        "with 17 universal part-of-speech tags.",
        files=tuple(
            FileSpec(f"ud_english_ewt/{rel}", sha, size, _gh_urls(*_UD_EWT, rel))
            for rel, sha, size in (
                ("en_ewt-ud-dev.conllu",
                 "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6", 1805545),
                ("en_ewt-ud-test.conllu",
                 "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd", 1804515),
                ("LICENSE.txt",
                 "b3d1b0f4c6ae151f7eb78738f46ebd5ee140f8a7f76501ba26af123140d35ae7", 20014),
            )
        ),
        license="CC BY-SA 4.0 (keep ud_english_ewt/LICENSE.txt with any copy, and share "
        "derived annotations under the same licence). Annotations (c) 2013-2021 The Board of "
        "Trustees of the Leland Stanford Junior University; the texts come from the LDC English "
        "Web Treebank.",
        citation='N. Silveira, T. Dozat, M.-C. de Marneffe, S. Bowman, M. Connor, J. Bauer and '
        'C. D. Manning, "A Gold Standard Dependency Corpus for English", Proc. LREC 2014; '
        "Universal Dependencies 2.16, https://universaldependencies.org",
    ),
    "gpt2": Corpus(
        name="gpt2",
        description="GPT-2 small (124M parameters), a pretrained model, not a corpus: OpenAI's "
        "weights as one safetensors file and the byte-level BPE tokenizer (vocab.json, "
        "merges.txt), as published on Hugging Face. Downloaded only when named: "
        "`python -m book.data fetch gpt2`.",
        files=(
            FileSpec(
                "gpt2/model.safetensors",
                "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707",
                548105171,
                (f"{_HF_GPT2}/model.safetensors",),
            ),
            FileSpec(
                "gpt2/vocab.json",
                "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
                1042301,
                (f"{_HF_GPT2}/vocab.json", f"{_OPENAI_GPT2}/encoder.json"),
            ),
            FileSpec(
                "gpt2/merges.txt",
                "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
                456318,
                (f"{_HF_GPT2}/merges.txt", f"{_OPENAI_GPT2}/vocab.bpe"),
            ),
        ),
        license="Modified MIT (OpenAI's gpt-2 repository, "
        "https://github.com/openai/gpt-2/blob/master/LICENSE); the Hugging Face model card "
        "says MIT.",
        citation='A. Radford, J. Wu, R. Child, D. Luan, D. Amodei and I. Sutskever, "Language '
        'Models are Unsupervised Multitask Learners", OpenAI, 2019.',
        kind="model",
    ),
}


def corpora(kind: Kind | None = None) -> list[Corpus]:
    """All registered entries in registry order, or only those of one kind ("corpus", "model")."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    return [c for c in CORPORA.values() if kind is None or c.kind == kind]


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
