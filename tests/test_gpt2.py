"""Tests of book.textgen.gpt2: GPT-2's weight file in our GPT, checked against a NumPy forward
pass written here from the raw tensors; the loader's errors; the byte-level BPE tokenizer on a
vocabulary made here; and, where book.data finds the real files, the real tokenizer and model.

Everything but the last tests runs offline on small files written to a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from book import data
from book.textgen import (
    EOT,
    GPT,
    GPT2_124M,
    GPT2_NAMES,
    GPT2Tokenizer,
    byte_symbols,
    generate_text,
    gpt2_chunks,
    load_gpt2,
)

# A small GPT-2: 2 layers, width 32, 4 heads (8 wide), vocabulary 300, 64 positions.
L, E, NH, V, MAX_LEN = 2, 32, 4, 300, 64
# float32 (ours) against float64 (the reference) through 2 layers of logits of size ~1-10:
# the difference measured 4e-6 (logits up to 6.7); a forgotten transpose moves them by ~9.
TOL = 1e-4


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def gpt2_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 weights with GPT-2's names and layouts (Conv1D: (in, out)), plus the
    attn.bias causal-mask buffers that the published file holds."""
    rng = np.random.default_rng(seed)

    def r(*shape: int, scale: float = 0.3, mean: float = 0.0) -> np.ndarray:
        """A float32 normal array: mean + scale * N(0, 1)."""
        return (mean + scale * rng.standard_normal(shape)).astype(np.float32)

    t = {"wte.weight": r(V, E), "wpe.weight": r(MAX_LEN, E),
         "ln_f.weight": r(E, mean=1.0, scale=0.2), "ln_f.bias": r(E, scale=0.1)}
    for i in range(L):
        h = f"h.{i}."
        t |= {h + "ln_1.weight": r(E, mean=1.0, scale=0.2), h + "ln_1.bias": r(E, scale=0.1),
              h + "attn.c_attn.weight": r(E, 3 * E), h + "attn.c_attn.bias": r(3 * E),
              h + "attn.c_proj.weight": r(E, E), h + "attn.c_proj.bias": r(E),
              h + "ln_2.weight": r(E, mean=1.0, scale=0.2), h + "ln_2.bias": r(E, scale=0.1),
              h + "mlp.c_fc.weight": r(E, 4 * E), h + "mlp.c_fc.bias": r(4 * E),
              h + "mlp.c_proj.weight": r(4 * E, E, scale=0.1), h + "mlp.c_proj.bias": r(E),
              h + "attn.bias": np.tril(np.ones((MAX_LEN, MAX_LEN), np.float32))[None, None]}
    return t


def write(tmp_path: Path, tensors: dict[str, np.ndarray], name: str = "model.safetensors"
          ) -> Path:
    """Save `tensors` as a .safetensors file in tmp_path; its path."""
    path = tmp_path / name
    save_file(tensors, str(path))
    return path


# --------------------------------------------------------------------------------------------
# The reference: GPT-2's forward pass in NumPy, float64, from the file's own tensors
# --------------------------------------------------------------------------------------------


def ln(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis with GPT-2's eps, 1e-5."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def reference_logits(t: dict[str, np.ndarray], idx: np.ndarray, nh: int) -> np.ndarray:
    """Logits (B, T, V) of GPT-2 with weights `t` (GPT-2 names), one sequence and head at a
    time, written from the definition: Conv1D is x @ W + b."""
    t = {k: v.astype(np.float64) for k, v in t.items()}
    out = []
    for seq in idx:
        T = len(seq)
        x = t["wte.weight"][seq] + t["wpe.weight"][:T]  # (T, E)
        E = x.shape[1]
        hd = E // nh
        for i in range(L):
            g = lambda name: t[f"h.{i}.{name}"]  # noqa: E731
            qkv = ln(x, g("ln_1.weight"), g("ln_1.bias")) @ g("attn.c_attn.weight") \
                + g("attn.c_attn.bias")  # (T, 3E): q, k, v side by side
            q, k, v = qkv[:, :E], qkv[:, E:2 * E], qkv[:, 2 * E:]
            heads = []
            for h in range(nh):
                cols = slice(h * hd, (h + 1) * hd)
                s = q[:, cols] @ k[:, cols].T / np.sqrt(hd)  # (T, T)
                s[np.triu_indices(T, 1)] = -np.inf  # query t sees keys <= t only
                w = np.exp(s - s.max(1, keepdims=True))
                heads.append((w / w.sum(1, keepdims=True)) @ v[:, cols])  # (T, hd)
            x = x + np.concatenate(heads, 1) @ g("attn.c_proj.weight") + g("attn.c_proj.bias")
            m = gelu_tanh(ln(x, g("ln_2.weight"), g("ln_2.bias")) @ g("mlp.c_fc.weight")
                          + g("mlp.c_fc.bias"))
            x = x + m @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias")
        out.append(ln(x, t["ln_f.weight"], t["ln_f.bias"]) @ t["wte.weight"].T)  # tied head
    return np.stack(out)


IDX = np.random.default_rng(1).integers(0, V, size=(2, 12))


def our_logits(model: torch.nn.Module) -> np.ndarray:
    """Our GPT's logits on IDX, as float64 NumPy."""
    with torch.no_grad():
        return model(torch.tensor(IDX))[0].double().numpy()


# --------------------------------------------------------------------------------------------
# Loading weights
# --------------------------------------------------------------------------------------------


def test_loaded_gpt2_matches_the_numpy_reference(tmp_path):
    t = gpt2_tensors()
    write(tmp_path, t)
    model = load_gpt2(tmp_path, num_heads=NH)  # a folder: its model.safetensors
    c = model.config
    assert (c.vocab_size, c.max_len, c.num_layers, c.num_heads, c.embed_dim, c.bias) == \
        (V, MAX_LEN, L, NH, E, True)
    assert not model.training
    ref = reference_logits(t, IDX, NH)
    assert np.abs(ref).max() > 1  # logits big enough for TOL to be a real test
    np.testing.assert_allclose(our_logits(model), ref, rtol=TOL, atol=TOL)


def test_the_reference_sees_a_missing_transpose(tmp_path):
    """attn.c_proj is square, so no shape check catches a forgotten transpose: the logits do."""
    t = gpt2_tensors()
    wrong = dict(t, **{"h.0.attn.c_proj.weight": t["h.0.attn.c_proj.weight"].T.copy()})
    model = load_gpt2(write(tmp_path, wrong), num_heads=NH)
    assert np.abs(our_logits(model) - reference_logits(t, IDX, NH)).max() > 100 * TOL


def test_transformer_prefix_and_a_tied_lm_head_load_the_same(tmp_path):
    t = gpt2_tensors()
    prefixed = {"transformer." + k: v for k, v in t.items()} | {"lm_head.weight": t["wte.weight"]}
    a = load_gpt2(write(tmp_path, t, "a.safetensors"), num_heads=NH)
    b = load_gpt2(write(tmp_path, prefixed, "b.safetensors"), num_heads=NH)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))


def test_the_head_is_the_token_embedding(tmp_path):
    model = load_gpt2(write(tmp_path, gpt2_tensors()), num_heads=NH)
    assert model.head.weight is model.tok_emb.weight
    assert model.head.weight.data_ptr() == model.tok_emb.weight.data_ptr()


def test_the_mapping_table_covers_every_parameter_of_our_gpt(tmp_path):
    model = load_gpt2(write(tmp_path, gpt2_tensors()), num_heads=NH)
    ours = {o.format(i=i) for i in range(L) for o, _ in GPT2_NAMES.values()}
    assert ours | {"head.weight"} == set(model.state_dict())


def test_heads_default_to_width_over_64(tmp_path):
    path = write(tmp_path, gpt2_tensors())
    with pytest.raises(ValueError, match=r"width 32 is not a multiple of num_heads = 0"):
        load_gpt2(path)  # 32 // 64 = 0 heads: the width of this toy is not GPT-2's
    assert load_gpt2(path, num_heads=2).config.num_heads == 2


@pytest.mark.parametrize("change, message", [
    (lambda t: t.pop("h.1.mlp.c_fc.bias"), r"missing h\.1\.mlp\.c_fc\.bias"),
    (lambda t: t.pop("wpe.weight"), r"missing wpe\.weight"),
    (lambda t: [t.pop(k) for k in list(t) if k.startswith("h.0.")],
     r"missing h\.0\.ln_1\.weight, h\.0\.ln_1\.bias, h\.0\.attn\.c_attn\.weight"),
    (lambda t: t.update({"h.0.attn.rotary.weight": np.zeros(3, np.float32)}),
     r"unknown h\.0\.attn\.rotary\.weight"),
    (lambda t: t.update({"lm_head.bias": np.zeros(V, np.float32)}), r"unknown lm_head\.bias"),
    (lambda t: t.update({"h.3.ln_1.weight": np.ones(E, np.float32)}),
     r"missing h\.2\.ln_1\.weight.*h\.3\.mlp\.c_proj\.bias"),
    (lambda t: t.update({"h.0.attn.c_attn.weight": np.zeros((3 * E, E), np.float32)}),
     r"h\.0\.attn\.c_attn\.weight \(96, 32\) \(expected \(32, 96\)\)"),
    (lambda t: t.update({"ln_f.bias": np.zeros(E + 1, np.float32)}),
     r"ln_f\.bias \(33,\) \(expected \(32,\)\)"),
    (lambda t: t.update({"lm_head.weight": np.zeros((V, E), np.float32)}),
     r"lm_head\.weight differs from wte\.weight"),
    (lambda t: t.update({"transformer.wte.weight": t["wte.weight"]}),
     r"holds 'wte\.weight' twice"),
])
def test_a_wrong_file_is_refused_with_the_names(tmp_path, change, message):
    t = gpt2_tensors()
    change(t)
    with pytest.raises(ValueError, match=message):
        load_gpt2(write(tmp_path, t), num_heads=NH)


def test_gpt2_124m_has_gpt2s_parameter_count():
    # wte 50257 x 768 + wpe 1024 x 768 + 12 layers of 7,087,872 + ln_f 2 x 768 (head tied)
    with torch.device("meta"):  # shapes only, no memory
        assert GPT(GPT2_124M).num_params() == 124_439_808


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_gpt2(tmp_path)


# --------------------------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------------------------

S = byte_symbols()
SP = S[ord(" ")]
# Merges, in rank order, over a vocabulary of the 256 byte symbols (ids = byte values).
MERGES = [("h", "e"), (SP, "t"), (SP + "t", "he"), ("e", "r"), ("r", "e"), ("i", "n"),
          (SP, "n"), ("o", "w"), (SP + "n", "ow")]


def tiny_tokenizer(folder: Path, merges: list[tuple[str, str]] = MERGES) -> GPT2Tokenizer:
    """A tokenizer read from a vocab.json and merges.txt written in GPT-2's formats."""
    vocab = {s: b for b, s in enumerate(S)}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[EOT] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    return GPT2Tokenizer.from_dir(folder)


def test_byte_symbols_are_gpt2s_table():
    assert len(set(S)) == 256
    visible = [b for b in range(256) if S[b] == chr(b)]
    # the bytes that stand for themselves are exactly those with a visible Latin-1 character
    assert visible == [b for b in range(256) if chr(b).isprintable() and not chr(b).isspace()]
    assert len(visible) == 188
    assert (S[ord(" ")], S[ord("\n")], S[0], S[0xAD]) == ("Ġ", "Ċ", "Ā", "Ń")
    assert [ord(S[b]) for b in range(256) if b not in visible] == list(range(256, 256 + 68))


def test_pretokeniser_splits_as_gpt2():
    # "I" (letters); "'m" (contraction); " here" (space + letters); of the two spaces before
    # "now", the first is white space not followed by a non-space, the second goes with "now";
    # "!" is neither letter nor digit nor space.
    assert gpt2_chunks("I'm here  now!") == ["I", "'m", " here", " ", " now", "!"]
    assert gpt2_chunks("it's 2024\n\nok") == ["it", "'s", " 2024", "\n", "\n", "ok"]
    assert gpt2_chunks("x² ½ 3rd ÉTÉ 'S") == ["x", "²", " ½", " 3", "rd", " ÉTÉ", " '", "S"]


def test_merges_apply_lowest_rank_first(tmp_path):
    tok = tiny_tokenizer(tmp_path)
    # " there" = Ġ t h e r e. Ranks present: (h,e) 0, (Ġ,t) 1, (e,r) 3, (r,e) 4. Merge he:
    # Ġ t he r e; then Ġt: Ġt he r e; then (Ġt, he) 2: Ġthe r e; (e,r) is gone, so (r,e):
    # Ġthe re.
    ids = tok.encode(" there")
    assert [tok.decoder[i] for i in ids] == [SP + "the", "re"]
    # " now" = Ġ n o w: (Ġ,n) 6, then (o,w) 7, then (Ġn, ow) 8; " in" = Ġ i n: (i,n) 5 only
    assert [tok.decoder[i] for i in tok.encode(" now in")] == [SP + "now", SP, "in"]
    # learnt in another order, (e, r) first, the same merges cut " there" elsewhere:
    # Ġ t h er e, then (Ġ,t): Ġt h er e, and no pair of that is a merge
    (tmp_path / "other").mkdir()
    er_first = [("e", "r")] + [m for m in MERGES if m != ("e", "r")]
    other = tiny_tokenizer(tmp_path / "other", er_first)
    assert [other.decoder[i] for i in other.encode(" there")] == [SP + "t", "h", "er", "e"]


@pytest.mark.parametrize("text", [
    "", "Hello, world!", "naïve café, déjà vu — Ærøskøbing", "床前明月光，疑是地上霜。",
    "emoji 🙂👍🏽 and 🇫🇷 flags", "many    spaces\n\n\tand\r\nnewlines \n", "x² ½ 'S'll",
    "ﬁ \u0301 e\u0301 \x00\x7f\xad", EOT,
])
def test_encode_decode_round_trip(tmp_path, text):
    tok = tiny_tokenizer(tmp_path)
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) <= len(text.encode("utf-8"))
    assert tok.eot_id not in ids  # <|endoftext|> in a text is text


def test_token_bytes_may_split_a_character(tmp_path):
    tok = tiny_tokenizer(tmp_path)
    ids = tok.encode("é")
    assert tok.token_bytes(ids) == [b"\xc3", b"\xa9"]
    assert tok.decode(ids[:1]) == "\ufffd"
    assert tok.decode([tok.eot_id]) == EOT and tok.vocab_size == 256 + len(MERGES) + 1


def test_tokenizer_errors_name_the_problem(tmp_path):
    vocab = {s: b for b, s in enumerate(S)}
    with pytest.raises(ValueError, match=r"merge 0 \('a' 'b'\) uses \['ab'\], not in vocab"):
        GPT2Tokenizer(vocab, [("a", "b")])
    del vocab["Ġ"]
    with pytest.raises(ValueError, match=r"lacks the symbols of 1 bytes, e.g. \['Ġ'\]"):
        GPT2Tokenizer(vocab, [])
    with pytest.raises(ValueError, match="not a token id"):
        tiny_tokenizer(tmp_path).decode([10 ** 6])


def test_generate_text_runs_our_sampler_and_stops_at_end_of_text(tmp_path):
    tok = tiny_tokenizer(tmp_path)
    t = gpt2_tensors()
    t["wte.weight"] = t["wte.weight"][:tok.vocab_size]  # a model for this tokenizer
    model = load_gpt2(write(tmp_path, t), num_heads=NH)
    with torch.no_grad():  # make <|endoftext|> the only likely token: generation stops at once
        model.ln_f.weight.zero_()
        model.ln_f.bias.zero_()
        model.ln_f.bias[0] = 1.0
        model.head.weight[tok.eot_id, 0] = 100.0
    assert generate_text(model, tok, "there", 5, greedy=True) == "there"
    assert generate_text(model, tok, "there", 5, greedy=True, stop_at_eot=False) == \
        "there" + EOT * 5
    assert generate_text(model, tok, "", 3, greedy=True) == ""


# --------------------------------------------------------------------------------------------
# The real files, where book.data has them (never downloaded by the tests)
# --------------------------------------------------------------------------------------------


def real_gpt2_dir() -> Path | None:
    """The folder holding GPT-2's three files, if book.data finds them locally."""
    found = [data.locate(f"gpt2/{name}") for name in
             ("model.safetensors", "vocab.json", "merges.txt")]
    folders = {hits[0][1].parent for hits in found if hits}
    return folders.pop() if all(found) and len(folders) == 1 else None


needs_gpt2 = pytest.mark.skipif(real_gpt2_dir() is None,
                                reason="GPT-2's files are not in the data mirror or cache")


@needs_gpt2
def test_real_gpt2_tokenizer():
    tok = GPT2Tokenizer.from_dir(real_gpt2_dir())
    assert tok.vocab_size == 50257 and tok.eot_id == 50256 and len(tok.ranks) == 50000
    assert tok.encode("Hello world") == [15496, 995]  # "Hello", " world"
    text = "GPT-2 reads bytes: naïve, 床前明月光, 🙂  and\n\nnewlines."
    assert tok.decode(tok.encode(text)) == text


@needs_gpt2
@pytest.mark.slow
def test_real_gpt2_greedy_generation_is_deterministic():
    folder = real_gpt2_dir()
    model, tok = load_gpt2(folder), GPT2Tokenizer.from_dir(folder)
    assert model.config == GPT2_124M
    prompt = "The meaning of life is"
    first = generate_text(model, tok, prompt, 8, greedy=True)
    assert first.startswith(prompt) and len(first) > len(prompt)
    assert generate_text(model, tok, prompt, 8, greedy=True) == first


def test_load_pretrained_gpt2_reads_the_folder_book_data_gives(tmp_path, monkeypatch):
    write(tmp_path, gpt2_tensors())
    tiny_tokenizer(tmp_path)
    asked = []
    monkeypatch.setattr(data, "path", lambda name, progress=True: asked.append(name) or tmp_path)
    from book.textgen import load_pretrained_gpt2

    model, tok = load_pretrained_gpt2(progress=False, num_heads=NH)
    assert asked == ["gpt2"]
    assert model.config.num_layers == L and tok.decode(tok.encode(" there")) == " there"
