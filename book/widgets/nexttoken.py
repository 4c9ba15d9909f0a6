"""`NextTokenView`: a language model's next-token distribution, reshaped in the browser (anywidget).

Python stores the model's logits for the next token after one or a few prompts; nexttoken.js
applies the sampling rules of `book.textgen.sample_next` — temperature, then top-k, then top-p
— computes the softmax, and redraws the bars as the reader moves the controls. No kernel is
needed, so the view also works on the static website. Each bar shows the probability after the
temperature (light) and what is left to sample from after the filters (dark); tokens the
filters cut are marked, and a summary says how much probability they held.
"""

from __future__ import annotations

import math

import anywidget
import numpy as np
import traitlets

from book.widgets._base import _js_module, _stylesheet, _title, _to_array

MAX_VOCAB = 4096  # logits per prompt: more makes the page heavy (store a top slice instead)
MAX_PROMPTS = 12
# Characters that would be invisible or ambiguous as a bar's label.
_VISIBLE = {"\n": "↵", " ": "␣", "\t": "⇥", "": "∅"}


def visible_token(token: str) -> str:
    """A label that shows white space: '\\n' -> '↵', ' ' -> '␣' (also inside longer tokens)."""
    if token in _VISIBLE:
        return _VISIBLE[token]
    return token.replace("\n", "↵").replace(" ", "␣").replace("\t", "⇥")


class NextTokenView(anywidget.AnyWidget):
    """Bars of P(next token | prompt) under temperature, top-k and top-p, computed in JavaScript."""

    _esm = _js_module("nexttoken.js")
    _css = _stylesheet("nexttoken.css")
    prompts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    logits = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    prompt = traitlets.Int(0).tag(sync=True)          # index of the prompt shown
    temperature = traitlets.Float(1.0).tag(sync=True)
    top_k = traitlets.Int(0).tag(sync=True)           # 0: no top-k filter
    top_p = traitlets.Float(1.0).tag(sync=True)       # 1: no top-p filter
    show = traitlets.Int(20).tag(sync=True)           # bars drawn (the most probable tokens)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, prompts, tokens, logits, *, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, show: int = 20, title: str | None = None) -> None:
        """prompts (P strings), tokens (V strings, the vocabulary), logits (P, V) or (V,)."""
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = [str(p) for p in prompts]
        if isinstance(tokens, str):
            raise ValueError("tokens must be a list of strings, one per vocabulary entry "
                             "(for a character tokenizer: tok.itos), not one string")
        tokens = [str(t) for t in tokens]
        arr = _to_array(logits, "logits")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"logits must be (V,) for one prompt or (P, V) for P prompts, "
                             f"got shape {arr.shape}")
        P, V = arr.shape
        if P != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts for {P} rows of logits: give one row "
                             f"of logits per prompt")
        if V != len(tokens):
            raise ValueError(f"got {len(tokens)} tokens for {V} logits per prompt: give the "
                             f"whole vocabulary, in the order of the model's output")
        if V < 2:
            raise ValueError("a distribution needs at least 2 tokens")
        if P < 1 or P > MAX_PROMPTS:
            raise ValueError(f"give between 1 and {MAX_PROMPTS} prompts, got {P}")
        if V > MAX_VOCAB:
            raise ValueError(f"{V} logits per prompt is more than this view stores ({MAX_VOCAB})")
        if not (isinstance(temperature, (int, float)) and temperature > 0
                and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
        if not 0 <= int(top_k) <= V:
            raise ValueError(f"top_k must be between 0 (off) and V = {V}, got {top_k}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] (1: off), got {top_p}")
        if show < 1:
            raise ValueError(f"show must be at least 1, got {show}")
        # logits only matter up to a constant: subtract each row's max, keep 4 decimals
        rows = np.round(arr - arr.max(axis=1, keepdims=True), 4) + 0.0
        super().__init__(prompts=prompts, tokens=[visible_token(t) for t in tokens],
                         logits=rows.tolist(), temperature=float(temperature), top_k=int(top_k),
                         top_p=float(top_p), show=int(min(show, V)), title=_title(title))

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        return (f"NextTokenView({len(self.prompts)} prompt{'s' * (len(self.prompts) != 1)}, "
                f"{len(self.tokens)} tokens, T={self.temperature:g}, top_k={self.top_k}, "
                f"top_p={self.top_p:g})")
