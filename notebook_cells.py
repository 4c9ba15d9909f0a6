# ruff: noqa: E501  (markdown lines carry the tuple prefix; ALT texts are one line by design)
"""Proposed cells for chapter 9, §9.2 "Which model for which job?" and §9.3 "How much data?".

CELLS is a list of (cell type, source). A code cell's first line may be a comment
`# tags: ...` naming the cell tags it should carry in the notebook (then drop the line); a
figure's cell starts with `# ALT: ...`, its alt text (for the cell metadata
{"mystnb": {"image": {"alt": ...}}}). The cells assume the chapter's setup cell and first cells
(as in chapter 8): math, time, numpy as np, torch, matplotlib.pyplot as plt, book.env,
`from book import data, scale, scaling`, `from book import textgen as tg`, one torch thread,
and text, train_text, val_text, tok, train_ids, val_ids.
"""

CELLS = [
    ("markdown", r"""## 9.2 Which model for which job?

The article's guide to choosing a model sends text generation and machine translation to
generative adversarial networks. That is wrong, and the reason is worth a few lines of code.

```{admonition} Errata: GANs for text generation and translation
:class: warning
The article recommends GANs for generating text and for translation. No widely used text
generator or translation system is one. A GAN {cite:p}`goodfellow2014gan` trains its generator
with the gradient of a discriminator's judgement, passed back *through the generated sample*
into the generator's weights. That works for images: pixels are continuous, so a small change of
a weight changes the picture a little and the discriminator's score with it. A text is a
sequence of discrete tokens, each one *sampled* from the generator's softmax (or picked by
argmax). The sample is an integer, and an integer has no derivative with respect to the logits
that produced it: the next cell shows autograd stop right there. To train a text generator
against a discriminator anyway, one needs a score-function estimator, REINFORCE
{cite:p}`williams1992reinforce`, as SeqGAN does {cite:p}`yu2017seqgan`, or a continuous
relaxation of sampling such as the Gumbel-softmax {cite:p}`jang2017gumbel`. The first is noisy,
the second biased, and when quality and diversity are measured together, language GANs did not
beat a maximum-likelihood model with a tuned sampling temperature
{cite:p}`caccia2020languagegans`.

What is used instead: **maximum likelihood**, the next-token cross-entropy of chapter 5 (and of
chapter 6's translation models, which predict the target sentence one token at a time), and
then, for assistants, **reinforcement learning from human feedback** (RLHF)
{cite:p}`ouyang2022instructgpt`. There a learned reward model does play a judge's part, but its
signal reaches the generator through a policy-gradient estimator, and only after maximum
likelihood has done most of the work.
```
"""),
    ("code", r"""torch.manual_seed(0)
V_demo = 5
logits = torch.randn(1, V_demo, requires_grad=True)  # a generator's scores for one position
token = torch.multinomial(logits.softmax(-1), 1)     # (1, 1): the sampled token id
picked = logits.argmax(-1)                           # (1,): the greedy choice
print(f"sampled token {token.item()}: dtype {token.dtype}, grad_fn {token.grad_fn}")
print(f"argmax token {picked.item()}: dtype {picked.dtype}, grad_fn {picked.grad_fn}")

# A discriminator judges the token it is shown (as a one-hot vector); we ask for the gradient
# of its score and look at what reaches the generator's logits.
discriminator = torch.nn.Linear(V_demo, 1)
shown = torch.nn.functional.one_hot(token[:, 0], V_demo).float()  # (1, V)
discriminator(shown).sum().backward()
print("gradient of the judgement at the logits:", logits.grad)
assert token.grad_fn is None and picked.grad_fn is None and logits.grad is None

# REINFORCE: the judgement as a reward, times the gradient of ln p(sampled token)
reward = discriminator(shown).detach().sum()
(-reward * torch.log_softmax(logits, -1)[0, token[0, 0]]).backward()
print("REINFORCE's estimate of it:", logits.grad.numpy().round(3))
assert logits.grad.abs().sum() > 0
"""),
    ("markdown", r"""`torch.multinomial` and `argmax` return integer token ids with no `grad_fn`: the graph
ends there, and the discriminator's gradient reaches its own weights but never the logits
(`None`). REINFORCE gets a gradient by a detour: it does not differentiate the sample, it
raises or lowers the log-probability of the token that was sampled, in proportion to the reward.
It is unbiased but noisy (one sample per position), which is why it serves to *adjust* a model
already trained by maximum likelihood (RLHF), not to train one from scratch.

### Three language models at one compute budget

Which model, then, for generating text? Chapter 5 compared an n-gram table, a character LSTM
and a GPT on Tiny Shakespeare, each with its own settings. Here they get the **same compute
budget**, counted in training FLOPs, the same way for both networks: `FlopCounterMode` counts
the multiply-adds of the matrix products in one forward and backward pass of a batch
(2 FLOPs each), we divide by the batch's tokens, and multiply by the tokens trained on. The
counter agrees exactly with chapter 8's formula for the GPT (`scale.flops_per_token`, with the
whole $T \times T$ score matrix counted, as the counter sees it) and with a hand count for the
LSTM: per layer, the four gates multiply the input ($I$) and the state ($H$),
$2 \cdot 4H(I + H)$ FLOPs forward, the head $2HV$, times 3 for forward and backward, less the
one product per window that the backward pass skips (no gradient flows into the initial state).
The n-gram model has no such cost: its "training" is counting — integer codes and a sort,
not one floating-point multiplication — so its cost is given in seconds.
"""),
    ("code", r"""from book import compare

lm_settings = compare.NOTEBOOK["lm"]
V = tok.vocab_size
for kind in ("gpt", "lstm"):
    net = compare.build_lm(kind, V, lm_settings[kind])
    counted = compare.train_flops_per_token(net)
    if kind == "gpt":
        formula = scale.flops_per_token(scale.TransformerShape.from_config(net.config),
                                        causal=False).training
    else:
        formula = compare.lstm_flops_per_token(net.config)
    assert counted == formula
    steps = compare.steps_for_budget(lm_settings["budgets"][0], counted,
                                     lm_settings["train"]["batch_size"], net.config.max_len)
    print(f"{type(net).__name__:8s} {net.num_params():6,d} parameters, {counted:9,.0f} "
          f"training FLOPs per token (= the formula), {steps} steps for "
          f"{lm_settings['budgets'][0]:.1e} FLOPs")
"""),
    ("markdown", r"""The LSTM (one layer of 96 units reading 32-number embeddings) costs 331,200 FLOPs per token,
the GPT (two blocks of width 32) 209,088, so within one budget the LSTM trains for fewer steps. Both read
windows of 64 characters and are scored on exactly the same validation characters, the
n-grams too (`compare.window_targets`: the characters `tg.estimate_loss` predicts). The
n-gram models use Kneser–Ney smoothing, as in chapter 5. The next cell counts six of them and
trains the two networks (under half a minute on one core).
"""),
    ("code", r"""# tags: grading-skip
lm_rows, lm_models = compare.equal_compute(train_ids, val_ids, V, **lm_settings)
print(f"{'model':7s} {'size':>16s} {'training FLOPs':>14s} {'steps':>6s} {'val loss':>9s} "
      f"{'bits/char':>9s}")
for r in lm_rows:
    size = f"{r['params']:,} n-grams" if r["kind"] == "ngram" else f"{r['params']:,} params"
    flops = "0 (counting)" if r["kind"] == "ngram" else f"{r['flops']:.2e}"
    steps = "—" if r["kind"] == "ngram" else r["steps"]
    print(f"{r['model']:7s} {size:>16s} {flops:>14s} {steps:>6} {r['val_loss']:9.2f} "
          f"{r['bpc']:9.2f}")
by_model = {r["model"]: r for r in lm_rows}  # (the speed and sample cells below use it)
best_ngram = min((r for r in lm_rows if r["kind"] == "ngram"), key=lambda r: r["val_loss"])
assert best_ngram["val_loss"] < min(by_model["GPT"]["val_loss"], by_model["LSTM"]["val_loss"]) - 0.3
assert by_model["LSTM"]["val_loss"] < by_model["GPT"]["val_loss"]
"""),
    ("code", r"""# tags: nbval-ignore-output grading-skip
# Speeds depend on the machine and its load: read the ratios, not the digits.
print(f"{'model':7s} {'training tokens/s':>17s} {'scoring tokens/s':>16s}")
for name in ("6-gram", "LSTM", "GPT"):
    r = by_model[name]
    print(f"{name:7s} {r['train_tok_s']:17,.0f} {r['eval_tok_s']:16,.0f}")
ratio = by_model["6-gram"]["train_tok_s"] / by_model["GPT"]["train_tok_s"]
print(f"counting the 6-gram table ran {ratio:.0f} times as many tokens per second as training "
      "the GPT")
"""),
    ("code", r"""# tags: nbval-ignore-output grading-skip
prompt = tok.encode("ROMEO:\n")
samples = {"6-gram": tok.decode(compare.sample_ngram(lm_models["6-gram"], prompt, 150, seed=0))}
for name in ("LSTM", "GPT"):
    g = torch.Generator().manual_seed(0)
    ids = tg.generate(lm_models[name], torch.tensor([prompt]), 150, generator=g)
    samples[name] = tok.decode(ids[0].tolist())
for name, sample in samples.items():
    print(f"--- {name}\n{sample}\n")
assert all(len(s) == len(prompt) + 150 for s in samples.values())
"""),
    ("markdown", r"""At this budget — $1.5 \times 10^{11}$ FLOPs, 701 steps of 1,024 characters for the GPT —
**the table of counts wins by a wide margin**: the 6-gram's 1.56 nats per character (2.25 bits)
against the LSTM's 2.10 and the GPT's 2.36, and its "training" was one counting pass over the
text, many times faster than a training step of either network. Between the two networks, the
LSTM is ahead at equal compute, in fewer steps; it also has twice the parameters (58,305
against 28,864), which an equal-compute comparison does not equalise, and the order holds at
other learning rates (a check in `benchmarks/README.md`). The samples say the
same: the 6-gram writes words and names, the networks mostly word-shaped strings.

That is the small-compute end. How do the networks move when the budget grows?
`benchmarks/compare.py` trained both at three budgets, two seeds each:
"""),
    ("code", r"""# ALT: Validation loss in nats per character against training FLOPs on a log axis, for the GPT and the LSTM at three budgets with two seeds each, with horizontal lines for the 4-gram and 6-gram tables, which need no FLOPs; both networks improve with compute, the LSTM below the GPT at every budget, both above the tables.
meta, bench = scaling.read_csv(book.env.repository_file("benchmarks", "results", "compare_lm.csv"),
                               columns=("model", "kind", "seed", "budget", "flops", "steps",
                                        "val_loss", "bpc"))
print(f"{meta['command']} | {meta['device']} | {meta['date']}")
budgets = sorted({r["budget"] for r in bench if r["kind"] != "ngram"})
fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
for name, marker in (("GPT", "o"), ("LSTM", "s")):
    runs = [r for r in bench if r["model"] == name]
    ax.semilogx([r["flops"] for r in runs], [r["val_loss"] for r in runs], marker,
                label=name, alpha=0.8)
    means = [np.mean([r["val_loss"] for r in runs if r["budget"] == b]) for b in budgets]
    print(f"{name:5s} mean validation loss at " + ", ".join(
        f"{b:.1e}: {m:.2f}" for b, m in zip(budgets, means)))
    assert all(a > b for a, b in zip(means, means[1:]))  # more compute, lower loss
for r in bench:
    if r["model"] in ("4-gram", "6-gram"):
        ax.axhline(r["val_loss"], color="grey", lw=1, ls=":")
        ax.text(budgets[0], r["val_loss"] + 0.01, f"{r['model']} (counted, 0 FLOPs)",
                fontsize=8, color="dimgrey")
ax.set(xlabel="training FLOPs", ylabel="validation loss (nats per character)",
       title="Equal compute: networks against tables of counts")
five_gram = next(r["val_loss"] for r in bench if r["model"] == "5-gram")
assert five_gram < min(r["val_loss"] for r in bench if r["kind"] != "ngram")
ax.legend()
plt.show()
"""),
    ("markdown", r"""With more compute both networks improve steadily: the GPT from 2.33 to 1.88 nats per
character (means of two seeds), the LSTM from 2.10 to 1.79, as the budget grows from
$1.5 \times 10^{11}$ to $10^{12}$ FLOPs. The LSTM stays ahead at every budget, and neither
network reaches the 5-gram's 1.58 within $10^{12}$ FLOPs.

So, which model for which job? For text, a model trained by maximum likelihood to predict the
next token; *which* one depends on the compute and the context you need. With little compute
and a short context, a table of counts is hard to beat and costs nothing but memory. The
networks overtake it only with more compute than a laptop spends in a minute — chapter 5's
GPU-trained GPT reaches 1.47 — and they win because they generalise across contexts the table
has never seen, and can read far more context than five characters. At scale that is the
Transformer: it does more FLOPs per token than an LSTM of the same width, but all positions at
once, which is what a GPU rewards (chapter 4).

### A classifier or a generator?

The same question for chapter 4's task, news articles in five classes (BBC News). A
**discriminative** classifier models $P(c \mid \text{text})$ directly: chapter 4's TF-IDF
features with logistic regression. A **generative** classifier models how each class *writes*,
$P(\text{text} \mid c)$, with one language model per class, and turns it around with Bayes' rule:

$$
P(c \mid w_1 \dots w_n) = \frac{P(c)\, \prod_i P(w_i \mid w_{i-k+1} \dots w_{i-1}, c)}
{\sum_{c'} P(c')\, \prod_i P(w_i \mid w_{i-k+1} \dots w_{i-1}, c')}
$$

with $P(c)$ the share of training articles in class $c$. With word unigrams ($k = 1$, add-$k$
smoothing) this is the multinomial naive Bayes classifier; with bigrams, each class gets a
Kneser–Ney word bigram model (`tg.NGramLM` on chapter 4's word tokens). The products of
hundreds of probabilities underflow, so the code sums logarithms and normalises with the
log-sum-exp trick. Both kinds train on the same split, once on 50 articles and once on all
1,779.
"""),
    ("code", r"""# tags: grading-skip
bbc = data.load("bbc_news")
cls_settings = compare.NOTEBOOK["classify"]
cls_rows = compare.classifier_comparison(bbc, **cls_settings)
print(f"{'model':32s} {'articles':>8s} {'val acc':>7s} {'test acc':>8s} {'test NLL':>8s}")
for r in cls_rows:
    print(f"{r['model']:32s} {r['n_train']:8d} {r['val_acc']:7.3f} {r['test_acc']:8.3f} "
          f"{r['test_nll']:8.2f}")
full = {r["model"]: r for r in cls_rows if r["n_train"] == len(bbc.train)}
gen = compare.NGramClassifier(1, cls_settings["k"]).fit(bbc.train.texts, bbc.train.labels)
p = gen.predict_proba(bbc.test.texts)
assert np.allclose(p.sum(axis=1), 1)
print(f"naive Bayes: median top probability {np.median(p.max(axis=1)):.6f}; "
      f"{np.mean(p.max(axis=1) > 0.999):.0%} of test articles above 0.999")
disc = full["TF-IDF + logistic regression"]
assert disc["test_nll"] < min(r["test_nll"] for r in cls_rows if r["kind"] == "generative")
few = {r["model"]: r["test_acc"] for r in cls_rows if r["n_train"] == 50}
assert few["word 1-gram LM per class + Bayes"] > few["TF-IDF + logistic regression"]
assert disc["test_acc"] > full["word 1-gram LM per class + Bayes"]["test_acc"]
"""),
    ("code", r"""# tags: nbval-ignore-output grading-skip
for r in cls_rows:
    print(f"{r['model']:32s} {r['n_train']:5d} articles: fit {r['fit_s']:5.2f} s, "
          f"predict (val + test) {r['predict_s']:5.2f} s")
"""),
    ("markdown", r"""On all 1,779 training articles the discriminative model wins on the test split, 0.982
against 0.969 for both generative ones (on the validation split the bigram model leads with
0.991; one article of 223 is 0.45 points, so these are differences of two or three articles).
On 50 articles the order turns: naive Bayes 0.852, the bigram model 0.848, TF-IDF 0.830. The
benchmark repeats this for eight sizes and three seeds (below): the generative classifiers are
ahead up to 400 training articles, the discriminative one from 800 on.

That is the pattern Ng and Jordan described for naive Bayes and logistic regression
{cite:p}`ng2001discriminative`. A generative model estimates each word's probability in each
class separately, by counting, and these estimates settle after few examples. A discriminative
model fits all its weights together for the one thing asked, the boundary between the classes;
it needs more examples to get there, but ends lower, because it does not assume what the
generative model assumes: that the words of a text are independent given the class (or given
the class and the previous word). The assumption shows in the probabilities. Naive Bayes is
more than 99.9 % sure of every test article, because an article of hundreds of words multiplies
hundreds of factors as if each were fresh evidence; its test NLL, the mean of
$-\ln P(\text{true class} \mid \text{text})$, is 1.84 nats against 0.19 for logistic
regression: when it is wrong, it is wrong with near certainty. For a decision with costs, or
for ranking, trust the discriminative model's probabilities. The generative one trains in a
fraction of the time — one counting pass against 100 full-batch gradient steps — and has a use
the other lacks: each class's model is itself a language model, which can score or generate
text.
"""),
    ("code", r"""# ALT: Test accuracy against the number of training articles, from 10 to 1,779 on a log axis, for TF-IDF logistic regression and for naive Bayes and word bigram and trigram class models, mean of three seeds.
meta, crows = scaling.read_csv(
    book.env.repository_file("benchmarks", "results", "compare_classify.csv"),
    columns=("model", "kind", "n_train", "seed", "val_acc", "test_acc", "test_nll"))
print(f"{meta['command']} | {meta['date']}")
fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
mean_acc = {}
for name in dict.fromkeys(r["model"] for r in crows):
    sizes = sorted({r["n_train"] for r in crows if r["model"] == name})
    acc = [np.mean([r["test_acc"] for r in crows if r["model"] == name and r["n_train"] == n])
           for n in sizes]
    ax.semilogx(sizes, acc, "o-", label=name)
    print(f"{name:32s} " + " ".join(f"{n}: {a:.3f}" for n, a in zip(sizes, acc)))
    mean_acc[name] = dict(zip(sizes, acc))
ax.set(xlabel="training articles", ylabel="test accuracy (mean of seeds)",
       title="Generative against discriminative, by training-set size")
ax.legend(fontsize=8)
plt.show()
nb, lr = mean_acc["word 1-gram LM per class + Bayes"], mean_acc["TF-IDF + logistic regression"]
assert all(nb[n] > lr[n] for n in (10, 25, 50, 100, 200, 400))
assert all(nb[n] < lr[n] for n in (800, 1779))
"""),
    ("markdown", r"""## 9.3 How much data?

Chapter 8 fitted how the loss falls with model size and compute. The other axis is data. Here
one model stays fixed — a GPT of 2 blocks of width 32 with a context of 32 characters, 27,840
parameters, always the same initial weights — and trains for the same 800 steps, seeded, on
training sets of 10 thousand to 1 million characters (nested slices of the training split from
one seeded starting point, `datasize.nested_subsets`: every smaller set is the beginning of
every larger one). Every run sees the same number of characters, 409,600; what differs is how
many of them are *new*. The 10,000-character set is read 41 times over, the million-character
set not even half once. After training we measure the loss on the model's own training text and
on the whole validation split.
"""),
    ("code", r"""# tags: nbval-ignore-output grading-skip
from book import datasize

# Tiny runs are chaotic: the digits move from CPU to CPU, the asserts hold the claims.
curve_data = scaling.load_data()  # the whole validation split
curve = datasize.learning_curve(curve_data, **datasize.NOTEBOOK)
print(f"{'characters':>10s} {'epochs':>6s} {'train loss':>10s} {'val loss':>8s} {'gap':>6s}")
for r in curve:
    print(f"{r['chars']:10,d} {r['epochs']:6.1f} {r['train_loss']:10.2f} {r['val_loss']:8.2f} "
          f"{r['gap']:+6.2f}")
gaps = [r["gap"] for r in curve]
assert gaps[0] > 0.3 and abs(gaps[-1]) < 0.1 and gaps[0] > gaps[-1] + 0.3
assert curve[0]["train_loss"] < curve[-1]["train_loss"]
"""),
    ("code", r"""# ALT: Two panels of training and validation loss against training-set size on a log axis. Left, the live run at 800 steps: the training loss is lowest on the smallest set and meets the validation loss, near 2.3, from 300 thousand characters on. Right, the benchmark at 1,500 steps with two seeds and seven sizes: the validation loss falls from 2.7 at 10 thousand characters to about 2.05 at 500 thousand, and the gap closes.
meta, bench_curve = scaling.read_csv(
    book.env.repository_file("benchmarks", "results", "datasize.csv"), columns=datasize.COLUMNS)
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, constrained_layout=True)
datasize.plot_learning_curve(curve, axes[0], title="Live: 800 steps, one seed")
datasize.plot_learning_curve(bench_curve, axes[1],
                             title=f"Benchmark: {bench_curve[0]['steps']} steps, two seeds")
plt.show()
print(f"benchmark: {meta['command']} | {meta['date']}")
for chars in sorted({r["chars"] for r in bench_curve}):
    runs = [r for r in bench_curve if r["chars"] == chars]
    print(f"{chars:9,d} characters, {runs[0]['epochs']:5.1f} epochs: train "
          f"{np.mean([r['train_loss'] for r in runs]):.2f}, val "
          f"{np.mean([r['val_loss'] for r in runs]):.2f}")
"""),
    ("markdown", r"""Live, the training loss is lowest on the smallest set (1.88 nats on 10,000 characters read
41 times), and the gap between validation and training loss shrinks from 0.49 to 0.01 as the
set grows. That gap is overfitting: the model learns its training text rather than the
language. The validation loss itself hardly moves (between 2.27 and 2.40, in no order): in 800
steps a model this small learns too little for the amount of data to matter, except through
the gap. The benchmark trains for 1,500 steps with two seeds. The smallest set is now read 76.8
times, the gap is wider, and the validation loss falls steadily with more data, from 2.73 at
10,000 characters to 2.05 at 500,000. From there to a million it no longer falls (2.08): the
model does not see even one epoch of the larger set, and what limits it is the number of steps,
not the data. A learning curve has these two regimes: *data-limited* (a wide gap; more data
lowers the validation loss) and *compute-limited* (no gap; only more training or a larger model
helps).

### Tokens per parameter

Chapter 8's IsoFLOP fits found, as Hoffmann et al. did {cite:p}`hoffmann2022chinchilla`, that
for a given compute budget the best loss comes from growing data with parameters, about
20 training tokens per parameter at their scale. That rule assumes fresh tokens; a token seen
twice is worth less than a new one. So each run has two ratios: tokens *seen* per parameter
(compute) and *distinct* training tokens per parameter (data).
"""),
    ("code", r"""# tags: grading-skip
params = curve[0]["params"]
print(f"the model: {params:,} parameters; 20 tokens per parameter = "
      f"{datasize.chinchilla_tokens(params):,.0f} tokens")
print(f"{'characters':>10s} {'seen/param':>10s} {'distinct/param':>14s} {'epochs':>6s}")
for r in curve:
    print(f"{r['chars']:10,d} {r['tokens_per_param']:10.1f} {r['chars_per_param']:14.2f} "
          f"{r['epochs']:6.1f}")
print(f"the benchmark's runs: {bench_curve[0]['tokens_per_param']:.1f} tokens seen per parameter")
print()
print(f"{'published model':16s} {'parameters':>10s} {'tokens':>8s} {'tokens/param':>12s}")
for m in datasize.published_table():
    print(f"{m['model']:16s} {m['params'] / 1e9:9.0f}B {m['tokens'] / 1e12:7.2f}T "
          f"{m['tokens_per_param']:12.1f}")
"""),
    ("markdown", r"""Every live run saw 14.7 tokens per parameter (the benchmark's runs 27.6), near Chinchilla's
20: in compute, all of them are close to the compute-optimal ratio. In *data* they range from
0.36 distinct characters per parameter (the 10,000-character set, read 41 times) to 35.92 (the
million). Only the runs that read their data about once — 300,000 characters (1.4 epochs) and a
million (0.4) — are in the regime the scaling laws describe; the others buy a lower training
loss with their extra epochs, not a lower validation loss.

The published models, from their papers: GPT-2 was trained on WebText, about 40 GB of text
from 8 million web pages {cite:p}`radford2019gpt2` (its paper gives no token count); GPT-3 on
300 billion tokens {cite:p}`brown2020gpt3` and PaLM on 780 billion {cite:p}`chowdhery2022palm`,
both well under 20 tokens per parameter; Chinchilla, 70 billion parameters on 1.4 trillion
tokens, was built to sit on the rule {cite:p}`hoffmann2022chinchilla`; Llama 2 trained every
size on 2 trillion tokens {cite:p}`touvron2023llama2`, 285.7 tokens per parameter for the 7B
model. Models meant to be *served* a lot go past the compute-optimal point on purpose: a
smaller model trained on more tokens costs more to train than the optimum for its loss, but
less at every one of the billions of generations that follow.

```{admonition} How much data, in short
:class: tip
A model needs fresh data in proportion to its size (about 20 tokens per parameter to spend
compute well). With less, train for fewer steps or use a smaller model; repeating a small set
many times shows up as a growing gap between training and validation loss, as in the 10,000-
character run above.
```
"""),
]
