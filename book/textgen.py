"""Text generation (chapter 5): tokenizers, a character LSTM and a GPT, the training loop,
sampling, and the numbers to judge a language model by.

    from book import data, textgen as tg
    text = data.load("tinyshakespeare")
    train_text, val_text = tg.nanogpt_split(text)
    tok = tg.CharTokenizer(text)                                   # 65 symbols
    train_ids, val_ids = torch.tensor(tok.encode(train_text)), torch.tensor(tok.encode(val_text))
    model = tg.GPT(tg.GPTConfig(vocab_size=tok.vocab_size, **tg.CPU_CONFIG["model"]))
    log = tg.train(model, train_ids, val_ids, tg.TrainConfig(**tg.CPU_CONFIG["train"]))
    ids = tg.generate(model, torch.tensor([tok.encode("ROMEO:")]), 200, top_k=20)
    print(tok.decode(ids[0].tolist()))

Every model here maps token ids (B, T) to next-token logits (B, T, V) and, given targets, the
mean cross-entropy in nats: `logits, loss = model(idx, targets)`. The settings the chapter and
`benchmarks/textgen.py` use are defined once, in CPU_CONFIG and GPU_CONFIG.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from book import env

__all__ = [
    "CHUNK_PATTERN",
    "CPU_CONFIG",
    "GPT",
    "GPTMLP",
    "GPU_CONFIG",
    "BPETokenizer",
    "CharLSTM",
    "CharLSTMConfig",
    "CharTokenizer",
    "GPTAttention",
    "GPTBlock",
    "GPTConfig",
    "TrainConfig",
    "TrainLog",
    "apply_temperature",
    "bits_per_char",
    "estimate_loss",
    "generate",
    "get_batch",
    "greedy",
    "load_checkpoint",
    "lr_at",
    "make_optimizer",
    "merge_pair",
    "nanogpt_split",
    "perplexity",
    "sample_next",
    "save_checkpoint",
    "split_chunks",
    "top_k_filter",
    "top_p_filter",
    "train",
    "train_step",
]

# --------------------------------------------------------------------------------------------
# The settings, in one place: the chapter and benchmarks/textgen.py both read them from here.
# vocab_size is not here: it comes from the tokenizer.
# --------------------------------------------------------------------------------------------

CPU_CONFIG: dict = {
    # For 2 CPU cores: nanoGPT's CPU model (4 x 128, block 64), more steps at a higher
    # learning rate. On 2 idle cores, 2500 steps of 16 x 64 tokens took 97-107 s and reached
    # val 1.683 on the whole validation split (nanoGPT's recipe: 1.886). Tried on 1 thread, the
    # same 2.5 M tokens as 600 steps of 32 x 128 gave 1.907; lr 6e-3 instead of 4e-3, 1.691.
    # max_seconds caps the time: where 2500 steps fit in it, the run is the same as without
    # (and repeatable); where they do not, the schedule is squeezed into the budget.
    "model": dict(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False),
    "train": dict(batch_size=16, max_iters=2500, lr=4e-3, min_lr=4e-4, warmup_iters=50,
                  weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=500, eval_iters=16,
                  max_seconds=110.0),
}

GPU_CONFIG: dict = {
    # nanoGPT's shakespeare_char model (6 x 384, block 256, dropout 0.1); the data stays on the
    # GPU, there is no evaluation before the end, and the cosine schedule is fitted into a time
    # budget counted from process start. Swept on an H200 on 2026-11-28
    # (benchmarks/textgen_gpu_sweep.sh), validation loss with an 18-19 s budget: batch 256 at
    # lr 2e-3 1.546 (no dropout) to 1.722 (dropout 0.2), at lr 3e-3 1.560; 8 x 512 1.758;
    # batch 128 at lr 2e-3 1.483, at lr 1.5e-3 1.471 (18 s) and 1.468 (19 s): chosen.
    "model": dict(block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.1, bias=False),
    "train": dict(batch_size=128, max_iters=5000, lr=1.5e-3, min_lr=1.5e-4, warmup_iters=50,
                  weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=0, eval_iters=0,
                  max_seconds=19.0, compile=False),
}


# --------------------------------------------------------------------------------------------
# (a) Data and tokenizers
# --------------------------------------------------------------------------------------------


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
        while len(ids) >= 2:
            pair = min(_pairs(ids), key=lambda p: self.ranks.get(p, math.inf))
            if pair not in self.ranks:
                break  # no learned merge applies any more
            ids = merge_pair(ids, pair, len(self.base) + self.ranks[pair])
        return ids

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


# --------------------------------------------------------------------------------------------
# (b) Models: ids (B, T) [, targets (B, T)] -> logits (B, T, V), loss
# --------------------------------------------------------------------------------------------


def _lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy (nats) of next-token logits (B, T, V) against targets (B, T)."""
    if targets is None:
        return None
    B, T, V = logits.shape
    # (B, T, V) -> (B*T, V): every position is one classification over the vocabulary
    return F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))


@dataclass
class GPTConfig:
    """The shape of a GPT: vocabulary, context length, depth, heads, width, dropout, biases."""

    vocab_size: int = 65
    block_size: int = 256   # the longest context; position embeddings exist only up to here
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = False      # biases in Linear and LayerNorm layers: slightly slower, no better


class GPTAttention(nn.Module):
    """Causal multi-head self-attention: each position attends to itself and earlier ones."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.n_embd % cfg.n_head != 0:
            raise ValueError(f"n_embd ({cfg.n_embd}) must be divisible by n_head ({cfg.n_head})")
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C)."""
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        q, k, v = self.qkv(x).split(C, dim=2)          # (B, T, 3C) -> 3 x (B, T, C)
        q = q.view(B, T, nh, hs).transpose(1, 2)       # (B, T, C) -> (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)       # (B, nh, T, hs)
        v = v.view(B, T, nh, hs).transpose(1, 2)       # (B, nh, T, hs)
        # is_causal masks the future inside the kernel (a flash kernel on a GPU skips it)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, C)         # (B, nh, T, hs) -> (B, T, C)
        return self.resid_drop(self.proj(y))


class GPTMLP(nn.Module):
    """Position-wise feed-forward network: C -> 4C -> GELU -> C."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU, as in book.torch_nn.Block
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C)."""
        return self.drop(self.proj(self.gelu(self.fc(x))))


class GPTBlock(nn.Module):
    """Pre-LayerNorm Transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = GPTAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = GPTMLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) -> (B, T, C)."""
        x = x + self.attn(self.ln1(x))  # the residual path carries x (and its gradient) through
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Decoder-only Transformer: token + learned position embeddings, n_layer GPTBlocks, a final
    LayerNorm and a linear head that shares its weight with the token embedding."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(GPTBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        # Weight tying: reading token i and predicting token i use one vector, which saves
        # V x C parameters and helps a small model (Press & Wolf, 2017).
        self.head.weight = self.tok_emb.weight
        self._init_weights()

    def _init_weights(self) -> None:
        """Normal(0, 0.02) weights, zero biases (GPT-2); the two Linear layers that write into
        the residual stream get std 0.02 / sqrt(2 n_layer), so that the sum of 2 n_layer such
        contributions keeps the stream's scale at initialisation."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        for block in self.blocks:
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * len(self.blocks)))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> (logits (B, T, V), mean cross-entropy against targets (B, T) or None)."""
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} is longer than block_size = "
                             f"{self.config.block_size}: crop the context, idx[:, -block_size:]")
        pos = torch.arange(T, device=idx.device)                 # (T,)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))     # (B, T, C) + (T, C)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))                         # (B, T, V)
        return logits, _lm_loss(logits, targets)

    def num_params(self) -> int:
        """Number of trainable parameters (the tied embedding/head weight counted once)."""
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self) -> int:
        """Training FLOPs per token, forward and backward: 6 N + 12 L C T.

        A weight does one multiply-add (2 FLOPs) per token in the forward pass and twice that
        in the backward pass (gradient of the input and of the weight): 6 N. N leaves out the
        position embeddings, a lookup with no multiply; the tied head IS a matmul and counts.
        Attention adds q·k and weights·v, 2 T C multiply-adds per token and layer forward:
        3 x 4 T C = 12 T C (the causal half that the kernel skips is counted, as in the PaLM
        paper's appendix B, which is the usual convention for MFU).
        """
        c = self.config
        n = self.num_params() - self.pos_emb.weight.numel()
        return 6 * n + 12 * c.n_layer * c.n_embd * c.block_size


@dataclass
class CharLSTMConfig:
    """The shape of a CharLSTM; block_size is the length of the training contexts."""

    vocab_size: int = 65
    block_size: int = 128
    n_embd: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.0


class CharLSTM(nn.Module):
    """Embedding -> LSTM (batch first) -> linear head: the recurrent language model."""

    def __init__(self, cfg: CharLSTMConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        # PyTorch applies this dropout between stacked layers only, so it needs 2+ layers
        self.lstm = nn.LSTM(cfg.n_embd, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.head = nn.Linear(cfg.hidden_size, cfg.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> (logits (B, T, V), mean cross-entropy against targets (B, T) or None)."""
        h, _ = self.lstm(self.embed(idx))  # (B, T, H): the state after reading each token
        logits = self.head(h)              # (B, T, V)
        return logits, _lm_loss(logits, targets)

    def num_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())


_MODELS = {"GPT": (GPT, GPTConfig), "CharLSTM": (CharLSTM, CharLSTMConfig)}


# --------------------------------------------------------------------------------------------
# (c) Training
# --------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """How to train: batch, steps, AdamW and its schedule, evaluation, clock, compile, seed."""

    batch_size: int = 32
    max_iters: int = 2000
    lr: float = 1e-3            # the peak, reached at the end of the warm-up
    min_lr: float = 1e-4        # the end of the cosine
    warmup_iters: int = 100
    weight_decay: float = 0.1   # on matrices and embeddings only (see make_optimizer)
    beta1: float = 0.9
    beta2: float = 0.99         # shorter memory than the default 0.999: few, noisy steps
    grad_clip: float = 1.0      # max global gradient norm; 0 = no clipping
    eval_interval: int = 250    # evaluate every this many steps (0: at the end only)
    eval_iters: int = 20        # batches per evaluation (0: never evaluate inside train)
    max_seconds: float | None = None  # stop after this many seconds (clock from train's t0)
    compile: bool = False       # torch.compile the model for the training steps
    seed: int = 0


@dataclass
class TrainLog:
    """What train returns: evaluations, steps and tokens done, and the time they took."""

    history: list[dict] = field(default_factory=list)  # step, train_loss, val_loss, lr, elapsed_s
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0          # wall time of the training loop, compile and evaluations included
    steady_tokens_per_s: float = 0.0  # after the first steps (compilation, warm caches)


def lr_at(step: int, cfg: TrainConfig, total: int | None = None) -> float:
    """Learning rate at `step`: linear warm-up to cfg.lr, then a cosine down to cfg.min_lr at
    step `total` (default cfg.max_iters), and cfg.min_lr after that."""
    total = cfg.max_iters if total is None else total
    if step < cfg.warmup_iters:
        # start small: Adam's first estimates of the gradients' scale are poor
        return cfg.lr * (step + 1) / cfg.warmup_iters
    progress = min(1.0, (step - cfg.warmup_iters) / max(1, total - cfg.warmup_iters))
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def get_batch(data: torch.Tensor, batch_size: int, block_size: int,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of a token tensor: inputs x (B, T) and targets y = x shifted by one.

    `data` lives on the training device and the offsets are drawn there too, so a batch is
    one gather on the device and nothing crosses from the CPU per step.
    """
    ix = torch.randint(len(data) - block_size, (batch_size,), device=data.device,
                       generator=generator)                                      # (B,)
    offsets = ix[:, None] + torch.arange(block_size + 1, device=data.device)    # (B, T + 1)
    chunk = data[offsets]                                                       # (B, T + 1)
    return chunk[:, :-1], chunk[:, 1:]


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (matmuls in bf16, reductions in fp32); nothing elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def estimate_loss(model: nn.Module, data: torch.Tensor, batch_size: int,
                  eval_iters: int | None = None, seed: int = 1234) -> float:
    """Mean next-token cross-entropy (nats) of `model` on a token tensor.

    eval_iters=None: the whole split, cut into non-overlapping windows of block_size (every
    token is predicted once; the tail shorter than a window is left out). Otherwise
    eval_iters random batches, drawn with a generator seeded by `seed`: the same windows at
    every evaluation, so that two points of a curve differ by the model only.
    """
    T = model.config.block_size
    if len(data) <= T:
        raise ValueError(f"the split has {len(data)} tokens; estimate_loss needs more than "
                         f"block_size = {T}")
    if eval_iters is None:
        starts = torch.arange((len(data) - 1) // T, device=data.device) * T   # (N,)
    else:
        g = torch.Generator(device=data.device).manual_seed(seed)
        starts = torch.randint(len(data) - T, (eval_iters * batch_size,), device=data.device,
                               generator=g)
    was_training = model.training
    model.eval()  # no dropout
    total = torch.zeros((), device=data.device)
    for s in starts.split(batch_size):
        chunk = data[s[:, None] + torch.arange(T + 1, device=data.device)]  # (b, T + 1)
        with _autocast(data.device):
            _, loss = model(chunk[:, :-1], chunk[:, 1:])
        total += loss.float() * len(s)  # stays on the device: no sync per batch
    model.train(was_training)
    return (total / len(starts)).item()


def make_optimizer(model: nn.Module, cfg: TrainConfig, device_type: str = "cpu"
                   ) -> torch.optim.AdamW:
    """AdamW with weight decay on the matrices and embeddings (2+ dimensions) only.

    Decay pulls weights towards 0; on a bias or a LayerNorm gain that is just a bias towards
    a smaller output, with nothing to regularise. On CUDA the fused kernel updates all the
    parameters in a few launches instead of several per tensor.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                             fused=True if device_type == "cuda" else None)


def _model_name(model: nn.Module) -> str:
    for name, (cls, _) in _MODELS.items():
        if type(model) is cls:
            return name
    raise TypeError(f"checkpoints know GPT and CharLSTM models; got {type(model).__name__}")


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    step: int, cfg: TrainConfig, **extra: object) -> None:
    """Save model and optimizer states, the step, and both configs as plain Python, so that
    `torch.load(path, weights_only=True)` reads it (no pickled classes, nothing executed)."""
    ckpt = {"model_class": _model_name(model), "model_config": asdict(model.config),
            "train_config": asdict(cfg), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "step": step, **extra}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)  # a crash while saving never leaves half a checkpoint behind


def load_checkpoint(path: str | Path, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """(model, checkpoint): load the states into `model` and `optimizer` (the model is built
    from the saved config when None) and return the checkpoint's dict as well."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if model is None:
        cls, config_cls = _MODELS[ckpt["model_class"]]
        model = cls(config_cls(**ckpt["model_config"]))
    elif asdict(model.config) != ckpt["model_config"]:
        raise ValueError(f"{path} holds a model with config {ckpt['model_config']}, not "
                         f"{asdict(model.config)}: build the model from the checkpoint "
                         "(load_checkpoint(path)) or from the same config")
    model.load_state_dict(ckpt["model"])
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    return model, ckpt


def _as_ids(ids: Sequence[int] | torch.Tensor, name: str, vocab_size: int,
            block_size: int) -> torch.Tensor:
    """A 1-D LongTensor of `ids`, after checking that the model can train on it."""
    t = torch.as_tensor(ids, dtype=torch.long).flatten()
    if len(t) <= block_size:
        raise ValueError(f"{name} has {len(t)} tokens, but a training window needs block_size "
                         f"+ 1 = {block_size + 1}: use a smaller block_size or more text")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{name} holds token ids from {lo} to {hi}, but the model's vocab_size "
                         f"is {vocab_size}: build the model with vocab_size=tokenizer.vocab_size"
                         " of the tokenizer that encoded this text")
    return t


def train_step(fwd: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               lr: float, grad_clip: float) -> torch.Tensor:
    """One AdamW step on the batch (x, y) at learning rate lr; returns the loss, detached.

    The loss stays a tensor: reading its value (.item()) would make the CPU wait for the GPU.
    """
    for group in opt.param_groups:
        group["lr"] = lr
    with _autocast(x.device):
        _, loss = fwd(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:  # rescale a rare huge gradient instead of taking a huge step
        nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], grad_clip)
    opt.step()
    return loss.detach().float()


def _budget_end(step: int, now: float, t0: float, steady: tuple[int, float] | None,
                cfg: TrainConfig) -> int:
    """The step at which the time budget will run out, at the speed measured since `steady`."""
    if steady is None or step <= steady[0]:
        return cfg.max_iters
    per_step = (now - steady[1]) / (step - steady[0])
    return min(cfg.max_iters, step + int((cfg.max_seconds - (now - t0)) / per_step))


def train(model: nn.Module, train_ids: Sequence[int] | torch.Tensor,
          val_ids: Sequence[int] | torch.Tensor | None, cfg: TrainConfig,
          device: str | torch.device = "cpu", *, progress: bool = True, t0: float | None = None,
          checkpoint_path: str | Path | None = None, resume_from: str | Path | None = None,
          stop_at: int | None = None) -> TrainLog:
    """Train a language model on random windows of `train_ids` with AdamW; return a TrainLog.

    The learning rate follows lr_at. With cfg.max_seconds, training stops when that budget,
    counted from t0 (a time.perf_counter(); default: now), is spent, and the cosine is
    stretched over the budget (its end is re-estimated at each step from the measured speed).
    Every cfg.eval_interval steps and at the end, the validation loss on cfg.eval_iters fixed
    batches goes into the history, next to the mean training loss since the previous
    evaluation (free: those losses were computed anyway). checkpoint_path: save there at each
    evaluation and at the end; resume_from: continue from such a checkpoint, which gives the
    same weights as a run that was never interrupted. stop_at: stop after that step, as an
    interruption would, keeping the schedule of cfg.max_iters.
    """
    t0 = time.perf_counter() if t0 is None else t0
    device = env.device(str(device))  # an unavailable device fails here, saying what there is
    V, T = model.config.vocab_size, model.config.block_size
    train_data = _as_ids(train_ids, "train_ids", V, T).to(device)  # the whole split, on device
    evaluate = cfg.eval_iters > 0 and val_ids is not None
    val_data = _as_ids(val_ids, "val_ids", V, T).to(device) if evaluate else None
    torch.manual_seed(cfg.seed)  # dropout
    model.to(device)
    opt = make_optimizer(model, cfg, device.type)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)  # batches
    step, history, running = 0, [], [0.0, 0]  # running: sum and count of losses since last eval
    if resume_from is not None:
        _, ckpt = load_checkpoint(resume_from, model, opt)  # RNG states must stay on the CPU
        step, history, running = ckpt["step"], list(ckpt["history"]), ckpt["running_loss"]
        gen.set_state(ckpt["rng"]["batch"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        if device.type == "cuda" and ckpt["rng"]["cuda"] is not None:
            torch.cuda.set_rng_state(ckpt["rng"]["cuda"], device)
    fwd = torch.compile(model) if cfg.compile else model  # evaluation uses the plain model
    loss_sum, n_loss = torch.tensor(float(running[0]), device=device), running[1]
    start_step, end = step, cfg.max_iters if stop_at is None else min(stop_at, cfg.max_iters)
    bar = _progress_bar(end - step, progress)

    def checkpoint() -> None:
        rng = {"batch": gen.get_state(), "torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
        save_checkpoint(checkpoint_path, model, opt, step, cfg, history=history, rng=rng,
                        running_loss=[loss_sum.item(), n_loss])

    def record() -> None:
        nonlocal n_loss
        val_loss = estimate_loss(model, val_data, cfg.batch_size, cfg.eval_iters)
        history.append({"step": step, "train_loss": (loss_sum / max(n_loss, 1)).item(),
                        "val_loss": val_loss, "lr": lr, "elapsed_s": time.perf_counter() - t0})
        loss_sum.zero_()
        n_loss = 0
        if bar is not None:
            bar.set_postfix(loss=f"{history[-1]['train_loss']:.3f}", val_loss=f"{val_loss:.3f}")
        if checkpoint_path is not None:
            checkpoint()

    t_loop, steady, total, lr = time.perf_counter(), None, cfg.max_iters, lr_at(step, cfg)
    while step < end:
        now = time.perf_counter()
        if steady is None and step - start_step == 5:  # the first steps compile and warm up
            steady = (step, now)
        if cfg.max_seconds is not None:
            if now - t0 >= cfg.max_seconds:
                break
            total = _budget_end(step, now, t0, steady, cfg)
        lr = lr_at(step, cfg, total)
        x, y = get_batch(train_data, cfg.batch_size, T, gen)
        loss_sum += train_step(fwd, opt, x, y, lr, cfg.grad_clip)
        step, n_loss = step + 1, n_loss + 1
        if bar is not None:
            bar.update()
        if evaluate and cfg.eval_interval > 0 and step % cfg.eval_interval == 0:
            record()
    interrupted = step == stop_at and step < cfg.max_iters  # to be resumed: no extra row
    if evaluate and not interrupted and (not history or history[-1]["step"] != step):
        record()
    elif checkpoint_path is not None:
        checkpoint()
    if bar is not None:
        bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize()  # the GPU runs behind the Python loop; wait before timing
    t_end = time.perf_counter()
    steady_tps = 0.0
    if steady is not None and step > steady[0]:
        steady_tps = (step - steady[0]) * cfg.batch_size * T / (t_end - steady[1])
    return TrainLog(history, step, (step - start_step) * cfg.batch_size * T, t_end - t_loop,
                    steady_tps)


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar, or None; tqdm is imported only when wanted (a bare GPU box may lack it)."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="train")


# --------------------------------------------------------------------------------------------
# (d) Sampling: logits of the last position (B, V) -> the next token (B, 1)
# --------------------------------------------------------------------------------------------


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The most probable token of each row: logits (B, V) -> ids (B, 1)."""
    return logits.argmax(dim=-1, keepdim=True)


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature: below 1 sharpens the distribution, above 1 flattens it."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}; for the limit "
                         "temperature -> 0 use greedy decoding (greedy=True)")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Set to -inf every logit below the k-th largest of its row.

    Logits tied with the k-th largest are all kept (so a row may keep more than k), rather
    than dropping some of several equal tokens at random. k >= V keeps everything.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most probable tokens whose total probability
    is at least p (always at least one), set the rest to -inf.

    Tokens exactly as probable as the least probable kept one are kept too (as in
    top_k_filter). p = 1 keeps everything.
    """
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if p == 1:
        return logits
    probs = logits.softmax(dim=-1)                                   # (B, V)
    sorted_probs = probs.sort(dim=-1, descending=True).values       # (B, V)
    before = F.pad(sorted_probs.cumsum(dim=-1)[..., :-1], (1, 0))   # (B, V): mass before each
    n_keep = (before < p).sum(dim=-1, keepdim=True)                 # (B, 1), at least 1
    smallest = sorted_probs.gather(-1, n_keep - 1)                  # (B, 1)
    return logits.masked_fill(probs < smallest, float("-inf"))


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """Draw the next token from logits (B, V): temperature, then top-k, then top-p -> (B, 1).

    The filters see the tempered distribution, so top_p=0.9 means 90% of what is sampled from.
    """
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, greedy: bool = False,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Extend idx (B, T) by max_new_tokens tokens, one at a time -> (B, T + max_new_tokens).

    The model sees at most its last block_size tokens (a GPT has no position beyond that).
    greedy=True takes the argmax at each step (the `greedy` function); otherwise sample_next.
    """
    if idx.dim() != 2 or idx.dtype != torch.long:
        raise ValueError(f"idx must be a LongTensor (B, T) of token ids; got {idx.dtype} "
                         f"{tuple(idx.shape)} (wrap a prompt as torch.tensor([tok.encode(s)]))")
    V, T = model.config.vocab_size, model.config.block_size
    if idx.numel() and (idx.min() < 0 or idx.max() >= V):
        raise ValueError(f"idx holds ids outside 0..{V - 1}: encode the prompt with the "
                         "tokenizer the model was trained with")
    was_training = model.training
    model.eval()
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -T:])     # (B, min(T, len), V)
        logits = logits[:, -1, :].float()  # (B, V): only the last position predicts what's next
        if greedy:
            nxt = logits.argmax(dim=-1, keepdim=True)  # = greedy(logits)
        else:
            nxt = sample_next(logits, temperature, top_k, top_p, generator)
        idx = torch.cat([idx, nxt], dim=1)  # (B, len + 1)
    model.train(was_training)
    return idx


# --------------------------------------------------------------------------------------------
# (e) Metrics
# --------------------------------------------------------------------------------------------


def perplexity(loss_nats: float) -> float:
    """exp(loss): the number of equally likely tokens the model is as unsure as."""
    return math.exp(loss_nats)


def bits_per_char(loss_nats: float, tokens: int | None = None, chars: int | None = None) -> float:
    """Bits per character of a cross-entropy in nats per token.

    For a character-level model a token is a character: loss / ln 2. For BPE, give the number
    of tokens and of characters of the text the loss was measured on; the loss per character
    is then loss x tokens / chars, which makes models with different tokenizers comparable.
    """
    if (tokens is None) != (chars is None):
        raise ValueError("give both tokens and chars (the counts of the evaluated text), or "
                         "neither for a character-level model")
    bits = loss_nats / math.log(2)
    return bits if tokens is None else bits * tokens / chars
