"""The inside of an LSTM over one sequence, drawn in the browser (anywidget): `LSTMGateView`.

Python checks the gates and stores them, rounded to 4 decimals, in the widget's state; the
JavaScript beside this file (lstm_gates.js) draws six heat maps with a time cursor and answers
clicks with no kernel, so the view also works on the static website.
"""

from __future__ import annotations

import operator

import anywidget
import traitlets

from book.widgets._base import (
    MAX_VALUES,
    _js_module,
    _matrix,
    _rounded,
    _stylesheet,
    _title,
    _token_list,
)

# The range of each quantity, and why: sigmoid gates in [0, 1], tanh outputs in [-1, 1].
_RANGES = {
    "i": (0, 1, "a sigmoid gate: pass the gate after the sigmoid, not its pre-activation"),
    "f": (0, 1, "a sigmoid gate: pass the gate after the sigmoid, not its pre-activation"),
    "g": (-1, 1, "tanh"),
    "o": (0, 1, "a sigmoid gate: pass the gate after the sigmoid, not its pre-activation"),
    "c": (None, None, ""),  # the cell state is unbounded
    "h": (-1, 1, "tanh, and o * tanh(c)"),
}


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

    _esm = _js_module("lstm_gates.js")
    _css = _stylesheet("lstm_gates.css")
    QUANTITIES = tuple(_RANGES)
    DEFAULT_MAX_UNITS = 16

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    units = traitlets.List(traitlets.Int()).tag(sync=True)
    # gates[q][t][k]: quantity q at time step t for the k-th shown unit (units[k])
    gates = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)  # the time cursor

    def __init__(self, tokens, gates, units=None, title=None) -> None:
        tokens = _token_list(tokens, "tokens")
        keys = list(self.QUANTITIES)
        if not hasattr(gates, "keys"):
            raise ValueError(f"gates must be a dict with the keys {keys}, "
                             f"got {type(gates).__name__}")
        missing = [q for q in keys if q not in gates]
        unknown = sorted(str(k) for k in gates.keys() if k not in keys)
        if missing or unknown:
            raise ValueError(f"gates must have exactly the keys {keys}: missing {missing}, "
                             f"unknown {unknown}")
        arrays = {}
        for q, (lo, hi, note) in _RANGES.items():
            arrays[q] = _matrix(f'gates["{q}"]', gates[q], ("T", "H"), lo=lo, hi=hi, note=note,
                                dims="(T, H) = (time steps, hidden units)")
            if arrays[q].shape != arrays["i"].shape:
                raise ValueError(f'every gate must have the same shape (T, H): gates["i"] has '
                                 f'{arrays["i"].shape}, gates["{q}"] has {arrays[q].shape}')
        n_steps, hidden = arrays["i"].shape
        if len(tokens) != n_steps:
            raise ValueError(f"got {len(tokens)} tokens for {n_steps} time steps: give one token "
                             f"per time step (row of each gate)")
        units = self._units(units, hidden)
        n_values = len(tokens) * len(units) * len(keys)
        if n_values > MAX_VALUES:
            raise ValueError(f"too much to show: T * units * 6 = {len(tokens)} * {len(units)} * 6 "
                             f"= {n_values} numbers, the limit is {MAX_VALUES}; show fewer units "
                             f"(units=[...]) or a shorter sequence (T <= 200 and <= 32 units "
                             f"read well)")
        super().__init__(tokens=tokens, units=units, title=_title(title), step=0,
                         gates={q: _rounded(arrays[q][:, units]) for q in keys})

    @classmethod
    def _units(cls, units, hidden: int) -> list[int]:
        """The unit indices to show: by default the first DEFAULT_MAX_UNITS."""
        if units is None:
            return list(range(min(hidden, cls.DEFAULT_MAX_UNITS)))
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
        return units

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        return f"LSTMGateView(T={len(self.tokens)} steps, {len(self.units)} units)"
