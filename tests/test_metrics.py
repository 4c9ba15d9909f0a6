"""Tests of book.metrics: BLEU and its tokenisers against sacrebleu, entity scores against
seqeval, recall@k and MRR on handmade rankings."""

from __future__ import annotations

import math
import random
import warnings

import pytest
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support

from book.metrics import (
    PRF,
    bio_entities,
    brevity_penalty,
    closest_ref_length,
    corpus_bleu,
    entity_scores,
    is_chinese_char,
    mean_reciprocal_rank,
    modified_precision,
    ngram_counts,
    recall_at_k,
    tokenize_13a,
    tokenize_zh,
)

# --------------------------------------------------------------------------------------------
# BLEU's pieces, by hand
# --------------------------------------------------------------------------------------------


def test_ngram_counts():
    assert ngram_counts("a b a b".split(), 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ngram_counts(["a"], 2) == {}
    with pytest.raises(ValueError, match="at least 1"):
        ngram_counts(["a"], 0)


def test_modified_precision_clips_by_the_most_any_one_reference_uses_an_ngram():
    # Papineni et al.'s example: "the" 7 times; one reference has it twice, the other once
    hyp = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    assert modified_precision(hyp, refs, 1) == (2, 7)
    assert modified_precision(hyp, refs, 2) == (0, 6)
    assert modified_precision([], refs, 1) == (0, 0)


def test_closest_ref_length_prefers_the_shorter_on_a_tie():
    assert closest_ref_length(5, [3, 7]) == 3
    assert closest_ref_length(5, [7, 4, 9]) == 4
    assert closest_ref_length(5, [5, 4]) == 5


def test_brevity_penalty():
    assert brevity_penalty(10, 10) == 1.0
    assert brevity_penalty(12, 10) == 1.0          # longer than the reference: no penalty
    assert brevity_penalty(5, 10) == pytest.approx(math.exp(1 - 10 / 5))
    assert brevity_penalty(0, 10) == 0.0


def test_bleu_by_hand():
    hyp, ref = "a b c d e".split(), "a b c d f".split()
    b = corpus_bleu([hyp], [[ref]])
    assert b.matches == (4, 3, 2, 1) and b.totals == (5, 4, 3, 2)
    expected = 100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    assert b.score == pytest.approx(expected, abs=1e-12) and b.bp == 1.0
    assert corpus_bleu([hyp], [[hyp]]).score == pytest.approx(100, abs=1e-12)


def test_corpus_bleu_pools_counts_rather_than_averaging_sentences():
    hyps = [["a", "b", "c", "d"], ["x", "y", "z", "w"]]
    refs = [[["a", "b", "c", "d"]], [["x", "y", "q", "w"]]]
    b = corpus_bleu(hyps, refs)
    assert b.matches == (7, 4, 2, 1) and b.totals == (8, 6, 4, 2)
    pooled = 100 * (7 / 8 * 4 / 6 * 2 / 4 * 1 / 2) ** 0.25
    assert b.score == pytest.approx(pooled, abs=1e-12)
    mean_of_sentences = (corpus_bleu(hyps[:1], refs[:1]).score
                         + corpus_bleu(hyps[1:], refs[1:]).score) / 2
    assert abs(b.score - mean_of_sentences) > 1


def test_bleu_zero_counts_and_smoothing():
    ref = [["the", "cat", "sat", "on", "the", "mat"]]
    assert corpus_bleu([[]], [ref]).score == 0.0                   # empty hypothesis
    assert corpus_bleu([["dog", "ran", "off", "far"]], [ref]).score == 0.0  # nothing matches
    assert corpus_bleu([["cat", "sat"]], [ref]).score == 0.0       # no 3-grams at all
    # unigrams and bigrams match, 3- and 4-grams do not: exp smoothing halves, then quarters
    hyp = ["the", "cat", "ran", "on", "a", "mat"]
    b = corpus_bleu([hyp], [ref])
    assert b.matches[2:] == (0, 0)
    assert b.precisions[2:] == (1 / (2 * 4), 1 / (4 * 3))
    assert b.score > 0
    assert corpus_bleu([hyp], [ref], smooth="none").score == 0.0


def test_bleu_refuses_strings_and_mismatched_lists():
    with pytest.raises(TypeError, match="list of tokens"):
        corpus_bleu(["the cat"], [[["the", "cat"]]])
    with pytest.raises(TypeError, match="list of tokens"):
        corpus_bleu([["the", "cat"]], [["the cat"]])
    with pytest.raises(TypeError, match="non-empty"):
        corpus_bleu([["the"]], [[]])
    with pytest.raises(ValueError, match="2 hypotheses but 1"):
        corpus_bleu([["a"], ["b"]], [[["a"]]])
    with pytest.raises(ValueError, match="smooth"):
        corpus_bleu([["a"]], [[["a"]]], smooth="floor")


# --------------------------------------------------------------------------------------------
# BLEU against sacrebleu
# --------------------------------------------------------------------------------------------

EN_HYPS = [
    "The cat sat on the mat.",
    "It's 2.5% higher, at £50,000 -- a record!",
    "He said \"no\" (twice) and left.",
    "The committee approved the well-known plan in 2004-05.",
]
EN_REFS = [  # two references per hypothesis, as sacrebleu lays them out: one stream each
    ["The cat was sitting on the mat.", "It's 2.5% up, at £50,000: a record!",
     "He said \"no\" twice, and left.", "The committee approved the plan in 2004-05."],
    ["A cat sat on the mat.", "Up 2.5%, at £50,000, a record.",
     "He refused (twice) and went away.", "In 2004-05 the committee backed the well-known plan."],
]
ZH_HYPS = ["猫坐在垫子上。", "今天的GPT-4模型比2023年好了3.5倍！", "他说：“不行”……然后走了。"]
ZH_REFS = [["猫坐在席子上。", "今天的GPT-4模型比2023年的好3.5倍。", "他说“不”，然后离开了。"]]


def ours_refs(streams: list[list[str]], tokenize) -> list[list[list[str]]]:
    """sacrebleu's reference streams turned into our layout: references per hypothesis."""
    return [[tokenize(s[i]) for s in streams] for i in range(len(streams[0]))]


def test_13a_tokenizer_matches_sacrebleu():
    theirs = Tokenizer13a()
    samples = EN_HYPS + [r for s in EN_REFS for r in s] + [
        "&quot;quoted&quot; &amp; &lt;tag&gt;", "a.b,c 1.5 1,000 .5 5. x-\ny", "<skipped> ok"]
    rng = random.Random(0)
    alphabet = list("ab19 .,-'\"&;:/()<>\n") + ["&amp;", "&quot;", "-\n"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                for _ in range(500)]
    for s in samples:
        assert tokenize_13a(s) == theirs(s).split(), s


def test_zh_tokenizer_matches_sacrebleu():
    theirs = TokenizerZh()
    assert tokenize_zh("GPT-4模型，很好。") == ["GPT-4", "模", "型", "，", "很", "好", "。"]
    rng = random.Random(0)
    alphabet = list("ab19 .,-'中文模型，。！“”…—()") + ["GPT", "\u3400", "\uff21"]
    samples = ZH_HYPS + ZH_REFS[0] + ["".join(rng.choice(alphabet) for _ in range(
        rng.randint(0, 12))) for _ in range(500)]
    for s in samples:
        assert tokenize_zh(s) == theirs(s).split(), s
    # the character table, on every code point of the stretches that hold its boundaries
    for code in [*range(0x4000), *range(0x9F00, 0xA000), *range(0xF800, 0x10000), 0x20000]:
        assert is_chinese_char(chr(code)) == theirs._is_chinese_char(chr(code)), hex(code)


@pytest.mark.parametrize("smooth", ["exp", "none"])
def test_bleu_matches_sacrebleu_on_english_13a(smooth):
    theirs = sacrebleu.corpus_bleu(EN_HYPS, EN_REFS, tokenize="13a", smooth_method=smooth)
    ours = corpus_bleu([tokenize_13a(h) for h in EN_HYPS], ours_refs(EN_REFS, tokenize_13a),
                       smooth=smooth)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9) and ours.score > 10
    assert [100 * p for p in ours.precisions] == pytest.approx(theirs.precisions, abs=1e-9)
    assert (list(ours.matches), list(ours.totals)) == (theirs.counts, theirs.totals)
    assert (ours.hyp_len, ours.ref_len, ours.bp) == (theirs.sys_len, theirs.ref_len, theirs.bp)


def test_bleu_matches_sacrebleu_on_pretokenised_text_and_one_reference():
    hyps = [" ".join(tokenize_13a(h)) for h in EN_HYPS]
    refs = [[" ".join(tokenize_13a(r)) for r in EN_REFS[0]]]
    theirs = sacrebleu.corpus_bleu(hyps, refs, tokenize="none")
    ours = corpus_bleu([h.split() for h in hyps], ours_refs(refs, str.split))
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)


def test_bleu_brevity_penalty_matches_sacrebleu():
    hyps = ["the cat sat on", "a dog ran off"]
    refs = [["the cat sat on the mat today", "a dog ran off into the big park"]]
    theirs = sacrebleu.corpus_bleu(hyps, refs, tokenize="none")
    ours = corpus_bleu([h.split() for h in hyps], ours_refs(refs, str.split))
    assert ours.bp < 0.5 and ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.score == pytest.approx(theirs.score, abs=1e-9) and ours.score > 10


def test_bleu_matches_sacrebleu_on_chinese():
    theirs = sacrebleu.corpus_bleu(ZH_HYPS, ZH_REFS, tokenize="zh")
    ours = corpus_bleu([tokenize_zh(h) for h in ZH_HYPS], ours_refs(ZH_REFS, tokenize_zh))
    assert ours.score == pytest.approx(theirs.score, abs=1e-9) and ours.score > 10
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)


def test_bleu_matches_sacrebleu_on_random_corpora():
    """Random short sentences over a small vocabulary: many zero counts, several references,
    both smoothings; sacrebleu's corpus_bleu is the reference everywhere."""
    rng = random.Random(1)
    words = "the a cat dog sat on mat . ran".split()
    nonzero = 0
    for _ in range(150):
        n_sent, n_ref = rng.randint(1, 4), rng.randint(1, 3)
        hyps = [" ".join(rng.choices(words, k=rng.randint(0, 9))) for _ in range(n_sent)]
        refs = [[" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(n_sent)]
                for _ in range(n_ref)]
        for smooth in ("exp", "none"):
            theirs = sacrebleu.corpus_bleu(hyps, refs, tokenize="none", smooth_method=smooth)
            ours = corpus_bleu([h.split() for h in hyps], ours_refs(refs, str.split), smooth=smooth)
            assert ours.score == pytest.approx(theirs.score, abs=1e-9), (hyps, refs, smooth)
            assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
            nonzero += ours.score > 0
    assert nonzero > 75  # the comparison is not only of zeros


# --------------------------------------------------------------------------------------------
# Entities from BIO tags, against seqeval
# --------------------------------------------------------------------------------------------


def seqeval_entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """seqeval's (type, start, end inclusive) turned into ours (end exclusive)."""
    return [(kind, start, end + 1) for kind, start, end in get_entities(tags)]


@pytest.mark.parametrize("tags, expected", [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
    (["I-PER", "I-PER"], [("PER", 0, 2)]),                        # I- with no B- starts one
    (["O", "I-LOC", "B-LOC", "I-LOC"], [("LOC", 1, 2), ("LOC", 2, 4)]),
    (["B-PER", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 2)]),          # another type: a new entity
    (["I-PER", "I-ORG", "I-ORG"], [("PER", 0, 1), ("ORG", 1, 3)]),
    (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
    (["B-MISC-X"], [("MISC-X", 0, 1)]),
    ([], []),
    (["O", "O"], []),
])
def test_bio_entities_by_hand_and_as_seqeval(tags, expected):
    assert bio_entities(tags) == expected
    assert seqeval_entities(tags) == expected


def test_bio_entities_refuses_other_tags():
    for bad in ("PER", "B-", "E-PER", "b-PER", ""):
        with pytest.raises(ValueError, match="BIO tag"):
            bio_entities(["O", bad])


def seqeval_scores(true, pred):
    """seqeval's per-type arrays and micro averages, with its 0/0 warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_type = precision_recall_fscore_support(true, pred, average=None)
        micro = precision_recall_fscore_support(true, pred, average="micro")
    return per_type, micro


def assert_same_as_seqeval(true, pred):
    """Our entity scores equal seqeval's default (non-strict) mode's, per type and micro."""
    ours = entity_scores(true, pred)
    (P, R, F, N), (mp, mr, mf, _) = seqeval_scores(true, pred)
    assert list(ours.per_type) == sorted(ours.per_type) and len(ours.per_type) == len(P)
    for i, score in enumerate(ours.per_type.values()):
        assert (score.precision, score.recall, score.f1) == pytest.approx((P[i], R[i], F[i]),
                                                                         abs=1e-12)
        assert score.n_true == N[i]
    assert (ours.micro.precision, ours.micro.recall, ours.micro.f1) == pytest.approx(
        (mp, mr, mf), abs=1e-12)


def test_entity_scores_by_hand():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "I-ORG"]]  # wrong type; wrong end
    r = entity_scores(true, pred)
    assert r.micro == PRF(1 / 3, 1 / 3, 1 / 3, n_true=3, n_pred=3, n_correct=1)
    assert r.per_type["PER"].f1 == 1.0 and r.per_type["LOC"] == PRF(0, 0, 0, 1, 0, 0)
    assert r.per_type["ORG"] == PRF(0, 0, 0, 1, 2, 0)
    assert_same_as_seqeval(true, pred)
    # an entity at the end of one sentence and the start of the next is two entities
    assert entity_scores([["B-PER"], ["I-PER"]], [["B-PER"], ["I-PER"]]).micro.n_true == 2


def test_entity_scores_match_seqeval_on_random_tags():
    rng = random.Random(0)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG"]
    for _ in range(200):
        true = [rng.choices(tags, k=rng.randint(0, 8)) for _ in range(rng.randint(1, 4))]
        pred = [[rng.choice(tags) if rng.random() < 0.4 else t for t in s] for s in true]
        for s in true + pred:
            assert bio_entities(s) == seqeval_entities(s), s
        if any(bio_entities(s) for s in true + pred):  # seqeval refuses no entities at all
            assert_same_as_seqeval(true, pred)


def test_entity_scores_edge_cases():
    nothing = entity_scores([["O", "O"]], [["O", "O"]])
    assert nothing.per_type == {} and nothing.micro == PRF(0, 0, 0, 0, 0, 0)
    missed = entity_scores([["B-PER"]], [["O"]])
    assert missed.micro == PRF(0, 0, 0, 1, 0, 0)
    with pytest.raises(ValueError, match="sentence 0 has 2 true tags but 1"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="1 true sentences but 2"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(TypeError, match="one list of tags per sentence"):
        entity_scores(["B-PER O"], ["B-PER O"])


# --------------------------------------------------------------------------------------------
# Ranked retrieval
# --------------------------------------------------------------------------------------------

RANKED = [[3, 1, 2, 0],   # relevant 1: rank 2
          [0, 1, 2, 3],   # relevant 0: rank 1
          [2, 3, 0, 1]]   # relevant 1: rank 4


def test_recall_at_k_and_mrr_by_hand():
    relevant = [1, 0, 1]
    assert recall_at_k(RANKED, relevant, 1) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, relevant, 2) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, relevant, 4) == 1.0
    assert mean_reciprocal_rank(RANKED, relevant) == pytest.approx((1 / 2 + 1 + 1 / 4) / 3)
    # a query whose answer is not in its (cut) ranking adds 0 to the MRR
    cut = [row[:2] for row in RANKED]
    assert mean_reciprocal_rank(cut, relevant) == pytest.approx((1 / 2 + 1 + 0) / 3)


def test_several_relevant_ids_count_as_answering_the_query():
    relevant = [{1, 3}, {2}, {0, 1}]
    assert recall_at_k(RANKED, relevant, 1) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, relevant, 3) == 1.0
    assert mean_reciprocal_rank(RANKED, relevant) == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)


def test_retrieval_metrics_refuse_bad_input():
    with pytest.raises(ValueError, match="k must be between 1 and the 4"):
        recall_at_k(RANKED, [1, 0, 1], 0)
    with pytest.raises(ValueError, match="k must be between 1 and the 4"):
        recall_at_k(RANKED, [1, 0, 1], 5)
    with pytest.raises(ValueError, match="3 rankings but 2"):
        mean_reciprocal_rank(RANKED, [1, 0])
    with pytest.raises(ValueError, match="at least one relevant"):
        recall_at_k(RANKED, [1, 0, set()], 1)
    with pytest.raises(ValueError, match=r"\(Q, K\)"):
        recall_at_k([1, 2, 3], [1], 1)
