"""Chapter 6's pretrain-then-fine-tune: the classifier's shapes and its copy of the GPT, padding
and windows, freezing, learning a separable toy task, determinism, zero-shot on a hand-made
language model, the learning curve's rows, and the errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from book import finetune as ft
from book.classify import evaluate
from book.data import TextClassificationData, TextSplit
from book.text import EncodedSplit, Vocab
from book.textgen import GPT, GPTConfig, estimate_loss

TINY = dict(max_len=8, num_layers=1, num_heads=2, embed_dim=16, dropout=0.0, bias=False)
TINY_FINETUNE = dict(steps=100, lr=1e-2, batch_size=8, weight_decay=0.0, warmup=5)
ANIMALS = ["cat", "dog", "cow", "hen"]
TOOLS = ["saw", "drill", "hammer", "nail"]
FILLER = ["the", "a", "and", "then", "so"]


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def toy_split(n: int, seed: int) -> TextSplit:
    """Texts of 2-5 words: class 0 holds an animal word, class 1 a tool word, among fillers."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = list(rng.choice(FILLER, rng.integers(1, 5)))
        words.insert(int(rng.integers(len(words) + 1)), rng.choice([ANIMALS, TOOLS][label]))
        texts.append(" ".join(words))
        labels.append(label)
    return TextSplit(texts, labels)


@pytest.fixture(scope="module")
def task() -> ft.FinetuneTask:
    data = TextClassificationData(toy_split(80, 0), toy_split(20, 1), toy_split(40, 2),
                                  ["animal", "tool"])
    return ft.prepare_task(data, vocab_size=64, max_len=12)


def tiny_gpt(vocab_size: int, seed: int = 0) -> GPT:
    return ft.new_gpt(vocab_size, TINY, seed)


# --- the task ---

def test_prepare_task_encodes_every_split_with_the_training_vocabulary(task):
    words = set(ANIMALS + TOOLS + FILLER)
    assert set(task.vocab.itos[2:]) == words and len(task.vocab) == len(words) + 2
    longest = max(len(t.split()) for t in task.texts["train"])
    assert task.train.ids.shape == (80, longest) and task.test.labels.tolist() == [0, 1] * 20
    stream = [i for t in task.texts["train"] for i in task.vocab.encode(t)]
    assert task.lm_train.tolist() == stream  # the texts one after another, labels left out
    assert task.class_names == ["animal", "tool"]
    data = TextClassificationData(toy_split(8, 0), toy_split(4, 1), toy_split(4, 2), ["a", "b"])
    assert ft.prepare_task(data, vocab_size=5, max_len=4).train.ids.shape == (8, 4)  # cut
    with pytest.raises(ValueError, match="vocab_size must leave room"):
        ft.prepare_task(data, vocab_size=2)


def test_labelled_subset_draws_without_replacement_and_repeats(task):
    a, b = ft.labelled_subset(task.train, 10, seed=3), ft.labelled_subset(task.train, 10, seed=3)
    assert torch.equal(a.ids, b.ids) and len(a) == 10
    every = ft.labelled_subset(task.train, 80, seed=3)  # all of them, each once, shuffled
    assert sorted(every.ids.tolist()) == sorted(task.train.ids.tolist())
    assert not torch.equal(every.ids, task.train.ids)
    assert ft.labelled_subset(task.train, None) is task.train
    with pytest.raises(ValueError, match="asked for 81 labelled examples, but the split has 80"):
        ft.labelled_subset(task.train, 81)


# --- the classifier ---

def test_classifier_shapes_and_pooling(task):
    gpt = tiny_gpt(len(task.vocab))
    ids, pad_mask, _ = task.train.batch(torch.arange(5))
    for pooling in ("mean", "last"):
        model = ft.GPTClassifier(gpt, 3, pooling=pooling).eval()
        assert model.hidden(ids).shape == (*ids.shape, TINY["embed_dim"])
        assert model(ids, pad_mask).shape == (5, 3)
    with pytest.raises(ValueError, match="pooling must be 'mean' or 'last'"):
        ft.GPTClassifier(gpt, 3, pooling="max")


def test_classifier_holds_a_copy_whose_body_is_the_gpt_without_its_head(task):
    gpt = tiny_gpt(len(task.vocab)).eval()
    model = ft.GPTClassifier(gpt, 2).eval()
    ids = task.train.ids[:4, :8]
    # the same weights, in other tensors
    for (name, p), q in zip(gpt.named_parameters(), model.gpt.parameters(), strict=True):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr(), name
    assert isinstance(model.gpt.head, nn.Identity)
    assert model.lm_head.weight is model.gpt.tok_emb.weight  # still tied
    # body + the kept LM head = the language model, to the bit
    with torch.no_grad():
        assert torch.equal(model.lm_head(model.hidden(ids)), gpt(ids)[0])
    # training the classifier leaves the language model as it was
    before = {k: v.clone() for k, v in gpt.state_dict().items()}
    ft.finetune(model, task.train, **TINY_FINETUNE)
    assert all(torch.equal(before[k], v) for k, v in gpt.state_dict().items())
    assert not torch.equal(model.gpt.tok_emb.weight, gpt.tok_emb.weight)


def test_right_padding_changes_nothing(task):
    """Causal attention and right padding: a text's logits alone = in a padded batch."""
    gpt = tiny_gpt(len(task.vocab))
    ids, pad_mask, _ = task.train.batch(torch.arange(8))
    assert pad_mask.any()  # the batch has texts of several lengths
    for pooling in ("mean", "last"):
        model = ft.GPTClassifier(gpt, 2, pooling=pooling).eval()
        with torch.no_grad():
            batch = model(ids, pad_mask)
            for b in range(len(ids)):
                n = int((~pad_mask[b]).sum())
                alone = model(ids[b:b + 1, :n], pad_mask[b:b + 1, :n])
                torch.testing.assert_close(batch[b], alone[0], rtol=1e-5, atol=1e-6)


def test_a_text_longer_than_the_context_is_read_in_windows(task):
    model = ft.GPTClassifier(tiny_gpt(len(task.vocab)), 2).eval()
    ids = task.lm_train[:20].reshape(1, 20)  # 20 tokens, context 8: windows 0-7, 8-15, 16-19
    with torch.no_grad():
        h = model.hidden(ids)
        expected = torch.cat([model.gpt(ids[:, s:s + 8])[0] for s in (0, 8, 16)], dim=1)
    assert h.shape == (1, 20, TINY["embed_dim"])
    torch.testing.assert_close(h, expected)


def test_freeze_body_trains_the_head_only(task):
    model = ft.GPTClassifier(tiny_gpt(len(task.vocab)), 2).freeze_body()
    body = {k: v.clone() for k, v in model.gpt.state_dict().items()}
    head = model.head.weight.clone()
    ft.finetune(model, task.train, **TINY_FINETUNE)
    assert all(torch.equal(body[k], v) for k, v in model.gpt.state_dict().items())
    assert not torch.equal(head, model.head.weight)
    model.freeze_body(False)
    assert all(p.requires_grad for p in model.parameters())
    model.freeze_body()
    model.head.requires_grad_(False)
    with pytest.raises(ValueError, match="every parameter is frozen"):
        ft.finetune(model, task.train, **TINY_FINETUNE)


# --- fine-tuning ---

def test_finetuning_learns_a_separable_task(task):
    model = ft.GPTClassifier(tiny_gpt(len(task.vocab)), 2, dropout=0.0)
    losses = ft.finetune(model, task.train, **TINY_FINETUNE)
    assert len(losses) == TINY_FINETUNE["steps"]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    assert evaluate(model, task.test) >= 0.9 and not model.training


def test_finetuning_is_deterministic_for_a_seed(task):
    def run(seed: int) -> tuple[list[float], torch.Tensor]:
        torch.manual_seed(0)
        model = ft.GPTClassifier(tiny_gpt(len(task.vocab)), 2, dropout=0.2)
        losses = ft.finetune(model, task.train, seed=seed, **dict(TINY_FINETUNE, steps=15))
        return losses, model.head.weight.detach()

    (a, wa), (b, wb), (c, _) = run(1), run(1), run(2)
    assert a == b and torch.equal(wa, wb)
    assert a != c


def test_finetune_refuses_nothing_to_learn_from(task):
    model = ft.GPTClassifier(tiny_gpt(len(task.vocab)), 2)
    with pytest.raises(ValueError, match="steps >= 1"):
        ft.finetune(model, task.train, **dict(TINY_FINETUNE, steps=0))
    with pytest.raises(ValueError, match="no labelled examples"):
        empty = EncodedSplit(task.train.ids[:0], task.train.pad_mask[:0], task.train.labels[:0])
        ft.finetune(model, empty, **TINY_FINETUNE)


# --- pretraining and the learning curve ---

def test_pretrain_lowers_the_language_model_loss(task):
    gpt = tiny_gpt(len(task.vocab))
    settings = dict(batch_size=8, max_iters=40, lr=1e-2, min_lr=1e-3, warmup_iters=5,
                    eval_interval=0, eval_iters=4, seed=0)
    before = estimate_loss(gpt, task.lm_val, batch_size=8)
    assert before == pytest.approx(math.log(len(task.vocab)), abs=0.1)  # about uniform
    log = ft.pretrain(gpt, task, settings, progress=False)
    assert log.steps == 40 and not gpt.training
    assert estimate_loss(gpt, task.lm_val, batch_size=8) < before - 0.2
    with pytest.raises(ValueError, match="vocab_size 10 but the task's vocabulary has"):
        ft.pretrain(tiny_gpt(10), task, settings, progress=False)


def test_learning_curve_rows_and_summary(task):
    settings = dict(classifier=dict(pooling="mean", dropout=0.0),
                    finetune=dict(TINY_FINETUNE, steps=5))
    lm = tiny_gpt(len(task.vocab))
    rows = ft.learning_curve(lm, task, sizes=[6, None], seeds=[0, 1], settings=settings,
                             progress=False)
    assert [(r["size"], r["seed"], r["init"]) for r in rows] == [
        (size, seed, init) for size in (6, 80) for seed in (0, 1) for init in ft.INITS]
    assert all(0 <= r["accuracy"] <= 1 and r["train_s"] >= 0 for r in rows)
    summary = ft.summarise_curve(rows)
    assert set(summary) == {(init, size) for init in ft.INITS for size in (6, 80)}
    accs = [r["accuracy"] for r in rows if (r["init"], r["size"]) == ("scratch", 6)]
    assert summary[("scratch", 6)] == pytest.approx((np.mean(accs), np.std(accs, ddof=1), 2))
    with pytest.raises(ValueError, match="size 81: the training split has 80"):
        ft.learning_curve(lm, task, [81], [0], settings, progress=False)
    with pytest.raises(ValueError, match="inits must be among"):
        ft.learning_curve(lm, task, [6], [0], settings, inits=["random"], progress=False)


def test_summarise_curve_by_hand():
    rows = [{"init": "pretrained", "size": 50, "seed": s, "accuracy": a}
            for s, a in enumerate([0.8, 0.9, 1.0])] + [
        {"init": "scratch", "size": 50, "seed": 0, "accuracy": 0.5}]
    summary = ft.summarise_curve(rows)
    assert summary[("pretrained", 50)] == pytest.approx((0.9, 0.1, 3))
    assert summary[("scratch", 50)] == (0.5, 0.0, 1)


# --- zero-shot ---

class BigramLM(nn.Module):
    """A hand-made language model: the next token's logits depend on the current token only,
    read from a table (V, V)."""

    def __init__(self, table: torch.Tensor, max_len: int = 16) -> None:
        super().__init__()
        self.table = nn.Parameter(table)
        self.config = GPTConfig(vocab_size=len(table), max_len=max_len)

    def forward(self, idx: torch.Tensor, targets=None):
        return self.table[idx], None  # (B, T, V)


@pytest.fixture()
def pets() -> tuple[Vocab, BigramLM]:
    """After "cat" the LM expects "meow", after "dog" "woof"; "woof" is frequent after anything
    (logit 3 against 0), and after "kitten" "meow" is more likely than usual but not enough."""
    vocab = Vocab(["<pad>", "<unk>", "cat", "dog", "kitten", "meow", "woof", "the", "says"])
    s = vocab.stoi
    table = torch.zeros(len(vocab), len(vocab))
    table[:, s["woof"]] = 3.0
    table[s["cat"], s["meow"]] = 6.0
    table[s["dog"], s["woof"]] = 6.0
    table[s["kitten"], s["meow"]] = 2.0
    table[s["says"], s["woof"]] = 1.0
    return vocab, BigramLM(table)


def test_label_log_likelihoods_are_the_lm_log_probabilities(pets):
    vocab, lm = pets
    scores = ft.label_log_likelihoods(lm, vocab, ["the cat", "the dog"], ["meow", "woof says"])
    logp = torch.log_softmax(lm.table.detach(), -1)
    s = vocab.stoi
    expected = torch.tensor([
        [logp[s["cat"], s["meow"]], logp[s["cat"], s["woof"]] + logp[s["woof"], s["says"]]],
        [logp[s["dog"], s["meow"]], logp[s["dog"], s["woof"]] + logp[s["woof"], s["says"]]]])
    torch.testing.assert_close(scores, expected)


def test_zero_shot_picks_the_label_the_lm_expects(pets):
    vocab, lm = pets
    texts = ["the cat", "the dog", "cat", "the the dog"]
    assert ft.zero_shot(lm, vocab, texts, ["meow", "woof"]).tolist() == [0, 1, 0, 1]
    # with a template: the label follows "says", after which "woof" is the more likely
    assert ft.zero_shot(lm, vocab, texts, ["meow", "woof"], "{text} says {label}").tolist() \
        == [1, 1, 1, 1]


def test_calibration_undoes_the_pull_of_a_frequent_word(pets):
    vocab, lm = pets
    texts = ["the kitten", "the dog"]
    assert ft.zero_shot(lm, vocab, texts, ["meow", "woof"]).tolist() == [1, 1]
    # relative to how likely each word is after any text, "meow" wins after "kitten"
    calibrated = ft.zero_shot(lm, vocab, texts, ["meow", "woof"],
                              calibration_texts=["the", "the the", "says"])
    assert calibrated.tolist() == [0, 1]


def test_zero_shot_errors(pets):
    vocab, lm = pets
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ft.zero_shot(lm, vocab, ["the cat"], ["meow", "purr"])
    with pytest.raises(ValueError, match="end with '{label}'"):
        ft.zero_shot(lm, vocab, ["the cat"], ["meow", "woof"], "{label} {text}")
    with pytest.raises(TypeError, match="lists of strings"):
        ft.zero_shot(lm, vocab, "the cat", ["meow", "woof"])
    with pytest.raises(ValueError, match="leaves no room for the text"):
        ft.label_log_likelihoods(BigramLM(lm.table.detach(), max_len=3), vocab, ["the cat"],
                                 ["meow"], "{text} says says {label}")


def test_a_long_text_is_cut_to_fit_the_context(pets):
    vocab, lm = pets
    # 40 tokens, context 16: the prompt keeps the first 15 text tokens and the label
    scores = ft.label_log_likelihoods(lm, vocab, ["the " * 14 + "cat " + "dog " * 25],
                                      ["meow", "woof"])
    assert scores[0, 0] > scores[0, 1]  # the label follows "cat", the 15th token
