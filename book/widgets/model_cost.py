"""`ModelCostView`: what a Transformer costs, recomputed in the browser as its shape changes.

Python stores the preset shapes (chapter 5's GPTs and `book.scale.PUBLIC_MODELS`), the values
each slider can take and the current settings; model_cost.js computes, with the formulas of
`book.scale` (`TransformerShape.params`, `flops_per_token`, `training_memory`,
`inference_memory`, `kv_cache_bytes_per_token`, defaults included), the parameters, FLOPs per
token, training and serving memory, and draws them with no kernel behind the page. The context T
is also the model's max_len: a shape built for T tokens (its learned position table, if any,
has T rows), trained and served on sequences of T tokens.

The JavaScript formulas are the module's export `costs(settings)` (tests call it); `settings`
uses `book.scale`'s names, as the state does.
"""

from __future__ import annotations

from dataclasses import fields

import anywidget
import traitlets

from book import scale
from book.scale import OPTIMIZERS, PUBLIC_MODELS, TRAINING_PRECISIONS, TransformerShape
from book.textgen import CPU_CONFIG, GPU_CONFIG, GPTConfig
from book.widgets._base import _js_module, _stylesheet, _title

__all__ = ["ModelCostView", "costs", "default_models", "our_models", "shape_of"]

MAX_PRESETS = 16
# Labels of the presets this module knows; another shape is labelled by its name.
LABELS = {"cpu-gpt": "our CPU GPT (ch. 5)", "gpu-gpt": "our GPU GPT (ch. 5)",
          "gpt2": "GPT-2 small", "gpt2-medium": "GPT-2 medium", "gpt2-large": "GPT-2 large",
          "gpt2-xl": "GPT-2 XL", "llama-2-7b": "Llama 2 7B", "llama-2-70b": "Llama 2 70B"}
SERVE_PRECISIONS = ("fp32", "bf16")


_OURS = {"cpu-gpt": CPU_CONFIG, "gpu-gpt": GPU_CONFIG}


def our_models() -> dict[str, TransformerShape]:
    """Chapter 5's two GPTs (book.textgen's CPU_CONFIG and GPU_CONFIG, with the character
    vocabulary of Tiny Shakespeare, GPTConfig's default of 65 symbols)."""
    return {name: TransformerShape.from_config(GPTConfig(**recipe["model"]))
            for name, recipe in _OURS.items()}


def default_models() -> dict[str, TransformerShape]:
    """The presets shown by default: our GPTs, then the public models, smallest first."""
    return our_models() | dict(PUBLIC_MODELS)


def _values(base, extra) -> list[int]:
    """The sorted distinct values a slider moves through: `base` plus the presets' values."""
    return sorted({int(v) for v in base} | {int(v) for v in extra})


def _dropout(name: str, shape: TransformerShape) -> bool | None:
    """Whether the preset trains with dropout: known for our GPTs only (None: unknown, the
    view keeps the reader's choice)."""
    ours = our_models()
    if name in ours and ours[name] == shape:
        return _OURS[name]["model"]["dropout"] > 0
    return None


def _preset(name: str, shape: TransformerShape) -> dict:
    """A preset as the page stores it: the shape's fields (mlp_hidden None as 0: F = 4 E), its
    label, whether it is a public model, whether it trains with dropout (None: unknown) and
    its parameter count from book.scale."""
    d = {f.name: getattr(shape, f.name) for f in fields(shape)}
    d["num_kv_heads"] = shape.kv_heads
    d["mlp_hidden"] = shape.mlp_hidden or 0
    public = shape in PUBLIC_MODELS.values()
    return d | {"name": name, "label": LABELS.get(name, name), "public": public,
                "dropout": _dropout(name, shape), "params": shape.params()["total"]}


def _settings(shape: TransformerShape, batch: int, serve_precision: str, train_precision: str,
              optimizer: str, recompute_attention: bool, dropout: bool) -> dict:
    """The current settings, under book.scale's names; `context` is T, also the max_len."""
    return {"vocab_size": shape.vocab_size, "context": shape.max_len,
            "embed_dim": shape.embed_dim, "num_layers": shape.num_layers,
            "num_heads": shape.num_heads, "num_kv_heads": shape.kv_heads,
            "mlp_hidden": shape.mlp_hidden or 0, "mlp": shape.mlp, "norm": shape.norm,
            "tied": shape.tied, "positions": shape.positions, "bias": shape.bias,
            "batch": batch, "serve_precision": serve_precision,
            "train_precision": train_precision, "optimizer": optimizer,
            "recompute_attention": recompute_attention, "dropout": dropout}


def shape_of(settings: dict) -> TransformerShape:
    """The `TransformerShape` that `settings` (the view's state) describe, max_len = context."""
    return TransformerShape(
        vocab_size=settings["vocab_size"], max_len=settings["context"],
        embed_dim=settings["embed_dim"], num_layers=settings["num_layers"],
        num_heads=settings["num_heads"], num_kv_heads=settings["num_kv_heads"],
        mlp_hidden=settings["mlp_hidden"] or None, mlp=settings["mlp"], norm=settings["norm"],
        tied=settings["tied"], positions=settings["positions"], bias=settings["bias"])


def costs(settings: dict) -> dict[str, int]:
    """What book.scale says for the view's settings, under the keys the page shows (and
    model_cost.js's `costs` returns): "params.total", "flops.training", "training.activations",
    "serving.kv_cache", "kv_cache_bytes_per_token", ..."""
    shape, s = shape_of(settings), settings
    T, B = s["context"], s["batch"]
    out = {f"params.{k}": v for k, v in shape.params().items()}
    f = scale.flops_per_token(shape, T)
    out |= {f"flops.{k}": getattr(f, k)
            for k in ("dense", "attention", "head", "forward", "kaplan", "training")}
    out |= {f"training.{k}": v for k, v in scale.training_memory(
        shape, B, T, s["train_precision"], s["optimizer"],
        recompute_attention=s["recompute_attention"], dropout=s["dropout"]).items()}
    out |= {f"serving.{k}": v for k, v in
            scale.inference_memory(shape, T, B, s["serve_precision"]).items()}
    out["kv_cache_bytes_per_token"] = scale.kv_cache_bytes_per_token(shape, s["serve_precision"])
    return out


def _choice(name: str, value: str, allowed) -> str:
    """`value` if it is one of `allowed`, else a ValueError that lists them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


class ModelCostView(anywidget.AnyWidget):
    """Sliders for a Transformer's shape, batch and precision; the parameters, FLOPs per token,
    training and serving memory that book.scale gives for them, computed in JavaScript."""

    _esm = _js_module("model_cost.js")
    _css = _stylesheet("model_cost.css")
    presets = traitlets.List(traitlets.Dict()).tag(sync=True)
    choices = traitlets.Dict().tag(sync=True)  # slider name -> the values it moves through
    settings = traitlets.Dict().tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, models: dict[str, TransformerShape] | None = None, *,
                 preset: str = "cpu-gpt", batch: int = 16, serve_precision: str = "bf16",
                 train_precision: str = "fp32", optimizer: str = "adamw",
                 recompute_attention: bool = False, dropout: bool | None = None,
                 title: str | None = None) -> None:
        """models: name -> TransformerShape, the preset buttons (default: `default_models()`);
        preset: the one shown first; the rest as in book.scale.training_memory and
        inference_memory, whose defaults these are, except dropout: None takes the preset's
        (off for our CPU GPT, on for the GPU one), True (book.scale's default) if unknown."""
        models = default_models() if models is None else dict(models)
        if not 1 <= len(models) <= MAX_PRESETS:
            raise ValueError(f"give between 1 and {MAX_PRESETS} models, got {len(models)}")
        for name, shape in models.items():
            if not isinstance(shape, TransformerShape):
                raise ValueError(f"models[{name!r}] must be a book.scale.TransformerShape, got "
                                 f"{type(shape).__name__} (for a GPTConfig: "
                                 f"TransformerShape.from_config(cfg))")
        if preset not in models:
            raise ValueError(f"preset {preset!r} is not one of the models: "
                             f"{', '.join(map(repr, models))}")
        if not (isinstance(batch, int) and 1 <= batch <= 4096):
            raise ValueError(f"batch must be a whole number from 1 to 4096, got {batch!r}")
        _choice("serve_precision", serve_precision, SERVE_PRECISIONS)
        _choice("train_precision", train_precision, TRAINING_PRECISIONS)
        _choice("optimizer", optimizer, tuple(OPTIMIZERS))
        shapes = list(models.values())
        # every preset's value is on its slider, so that choosing a preset moves the sliders
        choices = {
            "num_layers": _values(range(1, 129), [s.num_layers for s in shapes]),
            "embed_dim": _values([16, 32, 48, *range(64, 16385, 64)],
                                 [s.embed_dim for s in shapes]),
            "num_heads": _values(range(1, 129), [s.num_heads for s in shapes]),
            "vocab_size": _values([65, 256, 512, 1024, 2048, 4096, 8192, 16384, 32000, 32768,
                                   50257, 65536, 100277, 128256, 151936, 256000],
                                  [s.vocab_size for s in shapes]),
            "context": _values([2 ** k for k in range(3, 18)], [s.max_len for s in shapes]),
            "batch": _values([2 ** k for k in range(13)], [batch]),
            "mlp_hidden": _values(range(64, 65537, 64), [s.hidden for s in shapes]),
        }
        stored = [_preset(n, s) for n, s in models.items()]
        if dropout is None:
            known = next(p["dropout"] for p in stored if p["name"] == preset)
            dropout = True if known is None else known
        settings = _settings(models[preset], batch, serve_precision, train_precision, optimizer,
                             bool(recompute_attention), bool(dropout))
        super().__init__(presets=stored, choices=choices,
                         settings=settings, title=_title(title))

    def shape(self) -> TransformerShape:
        """The shape the sliders show now (in Jupyter, where the page syncs its state back)."""
        return shape_of(self.settings)

    def costs(self) -> dict[str, int]:
        """book.scale's numbers for the settings shown now (`costs(self.settings)`)."""
        return costs(self.settings)

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        s = self.settings
        return (f"ModelCostView({len(self.presets)} presets; L={s['num_layers']}, "
                f"E={s['embed_dim']}, nh={s['num_heads']}, nkv={s['num_kv_heads']}, "
                f"V={s['vocab_size']}, T={s['context']}, B={s['batch']})")
