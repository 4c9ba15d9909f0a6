"""Sampling: from the logits of the last position (B, V) to the next token (B, 1), and
`generate`, which extends a prompt one token at a time.

The filters (`apply_temperature`, `top_k_filter`, `top_p_filter`) each return new logits;
`sample_next` applies them in that order and draws from the softmax. `generate_cached` is
`generate` with a KV cache (`GPT.forward_step`), chapter 8's speed-up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["apply_temperature", "generate", "generate_cached", "greedy", "sample_next",
           "top_k_filter", "top_p_filter"]


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

    The model sees at most its last max_len tokens (a GPT has no position beyond that).
    greedy=True takes the argmax at each step (the `greedy` function); otherwise sample_next.
    """
    if idx.dim() != 2 or idx.dtype != torch.long:
        raise ValueError(f"idx must be a LongTensor (B, T) of token ids; got {idx.dtype} "
                         f"{tuple(idx.shape)} (wrap a prompt as torch.tensor([tok.encode(s)]))")
    V, T = model.config.vocab_size, model.config.max_len
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


def _check_prompt(model: nn.Module, idx: torch.Tensor) -> None:
    """ValueError unless idx is a LongTensor (B, T) of ids in the model's vocabulary."""
    if idx.dim() != 2 or idx.dtype != torch.long:
        raise ValueError(f"idx must be a LongTensor (B, T) of token ids; got {idx.dtype} "
                         f"{tuple(idx.shape)} (wrap a prompt as torch.tensor([tok.encode(s)]))")
    V = model.config.vocab_size
    if idx.numel() and (idx.min() < 0 or idx.max() >= V):
        raise ValueError(f"idx holds ids outside 0..{V - 1}: encode the prompt with the "
                         "tokenizer the model was trained with")


@torch.no_grad()
def generate_cached(model: nn.Module, idx: torch.Tensor, max_new_tokens: int,
                    temperature: float = 1.0, top_k: int | None = None,
                    top_p: float | None = None, greedy: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """`generate` with a KV cache (chapter 8): the same tokens, each step reading one token.

    The prompt idx (B, T) is read once (`model.forward_step(idx)`), then each new token alone,
    with the keys and values of every earlier position kept per layer; `generate` instead feeds
    the whole context again at every step. The logits agree to float round-off, so greedy
    decoding gives the same tokens. The context cannot slide past max_len (learned positions):
    T + max_new_tokens − 1 ≤ max_len, else ValueError (`generate` crops instead).
    """
    _check_prompt(model, idx)
    if not hasattr(model, "forward_step"):
        raise TypeError(f"{type(model).__name__} has no forward_step (a KV cache): use generate")
    if idx.shape[1] < 1:
        raise ValueError("the prompt idx (B, T) needs at least one token (T >= 1)")
    L = model.config.max_len
    if idx.shape[1] + max_new_tokens - 1 > L:
        raise ValueError(f"a prompt of {idx.shape[1]} tokens plus {max_new_tokens} new ones "
                         f"runs past max_len = {L} (the last new token is not read, so at most "
                         f"{L - idx.shape[1] + 1} here): ask for fewer, or use generate(), "
                         "which crops the context to the last max_len tokens")
    was_training = model.training
    model.eval()
    new, cache = idx, None
    for _ in range(max_new_tokens):
        logits, cache = model.forward_step(new, cache)  # (B, T or 1, V)
        logits = logits[:, -1, :].float()               # (B, V): what comes next
        if greedy:
            new = logits.argmax(dim=-1, keepdim=True)   # (B, 1), as in generate
        else:
            new = sample_next(logits, temperature, top_k, top_p, generator)
        idx = torch.cat([idx, new], dim=1)              # (B, len + 1)
    model.train(was_training)
    return idx
