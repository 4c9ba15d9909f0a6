"""Sequence labelling (chapter 6): a BiLSTM tagger for named entities, and a linear-chain CRF on
top of it, with NumPy reference versions of the CRF's two recursions and brute-force checks.

    from book import tagging
    model = tagging.build_tagger(train, tagging.TAGGER_SETTINGS["cpu"])   # train: [(tokens, tags)]
    losses = tagging.train_tagger(model, train, **tagging.TAGGER_SETTINGS["cpu"]["train"])
    tagging.predict_tags(model, [["Flying", "to", "Paris"]])  # [['O', 'O', 'B-location']]

Data are lists of (tokens, tags) pairs, one per sentence; tags are strings in the BIO scheme
("B-person" begins an entity, "I-person" continues it, "O" is outside every entity). A batch is
word ids (B, T), character ids (B, T, W) and a boolean pad_mask (B, T) that is True at padding
(right padding only, as everywhere in `book`).

The CRF (Lafferty et al., 2001) scores a whole tag path: an emission score per token and tag
(the BiLSTM's output) plus a transition score per pair of neighbouring tags, plus a start and
an end score. Training maximises the log-probability of the gold path, which needs the
log-sum over ALL paths (the forward algorithm); decoding finds the best path (Viterbi). Both
are dynamic programmes over the T positions: O(T C^2) instead of the C^T paths that
`brute_force_log_partition` and `brute_force_best_path` enumerate to check them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from book.classify import reverse_padded
from book.optim import train_steps
from book.text import PAD, UNK, Vocab, batches

__all__ = [
    "CRF",
    "TAGGER_SETTINGS",
    "BiLSTMTagger",
    "EncodedTags",
    "TagEncoder",
    "bio_constraints",
    "brute_force_best_path",
    "brute_force_log_partition",
    "build_tagger",
    "forward_algorithm",
    "length_batches",
    "logsumexp",
    "path_score",
    "predict_tags",
    "train_tagger",
    "viterbi",
]

Sentence = tuple[Sequence[str], Sequence[str]]  # (tokens, tags) of one sentence

# Every number the chapter and benchmarks/tagging.py use; benchmarks/README.md says how they
# were chosen. "cpu" trains in about 25 s of one core's time; "gpu" is wider, trains 2.5 times
# longer and has dropout 0.5, which pays only in a longer run (not yet measured on a GPU).
TAGGER_SETTINGS: dict = {
    "cpu": dict(
        encoder=dict(lowercase=True, min_freq=2, max_word_len=20),
        model=dict(embed_dim=64, hidden_size=64, char_dim=16, char_channels=32, dropout=0.25,
                   crf=True, constrained=True),
        train=dict(steps=1200, lr=1e-2, batch_size=32, seed=0),
    ),
    "gpu": dict(
        encoder=dict(lowercase=True, min_freq=2, max_word_len=20),
        model=dict(embed_dim=128, hidden_size=128, char_dim=32, char_channels=64, dropout=0.5,
                   crf=True, constrained=True),
        train=dict(steps=3000, lr=3e-3, batch_size=32, seed=0),
    ),
}

# A disallowed transition's score: exp(-1e4) is 0 in float64, yet the sum stays finite (an
# -inf would turn 0 * inf into NaN in the gradients)
FORBIDDEN = -1e4


# --------------------------------------------------------------------------------------------
# (a) The CRF for one sequence, in NumPy: what the chapter shows and the exercises ask for
# --------------------------------------------------------------------------------------------


def logsumexp(x: np.ndarray, axis: int | None = None) -> np.ndarray:
    """log(sum(exp(x))) along `axis`, without overflow: shift by the maximum first."""
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def path_score(emissions: np.ndarray, tags: Sequence[int], transitions: np.ndarray,
               start: np.ndarray, end: np.ndarray) -> float:
    """Score of one tag path: start + every emission + every transition + end.

    emissions (T, C); transitions (C, C), [i, j] = the score of tag j right after tag i;
    start (C,), end (C,): the scores of the first and the last tag.
    """
    s = start[tags[0]] + end[tags[-1]]
    s += sum(emissions[t, tag] for t, tag in enumerate(tags))
    s += sum(transitions[a, b] for a, b in itertools.pairwise(tags))
    return float(s)


def forward_algorithm(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                      end: np.ndarray) -> float:
    """log Z: the log of the sum of exp(path_score) over all C^T tag paths, in O(T C^2)."""
    # alpha[j] = log-sum of exp(score) over every path of positions 0..t that ends in tag j
    alpha = start + emissions[0]                                   # (C,)
    for t in range(1, len(emissions)):
        # a path ending in j at t is a path ending in some i at t-1, plus i -> j, plus j's
        # emission: log-sum over i of alpha[i] + transitions[i, j]
        alpha = logsumexp(alpha[:, None] + transitions, axis=0) + emissions[t]  # (C, C) -> (C,)
    return float(logsumexp(alpha + end))


def viterbi(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> tuple[list[int], float]:
    """The highest-scoring tag path and its score, in O(T C^2): the forward algorithm with max
    in place of log-sum, and back-pointers to read the path back."""
    # delta[j] = the best score of a path of positions 0..t that ends in tag j
    delta = start + emissions[0]                                   # (C,)
    back = []                                                      # back[t-1][j]: best i before j
    for t in range(1, len(emissions)):
        cand = delta[:, None] + transitions                        # (C, C): [i, j] via i to j
        back.append(cand.argmax(axis=0))
        delta = cand.max(axis=0) + emissions[t]
    delta = delta + end
    path = [int(delta.argmax())]
    for pointers in reversed(back):                                # walk from the end back
        path.append(int(pointers[path[-1]]))
    return path[::-1], float(delta.max())


def brute_force_log_partition(emissions: np.ndarray, transitions: np.ndarray,
                              start: np.ndarray, end: np.ndarray) -> float:
    """log Z by listing all C^T paths: the definition, for checks on short sequences."""
    C = emissions.shape[1]
    scores = [path_score(emissions, p, transitions, start, end)
              for p in itertools.product(range(C), repeat=len(emissions))]
    return float(logsumexp(np.array(scores)))


def brute_force_best_path(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                          end: np.ndarray) -> tuple[list[int], float]:
    """The best path and its score by listing all C^T paths (the first one on ties)."""
    C = emissions.shape[1]
    best = max(itertools.product(range(C), repeat=len(emissions)),
               key=lambda p: path_score(emissions, p, transitions, start, end))
    return list(best), path_score(emissions, best, transitions, start, end)


def bio_constraints(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which transitions the BIO scheme allows: (allowed (C, C), allowed_start (C,)), booleans.

    I-X may only follow B-X or I-X (it continues an entity of type X), so it can neither start
    a sentence nor follow O or a tag of another type. Everything else is allowed.
    """
    def inside_type(tag: str) -> str | None:
        """X for I-X, else None."""
        return tag[2:] if tag.startswith("I-") else None

    def entity_type(tag: str) -> str | None:
        """X for B-X or I-X, else None."""
        return tag[2:] if tag[:2] in ("B-", "I-") else None

    C = len(tags)
    allowed = np.ones((C, C), dtype=bool)
    for i, j in itertools.product(range(C), repeat=2):
        needed = inside_type(tags[j])
        if needed is not None and entity_type(tags[i]) != needed:
            allowed[i, j] = False
    allowed_start = np.array([inside_type(t) is None for t in tags])
    return allowed, allowed_start


# --------------------------------------------------------------------------------------------
# (b) The CRF in PyTorch: batched, with padding
# --------------------------------------------------------------------------------------------


def _check(emissions: torch.Tensor, pad_mask: torch.Tensor | None, num_tags: int
           ) -> torch.Tensor:
    """pad_mask (B, T), all False when None, after checking it and the emissions' shape."""
    if emissions.dim() != 3 or emissions.shape[-1] != num_tags:
        raise ValueError(f"emissions must have shape (B, T, C) with C = {num_tags}; "
                         f"got {tuple(emissions.shape)}")
    B, T, _ = emissions.shape
    if T == 0:
        raise ValueError("emissions must have at least one position (T >= 1)")
    if pad_mask is None:
        return torch.zeros(B, T, dtype=torch.bool, device=emissions.device)
    if pad_mask.shape != (B, T) or pad_mask.dtype != torch.bool:
        raise ValueError(f"pad_mask must be a boolean tensor of shape (B, T) = {(B, T)}; "
                         f"got {pad_mask.dtype} {tuple(pad_mask.shape)}")
    if pad_mask[:, 0].any():
        raise ValueError("pad_mask[:, 0] must be False: every sequence needs a first real "
                         "position (pad_mask is True at padding)")
    if (pad_mask[:, :-1] & ~pad_mask[:, 1:]).any():
        raise ValueError("pad_mask must be right padding: once True, True to the end of the row")
    return pad_mask


class CRF(nn.Module):
    """A linear-chain CRF over `num_tags` tags: transitions (C, C), start (C,) and end (C,).

    The log-probability of a tag path y given emissions x (B, T, C) is score(x, y) - log Z(x).
    `allowed` (C, C) and `allowed_start` (C,), booleans, forbid transitions AT DECODING ONLY:
    `viterbi` never returns a forbidden path, while the likelihood is that of the plain CRF (a
    gold path that breaks a rule, as a few annotations do, then costs a little, not 1e4).
    """

    def __init__(self, num_tags: int, allowed: np.ndarray | torch.Tensor | None = None,
                 allowed_start: np.ndarray | torch.Tensor | None = None) -> None:
        super().__init__()
        self.num_tags = num_tags
        # small random starting scores, so that the tags are not tied at the first step
        self.transitions = nn.Parameter(0.01 * torch.randn(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        allowed = torch.ones(num_tags, num_tags) if allowed is None else torch.as_tensor(allowed)
        allowed_start = (torch.ones(num_tags) if allowed_start is None
                         else torch.as_tensor(allowed_start))
        if allowed.shape != (num_tags, num_tags) or allowed_start.shape != (num_tags,):
            raise ValueError(f"allowed must be ({num_tags}, {num_tags}) and allowed_start "
                             f"({num_tags},); got {tuple(allowed.shape)}, "
                             f"{tuple(allowed_start.shape)}")
        self.register_buffer("allowed", allowed.bool())
        self.register_buffer("allowed_start", allowed_start.bool())

    def decoding_scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(transitions, start, end) with the forbidden ones set to FORBIDDEN: what Viterbi uses."""
        return (self.transitions.masked_fill(~self.allowed, FORBIDDEN),
                self.start.masked_fill(~self.allowed_start, FORBIDDEN), self.end)

    def log_partition(self, emissions: torch.Tensor, pad_mask: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """log Z (B,) by the forward algorithm, in log space; emissions (B, T, C)."""
        pad_mask = _check(emissions, pad_mask, self.num_tags)
        # alpha[b, j]: log-sum over the paths of positions 0..t of sequence b that end in tag j
        alpha = self.start + emissions[:, 0]                                 # (B, C)
        for t in range(1, emissions.shape[1]):
            # (B, C, 1) + (C, C) -> (B, C_prev, C_next); log-sum over the previous tag
            step = torch.logsumexp(alpha[:, :, None] + self.transitions, dim=1) + emissions[:, t]
            # past a sequence's end its alpha stays as it was, so padding changes nothing
            alpha = torch.where(pad_mask[:, t, None], alpha, step)            # (B, C)
        return torch.logsumexp(alpha + self.end, dim=1)                      # (B,)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor,
              pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The score (B,) of the tag paths `tags` (B, T), padding positions left out."""
        pad_mask = _check(emissions, pad_mask, self.num_tags)
        if tags.shape != pad_mask.shape:
            raise ValueError(f"tags must have shape (B, T) = {tuple(pad_mask.shape)}; "
                             f"got {tuple(tags.shape)}")
        real = (~pad_mask).to(emissions.dtype)                               # (B, T): 1 = token
        emit = emissions.gather(2, tags[:, :, None])[:, :, 0]                # (B, T)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]                  # (B, T-1)
        last = tags.gather(1, (real.sum(1).long() - 1)[:, None])[:, 0]       # (B,): last real
        return (self.start[tags[:, 0]] + (emit * real).sum(1)
                + (trans * real[:, 1:]).sum(1) + self.end[last])

    def neg_log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor,
                           pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(tags | emissions) = log Z - score, per sequence (B,); never negative."""
        return self.log_partition(emissions, pad_mask) - self.score(emissions, tags, pad_mask)

    @torch.no_grad()
    def viterbi(self, emissions: torch.Tensor, pad_mask: torch.Tensor | None = None
                ) -> list[list[int]]:
        """The best tag path of each sequence (its real positions only), allowed ones only."""
        pad_mask = _check(emissions, pad_mask, self.num_tags)
        transitions, start, end = self.decoding_scores()
        # delta[b, j]: the best score of a path of positions 0..t of sequence b ending in j
        delta = start + emissions[:, 0]                                      # (B, C)
        back = []                                                            # (B, C) per step
        for t in range(1, emissions.shape[1]):
            best, arg = (delta[:, :, None] + transitions).max(dim=1)         # (B, C_next)
            back.append(arg)                                                 # best previous tag
            delta = torch.where(pad_mask[:, t, None], delta, best + emissions[:, t])
        last = (delta + end).argmax(dim=1).tolist()                          # (B,)
        lengths = (~pad_mask).sum(1).tolist()
        back = torch.stack(back).cpu() if back else None                     # (T-1, B, C)
        paths = []
        for b, (tag, n) in enumerate(zip(last, lengths, strict=True)):
            path = [tag]
            for t in range(n - 2, -1, -1):                                   # from its own end
                path.append(int(back[t, b, path[-1]]))
            paths.append(path[::-1])
        return paths


# --------------------------------------------------------------------------------------------
# (c) From (tokens, tags) to tensors
# --------------------------------------------------------------------------------------------


@dataclass
class EncodedTags:
    """Sentences as tensors: words (N, T), chars (N, T, W), pad_mask (N, T), tags (N, T)."""

    words: torch.Tensor
    chars: torch.Tensor
    pad_mask: torch.Tensor
    tags: torch.Tensor

    def __len__(self) -> int:
        return len(self.words)

    def batch(self, index: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(words, chars, pad_mask, tags) of the rows in `index`, cut to the longest row and
        the longest word among them."""
        index = torch.as_tensor(index)
        pad_mask = self.pad_mask[index]                                      # (b, T)
        T = int((~pad_mask).sum(1).max())
        chars = self.chars[index, :T]                                        # (b, T, W)
        W = max(1, int((chars > 0).sum(-1).max()))
        return self.words[index, :T], chars[:, :, :W], pad_mask[:, :T], self.tags[index, :T]


class TagEncoder:
    """Word, character and tag vocabularies built from training sentences.

    Words are looked up lower-cased when `lowercase` (the characters keep their case, so the
    character features still see capitals); a word seen fewer than `min_freq` times in training
    becomes `<unk>`, which gives `<unk>` an embedding trained on rare words, the ones most like
    the unseen words of the test set. Words are cut to their first `max_word_len` characters.
    """

    def __init__(self, words: Vocab, chars: Vocab, tags: Sequence[str], lowercase: bool,
                 max_word_len: int) -> None:
        self.words, self.chars, self.tags = words, chars, list(tags)
        self.lowercase, self.max_word_len = lowercase, max_word_len
        self.tag_ids = {t: i for i, t in enumerate(self.tags)}

    @classmethod
    def build(cls, sentences: Sequence[Sentence], lowercase: bool = True, min_freq: int = 1,
              max_word_len: int = 20) -> TagEncoder:
        """Vocabularies of the training `sentences`; tags sorted with "O" first."""
        counts = Counter(w.lower() if lowercase else w for toks, _ in sentences for w in toks)
        # most frequent first, ties alphabetical: the ids never depend on the data's order
        kept = sorted((w for w, c in counts.items() if c >= min_freq),
                      key=lambda w: (-counts[w], w))
        char_counts = Counter(c for toks, _ in sentences for w in toks for c in w)
        chars = sorted(char_counts, key=lambda c: (-char_counts[c], c))
        tags = sorted({t for _, tt in sentences for t in tt}, key=lambda t: (t != "O", t))
        return cls(Vocab([PAD, UNK, *kept]), Vocab([PAD, UNK, *chars]), tags, lowercase,
                   max_word_len)

    def encode(self, sentences: Sequence[Sentence] | Sequence[Sequence[str]],
               with_tags: bool = True) -> EncodedTags:
        """Encode (tokens, tags) pairs, or token lists with `with_tags=False` (tags then 0)."""
        token_lists = [s[0] for s in sentences] if with_tags else [list(s) for s in sentences]
        if any(len(toks) == 0 for toks in token_lists):
            raise ValueError("every sentence needs at least one token")
        N, T = len(token_lists), max(len(toks) for toks in token_lists)
        W = max(1, min(self.max_word_len, max(len(w) for toks in token_lists for w in toks)))
        words = torch.zeros(N, T, dtype=torch.long)                         # 0 = <pad>
        chars = torch.zeros(N, T, W, dtype=torch.long)
        tags = torch.zeros(N, T, dtype=torch.long)
        for n, toks in enumerate(token_lists):
            key = [w.lower() for w in toks] if self.lowercase else toks
            words[n, :len(toks)] = torch.tensor([self.words.stoi.get(w, 1) for w in key])
            for t, w in enumerate(toks):
                ids = [self.chars.stoi.get(c, 1) for c in w[:self.max_word_len]]
                chars[n, t, :len(ids)] = torch.tensor(ids)
            if with_tags:
                tags[n, :len(toks)] = torch.tensor(self._tag_ids(sentences[n][1], len(toks)))
        return EncodedTags(words, chars, words == 0, tags)

    def _tag_ids(self, tags: Sequence[str], n: int) -> list[int]:
        """Ids of one sentence's tags, after checking them."""
        if len(tags) != n:
            raise ValueError(f"a sentence has {n} tokens but {len(tags)} tags")
        unknown = set(tags) - set(self.tag_ids)
        if unknown:
            raise ValueError(f"tags not seen in training: {sorted(unknown)}")
        return [self.tag_ids[t] for t in tags]


# --------------------------------------------------------------------------------------------
# (d) The tagger: word + character features -> BiLSTM -> emissions (-> CRF)
# --------------------------------------------------------------------------------------------


class BiLSTMTagger(nn.Module):
    """Word embedding (+ a character CNN) -> bidirectional LSTM -> dropout -> linear emissions
    (B, T, C); trained per token with softmax cross-entropy, or as a BiLSTM-CRF (`crf=True`).

    The character CNN (as in Ma and Hovy, 2016) embeds each character, runs a width-3
    convolution over the word and keeps each channel's maximum over the word's real characters:
    a word never seen in training still gets features from its spelling and its capitals.
    `char_channels=0` leaves it out. The BiLSTM is two LSTMs, as in `book.classify`'s
    LSTMClassifier: the backward one reads each sentence from its last real token
    (`reverse_padded`), so padding never reaches a real position. (`book.torch_nn.LSTMTagger`,
    chapter 3's, stays as it is: one direction, no padding, sequence-first so that the NumPy
    LSTM can load it; a bidirectional option there would need `reverse_padded` one layer down.)
    `constrained=True` decodes BIO-valid paths only (with the CRF's transitions, or with none
    for the softmax tagger); `word_dropout` hides that share of the words behind `<unk>`.
    """

    def __init__(self, encoder: TagEncoder, embed_dim: int = 64, hidden_size: int = 64, *,
                 char_dim: int = 16, char_channels: int = 32, dropout: float = 0.5,
                 word_dropout: float = 0.0, crf: bool = False, constrained: bool = False
                 ) -> None:
        super().__init__()
        self.word_dropout = word_dropout
        self.encoder = encoder  # a plain attribute: its vocabularies give the ids' meaning
        num_tags = len(encoder.tags)
        self.embed = nn.Embedding(len(encoder.words), embed_dim, padding_idx=0)
        self.char_embed = (nn.Embedding(len(encoder.chars), char_dim, padding_idx=0)
                           if char_channels else None)
        # padding=1 pads with zeros, which is what the <pad> characters' embeddings are, so a
        # word's features do not depend on how long the longest word of its batch is
        self.char_conv = (nn.Conv1d(char_dim, char_channels, kernel_size=3, padding=1)
                          if char_channels else None)
        in_size = embed_dim + char_channels
        self.drop = nn.Dropout(dropout)
        self.fwd = nn.LSTM(in_size, hidden_size, batch_first=True)
        self.bwd = nn.LSTM(in_size, hidden_size, batch_first=True)
        self.head = nn.Linear(2 * hidden_size, num_tags)
        allowed, allowed_start = (bio_constraints(encoder.tags) if constrained
                                  else (None, None))
        self.crf = CRF(num_tags, allowed, allowed_start) if crf else None
        # the softmax tagger's constrained decoding: Viterbi over log-probabilities, with no
        # learnt transitions (a CRF whose scores stay 0) but the same rules
        self.decoder = None
        if constrained and not crf:
            self.decoder = CRF(num_tags, allowed, allowed_start).requires_grad_(False)
            nn.init.zeros_(self.decoder.transitions)

    def char_features(self, chars: torch.Tensor) -> torch.Tensor:
        """chars (B, T, W) -> (B, T, char_channels): max over each word's real characters."""
        B, T, W = chars.shape
        # a batch repeats its words ("the", "@", "."): run the CNN once per distinct spelling
        # (rows of character ids), which halves the cost of the features on WNUT-17
        spellings, where = torch.unique(chars.view(B * T, W), dim=0, return_inverse=True)
        x = self.char_embed(spellings).transpose(1, 2)              # (U, W, Ec) -> (U, Ec, W)
        h = self.char_conv(x)                                       # (U, channels, W)
        pad = (spellings == 0)[:, None, :]                          # (U, 1, W)
        h = h.masked_fill(pad, float("-inf")).amax(dim=2)           # (U, channels)
        # a padding word has no characters at all: give it 0, not -inf
        h = h.masked_fill(pad.all(dim=2), 0.0)
        return h[where].view(B, T, -1)                              # (B*T, ch) -> (B, T, ch)

    def forward(self, words: torch.Tensor, chars: torch.Tensor | None,
                pad_mask: torch.Tensor) -> torch.Tensor:
        """words (B, T), chars (B, T, W), pad_mask (B, T) True = padding -> emissions (B, T, C)."""
        if self.training and self.word_dropout > 0:
            # hide some words behind <unk> (id 1): the model learns to tag from the spelling
            # and the context, which is all it has for the words it will meet only in testing
            hide = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(hide & ~pad_mask, 1)
        x = self.embed(words)                                       # (B, T, E)
        if self.char_conv is not None:
            x = torch.cat([x, self.char_features(chars)], dim=-1)   # (B, T, E + channels)
        x = self.drop(x)
        h, _ = self.fwd(x)                                          # (B, T, H): left to right
        lengths = (~pad_mask).sum(1)                                # (B,)
        hb, _ = self.bwd(reverse_padded(x, lengths))                # right to left
        h = torch.cat([h, reverse_padded(hb, lengths)], dim=-1)     # (B, T, 2H)
        return self.head(self.drop(h))                              # (B, T, C)

    def loss(self, words: torch.Tensor, chars: torch.Tensor | None, pad_mask: torch.Tensor,
             tags: torch.Tensor) -> torch.Tensor:
        """Mean loss per real token: the CRF's negative log-likelihood of the gold paths, or
        the softmax cross-entropy of each token's gold tag."""
        emissions = self(words, chars, pad_mask)
        n_tokens = (~pad_mask).sum()
        if self.crf is not None:
            return self.crf.neg_log_likelihood(emissions, tags, pad_mask).sum() / n_tokens
        return F.cross_entropy(emissions[~pad_mask], tags[~pad_mask])

    @torch.no_grad()
    def decode(self, words: torch.Tensor, chars: torch.Tensor | None,
               pad_mask: torch.Tensor) -> list[list[int]]:
        """The predicted tag ids of each sentence (its real positions only)."""
        emissions = self(words, chars, pad_mask)
        if self.crf is not None:
            return self.crf.viterbi(emissions, pad_mask)
        if self.decoder is not None:
            return self.decoder.viterbi(emissions.log_softmax(-1), pad_mask)
        lengths = (~pad_mask).sum(1).tolist()
        return [row[:n] for row, n in zip(emissions.argmax(-1).tolist(), lengths, strict=True)]


# --------------------------------------------------------------------------------------------
# (e) Building, training, predicting
# --------------------------------------------------------------------------------------------


def build_tagger(train: Sequence[Sentence], settings: dict | None = None,
                 seed: int = 0) -> BiLSTMTagger:
    """A fresh BiLSTMTagger whose vocabularies come from `train`, with TAGGER_SETTINGS["cpu"]
    (or `settings`, a dict with the same "encoder" and "model" entries)."""
    s = TAGGER_SETTINGS["cpu"] if settings is None else settings
    encoder = TagEncoder.build(train, **s["encoder"])
    torch.manual_seed(seed)
    return BiLSTMTagger(encoder, **s["model"])


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int, seed: int = 0,
                   epoch: int = 0, pool: int = 20) -> list[np.ndarray]:
    """Index arrays that cover range(len(lengths)) once, of sentences of similar lengths
    (`book.text.batches` with `lengths`): about a third less padding than fully random batches
    on WNUT-17."""
    return list(batches(len(lengths), batch_size, seed=seed, epoch=epoch, lengths=lengths,
                        pool=pool))


def train_tagger(model: BiLSTMTagger, data: Sequence[Sentence], steps: int, lr: float,
                 batch_size: int, seed: int = 0, device: str | torch.device = "cpu",
                 weight_decay: float = 0.0, warmup: int = 50, clip: float = 5.0,
                 progress: bool = True) -> list[float]:
    """Train for `steps` AdamW steps on batches of `data` (a list of (tokens, tags)), with a
    warm-up and a cosine decay of the learning rate; returns the loss of every step.

    Counted in steps and seeded: the same call gives the same model on the same machine.
    """
    enc = model.encoder.encode(data)
    lengths = (~enc.pad_mask).sum(1).numpy()

    def loss_of(index: np.ndarray) -> torch.Tensor:
        """The CRF's (or softmax's) loss of one batch."""
        words, chars, pad_mask, tags = (t.to(device) for t in enc.batch(index))
        return model.loss(words, chars, pad_mask, tags)

    return train_steps(model, loss_of,
                       lambda epoch: length_batches(lengths, batch_size, seed, epoch),
                       steps, lr, min_lr=lr / 20, warmup=warmup, weight_decay=weight_decay,
                       clip=clip, seed=seed, device=device, progress=progress)


def predict_tags(model: BiLSTMTagger, token_lists: Sequence[Sequence[str]],
                 device: str | torch.device = "cpu", batch_size: int = 256) -> list[list[str]]:
    """The predicted tag strings of each token list, in order."""
    model.eval()
    enc = model.encoder.encode(token_lists, with_tags=False)
    # sorted by length, so that a batch holds little padding; put back in order at the end
    order = np.argsort((~enc.pad_mask).sum(1).numpy(), kind="stable")
    out: list[list[str]] = [[] for _ in order]
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        words, chars, pad_mask, _ = (t.to(device) for t in enc.batch(index))
        for i, path in zip(index, model.decode(words, chars, pad_mask), strict=True):
            out[i] = [model.encoder.tags[t] for t in path]
    return out
