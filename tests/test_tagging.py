"""Chapter 6's tagger: the CRF's recursions against brute force, NumPy against torch, padding,
gradients, the BiLSTM's shapes, overfitting a handful of sentences, and the errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from book import tagging

TAGS = ["O", "B-person", "I-person", "B-location", "I-location"]

SENTENCES = [
    (["Paris", "is", "lovely"], ["B-location", "O", "O"]),
    (["I", "met", "Ada", "Lovelace", "today"], ["O", "O", "B-person", "I-person", "O"]),
    (["New", "York", "or", "Paris", "?"], ["B-location", "I-location", "O", "B-location", "O"]),
    (["lol"], ["O"]),
    (["Ada", "went", "to", "New", "York"], ["B-person", "O", "O", "B-location", "I-location"]),
    (["see", "you", "in", "Rome", ",", "Bob"], ["O", "O", "O", "B-location", "O", "B-person"]),
]


# one torch thread: the models are tiny and the machine is shared (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_crf_arrays(rng: np.random.Generator, T: int, C: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """emissions (T, C), transitions (C, C), start (C,), end (C,), float64."""
    return (rng.normal(size=(T, C)), rng.normal(size=(C, C)), rng.normal(size=C),
            rng.normal(size=C))


def crf_from(transitions: np.ndarray, start: np.ndarray, end: np.ndarray,
             **kwargs) -> tagging.CRF:
    """A float64 CRF with the given scores."""
    crf = tagging.CRF(len(start), **kwargs).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.from_numpy(transitions))
        crf.start.copy_(torch.from_numpy(start))
        crf.end.copy_(torch.from_numpy(end))
    return crf


def padded_batch(rng: np.random.Generator, lengths: list[int], C: int, extra: int = 0
                 ) -> tuple[np.ndarray, torch.Tensor]:
    """Emissions (B, T, C), T = max length + extra, with random values at padding too (they
    must be ignored), and the pad_mask (B, T)."""
    T = max(lengths) + extra
    emissions = rng.normal(size=(len(lengths), T, C))
    pad_mask = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
    return emissions, pad_mask


# --- NumPy, one sequence ---


@pytest.mark.parametrize("T, C", list(itertools.product([1, 2, 3, 4], [3, 4, 5])))
def test_numpy_recursions_equal_brute_force(T: int, C: int) -> None:
    rng = np.random.default_rng(10 * T + C)
    for _ in range(3):
        arrays = random_crf_arrays(rng, T, C)
        assert abs(tagging.forward_algorithm(*arrays)
                   - tagging.brute_force_log_partition(*arrays)) < 1e-10
        path, score = tagging.viterbi(*arrays)
        best, best_score = tagging.brute_force_best_path(*arrays)
        assert path == best and len(path) == T
        assert abs(score - best_score) < 1e-10
        assert abs(tagging.path_score(arrays[0], path, *arrays[1:]) - score) < 1e-10


def test_logsumexp_is_stable() -> None:
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0 + np.log(3)]])
    np.testing.assert_allclose(tagging.logsumexp(x, axis=1),
                               [1000 + np.log(2), -1000 + np.log(4)], rtol=1e-12)
    assert tagging.logsumexp(np.array([0.0, 0.0])) == pytest.approx(np.log(2))


def test_path_probabilities_sum_to_one() -> None:
    """exp(score - log Z) over all paths is a probability distribution."""
    arrays = random_crf_arrays(np.random.default_rng(0), 3, 3)
    log_z = tagging.forward_algorithm(*arrays)
    total = sum(np.exp(tagging.path_score(arrays[0], p, *arrays[1:]) - log_z)
                for p in itertools.product(range(3), repeat=3))
    assert abs(total - 1) < 1e-12


# --- torch, batched with padding ---


@pytest.mark.parametrize("C", [3, 4, 5])
def test_torch_crf_agrees_with_numpy_and_brute_force(C: int) -> None:
    rng = np.random.default_rng(C)
    _, transitions, start, end = random_crf_arrays(rng, 1, C)
    crf = crf_from(transitions, start, end)
    lengths = [4, 1, 3, 2, 4]
    emissions, pad_mask = padded_batch(rng, lengths, C)
    x = torch.from_numpy(emissions)
    tags = torch.from_numpy(rng.integers(0, C, size=pad_mask.shape))
    log_z = crf.log_partition(x, pad_mask)
    score = crf.score(x, tags, pad_mask)
    paths = crf.viterbi(x, pad_mask)
    for b, n in enumerate(lengths):
        e = emissions[b, :n]
        assert abs(log_z[b].item() - tagging.brute_force_log_partition(e, transitions, start,
                                                                       end)) < 1e-10
        assert abs(log_z[b].item() - tagging.forward_algorithm(e, transitions, start, end)) < 1e-10
        assert paths[b] == tagging.viterbi(e, transitions, start, end)[0]
        assert paths[b] == tagging.brute_force_best_path(e, transitions, start, end)[0]
        expected = tagging.path_score(e, tags[b, :n].tolist(), transitions, start, end)
        assert abs(score[b].item() - expected) < 1e-10


def test_padding_changes_nothing() -> None:
    """The same sequences with more padding (holding any values) give the same results."""
    rng = np.random.default_rng(1)
    C, lengths = 4, [3, 1, 2]
    crf = crf_from(*random_crf_arrays(rng, 1, C)[1:])
    emissions, pad_mask = padded_batch(rng, lengths, C)
    tags = torch.from_numpy(rng.integers(0, C, size=pad_mask.shape))
    more, more_mask = padded_batch(rng, lengths, C, extra=3)
    more[:, :emissions.shape[1]] = emissions
    more_tags = torch.cat([tags, torch.from_numpy(rng.integers(0, C, size=(3, 3)))], dim=1)
    x, y = torch.from_numpy(emissions), torch.from_numpy(more)
    torch.testing.assert_close(crf.log_partition(x, pad_mask), crf.log_partition(y, more_mask))
    torch.testing.assert_close(crf.score(x, tags, pad_mask), crf.score(y, more_tags, more_mask))
    assert crf.viterbi(x, pad_mask) == crf.viterbi(y, more_mask)
    # and one sequence alone is the same as in the batch
    torch.testing.assert_close(crf.log_partition(x[1:2, :1]), crf.log_partition(x, pad_mask)[1:2])


def test_nll_is_positive_and_its_gradient_is_right() -> None:
    rng = np.random.default_rng(2)
    C, lengths = 3, [3, 2, 1]
    crf = crf_from(*random_crf_arrays(rng, 1, C)[1:])
    emissions, pad_mask = padded_batch(rng, lengths, C)
    x = torch.from_numpy(emissions).requires_grad_(True)
    tags = torch.from_numpy(rng.integers(0, C, size=pad_mask.shape))
    nll = crf.neg_log_likelihood(x, tags, pad_mask)
    assert nll.shape == (3,) and torch.all(nll >= 0)

    # gradcheck nudges its inputs in place, so the CRF's own parameters can be inputs: the
    # function reads them through the module
    def nll(x, *params):
        return crf.neg_log_likelihood(x, tags, pad_mask)

    assert torch.autograd.gradcheck(nll, (x, crf.transitions, crf.start, crf.end))


def test_gradient_of_log_partition_is_the_tag_marginals() -> None:
    """d log Z / d emissions[b, t, :] is the distribution of the tag at t: it sums to 1 at real
    positions and is 0 at padding."""
    rng = np.random.default_rng(3)
    crf = crf_from(*random_crf_arrays(rng, 1, 4)[1:])
    emissions, pad_mask = padded_batch(rng, [4, 2], 4)
    x = torch.from_numpy(emissions).requires_grad_(True)
    crf.log_partition(x, pad_mask).sum().backward()
    sums = x.grad.sum(-1)
    torch.testing.assert_close(sums, (~pad_mask).double())
    assert torch.all(x.grad >= 0)


def test_bio_constraints() -> None:
    allowed, allowed_start = tagging.bio_constraints(TAGS)
    index = {t: i for i, t in enumerate(TAGS)}
    assert not allowed[index["O"], index["I-person"]]
    assert not allowed[index["B-location"], index["I-person"]]
    assert allowed[index["B-person"], index["I-person"]]
    assert allowed[index["I-person"], index["I-person"]]
    assert allowed[index["I-person"], index["B-location"]]
    assert allowed[:, index["O"]].all() and allowed[:, index["B-person"]].all()
    assert allowed_start.tolist() == [True, True, False, True, False]


def test_constrained_viterbi_returns_the_best_valid_path() -> None:
    rng = np.random.default_rng(4)
    allowed, allowed_start = tagging.bio_constraints(TAGS)
    valid = {p for p in itertools.product(range(5), repeat=3)
             if allowed_start[p[0]] and allowed[p[0], p[1]] and allowed[p[1], p[2]]}
    for _ in range(5):
        arrays = random_crf_arrays(rng, 3, 5)
        # the emissions favour I- tags, which alone would break the rules
        arrays[0][:, [2, 4]] += 3
        crf = crf_from(*arrays[1:], allowed=allowed, allowed_start=allowed_start)
        path = crf.viterbi(torch.from_numpy(arrays[0][None]))[0]
        best = max(valid, key=lambda p: tagging.path_score(arrays[0], p, *arrays[1:]))
        assert tuple(path) == best
        # with the forbidden scores, the NumPy Viterbi and brute force agree too
        scores = [s.detach().numpy() for s in crf.decoding_scores()]
        assert tagging.viterbi(arrays[0], *scores)[0] == list(best)
        assert tagging.brute_force_best_path(arrays[0], *scores)[0] == list(best)


@pytest.mark.parametrize("make, message", [
    (lambda: (torch.zeros(2, 3), None), "shape \\(B, T, C\\)"),
    (lambda: (torch.zeros(2, 3, 5), None), "C = 4"),
    (lambda: (torch.zeros(2, 0, 4), None), "at least one position"),
    (lambda: (torch.zeros(2, 3, 4), torch.tensor([[True, False, False]] * 2)), "first real"),
    (lambda: (torch.zeros(2, 3, 4), torch.ones(2, 3, dtype=torch.long)), "boolean"),
    (lambda: (torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.bool)), "\\(2, 3\\)"),
    (lambda: (torch.zeros(1, 3, 4), torch.tensor([[False, True, False]])), "right padding"),
])
def test_bad_shapes_and_masks_are_refused(make, message: str) -> None:
    crf = tagging.CRF(4)
    emissions, pad_mask = make()
    for call in (crf.log_partition, crf.viterbi):
        with pytest.raises(ValueError, match=message):
            call(emissions, pad_mask)


def test_score_refuses_tags_of_another_shape() -> None:
    with pytest.raises(ValueError, match="tags must have shape"):
        tagging.CRF(4).score(torch.zeros(2, 3, 4), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="allowed"):
        tagging.CRF(4, allowed=np.ones((3, 3), dtype=bool))


# --- encoding and the tagger ---


def test_encoder() -> None:
    enc = tagging.TagEncoder.build(SENTENCES, lowercase=True, min_freq=2)
    assert enc.tags[0] == "O" and sorted(enc.tags) == sorted(TAGS)
    assert "paris" in enc.words and "rome" not in enc.words  # Rome is seen once
    e = enc.encode(SENTENCES)
    assert e.words.shape == e.pad_mask.shape == e.tags.shape == (6, 6)
    assert e.chars.shape[:2] == (6, 6)
    assert e.pad_mask[3].tolist() == [False] + [True] * 5
    assert e.words[0, 0] == enc.words.stoi["paris"]
    assert e.chars[0, 0, 0] == enc.chars.stoi["P"]  # characters keep their case
    words, chars, pad_mask, tags = e.batch(np.array([3]))  # "lol": cut to 1 token, 3 chars
    assert words.shape == (1, 1) and chars.shape == (1, 1, 3)
    with pytest.raises(ValueError, match="not seen in training"):
        enc.encode([(["x"], ["B-thing"])])
    with pytest.raises(ValueError, match="2 tags"):
        enc.encode([(["x"], ["O", "O"])])
    with pytest.raises(ValueError, match="at least one token"):
        enc.encode([[]], with_tags=False)


def test_length_batches_cover_every_sentence_once() -> None:
    lengths = np.random.default_rng(0).integers(1, 40, size=103)
    got = tagging.length_batches(lengths, 8, seed=1, epoch=2)
    assert sorted(np.concatenate(got).tolist()) == list(range(103))
    assert all(len(b) <= 8 for b in got)
    again = tagging.length_batches(lengths, 8, seed=1, epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(got, again, strict=True))
    other = tagging.length_batches(lengths, 8, seed=1, epoch=3)
    assert not all(np.array_equal(a, b) for a, b in zip(got, other, strict=False))
    # a batch spans a narrower range of lengths than a random batch of the same size does
    spread = np.mean([np.ptp(lengths[b]) for b in got])
    assert spread < np.mean([np.ptp(lengths[b]) for b in np.array_split(np.arange(103), 13)])


@pytest.mark.parametrize("char_channels, crf", [(0, False), (8, False), (8, True)])
def test_tagger_shapes_and_padding(char_channels: int, crf: bool) -> None:
    enc = tagging.TagEncoder.build(SENTENCES)
    torch.manual_seed(0)
    model = tagging.BiLSTMTagger(enc, embed_dim=8, hidden_size=6, char_dim=4,
                                 char_channels=char_channels, crf=crf).eval()
    words, chars, pad_mask, tags = enc.encode(SENTENCES).batch(np.arange(6))
    emissions = model(words, chars, pad_mask)
    assert emissions.shape == (6, 6, len(TAGS))
    # a sentence alone gives the emissions it gets in the batch (both directions, characters)
    alone = enc.encode(SENTENCES[2:3]).batch(np.array([0]))[:3]
    torch.testing.assert_close(model(*alone)[0], emissions[2, :5])
    loss = model.loss(words, chars, pad_mask, tags)
    loss.backward()
    assert loss.item() > 0
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    paths = model.decode(words, chars, pad_mask)
    assert [len(p) for p in paths] == [len(toks) for toks, _ in SENTENCES]


@pytest.mark.parametrize("crf, constrained", [(False, False), (False, True), (True, True)])
def test_a_tiny_tagger_overfits_a_few_sentences(crf: bool, constrained: bool) -> None:
    settings = {"encoder": dict(lowercase=False, min_freq=1),
                "model": dict(embed_dim=16, hidden_size=16, char_dim=8, char_channels=8,
                              dropout=0.0, crf=crf, constrained=constrained)}
    model = tagging.build_tagger(SENTENCES, settings, seed=0)
    losses = tagging.train_tagger(model, SENTENCES, steps=150, lr=2e-2, batch_size=3, seed=0,
                                  warmup=10, progress=False)
    assert len(losses) == 150 and losses[-1] < 0.1 * losses[0]
    assert tagging.predict_tags(model, [toks for toks, _ in SENTENCES]) == [
        tags for _, tags in SENTENCES]


def test_training_is_repeatable() -> None:
    settings = {"encoder": dict(), "model": dict(embed_dim=8, hidden_size=8, char_dim=4,
                                                 char_channels=4, crf=True)}
    runs = []
    for _ in range(2):
        model = tagging.build_tagger(SENTENCES, settings, seed=3)
        runs.append(tagging.train_tagger(model, SENTENCES, steps=5, lr=1e-2, batch_size=2,
                                         seed=3, progress=False))
    assert runs[0] == runs[1]


def test_settings_build_a_tagger() -> None:
    for name in ("cpu", "gpu"):
        s = tagging.TAGGER_SETTINGS[name]
        model = tagging.build_tagger(SENTENCES, s)
        assert model.crf is not None if s["model"]["crf"] else model.crf is None
        assert set(s["train"]) == {"steps", "lr", "batch_size", "seed"}

