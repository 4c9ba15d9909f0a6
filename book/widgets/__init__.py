"""Views that compute in the browser (anywidget), so they work on the static website too.

Python computes the data and stores it in the widget's state; the JavaScript beside this file
draws it and answers the reader's clicks with no kernel behind the page.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import numpy as np
import traitlets

_HERE = Path(__file__).parent


def _asset(name: str) -> str:
    """The text of a JavaScript or CSS file shipped beside this module."""
    return (_HERE / name).read_text(encoding="utf-8")


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
