"""Tests of book.text: the tokenizer, the vocabulary, padded batches and the batch order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book.text import EncodedSplit, Vocab, batches, encode_batch, tokenize, tokenize_chars

TEXTS = ["The cat sat on the mat.", "The dog sat.", "A cat and a dog!", "Dogs bark; cats don't."]


# --------------------------------------------------------------------------------------------
# Tokenizer and vocabulary
# --------------------------------------------------------------------------------------------


def test_tokenize_words_numbers_punctuation_and_clitics():
    assert tokenize("Axa's profits fell 2.5% to £50,000!") == [
        "axa", "'s", "profits", "fell", "2.5", "%", "to", "£", "50,000", "!"]
    assert tokenize("I don't know.\n\nWe'll SEE") == ["i", "don", "'t", "know", ".", "we",
                                                      "'ll", "see"]
    # a quoted word keeps its quote marks as tokens, and 's is split off only as a clitic
    assert tokenize("Blair 'backs' plan") == ["blair", "'", "backs", "'", "plan"]
    assert tokenize("Müller, 2004-05") == ["müller", ",", "2004", "-", "05"]
    assert tokenize("   ") == []


def test_vocab_specials_frequency_order_and_limits():
    v = Vocab.build(TEXTS)
    assert v.itos[:2] == ["<pad>", "<unk>"] and v.stoi["<pad>"] == 0 and v.stoi["<unk>"] == 1
    assert v.itos[2:4] == [".", "the"]  # 3 times each, the most frequent; ties alphabetical
    counts = [v.counts[t] for t in v.itos[2:]]
    assert counts == sorted(counts, reverse=True)
    v2 = Vocab.build(TEXTS, min_freq=2)
    assert all(v2.counts[t] >= 2 for t in v2.itos[2:]) and "mat" not in v2
    v3 = Vocab.build(TEXTS, max_size=5)
    assert len(v3) == 5 and v3.itos[2:] == v.itos[2:5]
    # the ids do not depend on the order of the texts (ties are alphabetical)
    assert Vocab.build(TEXTS[::-1]).itos == v.itos


def test_vocab_encode_unknowns_and_decode():
    v = Vocab.build(TEXTS, min_freq=2)
    ids = v.encode("The zebra sat")
    assert ids == [v.stoi["the"], 1, v.stoi["sat"]]
    assert v.decode(ids) == ["the", "<unk>", "sat"]
    assert v.decode([v.stoi["the"], 0, 0]) == ["the"]
    assert v.decode([0], skip_pad=False) == ["<pad>"]
    with pytest.raises(ValueError):
        Vocab(["<unk>", "<pad>", "a"])


def test_vocab_with_a_character_tokenizer_and_specials():
    texts = ["我喜欢猫。", "我 喜欢狗。"]
    assert tokenize_chars("我 DJ。") == ["我", " ", "D", "J", "。"]
    assert "".join(tokenize_chars(texts[1])) == texts[1]
    v = Vocab.build(texts, tokenizer=tokenize_chars, specials=["<bos>", "<eos>"])
    assert v.itos[:6] == ["<pad>", "<unk>", "<bos>", "<eos>", "。", "喜"]  # ties alphabetical
    assert v.encode("猫猫鱼") == [v.stoi["猫"], v.stoi["猫"], v.unk_id]  # encode uses the tokenizer
    assert len(Vocab.build(texts, max_size=5, tokenizer=tokenize_chars, specials=["<s>"])) == 5
    # without the new arguments, the vocabulary is what it was: words, no specials
    assert Vocab.build(TEXTS).itos == Vocab.build(TEXTS, specials=()).itos
    assert Vocab.build(TEXTS).encode("the cat") == Vocab.build(TEXTS, tokenizer=tokenize).encode(
        "the cat")
    for bad in (["<bos>", "<bos>"], ["<pad>"]):
        with pytest.raises(ValueError, match="specials"):
            Vocab.build(texts, specials=bad)


def test_encode_batch_truncates_pads_and_masks():
    v = Vocab.build(TEXTS)
    ids, pad_mask = encode_batch(["the cat sat on the mat", "dog", ""], v, max_len=4)
    assert ids.dtype == torch.long and pad_mask.dtype == torch.bool
    assert ids.shape == pad_mask.shape == (3, 4)  # truncated to max_len
    assert v.decode(ids[0]) == ["the", "cat", "sat", "on"]
    assert pad_mask.tolist() == [[False] * 4, [False, True, True, True],
                                 [False, True, True, True]]
    assert ids[2, 0] == v.unk_id  # an empty text is one <unk>, never all padding
    assert torch.equal(pad_mask, ids == 0)
    # T is the longest text after truncation, not max_len
    ids, pad_mask = encode_batch(["dog", "the cat"], v, max_len=50)
    assert ids.shape == (2, 2) and pad_mask.tolist() == [[False, True], [False, False]]


def test_batches_cover_everything_once_and_are_seeded():
    got = list(batches(10, 4, seed=3))
    assert [len(b) for b in got] == [4, 4, 2]
    assert sorted(np.concatenate(got).tolist()) == list(range(10))
    again = np.concatenate(list(batches(10, 4, seed=3)))
    assert np.array_equal(np.concatenate(got), again)
    assert not np.array_equal(again, np.concatenate(list(batches(10, 4, seed=3, epoch=1))))
    assert np.concatenate(list(batches(10, 4, shuffle=False))).tolist() == list(range(10))


def test_batches_by_length_cover_everything_once_with_little_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, size=500)
    got = list(batches(500, 16, seed=2, epoch=1, lengths=lengths))
    assert sorted(np.concatenate(got).tolist()) == list(range(500))
    again = list(batches(500, 16, seed=2, epoch=1, lengths=lengths))
    assert all(np.array_equal(a, b) for a, b in zip(got, again))

    def padding(bs):
        return sum(lengths[b].max() * len(b) - lengths[b].sum() for b in bs)

    assert padding(got) < 0.2 * padding(list(batches(500, 16, seed=2, epoch=1)))
    with pytest.raises(ValueError, match="lengths"):
        list(batches(10, 4, lengths=[1, 2]))
    with pytest.raises(ValueError, match="shuffle"):
        list(batches(3, 4, shuffle=False, lengths=[1, 2, 3]))


def test_encoded_split_batch_cuts_to_the_longest_row():
    v = Vocab.build(TEXTS)
    ids, pad_mask = encode_batch(["the cat sat on the mat", "dog", "a cat"], v, max_len=10)
    split = EncodedSplit(ids, pad_mask, torch.tensor([0, 1, 2]))
    b_ids, b_mask, b_y = split.batch(np.array([1, 2]))
    assert b_ids.shape == b_mask.shape == (2, 2) and b_y.tolist() == [1, 2]
    assert b_mask.tolist() == [[False, True], [False, False]]
