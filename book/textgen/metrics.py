"""The numbers to judge a language model by: perplexity and bits per character."""

from __future__ import annotations

import math

__all__ = ["bits_per_char", "perplexity"]


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
