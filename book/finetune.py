"""Pretrain, then fine-tune (chapter 6): how language models are actually applied.

Labels are dear, text is cheap. So first train a small GPT (chapter 5's `book.textgen.GPT`, with
chapter 5's `book.textgen.train`) as a language model on text WITHOUT its labels; then put a
small classification head on it and fine-tune the whole network on a few labelled examples.
The learning curve (test accuracy against the number of labelled examples, pretrained against
the same network from random weights, several seeds) shows what the pretraining bought. The
language model can also classify with no labelled example at all ("zero-shot"), by comparing
how likely it finds each label's word after the text.

    from book import data, finetune as ft
    s = ft.FINETUNE_SETTINGS["cpu"]
    task = ft.prepare_task(data.load("bbc_news"), **s["task"])    # vocabulary, LM text, splits
    lm = ft.new_gpt(len(task.vocab), s["model"], seed=0)
    ft.pretrain(lm, task, s["pretrain"])                           # about 75 s on one thread
    rows = ft.learning_curve(lm, task, sizes=[50, 100, None], seeds=[0, 1, 2], settings=s)
    ft.summarise_curve(rows)                  # (init, size) -> (mean accuracy, std, seeds)
    pred = ft.zero_shot(lm, task.vocab, task.texts["test"], task.class_names,
                        s["zero_shot"]["template"], calibration_texts=task.texts["train"][:300])

The task is BBC News topic classification (5 topics). The classifier reads the first `max_len`
word tokens of each article (with the CPU settings 64: the title and the first sentence or
two; a text longer than the GPT's context is read in windows); the language model is
pretrained on the training articles' whole text. Every step is counted
and seeded, so a run repeats exactly on the same machine. The settings the chapter and
`benchmarks/finetune.py` share are in FINETUNE_SETTINGS; benchmarks/README.md says how they
were chosen.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from book.classify import evaluate, masked_mean
from book.env import progress_bar
from book.optim import train_steps
from book.text import EncodedSplit, Vocab, batches, encode_split
from book.textgen import GPT, GPTConfig, TrainConfig, TrainLog, train

__all__ = [
    "FINETUNE_SETTINGS",
    "INITS",
    "FinetuneTask",
    "GPTClassifier",
    "finetune",
    "label_log_likelihoods",
    "labelled_subset",
    "learning_curve",
    "lm_stream",
    "new_gpt",
    "prepare_task",
    "pretrain",
    "summarise_curve",
    "zero_shot",
]

# Every number the chapter and benchmarks/finetune.py use; benchmarks/README.md says how they
# were chosen. "cpu": a GPT of 2 layers x 64 over a 2,048-word vocabulary, pretrained for 2,700
# steps of 16 x 64 tokens (about 75 s on one thread), then fine-tuned for 150 steps (about 2 s
# per run) on each article's first 64 tokens. "gpu": a wider, deeper model that reads 256
# tokens of each article (in two windows of its 128-token context); it has NOT been run: no GPU
# was lent to this work, so its numbers are a starting point, not a measured recipe.
# zero_shot: the prompt and calibration that won on the VALIDATION articles (the class names
# as label words; n_calibration unlabelled training articles).
FINETUNE_SETTINGS: dict = {
    "cpu": dict(
        task=dict(vocab_size=2048, max_len=64),
        model=dict(max_len=64, num_layers=2, num_heads=4, embed_dim=64, dropout=0.0, bias=False),
        pretrain=dict(batch_size=16, max_iters=2700, lr=6e-3, min_lr=6e-4, warmup_iters=50,
                      weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=900,
                      eval_iters=16, seed=0),
        classifier=dict(pooling="mean", dropout=0.1),
        finetune=dict(steps=150, lr=3e-3, batch_size=16, weight_decay=0.01, warmup=15),
        curve=dict(sizes=(50, 100, 200, 500, None), seeds=(0, 1, 2)),
        zero_shot=dict(template="{text} . this is about {label}", n_calibration=300),
    ),
    "gpu": dict(
        task=dict(vocab_size=8192, max_len=256),
        model=dict(max_len=128, num_layers=4, num_heads=4, embed_dim=256, dropout=0.1,
                   bias=False),
        pretrain=dict(batch_size=64, max_iters=4000, lr=2e-3, min_lr=2e-4, warmup_iters=100,
                      weight_decay=0.1, beta2=0.99, grad_clip=1.0, eval_interval=500,
                      eval_iters=20, seed=0),
        classifier=dict(pooling="mean", dropout=0.1),
        finetune=dict(steps=300, lr=1e-3, batch_size=32, weight_decay=0.01, warmup=30),
        curve=dict(sizes=(25, 50, 100, 200, 500, None), seeds=(0, 1, 2, 3, 4)),
        zero_shot=dict(template="{text} . this is about {label}", n_calibration=300),
    ),
}

# The two starting points a learning curve compares.
INITS = ("pretrained", "scratch")


# --------------------------------------------------------------------------------------------
# (a) The task: one vocabulary, the unlabelled text for the language model, the labelled splits
# --------------------------------------------------------------------------------------------


@dataclass
class FinetuneTask:
    """Everything the experiments need, encoded once with one word vocabulary.

    lm_train, lm_val: 1-D token streams (the articles' ids one after another) for pretraining;
    train, val, test: labelled splits cut to max_len tokens (`book.text.EncodedSplit`: ids
    (N, T), pad_mask (N, T), labels (N,)); texts: each split's texts as strings, by split name
    (zero-shot reads them); class_names: the label of each class id.
    """

    vocab: Vocab
    lm_train: torch.Tensor
    lm_val: torch.Tensor
    train: EncodedSplit
    val: EncodedSplit
    test: EncodedSplit
    texts: dict[str, list[str]]
    class_names: list[str]
    max_len: int


def lm_stream(texts: Sequence[str], vocab: Vocab) -> torch.Tensor:
    """The token ids of `texts`, one text after the other, as one 1-D LongTensor.

    A pretraining window may straddle the end of one article and the start of the next: a few
    odd predictions per article, which do the model no harm.
    """
    return torch.tensor([i for t in texts for i in vocab.encode(t)], dtype=torch.long)


def prepare_task(data, vocab_size: int = 2048, max_len: int = 64) -> FinetuneTask:
    """Encode a `book.data.TextClassificationData` for pretraining and fine-tuning.

    The vocabulary is the `vocab_size` most frequent words of the TRAINING texts (`<pad>` and
    `<unk>` included, so `vocab_size` is the GPT's vocabulary size). The language model learns
    from the training texts only, with no labels; the validation texts give its validation loss.
    """
    if vocab_size < 3:
        raise ValueError(f"vocab_size must leave room for <pad>, <unk> and a word; "
                         f"got {vocab_size}")
    vocab = Vocab.build(data.train.texts, max_size=vocab_size)
    return FinetuneTask(
        vocab=vocab,
        lm_train=lm_stream(data.train.texts, vocab),
        lm_val=lm_stream(data.val.texts, vocab),
        train=encode_split(data.train, vocab, max_len),
        val=encode_split(data.val, vocab, max_len),
        test=encode_split(data.test, vocab, max_len),
        texts={name: list(getattr(data, name).texts) for name in ("train", "val", "test")},
        class_names=list(data.class_names),
        max_len=max_len,
    )


def labelled_subset(split: EncodedSplit, size: int | None, seed: int = 0) -> EncodedSplit:
    """`size` examples of `split` drawn at random without replacement (seeded); None: all.

    A plain random draw, as a person labelling a random sample would get: with 50 examples a
    class may have only a handful.
    """
    n = len(split)
    if size is None:
        return split
    if not 1 <= size <= n:
        raise ValueError(f"asked for {size} labelled examples, but the split has {n}: pass a "
                         f"size from 1 to {n}, or None for all of them")
    index = torch.from_numpy(np.random.default_rng(seed).choice(n, size, replace=False))
    return EncodedSplit(split.ids[index], split.pad_mask[index], split.labels[index])


# --------------------------------------------------------------------------------------------
# (b) Pretraining: chapter 5's GPT and chapter 5's training loop
# --------------------------------------------------------------------------------------------


def new_gpt(vocab_size: int, model: dict, seed: int = 0) -> GPT:
    """A GPT with random weights (seeded): GPTConfig(vocab_size, **model)."""
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, **model))


def pretrain(gpt: GPT, task: FinetuneTask, train_settings: dict,
             device: str | torch.device = "cpu", progress: bool = True) -> TrainLog:
    """Train `gpt` as a language model on task.lm_train (validation loss on task.lm_val) with
    `book.textgen.train` and TrainConfig(**train_settings); counted in steps, seeded."""
    if gpt.config.vocab_size != len(task.vocab):
        raise ValueError(f"the GPT has vocab_size {gpt.config.vocab_size} but the task's "
                         f"vocabulary has {len(task.vocab)} words: new_gpt(len(task.vocab), ...)")
    log = train(gpt, task.lm_train, task.lm_val, TrainConfig(**train_settings), device,
                progress=progress)
    gpt.eval()
    return log


# --------------------------------------------------------------------------------------------
# (c) The classifier: the GPT's body, its final hidden states pooled, a linear head
# --------------------------------------------------------------------------------------------


class GPTClassifier(nn.Module):
    """A GPT with its language-model head swapped for a classification head:
    ids (B, T), pad_mask (B, T) -> logits (B, C).

    How the body is reused: the classifier holds a COPY of the GPT (`copy.deepcopy`, so the
    language model passed in stays as it was, and every fine-tuning run can start from the same
    pretrained weights) and sets the copy's `head` to `nn.Identity()`. `GPT.forward` ends with
    `logits = self.head(self.ln_f(x))` and `lm_loss(logits, None)`, which is None, so the copy
    now returns the final LayerNorm'd hidden states (B, T, E) where it returned logits: the same
    forward pass, not a second one typed out here (and chapter 5's `GPT` unchanged). The old
    head is kept as `lm_head` (its weight is still the embedding's: they were tied), so that
    `lm_head(hidden(ids))` gives the language model's logits again.

    Why padding is harmless without a padding mask: the GPT is causal, and batches are padded
    on the right, so a real position attends only to real positions before it. Pooling then
    reads the real positions only: "mean" (their average) or "last" (the last real position,
    the only one that has seen the whole text).

    A text longer than the GPT's context (max_len) is cut into windows of max_len tokens, each
    read on its own (a window does not see the one before), and pooling runs over all of them.
    """

    def __init__(self, gpt: GPT, num_classes: int, pooling: str = "mean",
                 dropout: float = 0.1) -> None:
        super().__init__()
        if pooling not in ("mean", "last"):
            raise ValueError(f"pooling must be 'mean' or 'last'; got {pooling!r}")
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes; got {num_classes}")
        self.pooling = pooling
        self.gpt = copy.deepcopy(gpt)
        self.lm_head = self.gpt.head
        self.gpt.head = nn.Identity()
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(gpt.config.embed_dim, num_classes)

    def hidden(self, ids: torch.Tensor) -> torch.Tensor:
        """The body's final LayerNorm'd hidden states (B, T, E) of ids (B, T)."""
        B, T = ids.shape
        W = self.gpt.config.max_len
        K = -(-T // W)                                         # windows per text
        x = F.pad(ids, (0, K * W - T)).reshape(B * K, W)       # (B*K, W), padded with id 0
        h, _ = self.gpt(x)                                     # (B*K, W, E)
        return h.reshape(B, K * W, -1)[:, :T]                  # (B, T, E)

    def forward(self, ids: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """ids (B, T), pad_mask (B, T) True = padding -> logits (B, C)."""
        h = self.hidden(ids)                                         # (B, T, E)
        if self.pooling == "mean":
            pooled = masked_mean(h, pad_mask)                        # (B, E)
        else:
            last = (~pad_mask).sum(1) - 1                            # (B,) last real position
            pooled = h[torch.arange(len(h), device=h.device), last]  # (B, E)
        return self.head(self.drop(pooled))                          # (B, C)

    def freeze_body(self, frozen: bool = True) -> GPTClassifier:
        """Stop (or restart) training the body: only the classification head learns, a
        "linear probe" of the pretrained features. Returns self."""
        for p in self.gpt.parameters():
            p.requires_grad_(not frozen)
        return self


def finetune(model: nn.Module, examples: EncodedSplit, steps: int, lr: float,
             batch_size: int = 16, seed: int = 0, weight_decay: float = 0.01,
             warmup: int = 10, clip: float = 1.0, device: str | torch.device = "cpu",
             progress: bool = False) -> list[float]:
    """Train a classifier (ids, pad_mask -> logits) for `steps` AdamW steps on `examples`;
    returns the loss of every step.

    Counted in steps, not epochs, so 50 examples and 1,779 get the same number of updates (50
    examples: many passes over them; 1,779: about one and a third). Batches go through the
    examples in a random order, reshuffled every pass (`book.text.batches`, seeded); the
    learning rate warms up over `warmup` steps, then follows a cosine to lr / 10. Only
    parameters that require gradients are trained (see GPTClassifier.freeze_body). Ends in eval
    mode.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"need steps >= 1 and batch_size >= 1; got {steps} and {batch_size}")
    if len(examples) == 0:
        raise ValueError("no labelled examples to fine-tune on")

    def loss_of(index: np.ndarray) -> torch.Tensor:
        """Cross-entropy of the batch's labels."""
        ids, pad_mask, y = (t.to(device) for t in examples.batch(index))
        return F.cross_entropy(model(ids, pad_mask), y)

    return train_steps(
        model, loss_of,
        lambda epoch: batches(len(examples), batch_size, shuffle=True, seed=seed, epoch=epoch),
        steps, lr, min_lr=lr / 10, warmup=warmup, weight_decay=weight_decay, clip=clip,
        seed=seed, device=device, progress=progress, name="finetune")


# --------------------------------------------------------------------------------------------
# (d) The learning curve: accuracy against the number of labels, pretrained vs from scratch
# --------------------------------------------------------------------------------------------


def learning_curve(lm: GPT, task: FinetuneTask, sizes: Sequence[int | None],
                   seeds: Sequence[int], settings: dict, inits: Sequence[str] = INITS,
                   freeze_body: bool = False, device: str | torch.device = "cpu",
                   progress: bool = True) -> list[dict]:
    """Fine-tune on `size` labelled training examples for every size, seed and init; return one
    row per run: init, size (the number of examples), seed, test accuracy, train_s.

    "pretrained" starts from `lm`'s weights; "scratch" from random weights (seeded by the
    seed), the same network. Both then train the same way (settings["classifier"],
    settings["finetune"]); freeze_body=True trains the classification head only (a linear
    probe). A seed fixes the labelled sample (the same for both inits), the new head's weights
    and the batches. `lm` itself is not changed.
    """
    bad = [i for i in inits if i not in INITS]
    if bad:
        raise ValueError(f"inits must be among {INITS}; got {bad}")
    for size in sizes:
        if size is not None and not 1 <= size <= len(task.train):
            raise ValueError(f"size {size}: the training split has {len(task.train)} labelled "
                             f"examples; pass sizes from 1 to {len(task.train)}, or None for all")
    rows = []
    bar = progress_bar(len(sizes) * len(seeds) * len(inits), "learning curve", progress)
    for size in sizes:
        for seed in seeds:
            examples = labelled_subset(task.train, size, seed)
            for init in inits:
                if init == "pretrained":
                    body = lm
                else:  # the same shape, random weights
                    torch.manual_seed(seed)
                    body = GPT(lm.config)
                torch.manual_seed(seed)  # the new head
                model = GPTClassifier(body, len(task.class_names), **settings["classifier"])
                model.freeze_body(freeze_body)
                start = time.perf_counter()
                finetune(model, examples, seed=seed, device=device, **settings["finetune"])
                rows.append({"init": init, "size": len(examples), "seed": seed,
                             "accuracy": evaluate(model, task.test, device),
                             "train_s": time.perf_counter() - start})
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return rows


def summarise_curve(rows: Sequence[dict], column: str = "accuracy"
                    ) -> dict[tuple[str, int], tuple[float, float, int]]:
    """(init, size) -> (mean, standard deviation, number of seeds) of `column` over the seeds.

    The standard deviation is the sample one (ddof = 1; 0 for a single seed): how much one run
    differs from another, not how precisely the mean is known.
    """
    groups: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        groups.setdefault((row["init"], row["size"]), []).append(row[column])
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, len(v))
            for key, v in groups.items()}


# --------------------------------------------------------------------------------------------
# (e) Zero-shot: which label's word does the language model expect after the text?
# --------------------------------------------------------------------------------------------


def _prompt_ids(template: str, vocab: Vocab, text: str, label: str, max_len: int
                ) -> tuple[list[int], int]:
    """The ids of `template` filled with `text` and `label`, and how many label tokens end it.

    The text is cut to its first tokens so that the whole prompt fits in max_len.
    """
    before, after = template.split("{text}")
    middle = after[: -len("{label}")]
    head, mid, lab = vocab.encode(before), vocab.encode(middle), vocab.encode(label)
    room = max_len - len(head) - len(mid) - len(lab)
    if room < 1:
        raise ValueError(f"the template and the label {label!r} take {max_len - room} tokens, "
                         f"which leaves no room for the text in the model's max_len = {max_len}")
    body = vocab.encode(text)[:room] or [vocab.unk_id]
    return head + body + mid + lab, len(lab)


@torch.no_grad()
def label_log_likelihoods(lm: GPT, vocab: Vocab, texts: Sequence[str],
                          label_words: Sequence[str], template: str = "{text} {label}",
                          batch_size: int = 64, device: str | torch.device = "cpu"
                          ) -> torch.Tensor:
    """log P(label words | prompt) under the language model, (N, C): entry [n, c] is the summed
    log-probability of label_words[c]'s tokens where `template` puts them after texts[n].

    The template must contain "{text}" once and end with "{label}"; the words around them are
    encoded with the same vocabulary. "{text} {label}" asks "which of these words would the
    model write next after the start of this article?". The text is cut to its first tokens so
    that the prompt fits the model's context; a label word outside the vocabulary becomes
    `<unk>`, which makes the comparison meaningless, so it is refused.
    """
    if template.count("{text}") != 1 or not template.endswith("{label}") or \
            template.count("{label}") != 1:
        raise ValueError(f"the template must hold '{{text}}' once and end with '{{label}}'; "
                         f"got {template!r}")
    if isinstance(texts, str) or isinstance(label_words, str):
        raise TypeError("texts and label_words must be lists of strings, not one string")
    for word in label_words:
        ids = vocab.encode(word)
        if not ids or vocab.unk_id in ids:
            raise ValueError(f"label word {word!r} is not in the vocabulary (it would read as "
                             f"<unk>): pick a word the language model has seen")
    lm.eval().to(device)
    out = torch.empty(len(texts), len(label_words))
    for c, word in enumerate(label_words):
        for start in range(0, len(texts), batch_size):
            rows = [_prompt_ids(template, vocab, t, word, lm.config.max_len)
                    for t in texts[start:start + batch_size]]
            ids = _pad([r for r, _ in rows], vocab.pad_id).to(device)  # (B, T)
            logits = lm(ids)[0].float()                                 # (B, T, V)
            for b, (row, n_label) in enumerate(rows):
                # the label's tokens end the row; the token at t is predicted at t - 1
                pos = torch.arange(len(row) - n_label, len(row), device=device)  # (n,)
                logp = F.log_softmax(logits[b, pos - 1], -1)                     # (n, V)
                out[start + b, c] = logp.gather(1, ids[b, pos, None]).sum().cpu()
    return out


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    """Right-padded ids (B, T) of token-id lists (T = the longest)."""
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    return ids


def zero_shot(lm: GPT, vocab: Vocab, texts: Sequence[str], label_words: Sequence[str],
              template: str = "{text} {label}", calibration_texts: Sequence[str] | None = None,
              device: str | torch.device = "cpu") -> np.ndarray:
    """Predicted classes (N,): the class whose label word the language model finds most likely
    after each text (label_log_likelihoods), with no labelled example.

    A frequent word is likely after any text, so raw likelihoods favour it. calibration_texts
    (unlabelled, e.g. training articles) correct for that: each label's mean log-likelihood over
    them is subtracted, so a class wins where its word is MORE likely than usual (a pointwise
    mutual information between the text and the label word).
    """
    scores = label_log_likelihoods(lm, vocab, texts, label_words, template, device=device)
    if calibration_texts is not None:
        prior = label_log_likelihoods(lm, vocab, calibration_texts, label_words, template,
                                      device=device)
        scores = scores - prior.mean(0)
    return scores.argmax(1).numpy()
