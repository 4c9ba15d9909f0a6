"""RNN (tanh) and LSTM layers in NumPy, forward and backpropagation through time (chapter 3).

Each layer mirrors its one-layer PyTorch module (`torch.nn.RNN` / `torch.nn.LSTM`, sequence first,
with biases): same parameter names and layouts, same outputs, same gradients, so everything can be
checked against `torch.autograd` (`from_torch`). `forward` keeps what `backward` needs; `backward`
returns dx and fills `.grads` (keyed like the parameters) and `.dh0` (and `.dc0` for the LSTM).
A layer that reads data, not another layer's output, needs no dx: made with
`needs_input_grad=False` (or with that attribute set), its backward skips dx, one of its three
large matrix products, and returns None, as torch skips the gradient of an input that does not
require one. Everything else it computes is the same, bit for bit.

Shapes: T time steps, B batch, I input features, H hidden units. Inputs and outputs use torch's
layout (T, B, I) -> (T, B, H) and states (1, B, H). Inside the time loop every vector is a
column, as in the equations: h_t is (H, B), one column per sequence, and a step computes
W_hh @ h_{t-1}. BLAS is also faster that way round (big matrix on the left): 1.1-2x here.

Compute happens in the parameters' dtype: float64 for gradient checks, float32 for speed.
Speed matters (the chapter times the LSTM against PyTorch), so only what truly depends on the
previous step stays in the Python loop: the input projection of all steps is one big matrix
product before the loop, and the weight gradients and dx are big products after it.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from book.np_nn.functional import sigmoid

__all__ = ["LSTM", "RNN", "sigmoid"]  # sigmoid: re-exported from functional

Layer = TypeVar("Layer", bound="_Recurrent")


def _dsigmoid(s: np.ndarray, times: np.ndarray, out: np.ndarray) -> np.ndarray:
    """times ⊙ σ'(z) = times ⊙ s (1 - s) from s = σ(z), written into out (no temporaries)."""
    np.subtract(1, s, out=out)
    out *= s
    out *= times
    return out


def _dtanh(t: np.ndarray, times: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """times ⊙ tanh'(z) = times ⊙ (1 - t²) from t = tanh(z), written into out (no temporaries)."""
    np.square(t, out=out)
    np.subtract(1, out, out=out)
    if times is not None:
        out *= times
    return out


class _Recurrent:
    """What RNN and LSTM share: parameters, torch import, input checks, weight gradients."""

    n_gates: int  # stacked blocks of H rows in the weights: 1 for the RNN, 4 (i, f, g, o) for LSTM
    torch_name: str  # the torch.nn module this class mirrors

    def __init__(
        self, input_size: int, hidden_size: int, *, dtype: Any = np.float64, seed: int = 0,
        needs_input_grad: bool = True,
    ) -> None:
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if not all(isinstance(n, (int, np.integer)) for n in (input_size, hidden_size)):
            raise TypeError(f"input_size and hidden_size must be whole numbers, got "
                            f"{input_size!r} and {hidden_size!r}")
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"sizes must be ≥ 1, got input_size={input_size}, {hidden_size=}")
        self.input_size, self.hidden_size, self.dtype = input_size, hidden_size, np.dtype(dtype)
        I, H, G = input_size, hidden_size, self.n_gates * hidden_size
        rng = np.random.default_rng(seed)
        k = 1 / np.sqrt(H)  # torch's init for every parameter: U(-1/√H, 1/√H)
        self.weight_ih_l0 = rng.uniform(-k, k, (G, I)).astype(self.dtype)  # (G, I)
        self.weight_hh_l0 = rng.uniform(-k, k, (G, H)).astype(self.dtype)  # (G, H)
        self.bias_ih_l0 = rng.uniform(-k, k, G).astype(self.dtype)  # (G,)
        self.bias_hh_l0 = rng.uniform(-k, k, G).astype(self.dtype)  # (G,)
        self.grads: dict[str, np.ndarray] = {}
        self._cache: tuple | None = None
        self.needs_input_grad = needs_input_grad  # False: backward skips dx and returns None

    def parameters(self) -> dict[str, np.ndarray]:
        """The parameter arrays themselves (not copies), under torch's names."""
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_torch(cls: type[Layer], m: Any) -> Layer:
        """A layer holding NumPy copies of the weights of a one-layer `torch.nn.RNN`/`LSTM`."""
        import torch  # only here: the rest of the module needs NumPy alone

        name = f"torch.nn.{cls.torch_name}"
        if not isinstance(m, getattr(torch.nn, cls.torch_name)):
            raise ValueError(f"expected a {name}, got {type(m).__name__}")
        nonlinearity = getattr(m, "nonlinearity", "tanh")  # an LSTM has none
        proj_size = getattr(m, "proj_size", 0)
        unsupported = {  # what this class cannot represent: is it the case for m?
            f"num_layers={m.num_layers} (only 1)": m.num_layers != 1,
            f"nonlinearity={nonlinearity!r} (only 'tanh')": nonlinearity != "tanh",
            "bidirectional=True": m.bidirectional,
            "batch_first=True (only sequence-first)": m.batch_first,
            "bias=False": not m.bias,
            f"proj_size={proj_size}": proj_size != 0,
        }
        problems = [text for text, found in unsupported.items() if found]
        if problems:
            raise ValueError(f"cannot represent this {name}: {', '.join(problems)}")
        dtypes = {torch.float32: np.float32, torch.float64: np.float64}
        if m.weight_ih_l0.dtype not in dtypes:
            raise ValueError(f"weights must be float32 or float64, got {m.weight_ih_l0.dtype}")
        layer = cls(m.input_size, m.hidden_size, dtype=dtypes[m.weight_ih_l0.dtype])
        for name in layer.parameters():
            setattr(layer, name, getattr(m, name).detach().cpu().numpy().copy())
        return layer

    def _check_x(self, x: Any) -> np.ndarray:
        """x as a contiguous (T, B, I) array in the layer's dtype, or a ValueError saying why."""
        x = np.asarray(x)
        I = self.input_size
        if x.ndim != 3:
            raise ValueError(
                f"x must be 3-D (T, B, I) = (time, batch, {I}), got shape {x.shape}; "
                "batch_first is not supported: pass x.transpose(1, 0, 2)"
            )
        if x.shape[2] != I:
            raise ValueError(f"x must have shape (T, B, {I}), got {x.shape}")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x must have T ≥ 1 steps and B ≥ 1 sequences, got shape {x.shape}")
        return np.ascontiguousarray(x, dtype=self.dtype)

    def _check(self, a: Any, name: str, axes: str, shape: tuple[int, ...]) -> np.ndarray:
        """a as an array of `shape` in the layer's dtype, or a ValueError naming the shape."""
        a = np.asarray(a, dtype=self.dtype)
        if a.shape != shape:
            raise ValueError(f"{name} must have shape {axes} = {shape}, got {a.shape}")
        return a

    def _column_state(self, s: Any, name: str, B: int) -> np.ndarray:
        """A (1, B, H) state as a fresh (H, B) array of columns; zeros when s is None."""
        if s is None:
            return np.zeros((self.hidden_size, B), self.dtype)
        return self._check(s, name, "(1, B, H)", (1, B, self.hidden_size))[0].T.copy()  # (H, B)

    def _last_forward(self) -> tuple:
        """The values forward() kept for backward()."""
        if self._cache is None:
            raise RuntimeError("backward() needs the values of a forward() call: run forward first")
        return self._cache

    def _param_grads(self, dz: np.ndarray, x: np.ndarray, hs: np.ndarray) -> np.ndarray | None:
        """Fill .grads from the pre-activation gradients dz (T, G, B) and return dx (T, B, I),
        or None when the layer was told that nothing needs dx (`needs_input_grad = False`)."""
        # Summing over steps and batch at once turns T small products into one big one each.
        T, G, B = dz.shape
        dz2 = dz.transpose(1, 0, 2).reshape(G, T * B)  # (G, T*B), a copy; columns in x's row order
        h_prev = hs[:-1].transpose(1, 0, 2).reshape(-1, T * B)  # (H, T*B): h_{t-1} for each column
        db = dz2.sum(axis=1)  # (G,): both biases enter every pre-activation the same way
        self.grads = {
            "weight_ih_l0": dz2 @ x.reshape(T * B, -1),  # (G, I)
            "weight_hh_l0": dz2 @ h_prev.T,  # (G, H)
            "bias_ih_l0": db,
            "bias_hh_l0": db.copy(),
        }
        if not self.needs_input_grad:  # x is data: a product as large as each of the two above
            return None
        return (dz2.T @ self.weight_ih_l0).reshape(x.shape)  # (T*B, I) -> (T, B, I)

    def _input_projection(self, x: np.ndarray) -> np.ndarray:
        """W_ih x_t + b_ih + b_hh for all steps as one matrix product: (G, T, B)."""
        T, B, I = x.shape
        xw = self.weight_ih_l0 @ x.reshape(T * B, I).T  # (G, T*B)
        xw += (self.bias_ih_l0 + self.bias_hh_l0)[:, None]
        return xw.reshape(-1, T, B)  # (G, T, B); xw[:, t] is step t's (G, B) block


class RNN(_Recurrent):
    """Elman RNN h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), like `torch.nn.RNN`."""

    n_gates, torch_name = 1, "RNN"

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Run x (T, B, I) from h0 (1, B, H), default zeros; return y (T, B, H), h_n (1, B, H)."""
        x = self._check_x(x)
        T, B, _ = x.shape
        H = self.hidden_size
        xw = self._input_projection(x)  # (H, T, B)
        hs = np.empty((T + 1, H, B), self.dtype)  # hs[t + 1] = h_t as columns, hs[0] = h0
        hs[0] = self._column_state(h0, "h0", B)
        for t in range(T):
            h = hs[t + 1]  # (H, B), written in place
            np.matmul(self.weight_hh_l0, hs[t], out=h)
            h += xw[:, t]
            np.tanh(h, out=h)
        self._cache = (x, hs)
        y = hs[1:].transpose(0, 2, 1).copy()  # (T, H, B) -> (T, B, H), torch's layout
        return y, y[-1:].copy()

    def backward(self, dy: np.ndarray, dh_n: np.ndarray | None = None) -> np.ndarray:
        """Gradients of the last forward given dy (T, B, H), dh_n (1, B, H); return dx (T, B, I)."""
        x, hs = self._last_forward()
        T, B, _ = x.shape
        H = self.hidden_size
        dy = self._check(dy, "dy", "(T, B, H)", (T, B, H))
        dh = self._column_state(dh_n, "dh_n", B)  # (H, B): gradient reaching h_t
        # tanh' = 1 - h_t² for all steps at once; the loop multiplies in dh to get da_t in place.
        da = _dtanh(hs[1:], None, out=np.empty((T, H, B), self.dtype))  # (T, H, B)
        w_hh_t = np.ascontiguousarray(self.weight_hh_l0.T)  # (H, H); contiguous is faster in BLAS
        for t in reversed(range(T)):
            dh += dy[t].T  # h_t feeds both y_t and step t + 1
            da[t] *= dh  # through the tanh: gradient of the pre-activation a_t
            np.matmul(w_hh_t, da[t], out=dh)  # a_t = ... + W_hh h_{t-1}
        self.dh0 = dh.T[None].copy()  # (1, B, H)
        return self._param_grads(da, x, hs)


class LSTM(_Recurrent):
    """LSTM with torch's gate order [i; f; g; o] in the stacked weights, like `torch.nn.LSTM`.

    i, f, o = σ(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*), g = tanh(same), c_t = f c_{t-1} + i g,
    h_t = o tanh(c_t). After forward, `.gates` maps "i", "f", "g", "o", "c", "h" to (T, B, H) views
    of the arrays kept for backward (for plots: read, don't write); the next forward replaces them.
    """

    n_gates, torch_name = 4, "LSTM"

    def forward(
        self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Run x (T, B, I) from state (h0, c0), each (1, B, H); return y, (h_n, c_n) like torch."""
        x = self._check_x(x)
        T, B, _ = x.shape
        H = self.hidden_size
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise ValueError("state must be a pair (h0, c0), each of shape (1, B, H)")
        h0, c0 = (None, None) if state is None else state
        xw = self._input_projection(x)  # (4H, T, B)
        acts = np.empty((T, 4 * H, B), self.dtype)  # gate activations [i; f; g; o] per step
        hs = np.empty((T + 1, H, B), self.dtype)  # hs[t + 1] = h_t, hs[0] = h0
        cs = np.empty((T + 1, H, B), self.dtype)  # cs[t + 1] = c_t, cs[0] = c0
        tanh_cs = np.empty((T, H, B), self.dtype)  # tanh(c_t), reused by backward
        hs[0] = self._column_state(h0, "h0", B)
        cs[0] = self._column_state(c0, "c0", B)
        for t in range(T):
            z = acts[t]  # (4H, B): pre-activations, turned into activations in place
            np.matmul(self.weight_hh_l0, hs[t], out=z)
            z += xw[:, t]
            i, f, g, o = z.reshape(4, H, B)  # views
            sigmoid(z[: 2 * H], out=z[: 2 * H])  # i and f are adjacent rows: one call
            np.tanh(g, out=g)
            sigmoid(o, out=o)
            np.multiply(f, cs[t], out=cs[t + 1])  # c_t = f c_{t-1} + i g
            cs[t + 1] += i * g
            np.tanh(cs[t + 1], out=tanh_cs[t])  # h_t = o tanh(c_t)
            np.multiply(o, tanh_cs[t], out=hs[t + 1])
        self._cache = (x, acts, hs, cs, tanh_cs)
        gates = acts.reshape(T, 4, H, B).transpose(1, 0, 3, 2)  # (4, T, B, H) views
        self.gates = dict(zip("ifgo", gates))
        self.gates["c"] = cs[1:].transpose(0, 2, 1)  # (T, B, H)
        self.gates["h"] = hs[1:].transpose(0, 2, 1)  # (T, B, H)
        y = hs[1:].transpose(0, 2, 1).copy()  # (T, B, H), torch's layout
        return y, (y[-1:].copy(), cs[-1].T[None].copy())

    def backward(
        self, dy: np.ndarray, dh_n: np.ndarray | None = None, dc_n: np.ndarray | None = None
    ) -> np.ndarray:
        """Gradients of the last forward given dy (T, B, H), dh_n, dc_n (1, B, H); return dx."""
        x, acts, hs, cs, tanh_cs = self._last_forward()
        T, B, _ = x.shape
        H = self.hidden_size
        dy = self._check(dy, "dy", "(T, B, H)", (T, B, H))
        dh = self._column_state(dh_n, "dh_n", B)  # (H, B): gradient reaching h_t
        dc = self._column_state(dc_n, "dc_n", B)  # (H, B): gradient reaching c_t
        i, f, g, o = acts.reshape(T, 4, H, B).transpose(1, 0, 2, 3)  # each (T, H, B)
        # The local derivatives do not depend on the upstream gradient, so compute them for all
        # steps at once; the loop then only multiplies in dc (for i, f, g) or dh (for o).
        dz = np.empty_like(acts)  # (T, 4H, B), becomes the pre-activation gradients in place
        dz_i, dz_f, dz_g, dz_o = dz.reshape(T, 4, H, B).transpose(1, 0, 2, 3)  # each (T, H, B)
        _dsigmoid(i, g, out=dz_i)  # ∂c_t/∂z_i = g σ'(z_i)
        _dsigmoid(f, cs[:-1], out=dz_f)  # ∂c_t/∂z_f = c_{t-1} σ'(z_f)
        _dtanh(g, i, out=dz_g)  # ∂c_t/∂z_g = i tanh'(z_g)
        _dsigmoid(o, tanh_cs, out=dz_o)  # ∂h_t/∂z_o = tanh(c_t) σ'(z_o)
        dh_dc = _dtanh(tanh_cs, o, out=np.empty_like(o))  # ∂h_t/∂c_t = o tanh'(c_t)
        dz4 = dz.reshape(T, 4, H, B)  # view
        w_hh_t = np.ascontiguousarray(self.weight_hh_l0.T)  # (H, 4H); contiguous is faster
        tmp = np.empty_like(dh)  # (H, B)
        for t in reversed(range(T)):
            dh += dy[t].T  # h_t feeds both y_t and step t + 1
            dc += np.multiply(dh, dh_dc[t], out=tmp)  # c_t feeds both h_t and c_{t+1}
            dz4[t, :3] *= dc  # i, f, g: broadcast over the three gates
            dz4[t, 3] *= dh  # o
            dc *= f[t]  # c_t = f c_{t-1} + ...
            np.matmul(w_hh_t, dz[t], out=dh)  # z_t = ... + W_hh h_{t-1}
        self.dh0 = dh.T[None].copy()  # (1, B, H)
        self.dc0 = dc.T[None].copy()  # (1, B, H)
        return self._param_grads(dz, x, hs)
