"""Tokenizers for chapter 5: characters, and byte-pair encoding (BPE) learnt from a text.

`CharTokenizer`: one token per character. `BPETokenizer`: starts from characters and merges
the most frequent adjacent pair, again and again (`merge_pair` is one such merge).
`nanogpt_split` cuts a text into training and validation parts. Both tokenizers map
text -> list of ids (`encode`) and back (`decode`), with `decode(encode(s)) == s`.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["CHUNK_PATTERN", "BPETokenizer", "CharTokenizer", "apply_merges", "merge_pair",
           "nanogpt_split", "split_chunks"]


def nanogpt_split(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """(train_text, val_text): the first 90% of the characters and the last 10%.

    nanoGPT's shakespeare_char split. Contiguous, not shuffled: the validation text is a
    stretch of the plays the model never saw, not lines picked from between training lines
    (which would share their scenes, speakers and phrases with the training text).
    """
    n = int(len(text) * train_fraction)
    return text[:n], text[n:]


def _unknown(ch: str, where: str) -> ValueError:
    return ValueError(f"character {ch!r} (U+{ord(ch):04X}) is not in the {where} vocabulary: "
                      "build the tokenizer from a text that contains it (e.g. the whole corpus)")


class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters of a text."""

    def __init__(self, text: str) -> None:
        """Build the vocabulary from `text` (65 symbols for Tiny Shakespeare)."""
        self.itos = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens (the model's V)."""
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; an unknown character raises ValueError naming it."""
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError as err:
            raise _unknown(err.args[0], "character tokenizer's") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids` (decode(encode(s)) == s)."""
        return "".join(self.itos[int(i)] for i in ids)

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


# One chunk is the first alternative that matches; BPE never merges across two chunks, so a
# token never spans the end of one word and the start of the next (GPT-2 does the same).
CHUNK_PATTERN = re.compile(
    r"""
      \ ?[^\W\d_]+    # a word, in any script, with the space before it: " thou", "明月光"
    | \ ?\d+          # a number, with its space
    | \ ?[^\w\s]+     # a run of punctuation, with its space: " --", "，"
    | \s+(?!\S)       # white space, except the last space before a word (that goes with it)
    | \s+             # white space at the end of the text
    | .               # anything else ("_"), so that the chunks always add up to the text
    """,
    re.VERBOSE | re.DOTALL,
)


def split_chunks(text: str) -> list[str]:
    """Split `text` into the chunks BPE works within; "".join(chunks) == text."""
    return CHUNK_PATTERN.findall(text)


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids`, left to right, by `new_id`.

    Occurrences do not overlap: merging (a, a) in [a, a, a] gives [new, a].
    """
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _pairs(ids: Sequence[int]) -> list[tuple[int, int]]:
    return list(itertools.pairwise(ids))


def apply_merges(ids: Sequence[int], ranks: Mapping[tuple[int, int], int],
                 merged: Mapping[tuple[int, int], int]) -> list[int]:
    """Encode one chunk's base ids with learned merges: merge the adjacent pair of lowest rank
    (the earliest learned) everywhere, and again, until no learned pair is left.

    `ranks` maps a pair to its rank, `merged` maps it to the id of the token it makes. Shared
    by `BPETokenizer` and GPT-2's byte-level tokenizer (`book.textgen.gpt2`).
    """
    ids = list(ids)
    while len(ids) >= 2:
        pair = min(_pairs(ids), key=lambda p: ranks.get(p, math.inf))
        if pair not in ranks:
            break  # no learned merge applies any more
        ids = merge_pair(ids, pair, merged[pair])
    return ids


class BPETokenizer:
    """Byte-pair encoding over CHARACTERS, trained from scratch.

    Training starts from the sorted characters of the text (as CharTokenizer: with no merges
    the two tokenizers agree) and repeatedly merges the most frequent adjacent pair of tokens
    into a new token. Why characters and not bytes (GPT-2's choice): a Chinese character is 3
    bytes in UTF-8, so a byte-level BPE would spend its first merges rebuilding characters, and
    a model could emit half a character; and Tiny Shakespeare uses 65 of the 256 byte values,
    so 191 ids would never occur. The price: a character never seen in training cannot be
    encoded (ValueError), where a byte-level BPE can encode any text at all.

    Text is first cut into chunks (split_chunks) and merges stay inside a chunk. That is also
    what makes training fast: each distinct chunk is stored once with its count, and after a
    merge only the chunks that contain the merged pair are updated.
    """

    def __init__(self, alphabet: Sequence[str], merges: Sequence[tuple[int, int]] = ()) -> None:
        """A tokenizer from its base characters and its merges, in the order they were learned."""
        self.vocab: list[str] = list(alphabet)  # id -> the text of that token
        self.merges: list[tuple[int, int]] = []
        for a, b in merges:
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.base = {ch: i for i, ch in enumerate(alphabet)}
        self.ranks = {pair: r for r, pair in enumerate(self.merges)}  # earlier merge = lower rank
        self.merged = {pair: len(self.base) + r for pair, r in self.ranks.items()}  # pair -> id
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens: characters plus merges."""
        return len(self.vocab)

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn merges on `text` until there are `vocab_size` tokens (or no pair is left).

        Ties between equally frequent pairs go to the smaller pair of ids, so the result
        depends on the text alone. Pairs are counted as they overlap (a run "aaa" counts
        (a, a) twice, though only one merge fits in it), the usual simplification.
        """
        alphabet = sorted(set(text))
        if vocab_size < len(alphabet):
            raise ValueError(f"vocab_size ({vocab_size}) must be at least the number of distinct "
                             f"characters in the text ({len(alphabet)})")
        stoi = {ch: i for i, ch in enumerate(alphabet)}
        chunk_counts = Counter(split_chunks(text))
        words = [[stoi[ch] for ch in chunk] for chunk in chunk_counts]  # distinct chunks, as ids
        freq = list(chunk_counts.values())
        counts: Counter[tuple[int, int]] = Counter()  # pair -> occurrences in the whole text
        where: dict[tuple[int, int], set[int]] = {}   # pair -> the words that contain it
        for w, ids in enumerate(words):
            for pair in _pairs(ids):
                counts[pair] += freq[w]
                where.setdefault(pair, set()).add(w)
        # A max-heap by (count, then smallest pair); entries whose count changed since they
        # were pushed are stale and skipped when popped.
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)
        merges: list[tuple[int, int]] = []
        while len(alphabet) + len(merges) < vocab_size and heap:
            neg, pair = heapq.heappop(heap)
            if counts.get(pair, 0) != -neg:
                continue  # stale
            new_id = len(alphabet) + len(merges)
            merges.append(pair)
            changed = set()
            for w in where.pop(pair):
                old = words[w]
                new = merge_pair(old, pair, new_id)
                for p in _pairs(old):       # take the word's old pairs out of the counts ...
                    counts[p] -= freq[w]
                for p in _pairs(new):       # ... and put its new pairs in
                    counts[p] += freq[w]
                    where.setdefault(p, set()).add(w)
                changed.update(_pairs(old), _pairs(new))
                words[w] = new
            for p in changed:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    del counts[p]
                    where.pop(p, None)
        return cls(alphabet, merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        """Ids of one chunk: apply the learned merges, the earliest-learned pair first."""
        try:
            ids = [self.base[ch] for ch in chunk]
        except KeyError as err:
            raise _unknown(err.args[0], "BPE tokenizer's") from None
        return apply_merges(ids, self.ranks, self.merged)

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; an unknown character raises ValueError naming it."""
        out = []
        for chunk in split_chunks(text):
            if chunk not in self._cache:  # most chunks of a long text are words seen before
                self._cache[chunk] = self._encode_chunk(chunk)
            out += self._cache[chunk]
        return out

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids` (decode(encode(s)) == s)."""
        return "".join(self.vocab[int(i)] for i in ids)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"
