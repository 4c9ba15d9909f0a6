"""Chapter 8's challenges, made measurable, on chapter 5's character-level GPT.

- Data quality: `corrupt` a text with uniform character noise; `noise_experiment` trains the same
  GPT on 0 / 10 / 30 % noisy training text and measures it on the CLEAN validation text.
- Memorisation: `continuation_match` greedy-continues prompts drawn from a text and counts the
  continuations that equal the text's own; `memorisation_experiment` trains a small GPT on a
  small slice and measures that on training and held-out prompts at several step counts.
- Interpretability: `attention_maps` and `offset_attention` (what the attention view shows),
  `ablate_heads` (a context manager that zeroes heads in `attn.out_proj` and restores them),
  `token_losses` and `head_ablation_experiment` (what removing each head costs).

`NOTEBOOK` holds sizes that run in well under a minute each on one CPU thread (the chapter's);
`benchmarks/challenges.py` runs bigger ones.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from book import textgen as tg

__all__ = ["BENCHMARK", "NOTEBOOK", "ablate_heads", "attention_maps", "char_class",
           "continuation_match", "corrupt", "head_ablation_experiment",
           "memorisation_experiment", "noise_experiment", "offset_attention", "token_losses",
           "train_gpt"]

# A small GPT (2 layers of 64, context 64: about 0.1 M parameters) and chapter 5's recipe
# otherwise; sizes for the chapter (each experiment in under a minute on one CPU thread) and
# for benchmarks/challenges.py. "model" goes to GPTConfig, "train" to TrainConfig.
_SMALL = dict(max_len=64, num_layers=2, num_heads=4, embed_dim=64, dropout=0.0, bias=False)
_RECIPE = dict(batch_size=16, lr=4e-3, min_lr=4e-4, warmup_iters=50, weight_decay=0.1,
               beta2=0.99, grad_clip=1.0)
NOTEBOOK: dict = {
    "noise": dict(model=_SMALL, train=_RECIPE, steps=300, fractions=(0.0, 0.1, 0.3), seeds=(0,)),
    "memorisation": dict(model=_SMALL, train=_RECIPE, slice_chars=2000,
                         checkpoints=(100, 300, 600, 900), prompt_len=32, cont_len=32,
                         num_prompts=64, seed=0),
    "heads": dict(model=_SMALL, train=_RECIPE, steps=1000, seed=0, val_chars=16_384),
}
BENCHMARK: dict = {
    "noise": dict(model=_SMALL, train=_RECIPE, steps=1000, fractions=(0.0, 0.1, 0.3),
                  seeds=(0, 1)),
    "memorisation": dict(model=_SMALL, train=_RECIPE, slice_chars=4000,
                         checkpoints=(100, 250, 500, 1000, 1500, 2000), prompt_len=32,
                         cont_len=32, num_prompts=128, seed=0),
    "heads": dict(model=dict(_SMALL, num_layers=3), train=_RECIPE, steps=1500, seed=0,
                  val_chars=None),
}


# --- 1. data quality ---

def corrupt(text: str, fraction: float, rng: np.random.Generator | int,
            vocab: str | None = None) -> str:
    """`text` with exactly round(fraction * len(text)) characters replaced by noise.

    The noise model: the positions are drawn uniformly without replacement, and each chosen
    character becomes a DIFFERENT character drawn uniformly from the vocabulary (default: the
    characters of `text`), so exactly that many characters differ from the original. Seeded:
    the same `rng` seed gives the same text.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1] (the share of characters to replace), "
                         f"got {fraction}")
    symbols = sorted(set(text if vocab is None else vocab))
    index = {c: i for i, c in enumerate(symbols)}
    outside = set(text) - set(index)
    if outside:
        raise ValueError(f"text has characters outside vocab: {sorted(outside)[:10]}; pass a "
                         "vocab that contains every character of the text")
    n = round(fraction * len(text))
    if n == 0:
        return text
    V = len(symbols)
    if V < 2:
        raise ValueError("a vocabulary of one character has no other character to swap in")
    rng = np.random.default_rng(rng)
    codes = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    where = rng.choice(len(text), size=n, replace=False)
    # adding 1..V-1 modulo V is uniform over the V - 1 other characters
    codes[where] = (codes[where] + rng.integers(1, V, size=n)) % V
    return "".join(np.array(symbols)[codes].tolist())


def train_gpt(train_ids: torch.Tensor, vocab_size: int, model: dict, train: dict, steps: int,
              seed: int, on_step: Callable[[int, dict], None] | None = None) -> tg.GPT:
    """A GPT of shape `model`, initialised with `seed`, trained `steps` steps on train_ids."""
    torch.manual_seed(seed)  # the initial weights
    gpt = tg.GPT(tg.GPTConfig(vocab_size=vocab_size, **model))
    cfg = tg.TrainConfig(**{**train, "max_iters": steps, "eval_interval": 0, "eval_iters": 0,
                            "seed": seed})
    tg.train(gpt, train_ids, None, cfg, progress=False, on_step=on_step)
    return gpt.eval()


def _split(text: str) -> tuple[str, str, tg.CharTokenizer]:
    """Chapter 5's split (90 % / 10 %) and the character tokenizer of the whole text."""
    train_text, val_text = tg.nanogpt_split(text)
    return train_text, val_text, tg.CharTokenizer(text)


def _ids(tok: tg.CharTokenizer, text: str) -> torch.Tensor:
    return torch.tensor(tok.encode(text), dtype=torch.long)


def noise_experiment(text: str, model: dict, train: dict, steps: int,
                     fractions: Iterable[float], seeds: Iterable[int]) -> list[dict]:
    """Train one GPT per (seed, fraction) on the training split corrupted by `corrupt` and
    measure it on the clean validation split (every window of it, `estimate_loss`).

    For one seed the initial weights, the batch positions and the noise positions are the
    same at every fraction (paired runs): only the amount of noise differs.
    Rows: fraction, seed, steps, val_loss (nats), bpc, seconds.
    """
    train_text, val_text, tok = _split(text)
    val_ids, rows = _ids(tok, val_text), []
    for seed in seeds:
        for fraction in fractions:
            start = time.perf_counter()
            noisy = _ids(tok, corrupt(train_text, fraction, seed, vocab="".join(tok.itos)))
            gpt = train_gpt(noisy, tok.vocab_size, model, train, steps, seed)
            loss = tg.estimate_loss(gpt, val_ids, train["batch_size"])
            rows.append(dict(fraction=fraction, seed=seed, steps=steps, val_loss=loss,
                             bpc=tg.bits_per_char(loss), seconds=time.perf_counter() - start))
    return rows


# --- 2. memorisation ---

@torch.no_grad()
def continuation_match(model: nn.Module, ids: torch.Tensor, prompt_len: int, cont_len: int,
                       num_prompts: int, seed: int = 0) -> dict:
    """How often greedy decoding reproduces a text verbatim.

    Draws num_prompts windows of prompt_len + cont_len tokens from ids (seeded), gives the
    model the first prompt_len and greedily generates cont_len more (`generate_cached`, or
    `generate` for a model without a KV cache). Returns {"exact": the share of continuations
    equal to the text's, "prefix": the mean number of tokens matched before the first
    difference, "char": the share of generated tokens equal to the text's at their position}.
    """
    P, K = prompt_len, cont_len
    if P < 1 or K < 1 or len(ids) < P + K:
        raise ValueError(f"need prompt_len >= 1, cont_len >= 1 and at least prompt_len + "
                         f"cont_len = {P + K} tokens; got {P}, {K} and {len(ids)} tokens")
    g = torch.Generator().manual_seed(seed)
    starts = torch.randint(len(ids) - (P + K) + 1, (num_prompts,), generator=g)  # (N,)
    windows = ids[starts[:, None] + torch.arange(P + K)]                       # (N, P + K)
    cached = hasattr(model, "forward_step") and P + K - 1 <= model.config.max_len
    generate = tg.generate_cached if cached else tg.generate
    out = generate(model, windows[:, :P], K, greedy=True)[:, P:]               # (N, K)
    same = out == windows[:, P:]                                               # (N, K)
    prefix = same.long().cumprod(dim=1).sum(dim=1)  # (N,): matched before the first miss
    return {"exact": (prefix == K).float().mean().item(),
            "prefix": prefix.float().mean().item(), "char": same.float().mean().item()}


def memorisation_experiment(text: str, model: dict, train: dict, slice_chars: int,
                            checkpoints: Iterable[int], prompt_len: int, cont_len: int,
                            num_prompts: int, seed: int = 0) -> list[dict]:
    """Train a GPT on the first slice_chars characters of the training split only and, at
    each checkpoint step, measure `continuation_match` on prompts from that slice and from
    the validation split (held out), and the loss on each.

    One run: the measurements happen inside training (`train`'s on_step, which only reads),
    with the cosine schedule set for the last checkpoint. Rows: step, train_loss,
    heldout_loss, then train_/heldout_ exact, prefix and char.
    """
    train_text, val_text, tok = _split(text)
    slice_ids, held_ids = _ids(tok, train_text[:slice_chars]), _ids(tok, val_text)
    steps, rows = sorted(checkpoints), []

    def measure(step: int, gpt: tg.GPT) -> None:
        row: dict = {"step": step,
                     "train_loss": tg.estimate_loss(gpt, slice_ids, train["batch_size"]),
                     "heldout_loss": tg.estimate_loss(gpt, held_ids, train["batch_size"])}
        for name, ids in (("train", slice_ids), ("heldout", held_ids)):
            found = continuation_match(gpt, ids, prompt_len, cont_len, num_prompts, seed)
            row |= {f"{name}_{key}": value for key, value in found.items()}
        rows.append(row)

    holder: list[tg.GPT] = []

    def on_step(step: int, info: dict) -> None:
        if step in steps:
            measure(step, holder[0])

    torch.manual_seed(seed)
    gpt = tg.GPT(tg.GPTConfig(vocab_size=tok.vocab_size, **model))
    holder.append(gpt)
    cfg = tg.TrainConfig(**{**train, "max_iters": steps[-1], "eval_interval": 0,
                            "eval_iters": 0, "seed": seed})
    tg.train(gpt, slice_ids, None, cfg, progress=False, on_step=on_step)
    return rows


# --- 3. one attention head ---

@torch.no_grad()
def attention_maps(model: tg.GPT, idx: torch.Tensor) -> torch.Tensor:
    """The attention weights of every layer and head of a GPT on idx (B, T):
    (L, B, nh, T, T), row t of a map being how query t spreads over keys 0..t."""
    model.eval()
    T = idx.shape[1]
    x = model.tok_emb(idx) + model.pos_emb(torch.arange(T, device=idx.device))  # (B, T, E)
    maps = []
    for block in model.blocks:
        x, att = block.forward_with_weights(x)  # att (B, nh, T, T)
        maps.append(att)
    return torch.stack(maps)


def offset_attention(maps: torch.Tensor, max_offset: int = 4) -> torch.Tensor:
    """Mean attention weight on the key d positions back, d = 0..max_offset: (L, nh, D + 1).

    maps (L, B, nh, T, T) from `attention_maps`. Only queries t >= max_offset count, so every
    query has all the offsets to choose from (query 0 can only attend to itself).
    """
    T = maps.shape[-1]
    if not 0 <= max_offset < T:
        raise ValueError(f"max_offset must be in 0..{T - 1} (the maps are {T} long)")
    out = []
    for d in range(max_offset + 1):
        diag = maps.diagonal(offset=-d, dim1=-2, dim2=-1)  # (L, B, nh, T - d): key t - d
        out.append(diag[..., max_offset - d:].mean(dim=(1, 3)))  # queries t >= max_offset
    return torch.stack(out, dim=-1)


@contextlib.contextmanager
def ablate_heads(model: tg.GPT, heads: Iterable[tuple[int, int]]) -> Iterator[tg.GPT]:
    """Inside the `with`, heads (layer, head) of `model` contribute nothing; restored after.

    A head's output is one slice of hd = E / nh features of the merged heads, and only the
    matching hd columns of `attn.out_proj.weight` read it: zeroing those columns removes that
    head and nothing else (out_proj's bias, if any, belongs to no head and stays). The
    weights are copied back exactly on leaving, even after an exception.
    """
    heads = list(heads)
    L, nh = len(model.blocks), model.config.num_heads
    bad = [(l, h) for l, h in heads if not (0 <= l < L and 0 <= h < nh)]
    if bad:
        raise ValueError(f"no such (layer, head): {bad}; layers are 0..{L - 1}, heads 0..{nh - 1}")
    hd = model.config.embed_dim // nh
    saved = {l: model.blocks[l].attn.out_proj.weight.detach().clone() for l, _ in heads}
    try:
        with torch.no_grad():
            for l, h in heads:
                model.blocks[l].attn.out_proj.weight[:, h * hd:(h + 1) * hd] = 0
        yield model
    finally:
        with torch.no_grad():
            for l, weight in saved.items():
                model.blocks[l].attn.out_proj.weight.copy_(weight)


@torch.no_grad()
def token_losses(model: nn.Module, ids: torch.Tensor, batch_size: int = 64
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The cross-entropy (nats) of every predicted token of ids, in the windows that
    `estimate_loss` uses for a whole split (non-overlapping, max_len long): (losses, inputs,
    targets), each (N,); losses.mean() is estimate_loss's number."""
    T = model.config.max_len
    if len(ids) <= T:
        raise ValueError(f"ids has {len(ids)} tokens; need more than max_len = {T}")
    starts = torch.arange((len(ids) - 1) // T) * T                        # (W,)
    was_training = model.training
    model.eval()
    losses, inputs, targets = [], [], []
    for s in starts.split(batch_size):
        chunk = ids[s[:, None] + torch.arange(T + 1)]                    # (b, T + 1)
        x, y = chunk[:, :-1], chunk[:, 1:]
        logits, _ = model(x)                                              # (b, T, V)
        losses.append(F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none"))
        inputs.append(x.flatten())
        targets.append(y.flatten())
    model.train(was_training)
    return torch.cat(losses), torch.cat(inputs), torch.cat(targets)


def char_class(c: str) -> str:
    """The class of a character for reading a loss change: lower, upper, space, newline, other."""
    if c == " ":
        return "space"
    if c == "\n":
        return "newline"
    if c.isalpha():
        return "lower" if c.islower() else "upper"
    return "other"


def head_ablation_experiment(text: str, model: dict, train: dict, steps: int, seed: int = 0,
                             val_chars: int | None = None, max_offset: int = 4,
                             focus: tuple[int, int] | None = None, prev_min: float = 0.2
                             ) -> dict:
    """Train a GPT, find its most previous-token head, ablate each head in turn.

    Returns {"offsets": `offset_attention` (L, nh, D + 1) on validation windows, "focus": the
    head (layer, head) with the most weight on offset 1 (or the one given), "base": the clean
    validation loss, "ablated": (L, nh) loss with each head ablated alone, "all_prev": loss with
    every head whose largest mean weight, at least prev_min, is on offset 1 ablated together
    (and "prev_heads", their list), "by_class": {class: (count, mean loss rise)} of the focus
    head's ablation, by the class (`char_class`) of the PREVIOUS character, the one such a
    head reads; "by_char": the same per previous character; "seconds"}. val_chars: the first
    that many characters of the validation split (None: all).
    """
    start = time.perf_counter()
    train_text, val_text, tok = _split(text)
    val_ids = _ids(tok, val_text if val_chars is None else val_text[:val_chars])
    gpt = train_gpt(_ids(tok, train_text), tok.vocab_size, model, train, steps, seed)
    T = gpt.config.max_len
    windows = val_ids[:(len(val_ids) // T) * T].view(-1, T)[:64]              # (B, T)
    offsets = offset_attention(attention_maps(gpt, windows), max_offset)    # (L, nh, D + 1)
    L, nh = offsets.shape[:2]
    if focus is None:
        flat = int(offsets[..., 1].argmax())
        focus = (flat // nh, flat % nh)
    base, inputs, _ = token_losses(gpt, val_ids)
    ablated = torch.zeros(L, nh)
    focus_losses = base
    for l in range(L):
        for h in range(nh):
            with ablate_heads(gpt, [(l, h)]):
                losses = token_losses(gpt, val_ids)[0]
            ablated[l, h] = losses.mean()
            if (l, h) == focus:
                focus_losses = losses
    # every head whose favourite offset is 1, with at least prev_min of its weight there
    # (a head spread evenly over 64 keys has ~0.03): together they may do what one cannot
    prev_heads = [(l, h) for l in range(L) for h in range(nh)
                  if offsets[l, h].argmax() == 1 and offsets[l, h, 1] >= prev_min]
    with ablate_heads(gpt, prev_heads):
        all_prev = token_losses(gpt, val_ids)[0].mean().item()
    # the character one position back (what a previous-token head reads): the input before,
    # within the same window (the first position of a window has none and is left out)
    rise = (focus_losses - base).view(-1, T)[:, 1:].flatten()
    prev_chars = [tok.itos[i] for i in inputs.view(-1, T)[:, :-1].flatten().tolist()]
    by_class, by_char = {}, {}
    for key_of, table in ((char_class, by_class), (lambda c: c, by_char)):
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(prev_chars):
            groups.setdefault(key_of(c), []).append(i)
        for key, where in groups.items():
            table[key] = (len(where), rise[torch.tensor(where)].mean().item())
    return dict(offsets=offsets, focus=focus, base=base.mean().item(), ablated=ablated,
                prev_heads=prev_heads, all_prev=all_prev, by_class=by_class, by_char=by_char,
                seconds=time.perf_counter() - start)
