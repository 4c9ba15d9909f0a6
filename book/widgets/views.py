"""Views of what happens inside a network, drawn in the browser (anywidget).

* `SoftmaxView`: softmax(logits / T) as bars; a slider and buttons change the temperature T.

* `LSTMGateView`: the gates, the cell state and the hidden state of an LSTM over one sequence,
  as six heat maps with a time cursor.
* `AttentionView`: the attention weights of a transformer, layer by layer and head by head, as
  a query × key heat map; click a query to read its row as bars and as shaded text. Layers
  marked `signed` hold other query × key matrices, such as the gradient dL/dS of the scores,
  and are drawn on a scale that diverges from 0.

Python checks the data and stores it, rounded to 4 decimals (signed attention layers: to 4
significant digits), in the widget's state; the JavaScript beside this file (lstm_gates.js,
attention.js) draws it and answers clicks with no kernel, so the views also work on the static
website.
"""

from __future__ import annotations

import operator
from pathlib import Path

import anywidget
import numpy as np
import traitlets

_HERE = Path(__file__).parent


def _asset(name: str) -> str:
    """The text of a JavaScript or CSS file shipped beside this module."""
    return (_HERE / name).read_text(encoding="utf-8")


MAX_VALUES = 200_000  # numbers stored in one widget's state: more makes pages slow and heavy
DECIMALS = 4


def _to_array(x, what: str) -> np.ndarray:
    """A float NumPy array from a list, a NumPy array or a torch tensor (on any device)."""
    if hasattr(x, "detach"):  # a torch tensor: leave the autograd graph and the GPU
        x = x.detach().cpu()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be an array of numbers ({err})") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite numbers (no NaN or inf)")
    return arr


def _rounded(arr: np.ndarray, decimals: int = DECIMALS) -> list:
    """Nested lists of floats rounded to `decimals` places (+ 0.0 turns -0.0 into 0.0)."""
    return (np.round(arr, decimals) + 0.0).tolist()


def _signed_decimals(arr: np.ndarray) -> int:
    """Decimals that keep DECIMALS significant digits of the largest |value| of `arr`, and at
    least DECIMALS: small values (gradients of 1e-4, say) must not round to 0."""
    largest = float(np.abs(arr).max()) if arr.size else 0.0
    if largest == 0:
        return DECIMALS
    return int(np.clip(DECIMALS - 1 - np.floor(np.log10(largest)), DECIMALS, 12))


def _token_list(tokens, what: str) -> list[str]:
    if isinstance(tokens, str):
        raise ValueError(f"{what} must be a list of strings, one per position, not one string "
                         f"(use list(text) for characters)")
    return [str(t) for t in tokens]


class LSTMGateView(anywidget.AnyWidget):
    """The inside of an LSTM over one sequence: six heat maps (rows = hidden units, columns = time
    steps) for the input gate i, the forget gate f, the candidate g, the output gate o, the cell
    state c and the hidden state h, with a time cursor (slider, step buttons, play) and a readout
    of every shown unit at the current step.

    tokens: the T inputs (characters or tokens) that label the time steps.
    gates: a dict with the keys "i", "f", "g", "o", "c", "h"; each value has shape (T, H) for one
        sequence (lists, NumPy arrays or torch tensors). i, f, o must lie in [0, 1] (sigmoids),
        g and h in [-1, 1] (tanh, and o * tanh(c)); c is unbounded.
    units: the hidden units to show (indices into H). By default the first 16 units: a heat map
        with more rows gets too thin to read, and the state sent to the page grows with every
        unit; pass `units=range(H)` to see them all.
    title: a heading shown above the view.

    Keep T <= 200 and at most 32 units for a view that reads well; more than 200,000 stored
    numbers (T * units * 6) is refused.
    """

    _esm = _asset("lstm_gates.js")
    _css = _asset("lstm_gates.css")
    QUANTITIES = ("i", "f", "g", "o", "c", "h")
    DEFAULT_MAX_UNITS = 16

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    units = traitlets.List(traitlets.Int()).tag(sync=True)
    # gates[q][t][k]: quantity q at time step t for the k-th shown unit (units[k])
    gates = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)  # the time cursor

    def __init__(self, tokens, gates, units=None, title=None) -> None:
        tokens = _token_list(tokens, "tokens")
        if not hasattr(gates, "keys"):
            raise ValueError(f'gates must be a dict with the keys {list(self.QUANTITIES)}, '
                             f'got {type(gates).__name__}')
        missing = [q for q in self.QUANTITIES if q not in gates]
        unknown = sorted(str(k) for k in gates.keys() if k not in self.QUANTITIES)
        if missing or unknown:
            raise ValueError(f"gates must have exactly the keys {list(self.QUANTITIES)}: "
                             f"missing {missing}, unknown {unknown}")
        arrays = {q: _to_array(gates[q], f'gates["{q}"]') for q in self.QUANTITIES}
        shape = arrays["i"].shape
        for q, arr in arrays.items():
            if arr.ndim != 2:
                hint = " (one sequence: drop the batch axis, e.g. gates[q][0])" * (arr.ndim == 3)
                raise ValueError(f'gates["{q}"] must have shape (T, H) = (time steps, hidden '
                                 f"units), got shape {arr.shape}{hint}")
            if arr.shape != shape:
                raise ValueError(f'every gate must have the same shape (T, H): gates["i"] has '
                                 f'{shape}, gates["{q}"] has {arr.shape}')
        n_steps, hidden = shape
        if n_steps < 1 or hidden < 1:
            raise ValueError(f"gates need at least one time step and one unit, got shape {shape}")
        if len(tokens) != n_steps:
            raise ValueError(f"got {len(tokens)} tokens for {n_steps} time steps: "
                             f"give one token per time step (row of each gate)")
        tol = 1e-6
        for q in ("i", "f", "o"):
            if arrays[q].min() < -tol or arrays[q].max() > 1 + tol:
                raise ValueError(f'gates["{q}"] is a sigmoid gate and must lie in [0, 1], got '
                                 f"values in [{arrays[q].min():.3g}, {arrays[q].max():.3g}] "
                                 f"(pass the gate after the sigmoid, not its pre-activation)")
        for q in ("g", "h"):
            if np.abs(arrays[q]).max() > 1 + tol:
                raise ValueError(f'gates["{q}"] must lie in [-1, 1] (tanh), got values in '
                                 f"[{arrays[q].min():.3g}, {arrays[q].max():.3g}]")
        if units is None:
            units = list(range(min(hidden, self.DEFAULT_MAX_UNITS)))
        else:
            try:
                units = [operator.index(u) for u in units]
            except TypeError:
                msg = f"units must be a list of integer unit indices, got {units!r}"
                raise ValueError(msg) from None
        if not units:
            raise ValueError("units must name at least one hidden unit")
        bad = [u for u in units if not 0 <= u < hidden]
        if bad:
            raise ValueError(f"units must be indices in 0..{hidden - 1} (H = {hidden}), got {bad}")
        if len(set(units)) != len(units):
            raise ValueError(f"units must not repeat, got {units}")
        n_values = n_steps * len(units) * len(self.QUANTITIES)
        if n_values > MAX_VALUES:
            raise ValueError(f"too much to show: T * units * 6 = {n_steps} * {len(units)} * 6 = "
                             f"{n_values} numbers, the limit is {MAX_VALUES}; show fewer units "
                             f"(units=[...]) or a shorter sequence (T <= 200 and <= 32 units "
                             f"read well)")
        state = {q: _rounded(arrays[q][:, units]) for q in self.QUANTITIES}
        super().__init__(tokens=tokens, units=units, gates=state,
                         title="" if title is None else str(title), step=0)

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        return f"LSTMGateView(T={len(self.tokens)} steps, {len(self.units)} units)"


class AttentionView(anywidget.AnyWidget):
    """Attention weights as a query × key heat map, with buttons for the layer and the head (and
    the average of the heads). Hover a cell to read its weight; click a query (a row label or any
    cell of the row) to see that row as bars and as the key tokens shaded by their weight.

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

    _esm = _asset("attention.js")
    _css = _asset("attention.css")

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
        w = _to_array(weights, "weights")
        if w.ndim == 2:
            w = w[None, None]
        elif w.ndim == 3:
            w = w[None]
        elif w.ndim != 4:
            raise ValueError("weights must have shape (L, nh, T, S) = (layers, heads, queries, "
                             f"keys), or (nh, T, S), or (T, S); got shape {w.shape}")
        n_layers, n_heads, n_q, n_k = w.shape
        if min(w.shape) < 1:
            raise ValueError(f"weights must not be empty, got shape {w.shape}")
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
        # Attention weights (the layers that are not signed) come out of a softmax.
        plain = [layer for layer in range(n_layers) if not signed[layer]]
        hint = ("; for signed values such as a gradient, pass signed=True (or signed=[...], one "
                "bool per layer)")
        if plain and w[plain].min() < 0:
            layer = plain[int(np.argmin(w[plain].min(axis=(1, 2, 3))))]
            raise ValueError(f"attention weights must be >= 0 (they come out of a softmax), "
                             f"got a minimum of {w[layer].min():.3g} in layer {layer}{hint}")
        if plain:
            sums = w[plain].sum(axis=-1)
            worst = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
            if abs(sums[worst] - 1) > 1e-2:
                raise ValueError("each row of attention weights must sum to 1 (a softmax over "
                                 f"the keys); layer {plain[worst[0]]}, head {worst[1]}, query "
                                 f"{worst[2]} sums to {sums[worst]:.4g}{hint}")
        if w.size > MAX_VALUES:
            raise ValueError(f"too many weights: L * nh * T * S = {w.size}, the limit is "
                             f"{MAX_VALUES}; show fewer layers or heads, or a shorter text")
        if layer_names is None:
            layer_names = [f"layer {i}" for i in range(n_layers)]
        else:
            layer_names = _token_list(layer_names, "layer_names")
            if len(layer_names) != n_layers:
                raise ValueError(f"got {len(layer_names)} layer names for {n_layers} layers")
        stored = [_rounded(w[layer], _signed_decimals(w[layer]) if signed[layer] else DECIMALS)
                  for layer in range(n_layers)]
        super().__init__(tokens=tokens, query_tokens=query_tokens, weights=stored,
                         layer_names=layer_names, signed=signed,
                         title="" if title is None else str(title), layer=0, head=0, query=n_q - 1)

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


class SoftmaxView(anywidget.AnyWidget):
    """Bars of softmax(logits / T); a slider and preset buttons change the temperature T."""

    _esm = _asset("softmax.js")
    _css = _asset("softmax.css")
    logits = traitlets.List(traitlets.Float()).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    temperature = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, logits, labels=None, temperature: float = 1.0) -> None:
        logits = np.asarray(logits, dtype=float)
        if logits.ndim != 1 or logits.size < 2:
            raise ValueError(f"logits must be a 1-D list of at least 2 numbers, got shape {logits.shape}")
        if not np.all(np.isfinite(logits)):
            raise ValueError("logits must be finite numbers (no NaN or inf)")
        labels = [str(i) for i in range(logits.size)] if labels is None else [str(s) for s in labels]
        if len(labels) != logits.size:
            raise ValueError(f"got {len(labels)} labels for {logits.size} logits: give one label per logit")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(logits=logits.tolist(), labels=labels, temperature=float(temperature))

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        return f"SoftmaxView({len(self.logits)} logits, T={self.temperature:g})"
