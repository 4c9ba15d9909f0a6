"""book.translate: data and vocabularies, the baselines, both encoder-decoders (shapes, masks,
causality, token-by-token decoding), the loss, training, greedy and beam search."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch
from torch import nn

from book import translate as tr
from book.data import SentencePair

PAIRS = [SentencePair(en, zh, "test") for en, zh in [
    ("I like cats.", "我喜欢猫。"),
    ("I like dogs.", "我喜欢狗。"),
    ("You like cats.", "你喜欢猫。"),
    ("He runs.", "他跑。"),
    ("She runs fast.", "她跑得快。"),
    ("Do you like dogs?", "你喜欢狗吗？"),
]]

TINY_LSTM = tr.LSTMConfig(embed_dim=16, hidden_size=24, attn_dim=12, dropout=0.0)
TINY_TRANSFORMER = tr.TransformerConfig(embed_dim=16, num_heads=2, enc_layers=2, dec_layers=2,
                                        dropout=0.0, max_len=40)


def vocabs() -> tr.TranslationVocabs:
    return tr.TranslationVocabs.build(PAIRS, min_freq=1)


def build(kind: str, lstm: tr.LSTMConfig, transformer: tr.TransformerConfig) -> nn.Module:
    """An "lstm", a "transformer", or a "tied" one (tie_embeddings=True) of these sizes."""
    if kind == "lstm":
        return tr.Seq2SeqLSTM(vocabs(), lstm)
    tied = dataclasses.replace(transformer, tie_embeddings=kind == "tied")
    return tr.Seq2SeqTransformer(vocabs(), tied)


def tiny(kind: str, seed: int = 0) -> nn.Module:
    """An untrained tiny model of `kind` in float64 (exact comparisons), eval mode."""
    torch.manual_seed(seed)
    return build(kind, TINY_LSTM, TINY_TRANSFORMER).double().eval()


KINDS = ["lstm", "transformer", "tied"]


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------------------------
# Data, vocabularies, baselines
# --------------------------------------------------------------------------------------------


def test_filter_pairs_and_references_by_source():
    assert tr.filter_pairs(PAIRS, max_words=3) == [PAIRS[3]]  # "He runs." is 3 tokens with "."
    assert len(tr.filter_pairs(PAIRS, max_words=4)) == 5
    assert tr.filter_pairs(PAIRS, max_words=10, max_chars=4) == [PAIRS[3]]
    pairs = [SentencePair("Hi.", "你好。", ""), SentencePair("Run.", "跑。", ""),
             SentencePair("Hi.", "嗨。", "")]
    assert tr.references_by_source(pairs) == (["Hi.", "Run."], [["你好。", "嗨。"], ["跑。"]])


def test_vocabularies_and_encoding():
    v = vocabs()
    assert v.tgt.itos[:4] == ["<pad>", "<unk>", tr.BOS, tr.EOS] and "喜" in v.tgt
    assert v.src.itos[:2] == ["<pad>", "<unk>"] and "cats" in v.src and "." in v.src
    enc = v.encode(PAIRS[:2] + PAIRS[3:4])
    assert enc.src.shape == enc.src_mask.shape == (3, 4)          # "i like cats ."
    assert enc.tgt_in.shape == enc.tgt_out.shape == (3, 6)        # 5 characters + 1
    assert enc.tgt_in[:, 0].tolist() == [v.bos_id] * 3
    assert enc.tgt_out[2].tolist()[:4] == [*v.tgt.encode("他跑。"), v.eos_id]
    assert enc.tgt_out[2, 4:].tolist() == [0, 0] and enc.tgt_in[2, 4:].tolist() == [0, 0]
    assert torch.equal(enc.tgt_in[:, 1:][enc.tgt_out[:, 1:] != 0],
                       enc.tgt_out[:, :-1][enc.tgt_out[:, 1:] != 0])  # shifted by one
    assert enc.target_lengths().tolist() == [6, 6, 4]
    src, mask, tgt_in, tgt_out = enc.batch([2])                   # cut to this row's lengths
    assert src.shape == (1, 3) and tgt_in.shape == tgt_out.shape == (1, 4) and not mask.any()
    assert v.decode_target(enc.tgt_out[0]) == "我喜欢猫。"
    assert v.decode_target([v.tgt.stoi["我"], v.eos_id, v.tgt.stoi["猫"]]) == "我"
    assert v.tgt.encode("我爱猫") == [v.tgt.stoi["我"], v.tgt.unk_id, v.tgt.stoi["猫"]]
    with pytest.raises(ValueError, match="<bos>"):
        tr.TranslationVocabs(v.src, v.src)
    with pytest.raises(TypeError, match="list"):
        v.encode_source("I like cats.")


def test_most_common_translation_and_the_lookup_dictionary():
    pairs = PAIRS + [PAIRS[3], PAIRS[0], PAIRS[3]]
    assert tr.most_common_translation(pairs) == "他跑。"
    lookup = tr.LookupTranslator.build(PAIRS, min_dice=0.5, min_count=2)
    # "cats" is in exactly the pairs that hold 猫 (Dice 1); "runs" in those that hold 跑
    assert lookup.table["cats"] == "猫" and lookup.table["runs"] == "跑"
    assert lookup.table["dogs"] == "狗" and "fast" not in lookup.table  # seen once
    assert lookup.translate(["Cats runs", "zebra"]) == ["猫跑", ""]
    # the table does not depend on the order of the pairs
    assert tr.LookupTranslator.build(PAIRS[::-1], min_dice=0.5).table == lookup.table


# --------------------------------------------------------------------------------------------
# Attention and the two models
# --------------------------------------------------------------------------------------------


def test_additive_attention_is_the_formula_with_masked_softmax():
    torch.manual_seed(0)
    attn = tr.AdditiveAttention(5, 7, 4).double()
    q, k = torch.randn(2, 3, 5, dtype=torch.double), torch.randn(2, 4, 7, dtype=torch.double)
    mask = torch.tensor([[False, False, False, False], [False, False, True, True]])
    context, w = attn(q, k, mask)
    assert context.shape == (2, 3, 7) and w.shape == (2, 3, 4)
    for b, t in itertools.product(range(2), range(3)):
        real = [s for s in range(4) if not mask[b, s]]
        e = torch.stack([attn.v(torch.tanh(attn.w_q(q[b, t]) + attn.w_k(k[b, s])))[0]
                         for s in real])
        expected = torch.softmax(e, 0)
        assert torch.allclose(w[b, t, real], expected)
        assert torch.allclose(context[b, t], expected @ k[b, real])
    assert torch.all(w[1, :, 2:] == 0)
    assert torch.allclose(w.sum(-1), torch.ones(2, 3, dtype=torch.double))
    with pytest.raises(ValueError, match="same B"):
        attn(q, k[:1])


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_cross_attention_rows(kind):
    model, v = tiny(kind), vocabs()
    enc = v.encode(PAIRS[:4])
    B, S, T = 4, enc.src.shape[1], enc.tgt_in.shape[1]
    assert model(enc.src, enc.src_mask, enc.tgt_in).shape == (B, T, len(v.tgt))
    assert model.encode(enc.src, enc.src_mask).shape[:2] == (B, S)
    w = model.cross_attention(enc.src, enc.src_mask, enc.tgt_in)
    if kind == "lstm":
        assert w.shape == (B, T, S)
    else:
        assert w.shape == (2, B, 2, T, S)                         # (L, B, nh, T, S)
    pad = enc.src_mask[:, None, :].expand(B, T, S)                # (B, T, S)
    if kind != "lstm":
        pad = pad[None, :, None].expand_as(w)
    assert torch.all(w[pad] == 0)
    assert torch.allclose(w.sum(-1), torch.ones_like(w.sum(-1)))


@pytest.mark.parametrize("kind", KINDS)
def test_source_padding_changes_nothing(kind):
    model, v = tiny(kind), vocabs()
    short, long = "He runs.", "Do you like dogs?"
    src1, mask1 = v.encode_source([short])
    src2, mask2 = v.encode_source([short, long])                  # short is padded here
    assert mask2[0].any() and not mask1.any()
    tgt_in, _ = v.encode_target(["他跑。"])
    out1 = model(src1, mask1, tgt_in)
    out2 = model(src2, mask2, tgt_in.expand(2, -1))
    assert torch.allclose(out1[0], out2[0], atol=1e-12)
    # and the padding ids themselves do not matter
    src3 = src2.clone()
    src3[mask2] = 5
    assert torch.allclose(model(src3, mask2, tgt_in.expand(2, -1)), out2, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_the_decoder_is_causal(kind):
    model, v = tiny(kind), vocabs()
    src, mask = v.encode_source(["I like cats."])
    tgt_in, _ = v.encode_target(["我喜欢猫。"])
    out = model(src, mask, tgt_in)
    for t in range(tgt_in.shape[1] - 1):
        changed = tgt_in.clone()
        changed[0, t + 1] = v.tgt.stoi["狗"] if changed[0, t + 1] != v.tgt.stoi["狗"] else 4
        other = model(src, mask, changed)
        assert torch.allclose(out[0, :t + 1], other[0, :t + 1], atol=1e-12)
        assert not torch.allclose(out[0, t + 1], other[0, t + 1])  # it does see its own input


@pytest.mark.parametrize("kind", KINDS)
def test_step_by_step_decoding_equals_teacher_forcing(kind):
    model, v = tiny(kind), vocabs()
    enc = v.encode(PAIRS)
    memory = model.encode(enc.src, enc.src_mask)
    full = model.decode(memory, enc.src_mask, enc.tgt_in)         # (B, T, V)
    state = model.init_state(memory, enc.src_mask)
    for t in range(enc.tgt_in.shape[1]):
        logits, state = model.step(state, enc.tgt_in[:, t])
        assert torch.allclose(logits, full[:, t], atol=1e-10)


def test_unidirectional_lstm_and_transformer_length_limit():
    torch.manual_seed(0)
    model = tr.Seq2SeqLSTM(vocabs(), tr.LSTMConfig(16, 24, 12, 0.0, bidirectional=False))
    enc = vocabs().encode(PAIRS[:2])
    assert model.encode(enc.src, enc.src_mask).shape[-1] == 24
    assert model(enc.src, enc.src_mask, enc.tgt_in).shape[:2] == enc.tgt_in.shape
    small = tr.Seq2SeqTransformer(vocabs(), tr.TransformerConfig(16, 2, 1, 1, max_len=5))
    with pytest.raises(ValueError, match="max_len"):
        small(enc.src, enc.src_mask, enc.tgt_in)                  # 6 target positions


@pytest.mark.parametrize("kind", KINDS)
def test_attention_map_for_one_sentence(kind):
    model = tiny(kind).float()
    src_tokens, tgt_tokens, w = tr.attention_map(model, "I like cats.", "我喜欢猫。")
    assert src_tokens == ["i", "like", "cats", "."]
    assert tgt_tokens == ["我", "喜", "欢", "猫", "。", tr.EOS]
    assert w.shape == (6, 4) and abs(w.sum(1) - 1).max() < 1e-5
    _, tgt_tokens, w = tr.attention_map(model, "I like cats.")    # its own translation
    assert tgt_tokens[-1] == tr.EOS and w.shape == (len(tgt_tokens), 4)


def test_scaled_and_tied_embeddings():
    tied, untied = tiny("tied"), tiny("transformer")
    assert tied.head.weight is tied.tgt_embed.weight and tied.embed_scale == 4.0  # sqrt(16)
    n = sum(p.numel() for p in tied.parameters())
    assert n == sum(p.numel() for p in untied.parameters()) - tied.head.weight.numel()
    for emb in (untied.src_embed, untied.tgt_embed):   # std 16^-1/2, times 4: unit scale in
        assert torch.all(emb.weight[0] == 0) and 0.2 < emb.weight[1:].std() < 0.3
    plain = tr.Seq2SeqTransformer(vocabs(), dataclasses.replace(TINY_TRANSFORMER,
                                                                scale_embeddings=False))
    assert plain.embed_scale == 1.0 and 0.9 < plain.src_embed.weight[1:].std() < 1.1


def test_build_translator_uses_the_settings():
    s = tr.TRANSLATE_SETTINGS["cpu"]
    for kind, cls in (("lstm", tr.Seq2SeqLSTM), ("transformer", tr.Seq2SeqTransformer)):
        model = tr.build_translator(kind, PAIRS, s)
        assert isinstance(model, cls)
        assert model.config.embed_dim == s[kind]["model"]["embed_dim"]
    for name in ("cpu", "gpu"):
        assert set(tr.TRANSLATE_SETTINGS[name]) == {"data", "lstm", "transformer", "decode"}
    with pytest.raises(ValueError, match="kind"):
        tr.build_translator("gru", PAIRS)


# --------------------------------------------------------------------------------------------
# Loss and training
# --------------------------------------------------------------------------------------------


def test_sequence_loss_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6)
    targets = torch.tensor([[3, 4, 5, 0], [2, 0, 0, 0]])
    real = targets != 0
    expected = -logits.log_softmax(-1).gather(2, targets[:, :, None])[:, :, 0][real].mean()
    assert torch.allclose(tr.sequence_loss(logits, targets), expected)
    other = logits.clone()
    other[~real] = 100 * torch.randn_like(other[~real])           # padding positions: anything
    assert torch.allclose(tr.sequence_loss(other, targets), expected)
    assert tr.sequence_loss(logits, targets, label_smoothing=0.1) > 0
    with pytest.raises(ValueError, match="targets"):
        tr.sequence_loss(logits, targets[:, :3])


def _train(kind: str, seed: int, steps: int = 6) -> tuple[list[float], nn.Module]:
    model = tiny(kind).float()
    losses = tr.train_translator(model, PAIRS, steps=steps, lr=1e-2, batch_size=4, seed=seed,
                                 warmup=2, progress=False)
    return losses, model


@pytest.mark.parametrize("kind", KINDS)
def test_training_is_deterministic_for_a_seed(kind):
    losses, model = _train(kind, seed=1)
    again, model2 = _train(kind, seed=1)
    other, _ = _train(kind, seed=2)
    assert len(losses) == 6 and losses == again and losses != other
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)
    assert not model.training                                     # left in eval mode


@pytest.mark.parametrize("kind", KINDS)
def test_a_tiny_model_learns_a_handful_of_pairs_exactly(kind):
    torch.manual_seed(0)
    model = build(kind, tr.LSTMConfig(32, 64, 32, 0.0),
                  tr.TransformerConfig(32, 2, 1, 1, dropout=0.0, max_len=32))
    losses = tr.train_translator(model, PAIRS, steps=150, lr=1e-2, batch_size=6, warmup=10,
                                 label_smoothing=0.0, progress=False)
    assert losses[-1] < 0.1 * losses[0]
    english = [p.english for p in PAIRS]
    assert tr.translate(model, english) == [p.chinese for p in PAIRS]
    assert tr.translate(model, english, beam=3) == [p.chinese for p in PAIRS]


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def brute_force_beam_step(log_probs, scores, k):
    """Every candidate, sorted by (-score, flattened index), the first k."""
    k_prev, V = log_probs.shape
    cands = sorted(((float(scores[b] + log_probs[b, w]), b * V + w)
                    for b in range(k_prev) for w in range(V)), key=lambda c: (-c[0], c[1]))
    return [(s, i // V, i % V) for s, i in cands[:k]]


@pytest.mark.parametrize("trial", range(20))
def test_beam_step_equals_brute_force(trial):
    g = torch.Generator().manual_seed(trial)
    k_prev, V = int(torch.randint(1, 5, (1,), generator=g)), int(torch.randint(1, 7, (1,),
                                                                                generator=g))
    k = int(torch.randint(1, 12, (1,), generator=g))
    if trial % 2:   # small integers: many exact ties, across beams and within one
        log_probs = -torch.randint(0, 3, (k_prev, V), generator=g).double()
        scores = -torch.randint(0, 2, (k_prev,), generator=g).double()
    else:
        log_probs = torch.randn(k_prev, V, generator=g, dtype=torch.double).log_softmax(-1)
        scores = torch.randn(k_prev, generator=g, dtype=torch.double)
    new_scores, beam_index, token = tr.beam_step(log_probs, scores, k)
    expected = brute_force_beam_step(log_probs, scores, k)
    assert len(new_scores) == len(beam_index) == len(token) == min(k, k_prev * V)
    got = list(zip(new_scores.tolist(), beam_index.tolist(), token.tolist()))
    assert got == expected


@pytest.mark.parametrize("ties", [False, True])
def test_beam_step_at_a_translators_size_equals_a_stable_sort_of_every_candidate(ties):
    """Five beams over a vocabulary of 3,000: the k best, ties in index order, as a full stable
    sort gives them (beam_step sorts only the contenders)."""
    g = torch.Generator().manual_seed(int(ties))
    if ties:  # a few distinct values: hundreds of candidates tie at the k-th best
        log_probs = -torch.randint(0, 4, (5, 3000), generator=g).float()
    else:
        log_probs = torch.randn(5, 3000, generator=g).log_softmax(-1)
    log_probs[:, :3] = float("-inf")  # the forbidden tokens, as in decoding
    scores = -torch.rand(5, generator=g)
    for k in (1, 5, 10, 20):
        new_scores, beam_index, token = tr.beam_step(log_probs, scores, k)
        total = (scores[:, None] + log_probs).flatten()
        order = torch.sort(total, descending=True, stable=True).indices[:k]
        assert torch.equal(new_scores, total[order])
        assert torch.equal(beam_index * 3000 + token, order)


def test_beam_step_ties_and_errors():
    lp = torch.tensor([[-1.0, -1.0, -2.0], [-1.0, -0.5, -1.0]])
    s, b, w = tr.beam_step(lp, torch.tensor([0.0, -0.5]), 4)
    assert s.tolist() == [-1.0, -1.0, -1.0, -1.5]
    assert list(zip(b.tolist(), w.tolist())) == [(0, 0), (0, 1), (1, 1), (1, 0)]
    with pytest.raises(ValueError, match="scores"):
        tr.beam_step(lp, torch.zeros(3), 2)
    with pytest.raises(ValueError, match="log_probs"):
        tr.beam_step(lp[0], torch.zeros(1), 2)
    with pytest.raises(ValueError, match="k must"):
        tr.beam_step(lp, torch.zeros(2), 0)


def test_length_penalty():
    assert tr.length_penalty(7, 0.0) == 1.0
    assert tr.length_penalty(1, 0.6) == 1.0
    assert math.isclose(tr.length_penalty(7, 0.6), 2 ** 0.6)
    assert tr.length_penalty(10, 0.6) > tr.length_penalty(5, 0.6)


@pytest.mark.parametrize("kind", KINDS)
def test_beam_search_with_one_beam_is_greedy(kind):
    _, model = _train(kind, seed=0, steps=30)                     # a model that says something
    src, mask = model.vocabs.encode_source([p.english for p in PAIRS])
    greedy = tr.greedy_decode(model, src, mask, max_len=8)
    beams = tr.beam_search(model, src, mask, beam=1, alpha=0.0, max_len=8)
    assert [h[0].tokens for h in beams] == [tuple(g) for g in greedy]
    assert any(len(g) > 0 for g in greedy)


class TableModel(nn.Module):
    """A hand-built 'translator' that ignores its source: p(next token | prefix) comes from a
    table of prefixes (strings of target characters); a prefix not in the table ends."""

    def __init__(self, table: dict[str, dict[str, float]]) -> None:
        super().__init__()
        chars = sorted({c for probs in table.values() for c in probs if c != tr.EOS})
        self.vocabs = tr.TranslationVocabs.build([SentencePair("x", "".join(chars), "")],
                                                 min_freq=1)
        self.table = table

    def encode(self, src, src_mask):
        return torch.zeros(len(src), 1, 1)

    def init_state(self, memory, src_mask):
        return dict(prefix=torch.zeros(len(memory), 0, dtype=torch.long))

    def step(self, state, token):
        prefix = state["prefix"]
        if token[0] != self.vocabs.bos_id:
            prefix = torch.cat([prefix, token[:, None]], dim=1)
        logits = torch.full((len(token), len(self.vocabs.tgt)), float("-inf"), dtype=torch.double)
        for b, row in enumerate(prefix.tolist()):
            text = "".join(self.vocabs.tgt.itos[i] for i in row)
            for char, p in self.table.get(text, {tr.EOS: 1.0}).items():
                logits[b, self.vocabs.tgt.stoi[char]] = math.log(p)
        return logits, dict(prefix=prefix)

    def probability(self, text: str) -> float:
        """p(text <eos>) under the table."""
        p = 1.0
        for t in range(len(text) + 1):
            nxt = text[t] if t < len(text) else tr.EOS
            p *= self.table.get(text[:t], {tr.EOS: 1.0}).get(nxt, 0.0)
        return p


def brute_force_best(model: TableModel, max_len: int, alpha: float) -> tuple[str, float]:
    """The text with the best log p / length_penalty among all texts of <= max_len chars."""
    chars = [c for c in model.vocabs.tgt.itos[4:]]
    best = ("", -math.inf)
    for n in range(max_len + 1):
        for text in map("".join, itertools.product(chars, repeat=n)):
            p = model.probability(text)
            if p > 0:
                score = math.log(p) / tr.length_penalty(n + 1, alpha)
                best = max(best, (text, score), key=lambda c: c[1])
    return best


def test_beam_search_finds_the_best_sequence_where_greedy_does_not():
    # greedy takes 甲 (0.5), then 甲 or 乙 (0.35 each): p = 0.175. The best is 乙 <eos>: 0.36.
    model = TableModel({"": {"甲": 0.5, "乙": 0.4, "丙": 0.1},
                        "甲": {tr.EOS: 0.3, "甲": 0.35, "乙": 0.35},
                        "乙": {tr.EOS: 0.9, "甲": 0.05, "乙": 0.05}})
    src, mask = torch.ones(1, 1, dtype=torch.long), torch.zeros(1, 1, dtype=torch.bool)
    best, _ = brute_force_best(model, 3, alpha=0.0)
    assert best == "乙"
    greedy = model.vocabs.decode_target(tr.greedy_decode(model, src, mask, max_len=3)[0])
    assert greedy != best and model.probability(greedy) < model.probability(best)
    hyps = tr.beam_search(model, src, mask, beam=2, alpha=0.0, max_len=3)[0]
    assert model.vocabs.decode_target(hyps[0].tokens) == best
    assert math.isclose(hyps[0].log_prob, math.log(0.36))
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_a_wide_beam_finds_the_exact_best_of_a_random_table(seed, alpha):
    g = torch.Generator().manual_seed(seed)
    chars, table = ["甲", "乙"], {}
    for n in range(3):                                            # prefixes of 0, 1, 2 chars
        for text in map("".join, itertools.product(chars, repeat=n)):
            p = torch.rand(3, generator=g, dtype=torch.double) + 0.05
            table[text] = dict(zip([tr.EOS, *chars], (p / p.sum()).tolist()))
    model = TableModel(table)                                     # at 3 chars: <eos>
    src, mask = torch.ones(1, 1, dtype=torch.long), torch.zeros(1, 1, dtype=torch.bool)
    best, score = brute_force_best(model, 3, alpha)
    hyp = tr.beam_search(model, src, mask, beam=16, alpha=alpha, max_len=4)[0][0]
    assert model.vocabs.decode_target(hyp.tokens) == best
    assert math.isclose(hyp.score, score)


def test_translate_refuses_a_string():
    with pytest.raises(TypeError, match="list"):
        tr.translate(tiny("lstm"), "I like cats.")


def test_chinese_bleu_scores_characters_against_every_reference():
    sacrebleu = pytest.importorskip("sacrebleu")
    refs = [["我喜欢猫。"], ["嗨。", "你好。"], ["他跑得很快。", "他跑得快。"]]
    assert tr.chinese_bleu(["我喜欢猫。", "你好。", "他跑得快。"], refs).score == 100
    hyps = ["我喜欢狗。", "你好吗？", "他跑得快"]
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(2)]
    expected = sacrebleu.corpus_bleu(hyps, streams, tokenize="zh").score
    assert math.isclose(tr.chinese_bleu(hyps, refs).score, expected)
    with pytest.raises(TypeError, match="list of references"):
        tr.chinese_bleu(hyps, ["我喜欢猫。", "你好。", "他跑得快。"])
