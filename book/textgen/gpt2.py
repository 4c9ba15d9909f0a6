"""OpenAI's GPT-2 in the course's own `GPT`: its weight file, its byte-level BPE, generation.

`load_gpt2` reads the published `model.safetensors` (any size: 124M, medium, large, xl) into a
`GPT` with biases, renaming and transposing each tensor as the table `GPT2_NAMES` says.
`GPT2Tokenizer` reads `vocab.json` and `merges.txt` and encodes any Unicode text as GPT-2 does:
UTF-8 bytes, each shown as a printable character (`byte_symbols`), cut into chunks by
`GPT2_PATTERN`, then merged with `apply_merges`, the same loop as chapter 5's `BPETokenizer`.
`generate_text` prompts a model with a string through `book.textgen.sample.generate`.

    model = load_gpt2("gpt2/")                       # the folder with model.safetensors
    tok = GPT2Tokenizer.from_dir("gpt2/")            # vocab.json, merges.txt
    print(generate_text(model, tok, "The meaning of life is", 20, greedy=True))
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from book.textgen.models import GPT, GPTConfig
from book.textgen.sample import generate
from book.textgen.tokenizers import apply_merges

if TYPE_CHECKING:
    import regex

__all__ = ["EOT", "GPT2_124M", "GPT2_BUFFERS", "GPT2_NAMES", "GPT2_PATTERN", "GPT2Tokenizer",
           "byte_symbols", "generate_text", "gpt2_chunks", "load_gpt2", "load_pretrained_gpt2"]

# The smallest GPT-2 (Radford et al., 2019): 124M parameters with the head tied to the
# embedding. GPT-2's LayerNorm eps (1e-5), tanh GELU and 4E-wide MLP are `Block`'s own.
GPT2_124M = GPTConfig(vocab_size=50257, max_len=1024, num_layers=12, num_heads=12,
                      embed_dim=768, dropout=0.0, bias=True)

# GPT-2's tensor names -> ours, and whether the tensor is transposed on the way. GPT-2's
# Conv1D stores a weight as (in, out) and computes x @ W; nn.Linear stores (out, in) and
# computes x @ W.T. c_attn's 3E outputs are q, k, v side by side, the order `in_proj` splits.
# "{i}" is the layer.
GPT2_NAMES: dict[str, tuple[str, bool]] = {
    "wte.weight":               ("tok_emb.weight", False),
    "wpe.weight":               ("pos_emb.weight", False),
    "h.{i}.ln_1.weight":        ("blocks.{i}.ln1.weight", False),
    "h.{i}.ln_1.bias":          ("blocks.{i}.ln1.bias", False),
    "h.{i}.attn.c_attn.weight": ("blocks.{i}.attn.in_proj.weight", True),
    "h.{i}.attn.c_attn.bias":   ("blocks.{i}.attn.in_proj.bias", False),
    "h.{i}.attn.c_proj.weight": ("blocks.{i}.attn.out_proj.weight", True),
    "h.{i}.attn.c_proj.bias":   ("blocks.{i}.attn.out_proj.bias", False),
    "h.{i}.ln_2.weight":        ("blocks.{i}.ln2.weight", False),
    "h.{i}.ln_2.bias":          ("blocks.{i}.ln2.bias", False),
    "h.{i}.mlp.c_fc.weight":    ("blocks.{i}.mlp.0.weight", True),
    "h.{i}.mlp.c_fc.bias":      ("blocks.{i}.mlp.0.bias", False),
    "h.{i}.mlp.c_proj.weight":  ("blocks.{i}.mlp.2.weight", True),
    "h.{i}.mlp.c_proj.bias":    ("blocks.{i}.mlp.2.bias", False),
    "ln_f.weight":              ("ln_f.weight", False),
    "ln_f.bias":                ("ln_f.bias", False),
}
# Buffers, not weights: attn.bias is the causal mask (ours is `causal=True`), attn.masked_bias
# the value older copies fill masked scores with. They are read past.
GPT2_BUFFERS = ("h.{i}.attn.bias", "h.{i}.attn.masked_bias")
_PREFIX = "transformer."  # copies saved from a model with a separate head prefix the body so
_HEAD = "lm_head.weight"  # such copies may also store the head, which must equal wte


def _template(name: str) -> tuple[str, int | None]:
    """('h.{i}.ln_1.weight', 3) for 'h.3.ln_1.weight'; (name, None) outside the layers."""
    parts = name.split(".", 2)
    if len(parts) == 3 and parts[0] == "h" and parts[1].isdecimal():
        i = int(parts[1])
        if name == f"h.{i}.{parts[2]}":  # "h.03" is not a layer name
            return f"h.{{i}}.{parts[2]}", i
    return name, None


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors file, by name without the `transformer.` prefix."""
    from safetensors.torch import load_file  # here: chapter 5 needs none of this

    if not path.is_file():
        raise FileNotFoundError(f"no GPT-2 weight file at {path}")
    raw = load_file(str(path))
    out: dict[str, torch.Tensor] = {}
    for name, t in raw.items():
        short = name.removeprefix(_PREFIX)
        if short in out:
            raise ValueError(f"{path} holds {short!r} twice, with and without {_PREFIX!r}")
        out[short] = t
    return out


def _check_names(names: set[str]) -> int:
    """The number of layers; ValueError naming every missing and every unknown tensor."""
    layers, unknown = set(), []
    for name in names:
        template, i = _template(name)
        if template in GPT2_NAMES or template in GPT2_BUFFERS:
            if i is not None:
                layers.add(i)
        elif name != _HEAD:
            unknown.append(name)
    num_layers = max(layers) + 1 if layers else 0
    expected = [t for t in GPT2_NAMES if "{i}" not in t] + [
        t.format(i=i) for i in range(num_layers) for t in GPT2_NAMES if "{i}" in t]
    missing = [n for n in expected if n not in names]
    if not layers:
        missing.append("h.0.* (no layer at all)")
    if missing or unknown:
        raise ValueError(
            "not a GPT-2 weight file: "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {', '.join(sorted(unknown))}" if unknown else "")
            + f" (expected the names of GPT2_NAMES, optionally prefixed {_PREFIX!r})")
    return num_layers


def load_gpt2(path_or_dir: str | os.PathLike[str], num_heads: int | None = None) -> GPT:
    """A `GPT` (eval mode) holding GPT-2's weights from model.safetensors (or its folder).

    The shape comes from the file: vocabulary and width from wte, max_len from wpe, layers from
    the h.{i} names. The heads are not in the file; GPT-2's are 64 wide, so `num_heads`
    defaults to width // 64 (12 for 124M, 16 medium, 20 large, 25 xl).
    """
    path = Path(path_or_dir)
    if path.is_dir():
        path = path / "model.safetensors"
    tensors = _read_tensors(path)
    num_layers = _check_names(set(tensors))
    V, E = tensors["wte.weight"].shape
    if num_heads is None:
        num_heads = E // 64
    if num_heads < 1 or E % num_heads:
        raise ValueError(f"width {E} is not a multiple of num_heads = {num_heads}: "
                         "pass num_heads (GPT-2's heads are 64 wide)")
    cfg = GPTConfig(vocab_size=V, max_len=tensors["wpe.weight"].shape[0], num_layers=num_layers,
                    num_heads=num_heads, embed_dim=E, dropout=0.0, bias=True)
    model = GPT(cfg)
    ours = model.state_dict(keep_vars=True)  # the Parameters themselves, to copy into
    pairs, wrong = [], []
    for gpt2_name, t in tensors.items():
        template, i = _template(gpt2_name)
        if template not in GPT2_NAMES:
            continue  # a buffer, or lm_head (checked below)
        our_template, transpose = GPT2_NAMES[template]
        target = ours[our_template.format(i=i)]
        source = t.T if transpose else t
        if source.shape != target.shape:
            expected = tuple(target.shape[::-1] if transpose else target.shape)
            wrong.append(f"{gpt2_name} {tuple(t.shape)} (expected {expected})")
        pairs.append((target, source))
    if wrong:
        raise ValueError(f"wrong shapes for a GPT-2 of width {E} with {num_layers} layers, "
                         f"vocabulary {V}, max_len {cfg.max_len}: {', '.join(wrong)}")
    with torch.no_grad():
        for target, source in pairs:
            target.copy_(source)  # into the existing Parameter: head.weight stays tok_emb's
    if _HEAD in tensors and not torch.equal(tensors[_HEAD].to(model.head.weight.dtype),
                                            model.head.weight):
        raise ValueError(f"{path}: {_HEAD} differs from wte.weight, but GPT-2's head is tied "
                         "to the token embedding (and so is ours)")
    return model.eval()


# ---------------------------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------------------------

EOT = "<|endoftext|>"  # GPT-2's one special token (id 50256): between documents in training


def byte_symbols() -> list[str]:
    """The printable character that stands for each byte 0..255 in GPT-2's vocab.json.

    The 188 bytes whose Latin-1 character is visible ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
    themselves; the 68 others (controls, space, no-break space, soft hyphen) take the
    characters 256, 257, ... in byte order, so a space is 'Ġ' (256 + 32) and a newline 'Ċ'.
    Every token is then a plain string with no blank or control character in it.
    """
    visible = set(range(ord("!"), ord("~") + 1)) | set(range(ord("¡"), ord("¬") + 1)) \
        | set(range(ord("®"), ord("ÿ") + 1))
    symbols, n = [], 0
    for b in range(256):
        if b in visible:
            symbols.append(chr(b))
        else:
            symbols.append(chr(256 + n))
            n += 1
    return symbols


# GPT-2's pre-tokenisation: the first alternative that matches is the next chunk, and merges
# never cross chunks. \p{L} and \p{N} are Unicode letters and numbers, which Python's `re`
# lacks; `regex` has them (it comes with the pinned sacrebleu). `re`'s closest, [^\W\d_], would
# also count '²' or '½' as letters and so cut some texts differently from GPT-2.
GPT2_PATTERN = r"""
      's | 't | 're | 've | 'm | 'll | 'd   # English contractions (lower case only, as GPT-2)
    | \ ?\p{L}+                             # letters, with the space before them: " here"
    | \ ?\p{N}+                             # digits and other numbers, with their space
    | \ ?[^\s\p{L}\p{N}]+                   # anything else but white space: " --", "!"
    | \s+(?!\S)                             # white space, except the last space before a word
    | \s+                                   # white space at the end of the text
"""


@functools.cache
def _compiled_pattern() -> regex.Pattern[str]:
    """GPT2_PATTERN, compiled once, on first use."""
    import regex  # here: not needed until a GPT-2 tokenizer is used

    return regex.compile(GPT2_PATTERN, flags=regex.VERBOSE)


def gpt2_chunks(text: str) -> list[str]:
    """Cut `text` into GPT-2's chunks ("I'm here" -> ["I", "'m", " here"]); they add up to it."""
    return _compiled_pattern().findall(text)


class GPT2Tokenizer:
    """GPT-2's byte-level BPE, from its vocab.json (token -> id) and merges.txt (ranked pairs).

    Text -> UTF-8 bytes -> one symbol per byte (`byte_symbols`), chunk by chunk (`gpt2_chunks`),
    then the merges, lowest rank first (`apply_merges`). Any Unicode string can be encoded and
    decode(encode(s)) == s. `encode` treats "<|endoftext|>" in a text as text; the token
    itself is `eot_id`.
    """

    def __init__(self, vocab: Mapping[str, int], merges: Sequence[tuple[str, str]]) -> None:
        """A tokenizer from the token -> id table and the merges, highest priority first."""
        self.encoder = dict(vocab)
        self.decoder = {i: s for s, i in self.encoder.items()}
        if len(self.decoder) != len(self.encoder):
            raise ValueError("vocab gives the same id to two tokens")
        self.symbols = byte_symbols()
        missing = [s for s in self.symbols if s not in self.encoder]
        if missing:
            raise ValueError(f"vocab lacks the symbols of {len(missing)} bytes, e.g. "
                             f"{missing[:5]}: a byte-level vocabulary has all 256")
        self.byte_of = {s: b for b, s in enumerate(self.symbols)}
        self.base = [self.encoder[s] for s in self.symbols]  # byte -> id
        self.ranks: dict[tuple[int, int], int] = {}
        self.merged: dict[tuple[int, int], int] = {}
        for rank, (a, b) in enumerate(merges):
            absent = [s for s in (a, b, a + b) if s not in self.encoder]
            if absent:
                raise ValueError(f"merge {rank} ({a!r} {b!r}) uses {absent}, not in vocab")
            pair = (self.encoder[a], self.encoder[b])
            self.ranks.setdefault(pair, rank)  # a repeated merge keeps its first rank
            self.merged[pair] = self.encoder[a + b]
        self.eot_id = self.encoder.get(EOT)
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def from_files(cls, vocab_path: str | os.PathLike[str], merges_path: str | os.PathLike[str]
                   ) -> GPT2Tokenizer:
        """Read vocab.json and merges.txt (its '#version' first line is skipped)."""
        vocab = json.loads(Path(vocab_path).read_text(encoding="utf-8"))
        merges = []
        for n, line in enumerate(Path(merges_path).read_text(encoding="utf-8").splitlines()):
            if line.startswith("#version") or not line:
                continue
            pair = line.split(" ")
            if len(pair) != 2:
                raise ValueError(f"{merges_path}, line {n + 1}: expected two tokens, got {line!r}")
            merges.append((pair[0], pair[1]))
        return cls(vocab, merges)

    @classmethod
    def from_dir(cls, folder: str | os.PathLike[str]) -> GPT2Tokenizer:
        """Read `folder`/vocab.json and `folder`/merges.txt."""
        folder = Path(folder)
        return cls.from_files(folder / "vocab.json", folder / "merges.txt")

    @property
    def vocab_size(self) -> int:
        """Number of tokens (50257 for GPT-2: 256 bytes, 50000 merges, <|endoftext|>)."""
        return len(self.encoder)

    def encode(self, text: str) -> list[int]:
        """Token ids of any Unicode `text`."""
        out = []
        for chunk in gpt2_chunks(text):
            if chunk not in self._cache:  # most chunks of a long text are words seen before
                ids = [self.base[b] for b in chunk.encode("utf-8")]
                self._cache[chunk] = apply_merges(ids, self.ranks, self.merged)
            out += self._cache[chunk]
        return out

    def token_bytes(self, ids: Sequence[int]) -> list[bytes]:
        """The bytes of each token; a token may hold part of a character ('é' is 2 bytes)."""
        try:
            return [bytes(self.byte_of[s] for s in self.decoder[int(i)]) for i in ids]
        except KeyError as err:
            raise ValueError(f"{err.args[0]!r} is not a token id or byte symbol of this "
                             "vocabulary") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids`; a cut-off character (a model may stop mid-way) becomes U+FFFD."""
        return b"".join(self.token_bytes(ids)).decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"GPT2Tokenizer(vocab_size={self.vocab_size}, merges={len(self.ranks)})"


def generate_text(model: GPT, tok: GPT2Tokenizer, prompt: str, max_new_tokens: int,
                  stop_at_eot: bool = True, **sampling: object) -> str:
    """The prompt and its continuation, from `book.textgen.sample.generate` (greedy=True,
    temperature, top_k, top_p, generator go to it); stops at the first <|endoftext|>.

    An empty prompt starts from <|endoftext|>, as GPT-2's documents do: unconditional text.
    The end-of-text token is looked for after the fact (generation runs max_new_tokens steps).
    """
    if not prompt and tok.eot_id is None:
        raise ValueError(f"an empty prompt starts from {EOT}, which this vocabulary lacks")
    ids = tok.encode(prompt) if prompt else [tok.eot_id]
    device = next(model.parameters()).device
    out = generate(model, torch.tensor([ids], device=device), max_new_tokens, **sampling)
    new = out[0, len(ids):].tolist()
    if stop_at_eot and tok.eot_id in new:
        new = new[:new.index(tok.eot_id)]
    return prompt + tok.decode(new)


def load_pretrained_gpt2(progress: bool = True, num_heads: int | None = None
                         ) -> tuple[GPT, GPT2Tokenizer]:
    """OpenAI's GPT-2 124M and its tokenizer, from the verified files of `book.data`'s ``gpt2``.

    Downloads the 548 MB weight file (checksummed, resumable) if neither the data mirror nor the
    cache has it: call `book.data.is_available("gpt2")` first to ask without downloading, or run
    ``python -m book.data fetch gpt2`` once from a terminal.
    """
    from book import data  # here: the loaders above need no data folder

    folder = data.path("gpt2", progress=progress)
    return load_gpt2(folder, num_heads), GPT2Tokenizer.from_dir(folder)
