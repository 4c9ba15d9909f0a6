"""NumPy layers with hand-written backward passes (chapter 3), checkable against `torch.nn`.

`recurrent`: RNN and LSTM with backpropagation through time. `attention`: softmax, layer norm,
scaled dot-product and multi-head attention, a pre-LayerNorm Transformer block.
"""
