"""Machine translation, English -> Chinese (chapter 6): two baselines, an LSTM encoder-decoder
with additive attention, a Transformer encoder-decoder, greedy and beam-search decoding.

    from book import data, translate as tr
    d = data.load("cmn_eng")                                     # Tatoeba sentence pairs
    s = tr.TRANSLATE_SETTINGS["cpu"]
    train = tr.filter_pairs(d.train, **s["data"]["filter"])      # short sentences only
    model = tr.build_translator("transformer", train, s)         # vocabularies from `train`
    losses = tr.train_translator(model, train, **s["transformer"]["train"])
    tr.translate(model, ["I like cats."], beam=5)                # ['我喜欢猫。']

English is read as lower-cased words (`book.text.tokenize`), Chinese is written one character
at a time (`book.text.tokenize_chars`): no word segmenter is needed, and BLEU for Chinese is
scored by character anyway (`book.metrics.tokenize_zh`). A target sentence is
`<bos> c_1 ... c_n <eos>`; the decoder reads `<bos> c_1 ... c_n` and learns to predict
`c_1 ... c_n <eos>` (teacher forcing: it always sees the true previous characters in training).

Both models have one interface: `encode(src, src_mask) -> memory (B, S, D)`,
`decode(memory, src_mask, tgt_in) -> logits (B, T, V)` (teacher forcing, for training), and
`cross_attention(src, src_mask, tgt_in)` for the attention heat-map.
Decoding writes one token at a time with `init_state(memory, src_mask) -> state` and
`step(state, tokens) -> (logits (B, V), state)`: the LSTM carries its (h, c), the Transformer
the keys and values of the positions written so far, so a step costs one position, not the
whole prefix (`step` equals `decode` at the prefix's last position; the tests check it).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from book.classify import reverse_padded
from book.data import SentencePair
from book.metrics import BLEU, corpus_bleu, tokenize_zh
from book.np_nn import sinusoidal_positions
from book.optim import train_steps
from book.text import Vocab, batches, encode_batch, tokenize, tokenize_chars
from book.torch_nn import Block, DecoderBlock

__all__ = [
    "BOS",
    "EOS",
    "TRANSLATE_SETTINGS",
    "AdditiveAttention",
    "EncodedPairs",
    "Hypothesis",
    "LSTMConfig",
    "LookupTranslator",
    "Seq2SeqLSTM",
    "Seq2SeqTransformer",
    "TransformerConfig",
    "TranslationVocabs",
    "attention_map",
    "beam_search",
    "beam_step",
    "build_translator",
    "chinese_bleu",
    "filter_pairs",
    "greedy_decode",
    "length_penalty",
    "most_common_translation",
    "references_by_source",
    "sequence_loss",
    "train_translator",
    "translate",
]

BOS, EOS = "<bos>", "<eos>"

# Every number the chapter and benchmarks/translate.py use; benchmarks/README.md says how they
# were chosen and what they reach. "cpu": each model trains in about 40 s on one thread of the
# course's 2-core machine, about two passes over the 21,000 training pairs (so no dropout: it
# pays only in longer runs). The LSTM wants a high learning rate (validation BLEU 23.9 at 1e-2,
# 13.1 at 3e-3), the Transformer its embeddings scaled (27.7 against 21.4, see
# Seq2SeqTransformer). "gpu": larger models, trained 10 times longer with dropout, for a GPU;
# NOT measured (no GPU was lent to this work): a starting point, not a result.
TRANSLATE_SETTINGS: dict = {
    "cpu": dict(
        data=dict(filter=dict(max_words=10, max_chars=24), vocab=dict(min_freq=2)),
        lstm=dict(model=dict(embed_dim=128, hidden_size=128, attn_dim=64, dropout=0.0),
                  train=dict(steps=850, lr=1e-2, batch_size=64, seed=0)),
        transformer=dict(model=dict(embed_dim=96, num_heads=4, enc_layers=2, dec_layers=2,
                                    hidden=192, dropout=0.0),
                         train=dict(steps=800, lr=5e-3, batch_size=64, seed=0)),
        decode=dict(beam=5, alpha=1.0, max_len=32),
    ),
    "gpu": dict(
        data=dict(filter=dict(max_words=10, max_chars=24), vocab=dict(min_freq=2)),
        lstm=dict(model=dict(embed_dim=256, hidden_size=512, attn_dim=256, dropout=0.3),
                  train=dict(steps=8000, lr=3e-3, batch_size=128, seed=0)),
        transformer=dict(model=dict(embed_dim=256, num_heads=8, enc_layers=4, dec_layers=4,
                                    hidden=1024, dropout=0.2),
                         train=dict(steps=8000, lr=1e-3, batch_size=128, seed=0)),
        decode=dict(beam=5, alpha=1.0, max_len=32),
    ),
}


# --------------------------------------------------------------------------------------------
# (a) Data: short pairs, vocabularies, tensors
# --------------------------------------------------------------------------------------------


def filter_pairs(pairs: Sequence[SentencePair], max_words: int = 10,
                 max_chars: int | None = None) -> list[SentencePair]:
    """The pairs whose English has at most `max_words` tokens (`book.text.tokenize`: words
    and punctuation) and whose Chinese at most `max_chars` characters (None: any length).

    Short sentences keep training within a CPU budget: 90 % of Tatoeba's pairs have at most
    10 English tokens, and an LSTM or a Transformer pays for every position of its longest
    sentence.
    """
    return [p for p in pairs if len(tokenize(p.english)) <= max_words
            and (max_chars is None or len(p.chinese) <= max_chars)]


def references_by_source(pairs: Sequence[SentencePair]) -> tuple[list[str], list[list[str]]]:
    """(distinct English sentences, in order of first appearance; all the Chinese translations
    of each): what BLEU with several references scores. Tatoeba gives some sentences several
    translations, all correct ("你好。" and "嗨。" for "Hi.")."""
    refs: dict[str, list[str]] = {}
    for p in pairs:
        refs.setdefault(p.english, []).append(p.chinese)
    return list(refs), list(refs.values())


def chinese_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> BLEU:
    """Corpus BLEU of Chinese `hypotheses`, each with a list of one or more references, scored
    by character: `book.metrics.corpus_bleu` over `tokenize_zh` (sacrebleu's tokenize="zh")."""
    if isinstance(hypotheses, str) or any(isinstance(r, str) for r in references):
        raise TypeError("pass a list of hypotheses and, for each, a list of references")
    return corpus_bleu([tokenize_zh(h) for h in hypotheses],
                       [[tokenize_zh(r) for r in refs] for refs in references])


@dataclass
class EncodedPairs:
    """Sentence pairs as tensors: src (N, S) and src_mask (N, S), True at padding; tgt_in
    (N, T) = `<bos> c_1 .. c_n` and tgt_out (N, T) = `c_1 .. c_n <eos>`, padded with 0."""

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    def __len__(self) -> int:
        return len(self.src)

    def target_lengths(self) -> np.ndarray:
        """Real target positions per pair (N,): the characters and `<eos>`."""
        return (self.tgt_out != 0).sum(1).numpy()

    def batch(self, index: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(src, src_mask, tgt_in, tgt_out) of the rows in `index`, cut to their longest."""
        index = torch.as_tensor(index)
        src_mask = self.src_mask[index]
        S = int((~src_mask).sum(1).max())
        tgt_out = self.tgt_out[index]
        T = int((tgt_out != 0).sum(1).max())
        return self.src[index, :S], src_mask[:, :S], self.tgt_in[index, :T], tgt_out[:, :T]


class TranslationVocabs:
    """English word and Chinese character vocabularies, built from training pairs.

    src: English words (`tokenize`), `<pad>` = 0, `<unk>` = 1; tgt: Chinese characters
    (`tokenize_chars`), `<pad>` = 0, `<unk>` = 1, `<bos>` = 2, `<eos>` = 3. A token seen fewer
    than `min_freq` times in training becomes `<unk>`, so `<unk>` is trained on rare tokens,
    the ones most like those the test set holds and training never showed.
    """

    def __init__(self, src: Vocab, tgt: Vocab) -> None:
        if tgt.itos[2:4] != [BOS, EOS]:
            raise ValueError(f"the target vocabulary needs {BOS!r} = 2 and {EOS!r} = 3 "
                             f"(Vocab.build(..., specials=[BOS, EOS]))")
        self.src, self.tgt = src, tgt
        self.bos_id, self.eos_id = 2, 3

    @classmethod
    def build(cls, pairs: Sequence[SentencePair], min_freq: int = 2) -> TranslationVocabs:
        """Both vocabularies from the training `pairs`."""
        return cls(Vocab.build((p.english for p in pairs), min_freq),
                   Vocab.build((p.chinese for p in pairs), min_freq, tokenizer=tokenize_chars,
                               specials=[BOS, EOS]))

    def encode_source(self, sentences: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """English sentences -> ids (B, S) and pad_mask (B, S), True at padding."""
        if isinstance(sentences, str):
            raise TypeError("pass a list of sentences, not one string")
        return encode_batch(sentences, self.src, max_len=10**9)

    def encode_target(self, sentences: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Chinese sentences -> tgt_in (B, T) `<bos> c_1..c_n` and tgt_out (B, T) `c_1..c_n
        <eos>`, T = the longest n + 1, right-padded with 0."""
        rows = [self.tgt.encode(s) for s in sentences]
        T = max(len(r) for r in rows) + 1
        tgt_in = torch.zeros(len(rows), T, dtype=torch.long)
        tgt_out = torch.zeros(len(rows), T, dtype=torch.long)
        for i, r in enumerate(rows):
            tgt_in[i, :len(r) + 1] = torch.tensor([self.bos_id, *r])
            tgt_out[i, :len(r) + 1] = torch.tensor([*r, self.eos_id])
        return tgt_in, tgt_out

    def encode(self, pairs: Sequence[SentencePair]) -> EncodedPairs:
        """Both sides of `pairs` as tensors."""
        src, src_mask = self.encode_source([p.english for p in pairs])
        return EncodedPairs(src, src_mask, *self.encode_target([p.chinese for p in pairs]))

    def decode_target(self, ids: Sequence[int]) -> str:
        """Chinese text of target ids: up to the first `<eos>`, specials left out."""
        chars = []
        for i in map(int, ids):
            if i == self.eos_id:
                break
            if i > self.eos_id:
                chars.append(self.tgt.itos[i])
        return "".join(chars)

    def __repr__(self) -> str:
        return f"TranslationVocabs(src={len(self.src)} words, tgt={len(self.tgt)} characters)"


# --------------------------------------------------------------------------------------------
# (b) Baselines: what a model must beat
# --------------------------------------------------------------------------------------------


def most_common_translation(pairs: Sequence[SentencePair]) -> str:
    """The Chinese sentence seen most often in `pairs` (the first of them on a tie): the
    translation that ignores its input."""
    counts = Counter(p.chinese for p in pairs)
    return max(counts, key=lambda s: counts[s])  # max keeps the first of equal counts


def _chinese_units(text: str) -> set[str]:
    """The distinct characters and pairs of neighbouring characters of `text`."""
    return set(text) | {text[i:i + 2] for i in range(len(text) - 1)}


class LookupTranslator:
    """Word-by-word translation with a dictionary read off sentence co-occurrence.

    For each English word w, the Chinese unit u (one character, or two neighbouring ones, such
    as 喜欢) that occurs in the same training pairs most consistently, by the Dice coefficient

        dice(w, u) = 2 n(w, u) / (n(w) + n(u)),

    where n counts the pairs that contain w, u, or both. Dice is 1 when w and u always come
    together, and small when either is common without the other (so "the", with no
    consistent Chinese partner, finds none above `min_dice` and is dropped). A sentence is
    translated by writing each word's unit in the English order: no grammar, no word order,
    no context. Words seen fewer than `min_count` times are left out.
    """

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table

    @classmethod
    def build(cls, pairs: Sequence[SentencePair], min_dice: float = 0.2,
              min_count: int = 2) -> LookupTranslator:
        """The dictionary of `pairs`. Ties go to the more frequent unit, then the shorter,
        then the first in code-point order: the table never depends on the pairs' order."""
        n_word: Counter[str] = Counter()
        n_unit: Counter[str] = Counter()
        n_both: Counter[tuple[str, str]] = Counter()
        for p in pairs:
            words, units = set(tokenize(p.english)), _chinese_units(p.chinese)
            n_word.update(words)
            n_unit.update(units)
            n_both.update(itertools.product(words, units))
        partners: dict[str, list[tuple[float, str]]] = {}
        for (w, u), n in n_both.items():
            if n_word[w] >= min_count:
                partners.setdefault(w, []).append((2 * n / (n_word[w] + n_unit[u]), u))
        table = {}
        for w, cands in partners.items():
            dice, u = min(cands, key=lambda c: (-c[0], -n_unit[c[1]], len(c[1]), c[1]))
            if dice >= min_dice:
                table[w] = u
        return cls(table)

    def translate(self, sentences: Sequence[str]) -> list[str]:
        """Each sentence, word by word; a word with no entry is left out."""
        return ["".join(self.table.get(w, "") for w in tokenize(s)) for s in sentences]


# --------------------------------------------------------------------------------------------
# (c) The LSTM encoder-decoder with additive attention (Bahdanau et al. 2015)
# --------------------------------------------------------------------------------------------


class AdditiveAttention(nn.Module):
    """Additive ("Bahdanau", "concat") attention: for a query q and keys k_1 .. k_S,

        score_s = vᵀ tanh(W_q q + W_k k_s),   weights = softmax over the real s of score_s,
        context = sum_s weights_s k_s.

    A small one-hidden-layer network scores each (query, key) pair, so queries and keys may
    have different widths; the dot-product attention of the Transformer is its cheaper cousin.
    """

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.w_q = nn.Linear(query_dim, attn_dim, bias=False)
        self.w_k = nn.Linear(key_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None,
                projected_keys: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """query (B, T, Dq), keys (B, S, Dk), key_padding_mask (B, S) True at padding ->
        (context (B, T, Dk), weights (B, T, S); each row of weights sums to 1 over the real
        keys and is 0 on padding). `projected_keys`: self.w_k(keys), when already computed (a
        decoder writing token by token computes it once per sentence)."""
        if query.dim() != 3 or keys.dim() != 3 or query.shape[0] != keys.shape[0]:
            raise ValueError(f"query must be (B, T, Dq) and keys (B, S, Dk) with the same B; "
                             f"got {tuple(query.shape)} and {tuple(keys.shape)}")
        wk = self.w_k(keys) if projected_keys is None else projected_keys  # (B, S, A)
        # (B, T, 1, A) + (B, 1, S, A): every query position against every key position
        hidden = torch.tanh(self.w_q(query)[:, :, None] + wk[:, None])
        scores = self.v(hidden).squeeze(-1)                         # (B, T, S)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, :], float("-inf"))
        weights = scores.softmax(dim=-1)                            # (B, T, S)
        return weights @ keys, weights                              # (B, T, Dk), (B, T, S)


@dataclass
class LSTMConfig:
    """Sizes of a Seq2SeqLSTM: embeddings, LSTM states (each direction of the encoder, and
    the decoder), the attention's hidden layer; dropout on embeddings and outputs."""

    embed_dim: int = 128
    hidden_size: int = 256
    attn_dim: int = 128
    dropout: float = 0.2
    bidirectional: bool = True


class Seq2SeqLSTM(nn.Module):
    """Encoder: a (bi)LSTM over the English words. Decoder: an LSTM over the Chinese prefix
    whose every state s_t attends to the encoder's states (AdditiveAttention) and predicts the
    next character from [s_t; context_t].

    The decoder's first state comes from the encoder's last ones (the forward LSTM's at the last
    real word, the backward one's at the first). The attention sits on top of the decoder's
    LSTM, as in Luong et al. (2015), with Bahdanau's additive score: the whole target then goes
    through the LSTM in one call in training. (Bahdanau et al. feed the context back into the
    LSTM, which needs a Python loop over the target positions: several times slower on a CPU.)
    """

    def __init__(self, vocabs: TranslationVocabs, config: LSTMConfig | None = None) -> None:
        super().__init__()
        self.vocabs = vocabs  # a plain attribute: what the ids mean
        c = self.config = config or LSTMConfig()
        H, D = c.hidden_size, c.hidden_size * (2 if c.bidirectional else 1)
        self.src_embed = nn.Embedding(len(vocabs.src), c.embed_dim, padding_idx=0)
        self.enc_fwd = nn.LSTM(c.embed_dim, H, batch_first=True)
        self.enc_bwd = nn.LSTM(c.embed_dim, H, batch_first=True) if c.bidirectional else None
        self.bridge = nn.Linear(D, H)                    # encoder summary -> decoder's first h
        self.tgt_embed = nn.Embedding(len(vocabs.tgt), c.embed_dim, padding_idx=0)
        self.dec = nn.LSTM(c.embed_dim, H, batch_first=True)
        self.attn = AdditiveAttention(H, D, c.attn_dim)
        self.combine = nn.Linear(H + D, H)               # [s_t; context_t] -> attentional state
        self.head = nn.Linear(H, len(vocabs.tgt))
        self.drop = nn.Dropout(c.dropout)

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, S) ids, src_mask (B, S) True at padding -> memory (B, S, D), D = H or 2H."""
        x = self.drop(self.src_embed(src))                          # (B, S, E)
        h, _ = self.enc_fwd(x)                                      # (B, S, H): padding after
        if self.enc_bwd is not None:
            lengths = (~src_mask).sum(1)
            hb, _ = self.enc_bwd(reverse_padded(x, lengths))        # from the last real word
            h = torch.cat([h, reverse_padded(hb, lengths)], dim=-1)  # (B, S, 2H)
        return h

    def _first_state(self, memory: torch.Tensor, src_mask: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's (h_0, c_0), each (1, B, H), from the encoder's final states."""
        H = self.config.hidden_size
        last = (~src_mask).sum(1) - 1                               # (B,): last real position
        summary = memory[torch.arange(len(memory)), last, :H]      # forward LSTM, at its end
        if self.enc_bwd is not None:                                # backward LSTM ends at 0
            summary = torch.cat([summary, memory[:, 0, H:]], dim=-1)  # (B, 2H)
        h0 = torch.tanh(self.bridge(summary))[None]             # (1, B, H)
        return h0, torch.zeros_like(h0)

    def _attend(self, s: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor,
                projected_keys: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder states s (B, T, H) -> (logits (B, T, V_tgt), attention weights (B, T, S))."""
        context, weights = self.attn(s, memory, src_mask, projected_keys)  # (B, T, D), (B, T, S)
        state = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))  # (B, T, H)
        return self.head(self.drop(state)), weights

    def _decode_with_weights(self, memory: torch.Tensor, src_mask: torch.Tensor,
                             tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, T, V_tgt), attention weights (B, T, S)), teacher-forced."""
        s, _ = self.dec(self.drop(self.tgt_embed(tgt_in)), self._first_state(memory, src_mask))
        return self._attend(s, memory, src_mask)

    def decode(self, memory: torch.Tensor, src_mask: torch.Tensor,
               tgt_in: torch.Tensor) -> torch.Tensor:
        """memory (B, S, D), src_mask (B, S), tgt_in (B, T) -> logits (B, T, V_tgt)."""
        return self._decode_with_weights(memory, src_mask, tgt_in)[0]

    def init_state(self, memory: torch.Tensor, src_mask: torch.Tensor) -> dict:
        """What `step` carries from token to token: the decoder's LSTM state, the memory and
        its attention projection (computed once); every tensor has the batch first."""
        h, c = self._first_state(memory, src_mask)
        return dict(h=h[0], c=c[0], memory=memory, src_mask=src_mask,
                    keys=self.attn.w_k(memory))

    def step(self, state: dict, token: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """One decoding step: the previous tokens (B,) -> (logits (B, V_tgt) of the next,
        the new state). Equal to `decode` over the whole prefix, at its last position."""
        x = self.tgt_embed(token)[:, None]                          # (B, 1, E)
        s, (h, c) = self.dec(x, (state["h"][None], state["c"][None]))  # s: (B, 1, H)
        logits, _ = self._attend(s, state["memory"], state["src_mask"], state["keys"])
        return logits[:, 0], {**state, "h": h[0], "c": c[0]}

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor,
                tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, T, V_tgt) for the targets' prefixes tgt_in (B, T)."""
        return self.decode(self.encode(src, src_mask), src_mask, tgt_in)

    @torch.no_grad()
    def cross_attention(self, src: torch.Tensor, src_mask: torch.Tensor,
                        tgt_in: torch.Tensor) -> torch.Tensor:
        """Attention weights (B, T, S): row t is where the decoder looked to predict target
        token t + 1 (the token after tgt_in[:, t])."""
        return self._decode_with_weights(self.encode(src, src_mask), src_mask, tgt_in)[1]


# --------------------------------------------------------------------------------------------
# (d) The Transformer encoder-decoder (Vaswani et al. 2017)
# --------------------------------------------------------------------------------------------


@dataclass
class TransformerConfig:
    """Sizes of a Seq2SeqTransformer; `hidden` (the MLP's width) defaults to 4 embed_dim;
    `max_len` bounds both the source and the target length (sinusoidal positions).
    `scale_embeddings`: Vaswani et al.'s embeddings, initialised with std E^-1/2 and
    multiplied by sqrt(E); `tie_embeddings`: the output layer's weight is the target
    embedding's (see Seq2SeqTransformer)."""

    embed_dim: int = 128
    num_heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    hidden: int | None = None
    dropout: float = 0.1
    max_len: int = 64
    scale_embeddings: bool = True
    tie_embeddings: bool = False


class Seq2SeqTransformer(nn.Module):
    """Encoder: embeddings + sinusoidal positions -> `enc_layers` Blocks (chapter 3's, padding
    masked) -> LayerNorm. Decoder: embeddings + positions -> `dec_layers` DecoderBlocks (causal
    self-attention, cross-attention to the encoder's output, MLP) -> LayerNorm -> linear."""

    def __init__(self, vocabs: TranslationVocabs, config: TransformerConfig | None = None
                 ) -> None:
        super().__init__()
        self.vocabs = vocabs
        c = self.config = config or TransformerConfig()
        E = c.embed_dim
        self.src_embed = nn.Embedding(len(vocabs.src), E, padding_idx=0)
        self.tgt_embed = nn.Embedding(len(vocabs.tgt), E, padding_idx=0)
        pos = torch.from_numpy(sinusoidal_positions(c.max_len, E)).float()
        self.register_buffer("pos", pos, persistent=False)           # (max_len, E), not trained
        self.encoder = nn.ModuleList(Block(E, c.num_heads, c.hidden, dropout=c.dropout)
                                     for _ in range(c.enc_layers))
        self.decoder = nn.ModuleList(DecoderBlock(E, c.num_heads, c.hidden, dropout=c.dropout)
                                     for _ in range(c.dec_layers))
        self.ln_enc, self.ln_dec = nn.LayerNorm(E), nn.LayerNorm(E)
        self.head = nn.Linear(E, len(vocabs.tgt))
        self.drop = nn.Dropout(c.dropout)
        # Vaswani et al. (2017, section 3.4) multiply the embeddings by sqrt(E). Started with
        # std E^-1/2, they enter the network at the same unit scale as PyTorch's default N(0, 1)
        # embeddings, but Adam moves each weight by about lr a step, so they learn sqrt(E)
        # (here about 10) times faster: 27.6 BLEU on validation instead of 21.4 in 40 s.
        self.embed_scale = E ** 0.5 if c.scale_embeddings else 1.0
        if c.scale_embeddings:
            with torch.no_grad():
                for emb in (self.src_embed, self.tgt_embed):
                    nn.init.normal_(emb.weight, std=E ** -0.5)
                    emb.weight[0] = 0.0                                 # <pad> stays 0
        if c.tie_embeddings:  # one vector per character, to read it and to write it
            self.head.weight = self.tgt_embed.weight

    def _embed(self, embed: nn.Embedding, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Token embeddings + positions start, start + 1, ..., (B, T) -> (B, T, E)."""
        end = start + ids.shape[1]
        if end > self.config.max_len:
            raise ValueError(f"sequence length {end} is longer than max_len = "
                             f"{self.config.max_len}")
        return self.drop(embed(ids) * self.embed_scale + self.pos[start:end])

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, S), src_mask (B, S) True at padding -> memory (B, S, E)."""
        x = self._embed(self.src_embed, src)
        for block in self.encoder:
            x = block(x, src_mask)
        return self.ln_enc(x)

    def decode(self, memory: torch.Tensor, src_mask: torch.Tensor,
               tgt_in: torch.Tensor) -> torch.Tensor:
        """memory (B, S, E), src_mask (B, S), tgt_in (B, T) -> logits (B, T, V_tgt)."""
        y = self._embed(self.tgt_embed, tgt_in)
        for block in self.decoder:
            y = block(y, memory, src_mask)
        return self.head(self.ln_dec(y))

    def init_state(self, memory: torch.Tensor, src_mask: torch.Tensor) -> dict:
        """What `step` carries from token to token: the position t, each decoder layer's
        cross-attention keys and values of the memory (computed once) and its self-attention
        cache of the positions so far; every tensor has the batch first."""
        return dict(t=0, src_mask=src_mask, cache=[None] * len(self.decoder),
                    memory=[block.cross.memory_heads(memory) for block in self.decoder])

    def step(self, state: dict, token: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """One decoding step: the previous tokens (B,) -> (logits (B, V_tgt) of the next,
        the new state). Equal to `decode` over the whole prefix, at its last position."""
        y = self._embed(self.tgt_embed, token[:, None], start=state["t"])  # (B, 1, E)
        cache = []
        for block, memory, past in zip(self.decoder, state["memory"], state["cache"]):
            y, past = block.step(y, memory, state["src_mask"], past)
            cache.append(past)
        logits = self.head(self.ln_dec(y))[:, 0]                    # (B, V_tgt)
        return logits, {**state, "t": state["t"] + 1, "cache": cache}

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor,
                tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, T, V_tgt) for the targets' prefixes tgt_in (B, T)."""
        return self.decode(self.encode(src, src_mask), src_mask, tgt_in)

    @torch.no_grad()
    def cross_attention(self, src: torch.Tensor, src_mask: torch.Tensor,
                        tgt_in: torch.Tensor) -> torch.Tensor:
        """Cross-attention weights of every decoder layer and head: (L, B, nh, T, S)."""
        memory = self.encode(src, src_mask)
        y, weights = self._embed(self.tgt_embed, tgt_in), []
        for block in self.decoder:
            y, _, cross = block.forward_with_weights(y, memory, src_mask)
            weights.append(cross)
        return torch.stack(weights)


def build_translator(kind: str, train: Sequence[SentencePair], settings: dict | None = None,
                     seed: int = 0) -> Seq2SeqLSTM | Seq2SeqTransformer:
    """A fresh "lstm" or "transformer" model, its vocabularies built from `train`, sized by
    TRANSLATE_SETTINGS["cpu"] (or `settings`, a dict of the same form)."""
    s = TRANSLATE_SETTINGS["cpu"] if settings is None else settings
    kinds = {"lstm": (Seq2SeqLSTM, LSTMConfig), "transformer": (Seq2SeqTransformer,
                                                                TransformerConfig)}
    if kind not in kinds:
        raise ValueError(f"kind must be one of {sorted(kinds)}; got {kind!r}")
    vocabs = TranslationVocabs.build(train, **s["data"]["vocab"])
    model_class, config_class = kinds[kind]
    torch.manual_seed(seed)
    return model_class(vocabs, config_class(**s[kind]["model"]))


# --------------------------------------------------------------------------------------------
# (e) Training
# --------------------------------------------------------------------------------------------


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor, pad_id: int = 0,
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean cross-entropy over the real target tokens: logits (B, T, V), targets (B, T);
    positions where targets == pad_id count for nothing (neither in the sum nor the mean)."""
    if logits.dim() != 3 or logits.shape[:2] != targets.shape:
        raise ValueError(f"logits must be (B, T, V) and targets (B, T); got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=pad_id,
                           label_smoothing=label_smoothing)


def train_translator(model: Seq2SeqLSTM | Seq2SeqTransformer, pairs: Sequence[SentencePair],
                     steps: int, lr: float, batch_size: int, seed: int = 0,
                     device: str | torch.device = "cpu", weight_decay: float = 0.01,
                     warmup: int = 100, clip: float = 1.0, label_smoothing: float = 0.1,
                     progress: bool = True) -> list[float]:
    """Train for `steps` AdamW steps on batches of `pairs` (teacher forcing), with a linear
    warm-up and a cosine decay of the learning rate; returns the loss of every step.

    Batches hold pairs of similar target lengths (`book.text.batches` with lengths). Label
    smoothing (Szegedy et al. 2016; Vaswani et al. use 0.1) moves that share of the target
    probability to all the other tokens, so the model is never pushed to be certain; the
    returned losses include it. Counted in steps and seeded: the same call gives the same
    model on the same machine.
    """
    enc = model.vocabs.encode(pairs)
    lengths = enc.target_lengths()

    def loss_of(index: np.ndarray) -> torch.Tensor:
        """Teacher forcing: the loss of predicting each target token from the ones before it."""
        src, src_mask, tgt_in, tgt_out = (t.to(device) for t in enc.batch(index))
        return sequence_loss(model(src, src_mask, tgt_in), tgt_out, 0, label_smoothing)

    return train_steps(
        model, loss_of,
        lambda epoch: batches(len(enc), batch_size, seed=seed, epoch=epoch, lengths=lengths),
        steps, lr, min_lr=lr / 20, warmup=warmup, weight_decay=weight_decay, clip=clip,
        seed=seed, device=device, progress=progress)


# --------------------------------------------------------------------------------------------
# (f) Decoding: greedy, beam search
# --------------------------------------------------------------------------------------------


def _select(state: object, index: torch.Tensor) -> object:
    """The rows `index` of every tensor in a decoding state (dicts, lists and tuples of
    tensors, batch first); anything else (a position, a None) stays as it is."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {key: _select(value, index) for key, value in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_select(value, index) for value in state)
    return state


def _step_log_probs(model: nn.Module, state: dict, token: torch.Tensor
                    ) -> tuple[torch.Tensor, dict]:
    """log p(next token | source, prefix) (B, V) and the new state, after tokens (B,).

    `<pad>`, `<unk>` and `<bos>` get log-probability -inf: a translation never writes them.
    """
    logits, state = model.step(state, token)                        # (B, V)
    logits[:, :model.vocabs.eos_id] = float("-inf")                 # ids 0, 1, 2
    return logits.log_softmax(dim=-1), state


@torch.no_grad()
def greedy_decode(model: nn.Module, src: torch.Tensor, src_mask: torch.Tensor,
                  max_len: int = 32) -> list[list[int]]:
    """The most probable next token at every step, for a batch of sources (B, S): the target
    ids of each (without `<bos>` and `<eos>`), at most `max_len` of them."""
    model.eval()
    B, eos = len(src), model.vocabs.eos_id
    state = model.init_state(model.encode(src, src_mask), src_mask)
    token = torch.full((B,), model.vocabs.bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    out: list[list[int]] = [[] for _ in range(B)]
    for _ in range(max_len):
        log_probs, state = _step_log_probs(model, state, token)
        token = log_probs.argmax(-1).masked_fill(done, eos)         # (B,); finished rows: eos
        done |= token == eos
        for b in (~done).nonzero()[:, 0].tolist():
            out[b].append(int(token[b]))
        if done.all():
            break
    return out


def beam_step(log_probs: torch.Tensor, scores: torch.Tensor, k: int
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of beam search: the best k continuations of k_prev live beams.

    log_probs (k_prev, V): each beam's next-token log-probabilities; scores (k_prev,): each
    beam's log-probability so far. A candidate (beam b, token w) scores scores[b] +
    log_probs[b, w]. Returns (new_scores, beam_index, token), each of length
    min(k, k_prev * V): the top candidates in descending order of score, equal scores in the
    order of their flattened index b * V + w (the smaller first).
    """
    log_probs, scores = torch.as_tensor(log_probs), torch.as_tensor(scores)
    if log_probs.dim() != 2 or log_probs.shape[0] == 0 or log_probs.shape[1] == 0:
        raise ValueError(f"log_probs must be (k_prev, V) with k_prev, V >= 1; got "
                         f"{tuple(log_probs.shape)}")
    if scores.shape != log_probs.shape[:1]:
        raise ValueError(f"scores must be (k_prev,) = ({log_probs.shape[0]},), one per beam; "
                         f"got {tuple(scores.shape)}")
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    V = log_probs.shape[1]
    total = (scores[:, None] + log_probs).flatten()                # (k_prev * V,)
    # The k best are among the candidates at least as good as the k-th best (topk finds its
    # value); a stable sort of those few keeps equal scores in index order, which topk alone
    # does not promise. (Sorting all k_prev * V candidates gives the same, many times slower.)
    kth_best = total.topk(min(k, len(total))).values[-1]
    contenders = (total >= kth_best).nonzero()[:, 0]               # in index order
    order = contenders[torch.sort(total[contenders], descending=True, stable=True).indices[:k]]
    return total[order], order // V, order % V


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's length penalty (Wu et al. 2016), lp = ((5 + length) / 6) ** alpha.

    Every token adds a negative log-probability, so raw scores favour short outputs; beam
    search ranks finished hypotheses by log p / lp instead. alpha = 0: no penalty (the most
    probable sequence wins); larger alpha favours longer outputs.
    """
    return ((5 + length) / 6) ** alpha


@dataclass(frozen=True)
class Hypothesis:
    """A finished beam: target ids (no `<bos>`, no `<eos>`), log-probability (with `<eos>`
    when it ended with one), and the ranking score log_prob / length_penalty."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float


def _split_candidates(top: tuple[torch.Tensor, ...], beam: int, eos: int
                      ) -> tuple[list[tuple[int, float]], list[tuple[int, int, float]]]:
    """The 2 * beam best candidates of a sentence (beam_step's output) -> (those among the
    first `beam` that end in <eos>: (beam index, score); the first `beam` others: (beam
    index, token, score)). Forbidden tokens (score -inf) are dropped.

    Taking 2 * beam candidates keeps `beam` beams alive however many end: each beam has only
    one <eos> among them. An <eos> ranked below `beam` is dropped, as in fairseq: it was not
    among the best `beam` candidates, and with beam = 1 and alpha = 0 this keeps beam search
    exactly greedy.
    """
    ended, live = [], []
    for rank, (s, i, w) in enumerate(zip(*(t.tolist() for t in top))):
        if s == float("-inf"):
            break                                       # sorted: only forbidden ones follow
        if w == eos:
            if rank < beam:
                ended.append((i, s))
        elif len(live) < beam:
            live.append((i, w, s))
    return ended, live


@torch.no_grad()
def beam_search(model: nn.Module, src: torch.Tensor, src_mask: torch.Tensor, beam: int = 5,
                alpha: float = 0.6, max_len: int = 32) -> list[list[Hypothesis]]:
    """Beam search for each source sentence of a batch (B, S): its finished hypotheses, best
    first.

    Each sentence keeps `beam` live beams. At every step each of them proposes every next
    token; `beam_step` ranks the candidates, and `_split_candidates` finishes those that end
    in `<eos>` (score: log p / length_penalty(length, alpha), the length counting `<eos>`) and
    keeps the best `beam` others alive. A sentence is done when no live beam can beat its best
    finished hypothesis any more: log p only falls as tokens are added and the penalty is at
    most length_penalty(max_len), so a live beam's score can reach at most its log p /
    length_penalty(max_len) (Tensor2Tensor's stopping rule; exact for alpha >= 0). After
    `max_len` tokens the live beams count as finished, without `<eos>`. With beam = 1 and
    alpha = 0 this is greedy decoding.

    The sentences' live beams are the rows of one batch for the model (row r belongs to
    sentence owner[r]); the selection runs sentence by sentence.
    """
    model.eval()
    eos, B = model.vocabs.eos_id, len(src)
    state = model.init_state(model.encode(src, src_mask), src_mask)
    owner = list(range(B))                              # the sentence of each live row
    prefixes: list[list[int]] = [[] for _ in range(B)]  # each live row's tokens so far
    scores = torch.zeros(B, device=src.device)
    token = torch.full((B,), model.vocabs.bos_id, dtype=torch.long, device=src.device)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    best_possible = length_penalty(max_len, alpha)
    for step in range(max_len):
        log_probs, state = _step_log_probs(model, state, token)    # (R, V)
        kept: list[tuple[int, int, float, int]] = []  # (row, token, score, sentence)
        for b, group in itertools.groupby(range(len(owner)), key=owner.__getitem__):
            lo = next(group)                            # this sentence's rows: consecutive
            hi = lo + 1 + sum(1 for _ in group)
            ended, live = _split_candidates(
                beam_step(log_probs[lo:hi], scores[lo:hi], 2 * beam), beam, eos)
            finished[b] += [Hypothesis(tuple(prefixes[lo + i]), s,
                                       s / length_penalty(step + 1, alpha)) for i, s in ended]
            best = max((h.score for h in finished[b]), default=-math.inf)
            if live and live[0][2] / best_possible > best:  # a live beam may still win
                kept += [(lo + i, w, s, b) for i, w, s in live]
        prefixes = [prefixes[r] + [w] for r, w, _, _ in kept]
        owner = [b for *_, b in kept]
        if not kept:
            break
        state = _select(state, torch.tensor([r for r, *_ in kept], device=src.device))
        token = torch.tensor([w for _, w, _, _ in kept], device=src.device)
        scores = torch.tensor([s for _, _, s, _ in kept], dtype=log_probs.dtype,
                              device=src.device)
    for r, b in enumerate(owner):                       # still live after max_len tokens
        s = float(scores[r])
        finished[b].append(Hypothesis(tuple(prefixes[r]), s, s / best_possible))
    return [sorted(f, key=lambda h: -h.score) for f in finished]


def translate(model: nn.Module, sentences: Sequence[str], beam: int = 1, alpha: float = 0.6,
              max_len: int = 32, device: str | torch.device = "cpu",
              batch_size: int = 256) -> list[str]:
    """Chinese translations of English `sentences`, `batch_size` at a time: greedy (beam = 1)
    or beam search with `beam` beams."""
    if isinstance(sentences, str):
        raise TypeError("pass a list of sentences, not one string")
    model.eval().to(device)
    vocabs, out = model.vocabs, []
    for start in range(0, len(sentences), batch_size):
        src, src_mask = (t.to(device) for t in
                         vocabs.encode_source(sentences[start:start + batch_size]))
        if beam == 1:
            ids = greedy_decode(model, src, src_mask, max_len)
        else:
            ids = [h[0].tokens for h in beam_search(model, src, src_mask, beam, alpha, max_len)]
        out += [vocabs.decode_target(i) for i in ids]
    return out


@torch.no_grad()
def attention_map(model: nn.Module, english: str, chinese: str | None = None,
                  layer: int = -1, head: int | None = None
                  ) -> tuple[list[str], list[str], np.ndarray]:
    """(source tokens, target tokens, weights (T, S)) for one sentence pair: row t is how the
    decoder spread its attention over the English words when it wrote target token t.

    `chinese` None: the model's own greedy translation. The target tokens are the characters
    and `<eos>`. For the Transformer, `layer`'s cross-attention, one `head` or (None) the mean
    over the heads.
    """
    if chinese is None:
        chinese = translate(model, [english])[0]
    device = next(model.parameters()).device
    src, src_mask = (t.to(device) for t in model.vocabs.encode_source([english]))
    tgt_in, _ = model.vocabs.encode_target([chinese])
    weights = model.cross_attention(src, src_mask, tgt_in.to(device))
    if weights.dim() == 5:                                          # (L, B, nh, T, S)
        weights = weights[layer, :, head] if head is not None else weights[layer].mean(1)
    src_tokens = tokenize(english) or [model.vocabs.src.itos[1]]  # as encode_source reads it
    tgt_tokens = [*tokenize_chars(chinese), EOS]
    return src_tokens, tgt_tokens, weights[0].cpu().numpy()
