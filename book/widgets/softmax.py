"""Softmax with a temperature, computed in the browser (anywidget): `SoftmaxView`.

Python checks the logits and stores them; the JavaScript beside this file (softmax.js) computes
softmax(logits / T) and redraws the bars as the reader moves the slider, with no kernel.
"""

from __future__ import annotations

import anywidget
import traitlets

from book.widgets._base import _js_module, _labels, _matrix, _stylesheet


class SoftmaxView(anywidget.AnyWidget):
    """Bars of softmax(logits / T); a slider and preset buttons change the temperature T."""

    _esm = _js_module("softmax.js")
    _css = _stylesheet("softmax.css")
    logits = traitlets.List(traitlets.Float()).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    temperature = traitlets.Float(1.0).tag(sync=True)

    def __init__(self, logits, labels=None, temperature: float = 1.0) -> None:
        logits = _matrix("logits", logits, ("V",), dims="(V,): a 1-D list of numbers")
        if logits.size < 2:
            raise ValueError(f"logits must hold at least 2 numbers, got {logits.size}")
        labels = _labels(labels, logits.size, "labels", "logit", default=str)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(logits=logits.tolist(), labels=labels, temperature=float(temperature))

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        return f"SoftmaxView({len(self.logits)} logits, T={self.temperature:g})"
