"""Attention as a soft dictionary lookup, computed in the browser (anywidget): `LookupView`.

The reader moves a query among keys in the plane (drag it, click, or use the sliders) and sets a
temperature; the JavaScript beside this file (lookup.js) recomputes every step with no kernel:
scores s_i = q·k_i / τ, weights w = softmax(s), output = Σ_i w_i v_i.
"""

from __future__ import annotations

import math

import anywidget
import numpy as np
import traitlets

from book.widgets._base import _js_module, _labels, _matrix, _stylesheet, _title, _to_array

MAX_KEYS = 12  # one table row per key: more do not read well


class LookupView(anywidget.AnyWidget):
    """A query, N keys in the plane and their values: the scores, the softmax weights and the
    output (the weighted sum of the values), shown step by step and recomputed as the reader
    drags the query or moves the sliders (q₁, q₂ and the temperature τ).

    keys: (N, 2) key vectors, 2 <= N <= 12.
    values: (N, d_v) value vectors (d_v <= 8), or (N,) numbers.
    labels: N names for the keys (default "k1", "k2", ...).
    query: the query at first, (2,).
    temperature: τ at first, > 0; the slider spans 0.05 to 20 (a Transformer uses √d).
    colours: True when the values are RGB colours in [0, 1] (d_v = 3): keys and the output are
        then painted in them, so the output's colour shows the blend.
    extent: the half-width r of the plane shown, [-r, r] in both directions (default: a little
        more than the largest |key coordinate|); the query sliders span the same range.
    title: a heading shown above the view.
    """

    _esm = _js_module("lookup.js")
    _css = _stylesheet("lookup.css")

    # (not `keys`: ipywidgets' Widget already has an attribute of that name)
    key_vectors = traitlets.List().tag(sync=True)  # [[k1, k2], ...]
    value_vectors = traitlets.List().tag(sync=True)  # [[v...], ...]
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    colours = traitlets.Bool(False).tag(sync=True)
    extent = traitlets.Float(3.0).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    query = traitlets.List(traitlets.Float()).tag(sync=True)  # [q1, q2]
    temperature = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, keys, values, labels=None, query=(1.0, 0.0), temperature: float = 1.0,
                 colours: bool = False, extent: float | None = None, title=None) -> None:
        K = _matrix("keys", keys, ("N", 2), dims="(N, 2): one 2-D key per row")
        N = K.shape[0]
        if not 2 <= N <= MAX_KEYS:
            raise ValueError(f"give between 2 and {MAX_KEYS} keys, got {N}")
        V = _to_array(values, "values")
        if V.ndim == 1:
            V = V[:, None]
        if V.ndim != 2 or V.shape[0] != N or not 1 <= V.shape[1] <= 8:
            raise ValueError(f"values must have shape (N, d_v) = ({N}, d_v) with d_v <= 8, or "
                             f"({N},): one value per key; got {V.shape}")
        if colours and (V.shape[1] != 3 or V.min() < 0 or V.max() > 1):
            raise ValueError("colours=True needs RGB values: shape (N, 3), each in [0, 1]")
        labels = _labels(labels, N, "labels", "key", default=lambda i: f"k{i + 1}")
        q = _to_array(query, "query").ravel()
        if q.shape != (2,):
            raise ValueError(f"query must be 2 numbers (q1, q2), got shape {q.shape}")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature)
                and temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        if extent is None:
            extent = math.ceil(1.25 * max(float(np.abs(K).max()), float(np.abs(q).max()), 1.0))
        if not extent > 0 or np.abs(K).max() > extent or np.abs(q).max() > extent:
            raise ValueError(f"extent must be > 0 and contain every key and the query (largest "
                             f"|coordinate| {max(np.abs(K).max(), np.abs(q).max()):g}), "
                             f"got {extent!r}")
        super().__init__(key_vectors=np.round(K, 4).tolist(), value_vectors=np.round(V, 4).tolist(),
                         labels=labels, colours=bool(colours), extent=float(extent),
                         title=_title(title),
                         query=[round(float(v), 4) for v in q], temperature=float(temperature))

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        q1, q2 = self.query
        return (f"LookupView({len(self.key_vectors)} keys, query=({q1:g}, {q2:g}), "
                f"temperature={self.temperature:g})")
