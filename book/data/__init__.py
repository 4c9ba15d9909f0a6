"""The course's text corpora (and GPT-2), by name: find them locally or download and verify them.

    >>> from book import data
    >>> text = data.load("tinyshakespeare")          # str
    >>> bbc = data.load("bbc_news")                  # TextClassificationData
    >>> poems = data.load("chinese_poetry")          # list[Poem]
    >>> pairs = data.load("cmn_eng")                 # TranslationData of SentencePair
    >>> ner = data.load("wnut17")                    # TaggingData of TaggedSentence
    >>> sst = data.load("sst2")                      # TextClassificationData
    >>> ud = data.load("ud_english_ewt")             # TreebankData (dev, test)
    >>> data.is_available("gpt2")                    # fetched already? (never downloads)
    >>> folder = data.path("gpt2")                   # GPT-2's weights and tokenizer files

Each file is looked up in the mirror folder ``$LLM_BOOK_DATA`` (read only), then in the cache
``$XDG_CACHE_HOME/llm-course/`` (default ``~/.cache/llm-course/``), then downloaded, and is
checked against its recorded sha256 before it is used. From the command line::

    python -m book.data list            # corpora, sizes, licences, where each is found
    python -m book.data fetch [NAME..]  # download what is missing (all corpora by default)
    python -m book.data fetch gpt2      # the pretrained GPT-2 (548 MB), only ever by name
    python -m book.data verify          # re-check every file that is present

The package, by role:

* `book.data.registry` - the corpora (and the one model): files, URLs, sha256 and sizes,
  licences, citations;
* `book.data.fetching` - mirror -> cache -> download, verification, the cache's safety rules;
* `book.data.loaders`  - parsers that turn the files into texts, labelled splits, poems,
  sentence pairs and tagged sentences;
* `book.data.errors`   - `DataError` (with what to do) and `DataWarning`;
* `book.data.cli`      - the command line above (``__main__`` runs it).

(The modules are not called `fetch` and `corpora` because `data.fetch()` and `data.corpora()`
are functions of the package: a submodule of the same name would be hidden behind them.)

Everything a chapter needs is importable from `book.data` itself.
"""

from book.data.cli import main
from book.data.errors import DataError, DataWarning
from book.data.fetching import (
    ENV_MIRROR,
    FileCheck,
    cache_dir,
    describe_mirror,
    fetch,
    fetch_file,
    is_available,
    locate,
    mirror_dir,
    path,
    verify,
    zip_content_sha256,
)
from book.data.loaders import (
    SST2_CLASSES,
    UPOS_TAGS,
    WNUT17_TAGS,
    Poem,
    SentencePair,
    TaggedSentence,
    TaggingData,
    TextClassificationData,
    TextSplit,
    TranslationData,
    TreebankData,
    load,
    load_options,
    sst2_full_sentences,
    stratified_split,
)
from book.data.registry import CORPORA, Corpus, FileSpec, corpora, get_corpus

__all__ = [
    "CORPORA",
    "ENV_MIRROR",
    "SST2_CLASSES",
    "UPOS_TAGS",
    "WNUT17_TAGS",
    "Corpus",
    "DataError",
    "DataWarning",
    "FileCheck",
    "FileSpec",
    "Poem",
    "SentencePair",
    "TaggedSentence",
    "TaggingData",
    "TextClassificationData",
    "TextSplit",
    "TranslationData",
    "TreebankData",
    "cache_dir",
    "corpora",
    "describe_mirror",
    "fetch",
    "fetch_file",
    "get_corpus",
    "is_available",
    "load",
    "load_options",
    "locate",
    "main",
    "mirror_dir",
    "path",
    "sst2_full_sentences",
    "stratified_split",
    "verify",
    "zip_content_sha256",
]
