"""NumPy layers with hand-written backward passes (chapter 3), checkable against `torch.nn`.

Every layer mirrors a PyTorch module (same parameter names and layouts): `from_torch(m)` copies
its weights, `forward` keeps what `backward` needs, and `backward(dy)` returns the input gradient
and fills `.grads`, keyed like the torch module's parameters.

- `functional`: softmax, sigmoid, GELU, each with its backward.
- `layers`: `Linear`, `LayerNorm`.
- `recurrent`: `RNN` (tanh) and `LSTM` with backpropagation through time.
- `attention`: masks, scaled dot-product attention, `MultiHeadAttention`, sinusoidal positions;
  `tiled_attention`, FlashAttention's online softmax (chapter 8).
- `transformer`: a pre-LayerNorm `TransformerBlock` (the NumPy twin of `book.torch_nn.Block`).
- `mlp`: `MLP`, a small fully connected network (chapter 2's two spirals).
- `optim`: `Adam`, the optimiser the NumPy models train with (torch.optim.Adam's rule).
"""

from book.np_nn.attention import (
    MultiHeadAttention,
    causal_mask,
    merge_softmax_blocks,
    scaled_dot_product_attention,
    scaled_dot_product_attention_backward,
    sinusoidal_positions,
    tiled_attention,
)
from book.np_nn.functional import gelu, gelu_backward, sigmoid, softmax, softmax_backward
from book.np_nn.layers import LayerNorm, Linear
from book.np_nn.mlp import MLP
from book.np_nn.optim import Adam
from book.np_nn.recurrent import LSTM, RNN
from book.np_nn.transformer import TransformerBlock

__all__ = [
    "LSTM",
    "MLP",
    "RNN",
    "Adam",
    "LayerNorm",
    "Linear",
    "MultiHeadAttention",
    "TransformerBlock",
    "causal_mask",
    "gelu",
    "gelu_backward",
    "merge_softmax_blocks",
    "scaled_dot_product_attention",
    "scaled_dot_product_attention_backward",
    "sigmoid",
    "sinusoidal_positions",
    "softmax",
    "softmax_backward",
    "tiled_attention",
]
