"""From text to tensors (chapter 4): our own word tokenizer, a vocabulary, padded batches.

    >>> from book.text import tokenize, Vocab, encode_batch
    >>> tokenize("Axa's profits fell 2.5% to £50,000!")
    ['axa', "'s", 'profits', 'fell', '2.5', '%', 'to', '£', '50,000', '!']
    >>> vocab = Vocab.build(["the cat sat", "the dog sat"], min_freq=2)
    >>> vocab.itos
    ['<pad>', '<unk>', 'sat', 'the']
    >>> ids, pad_mask = encode_batch(["the cat sat", "sat"], vocab, max_len=8)
    >>> ids.tolist(), pad_mask.tolist()
    ([[3, 1, 2], [2, 0, 0]], [[False, False, False], [False, True, True]])

A batch is a LongTensor of token ids (B, T), right-padded with `<pad>` = 0, and a boolean mask
(B, T) that is True at padding (the convention of `nn.MultiheadAttention` and `book.torch_nn`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "PAD",
    "TOKEN_PATTERN",
    "UNK",
    "EncodedData",
    "EncodedSplit",
    "Vocab",
    "batches",
    "encode_batch",
    "encode_data",
    "encode_split",
    "tokenize",
    "tokenize_chars",
]

PAD, UNK = "<pad>", "<unk>"

# One token is the first alternative that matches, tried left to right at each position:
TOKEN_PATTERN = re.compile(
    r"""
      '(?:s|t|re|ve|m|ll|d)\b   # a clitic, split as GPT-2 does: year's -> year 's, don't -> don 't
    | [^\W\d_]+                 # a run of letters, in any script: bbc, müller
    | \d+(?:[.,]\d+)*           # a number with its decimal point or thousands commas: 2.5  50,000
    | \S                        # any other single visible character: . , " ( £ % -
    """,
    re.VERBOSE,
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word, number and punctuation tokens of `text` (see TOKEN_PATTERN).

    Choices, for topic classification: lower-casing merges "Labour" at the start of a sentence
    with "labour" elsewhere (we lose little: the topic rarely hangs on case); splitting off 's
    makes "Britain's" count as "Britain"; a number stays one token ("50,000", not "50" "," "000");
    punctuation is kept, one character per token, because a quote mark or a "£" is also evidence.
    Whitespace separates tokens and is dropped.
    """
    return TOKEN_PATTERN.findall(text.lower())


def tokenize_chars(text: str) -> list[str]:
    """Every character of `text` is one token, spaces included, so "".join gives `text` back.

    For Chinese, which is written without spaces between words: a model that reads and writes
    characters needs no word segmenter, and about 3,000 characters cover everyday text.
    """
    return list(text)


class Vocab:
    """Token <-> id maps built from training texts: `<pad>` = 0, `<unk>` = 1, then by frequency."""

    def __init__(self, tokens: Sequence[str],
                 tokenizer: Callable[[str], list[str]] = tokenize) -> None:
        """A vocabulary whose ids are the positions in `tokens` (which must start with specials);
        `encode` splits a text with `tokenizer` (our word tokenizer unless told otherwise)."""
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"the first two tokens must be {PAD!r} and {UNK!r}")
        self.itos = list(tokens)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("tokens must be unique")
        self.pad_id, self.unk_id = 0, 1
        self.tokenizer = tokenizer
        self.counts: Counter[str] = Counter()  # training counts, filled in by build()

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None, *,
              tokenizer: Callable[[str], list[str]] = tokenize,
              specials: Sequence[str] = ()) -> Vocab:
        """Keep tokens seen at least `min_freq` times, the most frequent first, at most `max_size`
        entries in all (specials included). Ties are broken alphabetically, so the ids never
        depend on the order of the texts. Build it from the TRAINING texts only: a word first
        seen in the test set must be as unknown to the model as it would be in real use.

        `tokenizer` splits the texts (`tokenize_chars` for characters); `specials` (such as
        "<bos>", "<eos>") get the ids right after `<pad>` and `<unk>`, in their order.
        """
        if len(set(specials)) != len(specials) or {PAD, UNK} & set(specials):
            raise ValueError(f"specials must be distinct and leave out {PAD!r} and {UNK!r}; "
                             f"got {list(specials)}")
        counts = Counter(tok for text in texts for tok in tokenizer(text))
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(max_size - 2 - len(specials), 0)]
        vocab = cls([PAD, UNK, *specials, *kept], tokenizer)
        vocab.counts = counts
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; a token outside the vocabulary becomes `<unk>` (1)."""
        return [self.stoi.get(tok, self.unk_id) for tok in self.tokenizer(text)]

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> list[str]:
        """Tokens of `ids` (padding left out unless skip_pad=False)."""
        return [self.itos[i] for i in map(int, ids) if not (skip_pad and i == self.pad_id)]

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, first={self.itos[2:7]})"


def encode_batch(texts: Sequence[str], vocab: Vocab, max_len: int) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
    """Ids (B, T) right-padded with 0 and pad_mask (B, T), True = padding; T = the longest
    text after truncation to its first `max_len` tokens.

    An empty text becomes one `<unk>`, so that every row has at least one real position (a row
    of padding only has nothing to average and nothing to attend to).
    """
    rows = [vocab.encode(t)[:max_len] or [vocab.unk_id] for t in texts]
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), vocab.pad_id, dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, ids == vocab.pad_id  # pad_mask (B, T); no real token has id 0


@dataclass
class EncodedSplit:
    """One split as tensors: ids (N, T), pad_mask (N, T), labels (N,)."""

    ids: torch.Tensor
    pad_mask: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                torch.Tensor]:
        """(ids, pad_mask, labels) of the rows in `index`, cut to the longest of those rows."""
        index = torch.as_tensor(index)
        mask = self.pad_mask[index]                       # (b, T)
        T = int((~mask).sum(1).max())                     # longest real length in this batch
        return self.ids[index, :T], mask[:, :T], self.labels[index]


@dataclass
class EncodedData:
    """Train, validation and test splits encoded with one vocabulary and one max_len."""

    train: EncodedSplit
    val: EncodedSplit
    test: EncodedSplit
    vocab: Vocab
    max_len: int
    class_names: list[str]


def encode_split(split, vocab: Vocab, max_len: int) -> EncodedSplit:
    """Encode a `book.data.TextSplit` (texts, labels) once, so that training only indexes."""
    ids, pad_mask = encode_batch(split.texts, vocab, max_len)
    return EncodedSplit(ids, pad_mask, torch.tensor(split.labels, dtype=torch.long))


def encode_data(data, vocab: Vocab, max_len: int) -> EncodedData:
    """Encode the three splits of a `book.data.TextClassificationData`."""
    splits = (data.train, data.val, data.test)
    return EncodedData(*(encode_split(s, vocab, max_len) for s in splits),
                       vocab=vocab, max_len=max_len, class_names=list(data.class_names))


def batches(n: int, batch_size: int, shuffle: bool = True, seed: int = 0,
            epoch: int = 0, *, lengths: Sequence[int] | np.ndarray | None = None,
            pool: int = 20) -> Iterator[np.ndarray]:
    """Index arrays that cover range(n) once, in a random order fixed by (seed, epoch).

    With `lengths` (one per item; shuffle only), each batch holds items of similar lengths: a
    recurrent network takes one step per position of its batch's longest item, so padding
    costs as much as real tokens. The shuffled order is cut into pools of `pool` batches,
    sorted by length within each pool and cut into batches, and the batches are shuffled: a
    batch is still a random draw, with far less padding.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n) if shuffle else np.arange(n)
    if lengths is None:
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
        return
    lengths = np.asarray(lengths)
    if len(lengths) != n or not shuffle:
        raise ValueError(f"lengths needs shuffle=True and one length per item ({n}); got "
                         f"{len(lengths)} lengths, shuffle={shuffle}")
    out = []
    for start in range(0, n, pool * batch_size):
        chunk = order[start:start + pool * batch_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    yield from (out[i] for i in rng.permutation(len(out)))
