"""Question answering as retrieval (chapter 6): rank a collection of documents for a query by
TF-IDF cosine, by BM25, or by the cosine of averaged word vectors, and measure the rankings.

    from book import data, retrieval
    task = retrieval.bbc_title_task(data.load("bbc_news"))  # titles -> the articles' bodies
    index = retrieval.BM25Index(task.docs)
    index.scores("Axa Sun Life cuts bonus payments")        # (N,) one score per document
    ranked = index.rank(task.queries, k=10)                   # (Q, 10) document ids, best first
    retrieval.evaluate(index, task)                           # recall@1, @5, @10 and MRR

Every index tokenises with `book.text.tokenize`. TF-IDF is chapter 4's (`book.classify`), the
word vectors chapter 2's count-based ones (`book.word2vec.count_vectors`); BM25 is written here.
The settings the chapter and a benchmark share are in RETRIEVAL_SETTINGS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from book.classify import count_matrix, idf_weights, tfidf
from book.metrics import mean_reciprocal_rank, recall_at_k
from book.text import Vocab
from book.word2vec import count_vectors

__all__ = [
    "RETRIEVAL_SETTINGS",
    "BM25Index",
    "EmbeddingIndex",
    "Index",
    "RetrievalTask",
    "TfidfIndex",
    "bbc_title_task",
    "evaluate",
]

# The chapter's and the benchmark's settings, in one place. min_freq=2 drops the words seen
# once in the whole collection: the matrices shrink by a third, the rankings barely change.
RETRIEVAL_SETTINGS: dict = {
    "tfidf": dict(min_freq=2, sublinear_tf=True),
    "bm25": dict(k1=1.2, b=0.75, min_freq=2),
    "embedding": dict(dim=300, min_freq=2, n_context=1000, window=10),
    "ks": (1, 5, 10),
}

# Queries are scored this many at a time: the (chunk, V) query matrix stays a few tens of MB.
_CHUNK = 256


class Index:
    """A collection of documents that scores every document for a query.

    Subclasses set `score_matrix(queries) -> (Q, N)`; `scores` and `rank` come from it.
    """

    def __init__(self, docs: Sequence[str]) -> None:
        """Keep the documents; refuse an empty collection."""
        if isinstance(docs, str):
            raise TypeError("docs must be a list of documents, not one string")
        if len(docs) == 0:
            raise ValueError("the collection is empty: an index needs at least one document")
        self.docs = list(docs)

    def __len__(self) -> int:
        return len(self.docs)

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """Scores (Q, N): entry [q, d] = how well document d matches query q (higher = better)."""
        raise NotImplementedError

    def scores(self, query: str) -> np.ndarray:
        """Scores (N,) of every document for one query."""
        return self.score_matrix([query])[0]

    def rank(self, queries: Sequence[str], k: int = 10) -> np.ndarray:
        """Ids (Q, k) of the k best documents for each query, best first; equal scores are
        ordered by id, so the ranking never depends on the machine."""
        if isinstance(queries, str):
            raise TypeError("queries must be a list of strings; for one query pass [query]")
        if not 1 <= k <= len(self):
            raise ValueError(f"k must be between 1 and the {len(self)} documents; got {k}")
        out = np.empty((len(queries), k), dtype=np.int64)
        for start in range(0, len(queries), _CHUNK):
            S = self.score_matrix(queries[start:start + _CHUNK])         # (q, N)
            out[start:start + len(S)] = np.argsort(-S, axis=1, kind="stable")[:, :k]
        return out


def _sparse_rows_dot(Q: np.ndarray, DT: np.ndarray) -> np.ndarray:
    """Q (q, V) @ DT (V, N), using only the columns of Q that are not all zero (and so only
    those rows of DT, which may be the transposed view of a (N, V) array).

    A few queries use a few hundred of the V words: the product over those is ~100 times
    cheaper than the dense one.
    """
    used = np.flatnonzero(Q.any(axis=0))
    return Q[:, used] @ DT[used]  # (q, u) @ (u, N) -> (q, N)


class TfidfIndex(Index):
    """Cosine similarity of TF-IDF vectors (chapter 4's `classify.tfidf`, idf of the collection).

    Both vectors have unit length, so the cosine is their dot product: sum over the words w of
    the query of tfidf(w, q) tfidf(w, d).
    """

    def __init__(self, docs: Sequence[str], min_freq: int = 1, sublinear_tf: bool = True
                 ) -> None:
        super().__init__(docs)
        self.sublinear_tf = sublinear_tf
        self.vocab = Vocab.build(self.docs, min_freq)
        counts = count_matrix(self.docs, self.vocab)                      # (N, V)
        self.idf = idf_weights(counts)                                    # (V,)
        self.doc_vectors = tfidf(counts, self.idf, sublinear_tf)         # (N, V)

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """Cosines (Q, N) of the queries' TF-IDF vectors with the documents'."""
        Q = tfidf(count_matrix(queries, self.vocab), self.idf, self.sublinear_tf)  # (Q, V)
        return _sparse_rows_dot(Q, self.doc_vectors.T)


class BM25Index(Index):
    """Okapi BM25 (Robertson et al. 1994; Robertson & Zaragoza 2009):

        score(q, d) = sum over the words t of q of  idf(t) f (k1 + 1) / (f + k1 L(d)),
        L(d) = 1 - b + b |d| / avgdl

    with f the count of t in d, |d| the length of d in tokens and avgdl the mean length.
    A word repeated in the query counts each time.

    - k1 (about 1.2-2) saturates the term frequency: the first occurrence of a word is worth
      most, the tenth adds little, and no count is worth more than (k1 + 1) times idf(t);
    - b (0 to 1) normalises for length, through L(d): a long document contains a word more
      often by chance, so its f is discounted (b = 0: not at all; b = 1: fully);
    - idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)), with df the number of documents that
      contain t: the Robertson-Spärck Jones weight, plus 1 inside the log (as Lucene does) so
      that a word in more than half the documents still weighs a little more than 0 rather
      than less.
    """

    def __init__(self, docs: Sequence[str], k1: float = 1.2, b: float = 0.75,
                 min_freq: int = 1) -> None:
        super().__init__(docs)
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1; got k1={k1}, b={b}")
        self.k1, self.b = k1, b
        self.vocab = Vocab.build(self.docs, min_freq)
        counts = count_matrix(self.docs, self.vocab)                      # (N, V)
        N = len(self.docs)
        df = (counts > 0).sum(axis=0)                                     # (V,)
        self.idf = np.log(1 + (N - df + 0.5) / (df + 0.5))                # (V,)
        length = counts.sum(axis=1)                                       # |d|, (N,)
        self.avgdl = float(length.mean())
        d, t = np.nonzero(counts)                                         # only where f > 0
        f = counts[d, t].astype(np.float64)
        norm = k1 * (1 - b + b * length[d] / max(self.avgdl, 1e-12))
        self.weights = np.zeros((len(self.vocab), N), dtype=np.float32)   # (V, N): rows = words
        self.weights[t, d] = self.idf[t] * f * (k1 + 1) / (f + norm)

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """BM25 scores (Q, N): the query's word counts times each word's weight in each doc."""
        return _sparse_rows_dot(count_matrix(queries, self.vocab), self.weights)


class EmbeddingIndex(Index):
    """Dense retrieval without training: a text is the idf-weighted mean of its words' vectors
    (chapter 2's count-based vectors, `word2vec.count_vectors`, learnt from the collection
    itself), minus the collection's mean text vector; a query and a document match by the
    cosine of their vectors.

    The weighting and the centring both keep what every text shares from drowning the rest:
    the mean of a few hundred word vectors is dominated by "the", "of" and "." unless those
    weigh little, and all text vectors then point in nearly the same direction unless that
    common direction is taken out.
    """

    def __init__(self, docs: Sequence[str], dim: int = 100, min_freq: int = 2,
                 n_context: int = 1000, window: int = 5) -> None:
        super().__init__(docs)
        self.vocab = Vocab.build(self.docs, min_freq)
        ids = [self.vocab.encode(d) for d in self.docs]
        # (V, E); the rows of <pad> and <unk> are 0, so unknown words add nothing
        self.word_vectors = count_vectors(ids, len(self.vocab), dim, n_context, window,
                                          first_word=2).astype(np.float32)
        counts = count_matrix(self.docs, self.vocab)                      # (N, V)
        self.idf = idf_weights(counts)                                    # (V,)
        means = self._mean_vectors(counts)                                # (N, E)
        self.center = means.mean(axis=0)                                  # (E,)
        self.doc_vectors = self._unit(means - self.center)                # (N, E)

    def _mean_vectors(self, counts: np.ndarray) -> np.ndarray:
        """Idf-weighted means (n, E) of the word vectors of texts given as counts (n, V)."""
        out = np.zeros((len(counts), self.word_vectors.shape[1]), dtype=np.float32)
        for i, row in enumerate(counts):  # a text uses a few hundred of the V words
            used = np.flatnonzero(row)
            w = row[used] * self.idf[used]                                # (u,)
            out[i] = w @ self.word_vectors[used] / max(float(w.sum()), 1e-12)
        return out

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        """Rows of x scaled to length 1 (all-zero rows stay 0)."""
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def embed_counts(self, counts: np.ndarray) -> np.ndarray:
        """Unit text vectors (n, E) of texts given as word counts (n, V): weighted means,
        centred."""
        return self._unit(self._mean_vectors(counts) - self.center)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit text vectors (n, E) of `texts`."""
        return self.embed_counts(count_matrix(texts, self.vocab))

    def score_matrix(self, queries: Sequence[str]) -> np.ndarray:
        """Cosines (Q, N) of the queries' vectors with the documents'."""
        return self.embed(queries) @ self.doc_vectors.T                  # (Q, E) @ (E, N)


# --------------------------------------------------------------------------------------------
# The chapter's task: find a BBC article from its title
# --------------------------------------------------------------------------------------------


@dataclass
class RetrievalTask:
    """Queries, a collection of documents, and for each query the ids of the documents that
    answer it."""

    queries: list[str]
    docs: list[str]
    relevant: list[set[int]]

    def __post_init__(self) -> None:
        if len(self.relevant) != len(self.queries):
            raise ValueError(f"{len(self.queries)} queries but {len(self.relevant)} answer sets")


def bbc_title_task(bbc) -> RetrievalTask:
    """Every article of BBC News (all three splits of `book.data.load("bbc_news")`, 2,225):
    the query is its title (the first line of the text), the collection is the bodies (the
    rest), and the answer to a title is its own body.

    The corpus holds copies: 98 articles appear twice, and others share their title or their
    body with another (a story re-filed with small edits). A copy answers the query as well as
    the original, so a query's answers are all the articles linked to it by an equal title or
    an equal body (directly or through others).
    """
    texts = [*bbc.train.texts, *bbc.val.texts, *bbc.test.texts]
    titles, bodies = [], []
    for t in texts:
        title, _, body = t.partition("\n")
        titles.append(title.strip())
        bodies.append(body.strip())
    group = list(range(len(texts)))  # union-find over "same title" and "same body"

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for keys in (titles, bodies):
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            group[root(i)] = root(first.setdefault(key, i))
    members: dict[int, set[int]] = {}
    for i in range(len(texts)):
        members.setdefault(root(i), set()).add(i)
    return RetrievalTask(titles, bodies, [members[root(i)] for i in range(len(texts))])


def evaluate(index: Index, task: RetrievalTask, ks: Sequence[int] = (1, 5, 10)
             ) -> dict[str, float]:
    """recall@k for each k in `ks`, and MRR over the first max(ks) results ("mrr@10": an
    answer ranked lower counts 0), of `index` on `task`."""
    ranked = index.rank(task.queries, k=max(ks))                       # (Q, max k)
    out = {f"recall@{k}": recall_at_k(ranked, task.relevant, k) for k in ks}
    out[f"mrr@{max(ks)}"] = mean_reciprocal_rank(ranked, task.relevant)
    return out
