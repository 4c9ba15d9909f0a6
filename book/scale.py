"""What a Transformer costs at scale (chapter 8): parameters, FLOPs per token, memory for
training and inference, and training time, computed from its shape alone.

    shape = scale.PUBLIC_MODELS["llama-2-7b"]
    shape.params()["total"]                                    # 6,738,415,616
    scale.flops_per_token(shape, 4096).training                # FLOPs to train on one token
    scale.training_memory(shape, 1, 4096, "bf16-mixed")        # bytes, by what they hold
    scale.kv_cache_bytes_per_token(shape, "bf16")              # 524,288 = 2 L nkv hd x 2 bytes

Symbols (CONTRIBUTING.md): V vocab_size, T the context (max_len, or the length used), E
embed_dim, L num_layers, nh num_heads, nkv num_kv_heads, hd = E / nh, F mlp_hidden, B batch.
Chapter 4's `book.cost` counts what one layer costs by running it; this module predicts the
same quantities for whole models too large to run here, and the tests check the predictions
against our own `GPT` (its parameters, and `FlopCounterMode`'s count of its matrix products).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from book.textgen import GPTConfig

__all__ = ["BYTES", "PUBLIC_MODELS", "Flops", "TransformerShape", "flops_per_token",
           "inference_memory", "kv_cache_bytes_per_token", "param_count", "train_time_seconds",
           "training_memory"]

# bytes per number for each storage precision
BYTES: dict[str, int] = {"fp32": 4, "bf16": 2, "fp16": 2}
TRAINING_PRECISIONS = ("fp32", "bf16-mixed")
OPTIMIZERS = {"adamw": 2, "sgd": 0}  # fp32 numbers kept per parameter: AdamW's two moments


def _choice(name: str, value: str, allowed) -> None:
    """ValueError unless value is one of allowed."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}: use one of {', '.join(map(repr, allowed))}")


def _positive(**values: int | float) -> None:
    """ValueError unless every value is > 0."""
    for name, v in values.items():
        if not v > 0:
            raise ValueError(f"{name} must be positive; got {v}")


@dataclass(frozen=True)
class TransformerShape:
    """The shape of a decoder-only Transformer, enough to count what it costs.

    num_kv_heads < num_heads is grouped-query attention (each key/value head serves
    num_heads / num_kv_heads query heads); None means num_heads (multi-head attention).
    mlp_hidden F defaults to 4 E. mlp "gelu" is Linear(E, F), GELU, Linear(F, E); "swiglu" has
    three F x E matrices (gate, up, down). norm "layernorm" has a weight and, with `bias`, a
    bias; "rmsnorm" a weight only. `tied`: the head shares the token embedding's matrix.
    positions "learned" adds a (max_len, E) table; "rope" rotates q and k, with no parameters.
    `bias`: biases in every Linear of the blocks (never in the head) and in LayerNorm.
    """

    vocab_size: int
    max_len: int
    embed_dim: int
    num_layers: int
    num_heads: int
    num_kv_heads: int | None = None
    mlp_hidden: int | None = None
    mlp: str = "gelu"
    norm: str = "layernorm"
    tied: bool = True
    positions: str = "learned"
    bias: bool = False
    citation: str = ""  # key in assets/references.bib

    def __post_init__(self) -> None:
        _positive(vocab_size=self.vocab_size, max_len=self.max_len, embed_dim=self.embed_dim,
                  num_layers=self.num_layers, num_heads=self.num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim ({self.embed_dim}) must be a multiple of num_heads "
                             f"({self.num_heads}): every head gets hd = E / nh features")
        if self.num_kv_heads is not None and (
                self.num_kv_heads < 1 or self.num_heads % self.num_kv_heads):
            raise ValueError(f"num_kv_heads ({self.num_kv_heads}) must divide num_heads "
                             f"({self.num_heads}): each key/value head serves a whole group")
        if self.mlp_hidden is not None:
            _positive(mlp_hidden=self.mlp_hidden)
        _choice("mlp", self.mlp, ("gelu", "swiglu"))
        _choice("norm", self.norm, ("layernorm", "rmsnorm"))
        _choice("positions", self.positions, ("learned", "rope"))

    @classmethod
    def from_config(cls, cfg: GPTConfig) -> TransformerShape:
        """The shape of our `GPT(cfg)` (chapter 5's `book.textgen.GPT`): tied head, biases as
        cfg.bias says, and cfg's block options (by default learned positions, LayerNorm, a
        GELU MLP of 4 E, multi-head attention)."""
        return cls(vocab_size=cfg.vocab_size, max_len=cfg.max_len, embed_dim=cfg.embed_dim,
                   num_layers=cfg.num_layers, num_heads=cfg.num_heads,
                   num_kv_heads=cfg.num_kv_heads, mlp_hidden=cfg.mlp_hidden, mlp=cfg.mlp,
                   norm=cfg.norm, positions=cfg.positions, bias=cfg.bias)

    @property
    def head_dim(self) -> int:
        """hd = E / nh."""
        return self.embed_dim // self.num_heads

    @property
    def kv_heads(self) -> int:
        """nkv: key/value heads (num_heads unless grouped-query attention)."""
        return self.num_heads if self.num_kv_heads is None else self.num_kv_heads

    @property
    def hidden(self) -> int:
        """F: the MLP's hidden width (4 E unless given)."""
        return 4 * self.embed_dim if self.mlp_hidden is None else self.mlp_hidden

    def params(self) -> dict[str, int]:
        """Parameter counts by part. With E, hd, nh, nkv, F, V, T = max_len, L and b = 1 if
        `bias` else 0:

        - attention (one block): q E·nh·hd, k and v 2·E·nkv·hd, out nh·hd·E,
          + b·(nh·hd + 2·nkv·hd + E);
        - mlp (one block): gelu 2·E·F + b·(F + E); swiglu 3·E·F + b·(2F + E);
        - norms (one block): two norms of E weights (+ E biases each for LayerNorm with b);
        - embeddings: token V·E, positions T·E if learned; head V·E unless tied; final norm.

        Keys: token_embedding, position_embedding, attention, mlp, norms (each per block),
        blocks (L x the three), final_norm, head, total, non_embedding (blocks + final norm:
        Kaplan et al.'s N, without embeddings or head) and matmul_weights (the blocks' weight
        matrices only, no biases or norms: what each token multiplies in the forward pass;
        12 L E^2 for GPT-2's shape, Kaplan's 2 E L (2 E + F)).
        """
        E, hd, nh, nkv, F, V, L = (self.embed_dim, self.head_dim, self.num_heads, self.kv_heads,
                                   self.hidden, self.vocab_size, self.num_layers)
        b = int(self.bias)
        attn_w = E * nh * hd + 2 * E * nkv * hd + nh * hd * E
        attn = attn_w + b * (nh * hd + 2 * nkv * hd + E)
        n_mat = 2 if self.mlp == "gelu" else 3
        mlp_w = n_mat * E * F
        mlp = mlp_w + b * ((n_mat - 1) * F + E)
        norm = E * (2 if self.norm == "layernorm" and self.bias else 1)
        p = {"token_embedding": V * E,
             "position_embedding": self.max_len * E if self.positions == "learned" else 0,
             "attention": attn, "mlp": mlp, "norms": 2 * norm,
             "blocks": L * (attn + mlp + 2 * norm), "final_norm": norm,
             "head": 0 if self.tied else V * E}
        p["total"] = (p["token_embedding"] + p["position_embedding"] + p["blocks"]
                      + p["final_norm"] + p["head"])
        p["non_embedding"] = p["blocks"] + p["final_norm"]
        p["matmul_weights"] = L * (attn_w + mlp_w)
        return p


def param_count(config: GPTConfig) -> dict[str, int]:
    """Parameters of our `GPT(config)` by part (`TransformerShape.params`); ["total"] equals
    `GPT(config).num_params()`, the tied head/embedding matrix counted once."""
    if not isinstance(config, GPTConfig):
        raise TypeError(f"param_count takes a GPTConfig; got {type(config).__name__} "
                        "(for any other shape, call TransformerShape(...).params())")
    return TransformerShape.from_config(config).params()


@dataclass(frozen=True)
class Flops:
    """Forward FLOPs per token (a multiply-add is 2 FLOPs), by where they are spent."""

    dense: int      # 2 x the blocks' weight matrices: q, k, v, out, MLP
    attention: int  # q·k scores and weights·v, over the keys counted (see flops_per_token)
    head: int       # the logits: 2 E V

    @property
    def forward(self) -> int:
        """Everything: dense + attention + head."""
        return self.dense + self.attention + self.head

    @property
    def kaplan(self) -> int:
        """Kaplan et al. (2020), Table 1's C_forward = 2 N + 2 L T E: dense + attention, the
        head (their "de-embed", 2 E V) left out as subleading for large models."""
        return self.dense + self.attention

    @property
    def training(self) -> int:
        """Forward + backward = 3 x forward: the backward pass multiplies by every matrix twice
        (the gradient of its input and of the matrix itself)."""
        return 3 * self.forward


def flops_per_token(shape: TransformerShape, context: int | None = None, *,
                    causal: bool = True) -> Flops:
    """Forward FLOPs per token of `shape` on sequences of T = context tokens (max_len if None).

    Counted: matrix products only, 2 FLOPs per multiply-add.

    - dense = 2 N_matmul, N_matmul = the blocks' weight matrices (`params()["matmul_weights"]`;
      biases, norms, GELU, softmax and residual additions are left out: O(E) per token, not
      O(E^2));
    - attention: q·k (2 T nh hd) and weights·v (2 T nh hd) per layer over T keys. A causal
      position t sees only t keys, T/2 on average, so with `causal=True` the term is
      2 L T nh hd = 2 L T E, Kaplan et al.'s (2020, Table 1); `causal=False` gives
      4 L T E, what a kernel that computes the whole (T, T) score matrix does and what
      `FlopCounterMode` counts for SDPA (the PaLM MFU convention, and `GPT.flops_per_token`'s);
    - head = 2 E V, the logits (tied or not: a tied head is still a product).

    SwiGLU's third matrix and grouped-query attention's smaller k and v projections enter
    through N_matmul; the attention term stays 2 x 2 T nh hd, since GQA shares keys and values
    among query heads but every query head still scores every key. RoPE and RMSNorm are
    elementwise, O(E) per token, left out like LayerNorm (tests/test_scale.py checks all of this
    against `FlopCounterMode` for every combination of our GPT's options).

    The token and position embeddings are lookups: no FLOPs.
    """
    T = shape.max_len if context is None else context
    _positive(context=T)
    L, E = shape.num_layers, shape.num_heads * shape.head_dim
    # q·k and weights·v: 2 x 2 T E per layer over all T keys; a causal query sees T/2 on average
    attention = 2 * L * T * E if causal else 4 * L * T * E
    return Flops(dense=2 * shape.params()["matmul_weights"], attention=attention,
                 head=2 * shape.embed_dim * shape.vocab_size)


def kv_cache_bytes_per_token(shape: TransformerShape, precision: str = "bf16") -> int:
    """Bytes the KV cache holds per token of context: 2 (k and v) x L x nkv x hd x bytes.
    Grouped-query attention divides it by nh / nkv."""
    _choice("precision", precision, BYTES)
    return 2 * shape.num_layers * shape.kv_heads * shape.head_dim * BYTES[precision]


def inference_memory(shape: TransformerShape, context: int, batch: int = 1,
                     precision: str = "bf16") -> dict[str, int]:
    """Bytes to generate: weights (N x bytes) + the KV cache for B sequences of T tokens
    (B x T x `kv_cache_bytes_per_token`). Leaves out the transient activations of one step
    and the framework's own buffers. Keys: weights, kv_cache, total."""
    _choice("precision", precision, BYTES)
    _positive(context=context, batch=batch)
    if context > shape.max_len:
        raise ValueError(f"context {context} is longer than the model's max_len = "
                         f"{shape.max_len}")
    m = {"weights": shape.params()["total"] * BYTES[precision],
         "kv_cache": batch * context * kv_cache_bytes_per_token(shape, precision)}
    m["total"] = m["weights"] + m["kv_cache"]
    return m


def _activation_bytes_per_layer(shape: TransformerShape, batch: int, context: int,
                                value_bytes: int, recompute_attention: bool,
                                dropout: bool) -> int:
    """Korthikanti et al. (2022), eq. 1, with the value size a parameter: of their
    s b h (34 + 5 a s / h) bytes for 16-bit values, 16 s b h + 2 a s^2 b are values (2 bytes
    each) and 2 s b h + a s^2 b are dropout masks (1 byte each)."""
    sbh = context * batch * shape.embed_dim
    as2b = shape.num_heads * context * context * batch
    values, masks = 16 * sbh, 2 * sbh
    if not recompute_attention:
        values, masks = values + 2 * as2b, masks + as2b
    return values * value_bytes + (masks if dropout else 0)


def training_memory(shape: TransformerShape, batch: int, context: int | None = None,
                    precision: str = "fp32", optimizer: str = "adamw", *,
                    recompute_attention: bool = False, dropout: bool = True) -> dict[str, int]:
    """Bytes to train with `optimizer` on B sequences of T = context tokens, by what they hold.

    With N parameters:

    - "fp32": weights 4 N, gradients 4 N, AdamW's two moments 8 N (16 N in all);
    - "bf16-mixed" (as ZeRO, Rajbhandari et al. 2020, count it): 16-bit weights 2 N and
      gradients 2 N, an fp32 master copy 4 N in the optimizer state with the moments 8 N:
      16 N again. (`torch.autocast` keeps fp32 weights and gradients instead, 4 N + 4 N +
      8 N: the same total.) "sgd" (no momentum) keeps no state beyond the master copy.
    - activations kept for the backward pass: Korthikanti et al. (2022, arXiv:2205.05198),
      eq. 1, per layer s b h (34 + 5 a s / h) bytes for 16-bit values, s = T, b = B, h = E,
      a = nh, without recomputation or tensor parallelism; counted for their layer (GPT's:
      multi-head attention, 4 E GELU MLP, dropout), so only an estimate for SwiGLU or
      grouped-query shapes. For fp32 the values double and the 1-byte dropout masks do
      not: s b h (66 + 9 a s / h). `recompute_attention=True` is their selective
      recomputation (FlashAttention's effect too): the a s^2 b terms go, 34 s b h remain;
      `dropout=False` (no dropout, as in Llama or our CPU GPT) drops the masks' 2 s b h
      (+ a s^2 b) bytes. Our GPT (fp32, no dropout, SDPA) keeps 16 s b h values per layer,
      as this count says, plus a few numbers per position (tests/test_scale.py measures it);
    - logits: the fp32 log-probabilities (B, T, V) that cross-entropy keeps (autocast runs
      it in fp32), 4 B T V.

    Leaves out temporary buffers, the framework and fragmentation. Keys: weights, gradients,
    optimizer, activations, logits, total.
    """
    T = shape.max_len if context is None else context
    _positive(batch=batch, context=T)
    _choice("precision", precision, TRAINING_PRECISIONS)
    _choice("optimizer", optimizer, OPTIMIZERS)
    N = shape.params()["total"]
    mixed = precision == "bf16-mixed"
    w = BYTES["bf16"] if mixed else BYTES["fp32"]
    m = {"weights": w * N, "gradients": w * N,
         "optimizer": 4 * N * (OPTIMIZERS[optimizer] + int(mixed)),
         "activations": shape.num_layers * _activation_bytes_per_layer(
             shape, batch, T, w, recompute_attention, dropout),
         "logits": 4 * batch * T * shape.vocab_size}
    m["total"] = sum(m.values())
    return m


def train_time_seconds(shape: TransformerShape, tokens: float, gpus: int, peak_flops: float,
                       mfu: float, context: int | None = None) -> float:
    """Seconds to train on `tokens` tokens: tokens x `flops_per_token(shape, context).training`
    / (gpus x peak_flops x mfu), where the training FLOPs per token are 6 N_matmul + 6 E V
    (head) + 6 L T E (causal attention), and mfu (model FLOPs utilisation, 0 < mfu <= 1) is
    the fraction of the peak the run achieves (PaLM reports 46%)."""
    _positive(tokens=tokens, gpus=gpus, peak_flops=peak_flops, mfu=mfu)
    if mfu > 1:
        raise ValueError(f"mfu is a fraction of the peak, at most 1; got {mfu}")
    return tokens * flops_per_token(shape, context).training / (gpus * peak_flops * mfu)


_GPT2 = TransformerShape(vocab_size=50257, max_len=1024, embed_dim=768, num_layers=12,
                         num_heads=12, bias=True, citation="radford2019gpt2")
_LLAMA2 = TransformerShape(vocab_size=32000, max_len=4096, embed_dim=4096, num_layers=32,
                           num_heads=32, num_kv_heads=32, mlp_hidden=11008, mlp="swiglu",
                           norm="rmsnorm", tied=False, positions="rope", bias=False,
                           citation="touvron2023llama2")

# Published shapes. GPT-2 (Radford et al. 2019, Table 2; heads from the released config):
# as our GPT builds it, tied head and learned positions. Llama 2 (Touvron et al. 2023).
PUBLIC_MODELS: dict[str, TransformerShape] = {
    "gpt2": _GPT2,
    "gpt2-medium": replace(_GPT2, embed_dim=1024, num_layers=24, num_heads=16),
    "gpt2-large": replace(_GPT2, embed_dim=1280, num_layers=36, num_heads=20),
    "gpt2-xl": replace(_GPT2, embed_dim=1600, num_layers=48, num_heads=25),
    "llama-2-7b": _LLAMA2,
    "llama-2-70b": replace(_LLAMA2, embed_dim=8192, num_layers=80, num_heads=64,
                           num_kv_heads=8, mlp_hidden=28672),
}
