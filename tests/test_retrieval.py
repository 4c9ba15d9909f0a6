"""Tests of book.retrieval: BM25 against a hand computation, TF-IDF and embedding rankings on
tiny collections, the BBC title task's answer sets, and the errors."""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from book.retrieval import (
    RETRIEVAL_SETTINGS,
    BM25Index,
    EmbeddingIndex,
    TfidfIndex,
    bbc_title_task,
    evaluate,
)

MIRROR = Path(os.environ.get("LLM_BOOK_DATA") or "/work/shared/data")
needs_bbc = pytest.mark.skipif(not (MIRROR / "bbc_news" / "bbc-fulltext.zip").is_file(),
                               reason=f"no local mirror of bbc_news at {MIRROR}")

# lengths 2, 3, 4 tokens: avgdl = 3; apple and banana are in 2 documents, cherry and date in 1
FRUIT = ["apple banana", "apple cherry cherry", "banana banana banana date"]


def test_bm25_by_hand():
    index = BM25Index(FRUIT, k1=1.2, b=0.75)
    assert index.avgdl == 3
    idf_1, idf_2 = math.log(1 + 2.5 / 1.5), math.log(1 + 1.5 / 2.5)  # df = 1, df = 2
    # cherry: f = 2 in a document of average length, so the length factor is 1
    assert index.scores("cherry") == pytest.approx([0, idf_1 * 2 * 2.2 / (2 + 1.2), 0])
    # length factors k1 (1 - b + b |d| / avgdl): 1.2 * 0.75 = 0.9, 1.2 and 1.2 * 1.25 = 1.5
    expected = [2 * idf_2 * 2.2 / (1 + 0.9), idf_2 * 2.2 / (1 + 1.2), idf_2 * 3 * 2.2 / (3 + 1.5)]
    assert index.scores("banana apple") == pytest.approx(expected)
    assert index.scores("Apple, BANANA!") == pytest.approx(expected)  # case and "," "!" unknown
    # a repeated query word counts twice; a word outside the collection counts nothing
    assert index.scores("cherry cherry kiwi") == pytest.approx(2 * index.scores("cherry"))


def test_bm25_parameters():
    # b = 0: no length normalisation; k1 = 0: a word counts once, however often it occurs
    flat = BM25Index(FRUIT, k1=1.2, b=0.0).scores("banana")
    idf_2 = math.log(1 + 1.5 / 2.5)
    assert flat == pytest.approx([idf_2 * 2.2 / 2.2, 0, idf_2 * 3 * 2.2 / 4.2])
    binary = BM25Index(FRUIT, k1=0.0).scores("banana")
    assert binary == pytest.approx([idf_2, 0, idf_2])
    with pytest.raises(ValueError, match="0 <= b <= 1"):
        BM25Index(FRUIT, b=1.5)


NEWS = [
    "The central bank raised interest rates to curb inflation.",
    "The striker scored twice as the team won the cup final.",
    "A new phone with a faster chip and a better camera went on sale.",
    "Shares fell as the bank warned on profits.",
    "The coach praised the team after the match.",
]


def test_tfidf_ranks_the_document_with_the_query_words_first():
    index = TfidfIndex(NEWS)
    assert index.rank(["camera chip"], k=1)[0, 0] == 2
    s = index.scores("striker cup")
    assert s.argmax() == 1 and np.all(s <= 1 + 1e-6) and np.all(s >= 0)
    assert index.scores(NEWS[3])[3] == pytest.approx(1, abs=1e-6)  # a document is itself
    assert index.scores("zebra") == pytest.approx(np.zeros(5))      # unknown words: no match


def test_rank_orders_by_score_then_by_id():
    index = BM25Index(NEWS)
    ranked = index.rank(["bank", "team", "zebra"], k=5)
    assert ranked.shape == (3, 5) and ranked.dtype == np.int64
    assert set(ranked[0, :2]) == {0, 3} and set(ranked[1, :2]) == {1, 4}
    assert ranked[2].tolist() == [0, 1, 2, 3, 4]  # all scores 0: by id
    for row, query in zip(ranked, ["bank", "team"]):
        s = index.scores(query)
        assert np.all(np.diff(s[row]) <= 0)
    # many equal scores (a vectorised sort need not keep their order): still by id
    docs = ["bank news" if i % 3 == 0 else "other text" for i in range(40)]
    assert BM25Index(docs).rank(["bank"], k=15)[0].tolist() == [*range(0, 40, 3), 1]


def test_embedding_index_finds_a_document_from_its_own_text():
    docs = NEWS * 2 + ["The bank cut rates.", "The team lost the final."]
    index = EmbeddingIndex(docs, dim=8, min_freq=1, n_context=30, window=3)
    assert index.doc_vectors.shape == (12, 8)
    assert np.linalg.norm(index.doc_vectors, axis=1) == pytest.approx(np.ones(12), abs=1e-5)
    ranked = index.rank(NEWS, k=2)
    for i, row in enumerate(ranked):  # the text and its copy, in either order
        assert set(row.tolist()) == {i, i + 5}


def test_indexes_refuse_bad_input():
    for cls in (TfidfIndex, BM25Index, EmbeddingIndex):
        with pytest.raises(ValueError, match="collection is empty"):
            cls([])
        with pytest.raises(TypeError, match="list of documents"):
            cls("one long string")
    index = TfidfIndex(NEWS)
    with pytest.raises(ValueError, match="k must be between 1 and the 5 documents; got 0"):
        index.rank(["bank"], k=0)
    with pytest.raises(ValueError, match="got 6"):
        index.rank(["bank"], k=6)
    with pytest.raises(TypeError, match=r"pass \[query\]"):
        index.rank("bank", k=1)


def test_bbc_title_task_splits_titles_from_bodies_and_groups_copies():
    articles = [
        "Title A\n\nBody of a.\n\nMore of a.",
        "Title B\n\nBody of b.",
        "Title A\n\nBody of a, edited.",   # same title as 0
        "Title C\n\nBody of b.",           # same body as 1
        "Other\n\nBody of e.",        # shares no word with its title
        "Title C\n\nBody of c.",           # same title as 3, so linked to 1 as well
    ]
    bbc = SimpleNamespace(train=SimpleNamespace(texts=articles[:3]),
                          val=SimpleNamespace(texts=articles[3:5]),
                          test=SimpleNamespace(texts=articles[5:]))
    task = bbc_title_task(bbc)
    assert task.queries == ["Title A", "Title B", "Title A", "Title C", "Other", "Title C"]
    assert task.docs[0] == "Body of a.\n\nMore of a." and task.docs[4] == "Body of e."
    assert task.relevant == [{0, 2}, {1, 3, 5}, {0, 2}, {1, 3, 5}, {4}, {1, 3, 5}]
    result = evaluate(BM25Index(task.docs), task, ks=(1, 2))
    assert set(result) == {"recall@1", "recall@2", "mrr@2"}
    # "Other" matches no body: its row is ordered by id, and misses {4}
    assert result["recall@2"] < 1 and result["mrr@2"] <= result["recall@2"]


@pytest.mark.slow
@needs_bbc
def test_bbc_title_retrieval(monkeypatch):
    from book import data

    monkeypatch.setenv("LLM_BOOK_DATA", str(MIRROR))
    task = bbc_title_task(data.load("bbc_news", progress=False))
    assert len(task.docs) == 2225
    s = RETRIEVAL_SETTINGS
    tfidf = evaluate(TfidfIndex(task.docs, **s["tfidf"]), task, s["ks"])
    bm25 = evaluate(BM25Index(task.docs, **s["bm25"]), task, s["ks"])
    dense = evaluate(EmbeddingIndex(task.docs, **s["embedding"]), task, s["ks"])
    assert bm25["recall@10"] > 0.9 and bm25["mrr@10"] > tfidf["mrr@10"] > dense["mrr@10"] > 0.5
