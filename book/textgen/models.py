"""Language models: token ids (B, T) [, targets (B, T)] -> next-token logits (B, T, V), loss.

`GPT`: a decoder-only Transformer built from `book.torch_nn.Block`, the block chapter 3 derives
and checks against NumPy, here with `causal=True`, dropout and no biases; `GPTConfig`'s
chapter-8 options turn it, piece by piece, into a Llama-style model (rotary positions, RMSNorm,
SwiGLU, grouped-query attention). `CharLSTM`: the recurrent baseline. Both return
`(logits, loss)`, the loss being the mean cross-entropy in nats (None without targets), and keep
their shape in `.config`. `GPT.forward_step` is the same
forward pass with a KV cache, for generation one token at a time (chapter 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from book.torch_nn import Block, SwiGLU, make_norm

__all__ = ["MODELS", "GPT", "CharLSTM", "CharLSTMConfig", "GPTConfig", "KVCache", "lm_loss"]

# One (keys, values) pair per layer, each (B, nkv, t, hd): what attention needs of the t positions
# read so far (`GPT.forward_step`).
KVCache = list[tuple[torch.Tensor, torch.Tensor]]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean cross-entropy (nats) of next-token logits (B, T, V) against targets (B, T)."""
    if targets is None:
        return None
    B, T, V = logits.shape
    # (B, T, V) -> (B*T, V): every position is one classification over the vocabulary
    return F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T))


@dataclass
class GPTConfig:
    """The shape of a GPT: vocabulary, context length, depth, heads, width, dropout, biases,
    and chapter 8's block options (the defaults are GPT-2's block; Llama sets all five)."""

    vocab_size: int = 65
    max_len: int = 256      # the longest context; position embeddings exist only up to here
    num_layers: int = 6
    num_heads: int = 6
    embed_dim: int = 384
    dropout: float = 0.0
    bias: bool = False      # biases in Linear and LayerNorm layers: slightly slower, no better
    positions: str = "learned"          # "learned" table, or "rope" (rotary, no parameters)
    norm: str = "layernorm"             # or "rmsnorm"
    mlp: str = "gelu"                   # or "swiglu" (three matrices: pass mlp_hidden ~ 8E/3)
    mlp_hidden: int | None = None       # F, the MLP's width: 4 E when None
    num_kv_heads: int | None = None     # < num_heads: grouped-query attention; None: num_heads
    rope_base: float = 10000.0          # RoPE's slowest pair turns once per 2 pi base positions


class GPT(nn.Module):
    """Decoder-only Transformer: token + learned position embeddings, `num_layers` causal
    `Block`s, a final LayerNorm and a linear head that shares its weight with the token
    embedding. With positions="rope" there is no position table (`pos_emb` is None): the
    blocks' attention turns q and k by their positions instead."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.positions not in ("learned", "rope"):
            raise ValueError(f"unknown positions {cfg.positions!r}: use 'learned' or 'rope'")
        self.config = cfg
        E = cfg.embed_dim
        self.tok_emb = nn.Embedding(cfg.vocab_size, E)
        self.pos_emb = nn.Embedding(cfg.max_len, E) if cfg.positions == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(
            Block(E, cfg.num_heads, cfg.mlp_hidden, causal=True, dropout=cfg.dropout,
                  bias=cfg.bias, norm=cfg.norm, mlp=cfg.mlp, num_kv_heads=cfg.num_kv_heads,
                  rope=cfg.positions == "rope", rope_base=cfg.rope_base)
            for _ in range(cfg.num_layers))
        self.ln_f = make_norm(cfg.norm, E, cfg.bias)
        self.head = nn.Linear(E, cfg.vocab_size, bias=False)
        # Weight tying: reading token i and predicting token i use one vector, which saves
        # V x E parameters and helps a small model (Press & Wolf, 2017).
        self.head.weight = self.tok_emb.weight
        self._init_weights()

    def _init_weights(self) -> None:
        """Normal(0, 0.02) weights, zero biases (GPT-2); the two Linear layers that write into
        the residual stream get std 0.02 / sqrt(2 num_layers), so that the sum of 2 num_layers
        such contributions keeps the stream's scale at initialisation."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        for block in self.blocks:
            mlp_out = block.mlp.down if isinstance(block.mlp, SwiGLU) else block.mlp[2]
            for proj in (block.attn.out_proj, mlp_out):
                nn.init.normal_(proj.weight, mean=0.0, std=0.02 / math.sqrt(2 * len(self.blocks)))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> (logits (B, T, V), mean cross-entropy against targets (B, T) or None)."""
        T = idx.shape[1]
        if T > self.config.max_len:
            raise ValueError(f"sequence length {T} is longer than max_len = "
                             f"{self.config.max_len}: crop the context, idx[:, -max_len:]")
        x = self.tok_emb(idx)                                    # (B, T, E)
        if self.pos_emb is not None:  # learned positions (RoPE: attention turns q and k)
            x = x + self.pos_emb(torch.arange(T, device=idx.device))  # (B, T, E) + (T, E)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.ln_f(x))                         # (B, T, V)
        return logits, lm_loss(logits, targets)

    @staticmethod
    def cache_len(cache: KVCache | None) -> int:
        """How many positions a KV cache holds (0 for None, before the prompt)."""
        return 0 if cache is None else cache[0][0].shape[2]

    def forward_step(self, idx: torch.Tensor, cache: KVCache | None = None
                     ) -> tuple[torch.Tensor, KVCache]:
        """`forward` with a KV cache: logits for the new tokens only, and the extended cache.

        With cache=None, idx (B, T) is a prompt, read at positions 0..T-1 exactly as `forward`
        reads it (same logits, bit for bit); then each call gives ONE new token idx (B, 1) and
        the cache of the t positions before it, and reads it at position t. A causal layer's
        keys and values of earlier positions never change (they cannot see later ones), so
        keeping them per layer makes a step cost one position instead of the whole prefix.
        Returns (logits (B, T or 1, V), cache with the new positions' keys and values).

        Positions are learned (or, with RoPE, trained) up to max_len only, and the cache
        cannot slide: past max_len it raises ValueError (`generate` crops the context instead,
        recomputing everything).
        For generation only: no dropout, no loss; call model.eval() first.
        """
        if self.training and self.config.dropout > 0:
            raise RuntimeError("forward_step has no dropout (it is for generation): call "
                               "model.eval() first")
        if idx.dim() != 2 or (cache is not None and idx.shape[1] != 1):
            raise ValueError(f"idx must be a prompt (B, T) without a cache, or one new token "
                             f"(B, 1) with one; got {tuple(idx.shape)} and "
                             f"{'a' if cache is not None else 'no'} cache")
        t, T = self.cache_len(cache), idx.shape[1]
        if t + T > self.config.max_len:
            raise ValueError(f"position {t + T - 1} is past max_len = {self.config.max_len}: "
                             "the model has no position embedding there and the cache cannot "
                             "slide; start again from the last tokens, or use generate(), which "
                             "crops the context")
        x = self.tok_emb(idx)                                    # (B, T, E)
        if self.pos_emb is not None:  # the new positions t..t+T-1 (RoPE: step knows t)
            x = x + self.pos_emb(torch.arange(t, t + T, device=idx.device))
        new_cache: KVCache = []
        for i, block in enumerate(self.blocks):
            # Block.forward, with the attention's keys and values kept (read or extended)
            h = block.ln1(x)
            a, kv = block.attn.prefill(h) if cache is None else block.attn.step(h, cache[i])
            x = block._feed_forward(x + a)
            new_cache.append(kv)
        return self.head(self.ln_f(x)), new_cache                # (B, T, V)

    def num_params(self) -> int:
        """Number of trainable parameters (the tied embedding/head weight counted once)."""
        return sum(p.numel() for p in self.parameters())

    def flops_per_token(self) -> int:
        """Training FLOPs per token, forward and backward: 6 N + 12 L E T.

        A weight does one multiply-add (2 FLOPs) per token in the forward pass and twice that
        in the backward pass (gradient of the input and of the weight): 6 N. N leaves out the
        position embeddings, a lookup with no multiply; the tied head IS a matmul and counts.
        Attention adds q·k and weights·v, 2 T E multiply-adds per token and layer forward:
        3 x 4 T E = 12 T E (the causal half that the kernel skips is counted, as in the PaLM
        paper's appendix B, which is the usual convention for MFU). Grouped-query attention
        changes N only: the scores are still computed for all nh query heads.
        """
        c = self.config
        n = self.num_params() - (0 if self.pos_emb is None else self.pos_emb.weight.numel())
        return 6 * n + 12 * c.num_layers * c.embed_dim * c.max_len


@dataclass
class CharLSTMConfig:
    """The shape of a CharLSTM; max_len is the length of its training windows (an LSTM itself
    has no longest input)."""

    vocab_size: int = 65
    max_len: int = 128
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.0


class CharLSTM(nn.Module):
    """Embedding -> LSTM (batch first) -> linear head: the recurrent language model."""

    def __init__(self, cfg: CharLSTMConfig) -> None:
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
        # PyTorch applies this dropout between stacked layers only, so it needs 2+ layers
        self.lstm = nn.LSTM(cfg.embed_dim, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.head = nn.Linear(cfg.hidden_size, cfg.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> (logits (B, T, V), mean cross-entropy against targets (B, T) or None)."""
        h, _ = self.lstm(self.embed(idx))  # (B, T, H): the state after reading each token
        logits = self.head(h)              # (B, T, V)
        return logits, lm_loss(logits, targets)

    def num_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())


# name -> (model class, config class): what a checkpoint's "model_class" may say
MODELS = {"GPT": (GPT, GPTConfig), "CharLSTM": (CharLSTM, CharLSTMConfig)}
