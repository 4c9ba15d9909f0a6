"""Attention weights, drawn in the browser (anywidget): `AttentionView`.

The weights of a transformer, layer by layer and head by head, as a query × key heat map; click a
query to read its row as bars and as shaded text. Layers marked `signed` hold other query × key
matrices, such as the gradient dL/dS of the scores, and are drawn on a scale that diverges from 0.
Python checks the data and stores it, rounded to 4 decimals (signed layers: to 4 significant
digits), in the widget's state; the JavaScript beside this file (attention.js) draws it and
answers clicks with no kernel, so the view also works on the static website.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from book.widgets._base import (
    DECIMALS,
    MAX_VALUES,
    _js_module,
    _labels,
    _rounded,
    _significant_decimals,
    _stylesheet,
    _title,
    _to_array,
    _token_list,
)

# Attention weights must be >= 0 and each row sum to 1 within this (they come out of a softmax).
ROW_SUM_TOL = 1e-2
_SIGNED_HINT = ("; for signed values such as a gradient, pass signed=True (or signed=[...], one "
                "bool per layer)")


class AttentionView(anywidget.AnyWidget):
    """Attention weights as a query × key heat map, with buttons for the layer and the head (and
    the average of the heads). Hover a cell to read its weight; click a query (a row label or any
    cell of the row) to see that row as bars and as the key tokens shaded by their weight. The
    colours run from white (0) to dark blue at the largest weight of the head shown (rounded up
    to 2 significant digits and printed on the legend), so that a head that spreads its weight
    thinly is not drawn almost blank.

    tokens: the S key tokens (columns).
    weights: attention weights of shape (L, nh, T, S) = (layers, heads, queries, keys), or
        (nh, T, S) for one layer, or (T, S) for one head; lists, NumPy arrays or torch tensors.
        Each row (one query) must be non-negative and sum to 1 (within 0.01), except in the
        signed layers.
    query_tokens: the T query tokens (rows); by default the key tokens (self-attention).
    layer_names: one name per layer, shown on the layer buttons (default "layer 0", ...).
    title: a heading shown above the view.
    signed: True for layers that hold signed values rather than attention weights, such as the
        gradient dL/dS of the scores: any finite numbers, drawn blue (< 0), white (0) and red
        (> 0) on a scale symmetric about 0 up to the largest |value| shown. One bool for every
        layer, or a list of one bool per layer (e.g. [False, True] to show the weights P as
        layer 0 and their gradient dS as layer 1). Default: no layer is signed.

    At most 200,000 weights (L * nh * T * S) are stored; T, S <= 64 read well in a 700 px column.
    Attention weights are rounded to 4 decimals, signed layers to 4 significant digits of their
    largest |value|. The synced `head` is -1 for the average of the heads; `query` is the
    selected row.
    """

    _esm = _js_module("attention.js")
    _css = _stylesheet("attention.css")

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    query_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    weights = traitlets.List().tag(sync=True)  # weights[layer][head][query][key]
    layer_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    signed = traitlets.List(traitlets.Bool()).tag(sync=True)  # one per layer
    title = traitlets.Unicode("").tag(sync=True)
    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(0).tag(sync=True)  # -1: the average of the heads
    query = traitlets.Int(0).tag(sync=True)  # the selected query row

    def __init__(self, tokens, weights, query_tokens=None, layer_names=None, title=None,
                 signed=None) -> None:
        tokens = _token_list(tokens, "tokens")
        w = self._four_axes(_to_array(weights, "weights"))
        n_layers, n_heads, n_q, n_k = w.shape
        if len(tokens) != n_k:
            raise ValueError(f"got {len(tokens)} tokens for {n_k} keys (the last axis of weights, "
                             f"shape {w.shape}): give one token per key")
        query_tokens = tokens if query_tokens is None else _token_list(query_tokens, "query_tokens")
        if len(query_tokens) != n_q:
            raise ValueError(f"got {len(query_tokens)} query tokens for {n_q} queries (axis -2 of "
                             f"weights, shape {w.shape}): give one per query"
                             + ("; with a different number of queries and keys, pass query_tokens"
                                if query_tokens is tokens else ""))
        signed = self._signed_per_layer(signed, n_layers)
        self._check_softmax_rows(w, [layer for layer in range(n_layers) if not signed[layer]])
        if w.size > MAX_VALUES:
            raise ValueError(f"too many weights: L * nh * T * S = {w.size}, the limit is "
                             f"{MAX_VALUES}; show fewer layers or heads, or a shorter text")
        layer_names = _labels(layer_names, n_layers, "layer names", "layer",
                              default=lambda i: f"layer {i}")
        stored = [_rounded(w[layer], _significant_decimals(w[layer], least=DECIMALS, most=12)
                           if signed[layer] else DECIMALS) for layer in range(n_layers)]
        super().__init__(tokens=tokens, query_tokens=query_tokens, weights=stored,
                         layer_names=layer_names, signed=signed, title=_title(title),
                         layer=0, head=0, query=n_q - 1)

    @staticmethod
    def _four_axes(w: np.ndarray) -> np.ndarray:
        """Weights of shape (T, S) or (nh, T, S) as (L, nh, T, S), checked not to be empty."""
        if not 2 <= w.ndim <= 4:
            raise ValueError("weights must have shape (L, nh, T, S) = (layers, heads, queries, "
                             f"keys), or (nh, T, S), or (T, S); got shape {w.shape}")
        w = w.reshape((1,) * (4 - w.ndim) + w.shape)
        if min(w.shape) < 1:
            raise ValueError(f"weights must not be empty, got shape {w.shape}")
        return w

    @staticmethod
    def _check_softmax_rows(w: np.ndarray, plain: list[int]) -> None:
        """The layers `plain` hold attention weights: every row >= 0 and summing to 1."""
        if not plain:
            return
        if w[plain].min() < 0:
            layer = plain[int(np.argmin(w[plain].min(axis=(1, 2, 3))))]
            raise ValueError(f"attention weights must be >= 0 (they come out of a softmax), got "
                             f"a minimum of {w[layer].min():.3g} in layer {layer}{_SIGNED_HINT}")
        sums = w[plain].sum(axis=-1)
        worst = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
        if abs(sums[worst] - 1) > ROW_SUM_TOL:
            raise ValueError("each row of attention weights must sum to 1 (a softmax over "
                             f"the keys); layer {plain[worst[0]]}, head {worst[1]}, query "
                             f"{worst[2]} sums to {sums[worst]:.4g}{_SIGNED_HINT}")

    @staticmethod
    def _signed_per_layer(signed, n_layers: int) -> list[bool]:
        """`signed` (None, one bool, or one bool per layer) as a list of n_layers bools."""
        if signed is None:
            return [False] * n_layers
        if isinstance(signed, (bool, np.bool_)):
            return [bool(signed)] * n_layers
        usage = f"signed must be True, False, or a list of one bool per layer ({n_layers} here)"
        if isinstance(signed, str) or not hasattr(signed, "__iter__"):
            raise ValueError(f"{usage}, got {signed!r}")
        signed = list(signed)
        if not all(isinstance(s, (bool, np.bool_)) for s in signed):
            raise ValueError(f"{usage}, got {signed!r}")
        if len(signed) != n_layers:
            raise ValueError(f"got {len(signed)} values in signed for {n_layers} "
                             f"layer{'s' * (n_layers != 1)}: {usage}")
        return [bool(s) for s in signed]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(L, nh, T, S) of the stored weights."""
        w = self.weights
        return len(w), len(w[0]), len(w[0][0]), len(w[0][0][0])

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        if not self.weights:  # not initialised (an error in __init__)
            return "AttentionView(no weights)"
        n_layers, n_heads, n_q, n_k = self.shape
        return (f"AttentionView({n_layers} layer{'s' * (n_layers != 1)} x {n_heads} "
                f"head{'s' * (n_heads != 1)}, {n_q} queries x {n_k} keys)")
