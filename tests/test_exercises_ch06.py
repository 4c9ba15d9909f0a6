"""Tests of chapter 6's checkers: correct solutions pass, the classic mistakes fail, and say why.

The wrong "learner" functions are mistakes people make: BLEU clipping summed over references or
not clipped at all, a precision returned instead of the counts; a greedy or reversed Viterbi
path, end scores forgotten, a path as an array, listing every path; entity ends counted
inclusively, types cut at a hyphen, I- without B- ignored, an entity open at the end dropped;
entities of different sentences merged, sentences joined, a mean over sentences, 0 / 0; recall
rows sliced the wrong way, the fraction of a set found, np.int64 taken for a set.

Grading: each checker's hidden cases pass a solution for every seed, change with the seed, and
fail a function that only knows the visible answers (as tests/test_exercise_grading.py checks
for every registered exercise).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from test_exercise_grading import assert_hidden_cases_work

from book import metrics, tagging
from book.exercises import runner
from book.exercises.ch06 import (
    check_bio_entities,
    check_entity_f1,
    check_modified_precision,
    check_recall_at_k,
    check_viterbi,
)


def _not_done(*args: object, **kwargs: object) -> object:
    raise NotImplementedError


# --- correct solutions, written as a learner would ---------------------------------------------


def ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(hypothesis, references, n, clip: str = "max"):
    counts = ngrams(hypothesis, n)
    allowed: Counter = Counter()
    for reference in references:
        for gram, c in ngrams(reference, n).items():
            allowed[gram] = c + allowed[gram] if clip == "sum" else max(c, allowed[gram])
    if clip == "none":
        return sum(c for g, c in counts.items() if allowed[g]), sum(counts.values())
    return sum(min(c, allowed[g]) for g, c in counts.items()), sum(counts.values())


def viterbi(emissions, transitions, start, end, ties: str = "first", use_end: bool = True):
    """Plain loops; ties="last" breaks ties the other way (a fair answer too)."""
    T, C = emissions.shape
    better = (lambda a, b: a > b) if ties == "first" else (lambda a, b: a >= b)
    delta = [start[j] + emissions[0, j] for j in range(C)]
    back = []
    for t in range(1, T):
        new, pointers = [], []
        for j in range(C):
            best_i = 0
            for i in range(1, C):
                if better(delta[i] + transitions[i, j], delta[best_i] + transitions[best_i, j]):
                    best_i = i
            new.append(delta[best_i] + transitions[best_i, j] + emissions[t, j])
            pointers.append(best_i)
        delta, back = new, [*back, pointers]
    final = [delta[j] + (end[j] if use_end else 0.0) for j in range(C)]
    last = 0
    for j in range(1, C):
        if better(final[j], final[last]):
            last = j
    path = [last]
    for pointers in reversed(back):
        path.append(pointers[path[-1]])
    return path[::-1], float(delta[last] + end[last])


def bio_entities(tags, i_starts: bool = True, close_at_end: bool = True):
    entities, kind, start = [], None, 0
    for i, tag in enumerate(tags):
        continues = tag.startswith("I-") and tag[2:] == kind
        if kind is not None and not continues:
            entities.append((kind, start, i))
            kind = None
        if (tag.startswith("B-") or (i_starts and tag.startswith("I-"))) and not continues:
            kind, start = tag[2:], i
    if kind is not None and close_at_end:
        entities.append((kind, start, len(tags)))
    return entities


def _prf(correct: int, n_true: int, n_pred: int) -> tuple[float, float, float]:
    p = correct / n_pred if n_pred else 0.0
    r = correct / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def entity_f1(true_tags, pred_tags):
    true = {(s, *e) for s, tags in enumerate(true_tags) for e in bio_entities(tags)}
    pred = {(s, *e) for s, tags in enumerate(pred_tags) for e in bio_entities(tags)}
    return _prf(len(true & pred), len(true), len(pred))


def recall_at_k(ranked, relevant, k):
    hits = 0
    for row, wanted in zip(ranked, relevant):
        wanted = wanted if isinstance(wanted, set) else {wanted}
        hits += bool(wanted & set(row[:k].tolist()))
    return hits / len(ranked)


def _micro(true_tags, pred_tags):
    m = metrics.entity_scores(true_tags, pred_tags).micro
    return m.precision, m.recall, m.f1


SOLUTIONS = [
    (check_modified_precision, modified_precision),
    (check_viterbi, viterbi),
    (check_bio_entities, bio_entities),
    (check_entity_f1, entity_f1),
    (check_recall_at_k, recall_at_k),
]
PACKAGE = [
    (check_modified_precision, metrics.modified_precision),
    (check_viterbi, tagging.viterbi),
    (check_bio_entities, metrics.bio_entities),
    (check_entity_f1, _micro),
    (check_recall_at_k, metrics.recall_at_k),
]


@pytest.mark.parametrize("check, fn", [*SOLUTIONS, *PACKAGE])
def test_correct_solutions_pass(check, fn):
    result = check(fn, quiet=True)
    assert result.passed, result.message


@pytest.mark.parametrize("check", [c for c, _ in SOLUTIONS])
def test_not_attempted(check):
    assert check(_not_done, quiet=True).status == "not_attempted"


# --- BLEU's clipped precision ----------------------------------------------------------------


def test_modified_precision_mistakes():
    summed = check_modified_precision(lambda h, r, n: modified_precision(h, r, n, clip="sum"),
                                      quiet=True)
    assert summed.failed_case == "clipping: 'the' 7 times"
    assert "expected [2, 7]" in summed.message and "got      [3, 7]" in summed.message
    unclipped = check_modified_precision(lambda h, r, n: modified_precision(h, r, n, "none"),
                                         quiet=True)
    assert unclipped.failed_case == "clipping: 'the' 7 times"
    ratio = check_modified_precision(
        lambda h, r, n: metrics.modified_precision(h, r, n)[0] / metrics.modified_precision(
            h, r, n)[1], quiet=True)
    assert ratio.reason == "wrong_type" and "not their ratio" in ratio.message


def test_modified_precision_edge_cases_are_named_and_explained():
    def raises_when_short(h, r, n):
        if len(h) < n:
            raise ValueError("too short")
        return metrics.modified_precision(h, r, n)

    short = check_modified_precision(raises_when_short, quiet=True)
    assert short.failed_case == "a hypothesis shorter than n has no n-grams"
    assert "(0, 0), not an error" in short.message

    def max_of_nothing(h, refs, n):
        most = {g: max(ngrams(r, n)[g] for r in refs) for g in ngrams(h, n)}
        return sum(min(c, most[g]) for g, c in ngrams(h, n).items()), len(h) - n + 1

    empty = check_modified_precision(max_of_nothing, quiet=True)
    assert empty.failed_case == "no reference: nothing matches" and empty.reason == "raised"
    assert "a max over no counts is 0" in empty.message


# --- Viterbi ---------------------------------------------------------------------------------


def test_viterbi_greedy_path_is_told_so():
    def greedy(e, tr, s, en, local: bool = True):  # the best tag of each position on its own
        local_scores = e.copy()
        if local:  # with the start and end scores of the first and last position
            local_scores[0] += s
            local_scores[-1] += en
        path = local_scores.argmax(axis=1).tolist()
        return path, tagging.path_score(e, path, tr, s, en)

    result = check_viterbi(greedy, quiet=True)
    assert result.failed_case == "the transitions change the best path"
    assert "greedy" in result.message and "scores -5" in result.message
    emissions_only = check_viterbi(lambda *s: greedy(*s, local=False), quiet=True)
    assert emissions_only.failed_case == "one position (T = 1): no transitions"
    assert "best path without the start scores" in emissions_only.message


def test_viterbi_without_end_scores_is_told_so():
    result = check_viterbi(lambda *s: viterbi(*s, use_end=False), quiet=True)
    assert result.failed_case == "the end scores count"
    assert "best path without the end scores" in result.message

    def score_without_end(e, tr, s, en):
        path, score = tagging.viterbi(e, tr, s, en)
        return path, score - en[path[-1]]

    score = check_viterbi(score_without_end, quiet=True)
    assert score.failed_case == "the end scores count"
    assert "end[path[-1]], is missing" in score.message


def test_viterbi_reversed_path_and_wrong_pointers():
    def backwards(e, tr, s, en):
        path, score = tagging.viterbi(e, tr, s, en)
        return path[::-1], score

    result = check_viterbi(backwards, quiet=True)
    assert "best path backwards" in result.message

    def wrong_pointers(e, tr, s, en):  # the best score, the best tag per position as the path
        _, score = tagging.viterbi(e, tr, s, en)
        return [int(j) for j in (e + s + en).argmax(axis=1)], score

    pointers = check_viterbi(wrong_pointers, quiet=True)
    assert not pointers and "your score is the best score" in pointers.message


def test_viterbi_output_structure_is_checked():
    as_array = check_viterbi(lambda *s: (np.array(tagging.viterbi(*s)[0]), tagging.viterbi(*s)[1]),
                             quiet=True)
    assert as_array.failed_case == "one position (T = 1): no transitions"
    assert ".tolist()" in as_array.message
    path_only = check_viterbi(lambda *s: tagging.viterbi(*s)[0], quiet=True)
    assert "return a tuple (path, score)" in path_only.message
    nothing = check_viterbi(lambda *s: None, quiet=True)
    assert "forget to `return path, score`" in nothing.message
    as_array_score = check_viterbi(
        lambda *s: (tagging.viterbi(*s)[0], np.array([tagging.viterbi(*s)[1]])), quiet=True)
    assert "the score must be a float" in as_array_score.message


def test_viterbi_in_place_is_a_mutation():
    def in_place(emissions, transitions, start, end):
        emissions[0] += start  # the right answer, but the caller's array is changed
        return tagging.viterbi(emissions, transitions, np.zeros_like(start), end)

    result = check_viterbi(in_place, quiet=True)
    assert result.reason == "mutated_input" and "`emissions`" in result.message


def test_a_tie_broken_the_other_way_passes():
    tie = next(c for c in check_viterbi.cases() if c.name.startswith("a tie")).args
    assert viterbi(*tie, ties="last")[0] != tagging.viterbi(*tie)[0]
    assert check_viterbi(lambda *s: viterbi(*s, ties="last"), quiet=True).passed


def test_listing_every_path_is_too_slow_on_the_long_sentence(monkeypatch):
    monkeypatch.setattr(runner, "LIMIT_SCALE", 0.05)  # 0.25 s for the long case, not 5 s
    result = check_viterbi(tagging.brute_force_best_path, quiet=True)
    assert result.reason == "too_slow" and result.failed_case.startswith("a long sentence")
    assert "C^T paths" in result.message


# --- entities from BIO tags ------------------------------------------------------------------


def test_bio_entities_mistakes():
    inclusive = check_bio_entities(
        lambda tags: [(k, s, e - 1) for k, s, e in metrics.bio_entities(tags)], quiet=True)
    assert inclusive.failed_case == "one entity" and "end is exclusive" in inclusive.message
    strict = check_bio_entities(lambda tags: bio_entities(tags, i_starts=False), quiet=True)
    assert strict.failed_case == "a type change ends an entity"
    assert "missing [('LOC', 1, 2)]" in strict.message
    open_end = check_bio_entities(lambda tags: bio_entities(tags, close_at_end=False),
                                  quiet=True)
    assert open_end.failed_case == "an entity at the very end"
    split = check_bio_entities(
        lambda tags: [(tags[s].split("-")[1], s, e) for _, s, e in metrics.bio_entities(tags)],
        quiet=True)
    assert split.failed_case == "WNUT types with a hyphen (creative-work)"
    assert "tag.split('-') cuts" in split.message
    prefixed = check_bio_entities(
        lambda tags: [(tags[s], s, e) for _, s, e in metrics.bio_entities(tags)], quiet=True)
    assert "without its B- or I-" in prefixed.message
    backwards = check_bio_entities(lambda tags: metrics.bio_entities(tags)[::-1], quiet=True)
    assert "another order" in backwards.message


def test_bio_entities_structure_is_checked():
    lists = check_bio_entities(lambda tags: [list(e) for e in metrics.bio_entities(tags)],
                               quiet=True)
    assert "make each entity a tuple" in lists.message
    as_tuple = check_bio_entities(lambda tags: tuple(metrics.bio_entities(tags)), quiet=True)
    assert "return a list of (type, start, end) tuples" in as_tuple.message
    floats = check_bio_entities(
        lambda tags: [(k, float(s), e) for k, s, e in metrics.bio_entities(tags)], quiet=True)
    assert "start and end are ints" in floats.message
    empty = check_bio_entities(lambda tags: metrics.bio_entities(tags) if tags else tags[0],
                               quiet=True)
    assert empty.failed_case == "an empty sentence" and "no tags, no entities" in empty.message


# --- entity F1 -------------------------------------------------------------------------------


def test_entity_f1_mistakes():
    def without_sentences(true_tags, pred_tags):
        true = {e for tags in true_tags for e in bio_entities(tags)}
        pred = {e for tags in pred_tags for e in bio_entities(tags)}
        return _prf(len(true & pred), len(true), len(pred))

    merged = check_entity_f1(without_sentences, quiet=True)
    assert merged.failed_case == "the same span in two sentences is two entities"
    assert "Keep the sentence's index" in merged.message

    def joined(true_tags, pred_tags):
        return entity_f1([sum(true_tags, [])], [sum(pred_tags, [])])

    result = check_entity_f1(joined, quiet=True)
    assert result.failed_case == "an I- at the start of a sentence does not continue the last one"

    def macro(true_tags, pred_tags):
        each = [entity_f1([t], [p]) for t, p in zip(true_tags, pred_tags)]
        return tuple(float(np.mean(x)) for x in zip(*each))

    mean = check_entity_f1(macro, quiet=True)
    assert mean.failed_case == "several sentences: counted over all of them (micro)"
    assert "pool the counts" in mean.message


def test_entity_f1_zero_division_and_structure():
    def divides(true_tags, pred_tags):
        m = metrics.entity_scores(true_tags, pred_tags).micro
        p, r = m.n_correct / m.n_pred, m.n_correct / m.n_true
        return p, r, 2 * p * r / (p + r)

    result = check_entity_f1(divides, quiet=True)
    assert result.reason == "raised" and "ZeroDivisionError" in result.message
    assert "test the denominator" in result.message
    as_dict = check_entity_f1(lambda t, p: {"f1": _micro(t, p)[2]}, quiet=True)
    assert as_dict.reason == "wrong_type" and "(precision, recall, f1)" in as_dict.message
    swapped = check_entity_f1(lambda t, p: _micro(t, p)[::-1], quiet=True)
    assert swapped.failed_case == "precision and recall differ"


# --- recall@k --------------------------------------------------------------------------------


def test_recall_at_k_mistakes():
    def first_rows(ranked, relevant, k):  # ranked[:k]: the first k queries, not columns
        top = set(ranked[:k].ravel().tolist())
        return float(np.mean([bool((r if isinstance(r, set) else {r}) & top) for r in relevant]))

    rows = check_recall_at_k(first_rows, quiet=True)
    assert rows.failed_case == "one relevant id per query, k = 2"
    assert "ranked[q, :k] (a row" in rows.message

    def fraction_found(ranked, relevant, k):
        found = []
        for row, r in zip(ranked, relevant):
            wanted = r if isinstance(r, set) else {int(r)}
            found.append(len(wanted & set(row[:k].tolist())) / len(wanted))
        return float(np.mean(found))

    fraction = check_recall_at_k(fraction_found, quiet=True)
    assert fraction.failed_case == "several relevant ids: one of them is enough"
    assert "whatever the fraction of its set found" in fraction.message

    def int_only(ranked, relevant, k):
        return float(np.mean([bool(({r} if isinstance(r, int) else set(r)) & set(row[:k].tolist()))
                              for row, r in zip(ranked, relevant)]))

    numpy_ids = check_recall_at_k(int_only, quiet=True)
    assert numpy_ids.failed_case == "relevant ids in a NumPy array"
    assert numpy_ids.reason == "raised" and "np.int64, not an int" in numpy_ids.message
    per_query = check_recall_at_k(
        lambda ranked, rel, k: np.array([recall_at_k(ranked[q:q + 1], [rel[q]], k)
                                         for q in range(len(ranked))]), quiet=True)
    assert per_query.reason == "wrong_type" and "shape (3,)" in per_query.message


# --- hidden grading cases --------------------------------------------------------------------


@pytest.mark.parametrize("check, solution", SOLUTIONS, ids=[c.exercise for c, _ in SOLUTIONS])
def test_hidden_cases_pass_a_solution_change_with_the_seed_and_fail_a_cheat(check, solution):
    assert_hidden_cases_work(check, solution, _first_args(check))


def _first_args(check) -> tuple:
    """The arguments of the checker's first visible case, as (args, kwargs)."""
    case = check.cases()[0]
    return case.args, case.kwargs
