"""Chapter 6 checkers: BLEU's clipped n-gram precision, Viterbi decoding for a linear-chain CRF,
the entities of a BIO tag sequence, entity-level precision / recall / F1, and recall@k.

The references are the package's own functions (`book.metrics`: modified_precision,
bio_entities, entity_scores, recall_at_k; `book.tagging`: viterbi and path_score), so a pass
means "agrees with the code the chapter evaluates with". They are imported when a check runs
(`book.tagging` imports torch). Viterbi is judged by score, not by path: any path whose score
equals the best is accepted (ties are fair), and the score returned must be that path's score.
Each checker also draws hidden grading cases of the same kinds from a seeded generator
(`grading=`: new sentences, references, n, emission and transition scores, tag sequences,
rankings and k).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from book.exercises._shared import TOL_F64
from book.exercises.cases import MATHS_KINDS, OR_RAISED, Case, Hint
from book.exercises.check import checker
from book.exercises.compare import describe_type, short_repr

# A Viterbi score is a sum of 2T scores: another order of the additions moves it by ~1e-15 of
# its size; a wrong path is off by far more (the hidden scores are random normals).
_SCORE_RTOL, _SCORE_ATOL = 1e-9, 1e-9
# Lists longer than this (paths, entities) are shown cut in a message.
_SHOW_ITEMS = 24

def _fits_one_line(items: list[Any]) -> str:
    """A list as its repr, its first _SHOW_ITEMS items and a count when it is longer."""
    if len(items) <= _SHOW_ITEMS:
        return repr(items)
    return f"{repr(items[:_SHOW_ITEMS])[:-1]}, … ({len(items)} in all)]"


def _is_int(value: Any) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


# ---------------------------------------------------------------------------------------------
# BLEU's modified (clipped) n-gram precision
# ---------------------------------------------------------------------------------------------

_BLEU_HINT = Hint(
    "the n-grams of a token list are tuple(tokens[i:i + n]) for i in range(len(tokens) - n + "
    "1); count them with a Counter. For each n-gram of the hypothesis, the references allow "
    "as many as the ONE reference that has it most (the max over references, not the sum); "
    "matches = the sum over the hypothesis' distinct n-grams of min(its count, that max); "
    "total = the number of the hypothesis' n-grams.",
    MATHS_KINDS,
)
_BLEU_TYPE_HINT = Hint(
    "return the two counts, (matches, total), as a tuple of ints, not their ratio: corpus BLEU "
    "adds up the counts of every sentence first and divides once.",
    frozenset({"wrong_type"}),
)
# Papineni et al.'s example and a sentence of our own, as token lists
_CAT = "the cat sat on the mat".split()
_REFS = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
# Words and characters the hidden sentences are drawn from: few, so that n-grams repeat
_WORDS = ("the", "a", "cat", "dog", "sat", "on", "mat", "is", "and", "ran", "to", "park", "big")
_HANZI = tuple("今天天气很好我们去公园散步吧明")


def _ref_modified_precision(hypothesis: list[str], references: list[list[str]],
                            n: int) -> tuple[int, int]:
    from book.metrics import modified_precision

    return modified_precision(hypothesis, references, n)


def _bleu_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new sentences, references and n, of the same kinds as the visible ones."""
    case = functools.partial(Case, expected=_ref_modified_precision)

    def sentence(low: int, high: int, words: tuple[str, ...] = _WORDS) -> list[str]:
        """low to high - 1 tokens drawn from `words`."""
        return [str(w) for w in rng.choice(words, size=int(rng.integers(low, high)))]

    def clipped_by_max(refs: list[list[str]], hyp: list[str]) -> bool:
        """Whether the max over references clips differently from their sum, and from nothing."""
        by_max = _ref_modified_precision(hyp, refs, 1)[0]
        by_sum = sum(_ref_modified_precision(hyp, [r], 1)[0] for r in refs)
        return len(hyp) > by_sum > by_max

    word = str(rng.choice(_WORDS))
    repeated = [word] * int(rng.integers(3, 9))
    clip_refs = [sentence(4, 8) + [word] * int(rng.integers(1, 3)) for _ in range(2)]
    n_gram = int(rng.integers(2, 5))
    small = _WORDS[:4]  # four words: longer n-grams repeat too
    for _ in range(1000):
        hyp, refs = sentence(6, 12), [sentence(4, 10) for _ in range(3)]
        if clipped_by_max(refs, hyp):
            break
    else:
        raise RuntimeError("no hypothesis that the max and the sum clip differently")
    n_short = int(rng.integers(2, 5))
    return [
        case("unigrams, one reference", (sentence(5, 13), [sentence(5, 13)], 1)),
        case(f"clipping: {word!r} {len(repeated)} times", (repeated, clip_refs, 1)),
        case(f"{n_gram}-grams, one reference",
             (sentence(8, 16, small), [sentence(8, 16, small)], n_gram)),
        case(f"clip by the max over {len(refs)} references, not the sum", (hyp, refs, 1)),
        case(f"several references, n = {n_gram}",
             (sentence(8, 16, small), [sentence(6, 14, small) for _ in range(3)], n_gram)),
        case(f"a hypothesis shorter than n = {n_short} has no n-grams",
             (sentence(0, n_short), [sentence(4, 8)], n_short)),
        case("no reference: nothing matches", (sentence(3, 9), [], int(rng.integers(1, 3)))),
        case("Chinese, one character per token, n = 2",
             (sentence(6, 12, _HANZI), [sentence(6, 12, _HANZI)], 2)),
    ]


@checker(
    "modified_precision",
    what="(matches, total) equal to book.metrics.modified_precision's, clipped by the max "
    "over references, n = 1 to 4, short hypotheses, no references",
    hint=(_BLEU_HINT, _BLEU_TYPE_HINT),
    grading=_bleu_grading,
)
def check_modified_precision() -> list[Case]:
    """Check `modified_precision(hypothesis, references, n) -> (matches, total)`.

    hypothesis is a list of tokens, references a list of token lists (it may be empty), n >= 1.
    total is the number of n-grams of the hypothesis; matches counts them, each distinct n-gram
    at most as often as the one reference that has it most. Both are ints.
    """
    case = functools.partial(Case, expected=_ref_modified_precision)
    return [
        case("unigrams, one reference", (_CAT, [_REFS[0]], 1),
             hint="5 of the 6 unigrams are in the reference ('the' twice); 'sat' is not."),
        case("clipping: 'the' 7 times", (["the"] * 7, _REFS, 1),
             hint="'the' occurs 7 times in the hypothesis, but at most twice in one reference: "
             "it counts min(7, 2) = 2, so (2, 7)."),
        case("bigrams, one reference", (_CAT, [_REFS[0]], 2),
             hint="a sentence of L tokens has L - n + 1 n-grams: 5 bigrams here, of which 'the "
             "cat', 'on the' and 'the mat' are in the reference."),
        case("clip by the max over references, not the sum",
             ("the cat the cat".split(), ["the cat sat".split(), "a cat and the dog".split()], 1),
             hint="each reference has 'the' once and 'cat' once: the most any ONE reference "
             "allows is 1 each (2 matches), not the sum over references."),
        case("several references: each n-gram's best one", (_CAT, _REFS, 2)),
        case("a hypothesis shorter than n has no n-grams", (["hello", "world"], _REFS, 3),
             hint=Hint("2 tokens have no 3-gram: (0, 0), not an error.", OR_RAISED)),
        case("no reference: nothing matches", ("a cat on a mat".split(), [], 1),
             hint=Hint("with no reference nothing is allowed: matches 0, total 5 (a max over "
                       "no counts is 0, not an error).", OR_RAISED)),
        case("Chinese, one character per token, n = 2",
             (list("今天天气很好"), [list("今天天气不错")], 2)),
        case("a repeated bigram is clipped too",
             ("on the mat on the mat".split(), ["the cat on the mat".split()], 2)),
    ]


# ---------------------------------------------------------------------------------------------
# Viterbi decoding for a linear-chain CRF
# ---------------------------------------------------------------------------------------------

_VITERBI_HINT = Hint(
    "keep, for every tag j, the best score of a path over positions 0..t that ends in j: it "
    "starts as start + emissions[0], and at each next t it becomes max over i of (best[i] + "
    "transitions[i, j]) + emissions[t, j]; remember that best i (a back-pointer) for every t "
    "and j. At the end add `end`, take the best last tag, and follow the back-pointers from "
    "the last position to the first (then reverse the list).",
    MATHS_KINDS,
)
_VITERBI_SLOW_HINT = Hint(
    "there are C^T paths: listing them all is hopeless beyond a dozen positions. The dynamic "
    "programme keeps one best path per tag and position: T·C² additions in all.",
    frozenset({"too_slow"}),
)


def _viterbi_judge(out: Any, emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                   end: np.ndarray) -> str | None:
    """A problem with (path, score), or None: the path must score the best score (any path
    that ties is accepted), and the score must be that path's score."""
    from book.tagging import path_score, viterbi

    T, C = emissions.shape
    problem = _path_and_score_problem(out, T, C)
    if problem:
        return problem
    path, score = [int(t) for t in out[0]], float(out[1])
    best_path, best = viterbi(emissions, transitions, start, end)
    mine = path_score(emissions, path, transitions, start, end)
    if not _close(mine, best):
        return _worse_path(path, mine, best_path, best, score,
                           (emissions, transitions, start, end))
    if not _close(score, mine):
        cause = ""
        if _close(score, mine - end[path[-1]]):
            cause = ": the end score of the last tag, end[path[-1]], is missing"
        elif _close(score, mine - start[path[0]]):
            cause = ": the start score of the first tag, start[path[0]], is missing"
        return (f"your path is a best path, but you return the score {score:.10g}; that path "
                f"scores {mine:.10g} (start + emissions + transitions + end){cause}")
    return None


def _path_and_score_problem(out: Any, T: int, C: int) -> str | None:
    """What is wrong with the structure of viterbi's output, or None."""
    if out is None:
        return "your function returned None: did you forget to `return path, score`?"
    if not (isinstance(out, tuple) and len(out) == 2):
        return f"return a tuple (path, score); got {describe_type(out)}"
    path, score = out
    if isinstance(path, np.ndarray):
        return "the path must be a list of ints, got a NumPy array: .tolist() turns it into one"
    if not isinstance(path, list):
        return f"the path must be a list of ints, got {describe_type(path)}"
    if len(path) != T:
        return f"the path must have one tag per position, {T}; yours has {len(path)}"
    for t, tag in enumerate(path):
        if not _is_int(tag):
            return (f"the path's tag {t} is {short_repr(tag, 40)}, {describe_type(tag)}; the "
                    "tags are ints (int(x) converts one)")
        if not 0 <= tag < C:
            return f"the path's tag {t} is {tag}, but the tags are 0 to {C - 1}"
    if isinstance(score, (bool, np.bool_)) or not isinstance(
            score, (numbers.Real, np.integer, np.floating)):
        if isinstance(score, np.ndarray) and score.shape == ():
            return None
        return f"the score must be a float, got {describe_type(score)}"
    return None


def _worse_path(path: list[int], mine: float, best_path: list[int], best: float, score: float,
                scores: tuple[np.ndarray, ...]) -> str:
    """Why the learner's path is not a best one, as far as can be told: the path reversed, the
    right score with the wrong path, the best path without the end (or start) scores, the best
    emission of each position alone."""
    from book.tagging import path_score, viterbi

    emissions, transitions, start, end = scores
    head = f"your path {_fits_one_line(path)} scores {mine:.10g}, but the best path "
    head += f"{_fits_one_line(best_path)} scores {best:.10g}"
    if _close(path_score(emissions, path[::-1], transitions, start, end), best):
        return head + ": yours is a best path backwards; the back-pointers give the tags from " \
                      "the last position to the first, so reverse the list at the end"
    if _close(score, best):
        return head + ": your score is the best score, but your path is not the one that " \
                      "gets it; the back-pointer of tag j at position t is the tag at t - 1 " \
                      "on the best path that reaches j at t"
    if path == viterbi(emissions, transitions, start, np.zeros_like(end))[0]:
        return head + ": yours is the best path without the end scores; add end to the last " \
                      "position's scores before choosing the last tag"
    if path == viterbi(emissions, transitions, np.zeros_like(start), end)[0]:
        return head + ": yours is the best path without the start scores; the first " \
                      "position's scores are start + emissions[0]"
    if path == [int(j) for j in emissions.argmax(axis=1)]:
        return head + ": yours takes the best emission of each position on its own (greedy); " \
                      "the transition, start and end scores make another path better"
    first = next(t for t, (a, b) in enumerate(zip(path, best_path)) if a != b)
    return head + f" (they first differ at position {first})"


def _close(a: float, b: float) -> bool:
    """a within the score tolerance of b (False for nan)."""
    return bool(abs(a - b) <= _SCORE_ATOL + _SCORE_RTOL * abs(b))


def _crf_scores(rng: np.random.Generator, T: int, C: int, scale: float = 1.0
                ) -> tuple[np.ndarray, ...]:
    """Normal (emissions (T, C), transitions (C, C), start (C,), end (C,)), float64."""
    return (rng.normal(size=(T, C)), scale * rng.normal(size=(C, C)),
            rng.normal(size=C), rng.normal(size=C))


def _bio_scores(rng: np.random.Generator, tags: list[str], T: int) -> tuple[np.ndarray, ...]:
    """Random CRF scores over BIO `tags`, with book.tagging's FORBIDDEN score on the transitions
    (and starts) the BIO scheme does not allow, as the chapter's constrained CRF has."""
    from book.tagging import FORBIDDEN, bio_constraints

    allowed, allowed_start = bio_constraints(tags)
    emissions, transitions, start, end = _crf_scores(rng, T, len(tags))
    return (2 * emissions, np.where(allowed, transitions, FORBIDDEN),
            np.where(allowed_start, start, FORBIDDEN), end)


def _viterbi_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new scores and sizes, of the same kinds as the visible ones."""
    from book.tagging import FORBIDDEN, viterbi

    case = functools.partial(Case, check=_viterbi_judge)

    def draw(make: Callable[[], tuple[np.ndarray, ...]],
             accept: Callable[[tuple[np.ndarray, ...]], bool]) -> tuple[np.ndarray, ...]:
        for _ in range(1000):
            scores = make()
            if accept(scores):
                return scores
        raise RuntimeError("no CRF scores of the kind asked for")

    def greedy_loses(s: tuple[np.ndarray, ...]) -> bool:
        return viterbi(*s)[0] != s[0].argmax(axis=1).tolist()

    def end_matters(s: tuple[np.ndarray, ...]) -> bool:
        return viterbi(*s)[0] != viterbi(*s[:3], np.zeros_like(s[3]))[0]

    def constraints_matter(s: tuple[np.ndarray, ...]) -> bool:
        """Whether the best path changes when the forbidden scores are set to 0."""
        emissions, transitions, start, end = s
        free = [np.where(x == FORBIDDEN, 0.0, x) for x in (transitions, start)]
        return viterbi(*s)[0] != viterbi(emissions, *free, end)[0]

    C1 = int(rng.integers(3, 7))
    T2, C2 = int(rng.integers(3, 8)), int(rng.integers(3, 6))
    zero = rng.normal(size=(T2, C2)), np.zeros((C2, C2)), np.zeros(C2), np.zeros(C2)
    T3, C3 = int(rng.integers(4, 8)), int(rng.integers(2, 5))
    transitions_win = draw(lambda: _crf_scores(rng, T3, C3, scale=3.0), greedy_loses)
    T4, C4 = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    ends = draw(lambda: _crf_scores(rng, T4, C4), end_matters)
    kinds = [str(k) for k in rng.choice(["PER", "LOC", "ORG", "person", "location"], size=2,
                                        replace=False)]
    bio_tags = ["O", *(f"{p}-{k}" for k in kinds for p in "BI")]
    T5 = int(rng.integers(5, 10))
    bio = draw(lambda: _bio_scores(rng, bio_tags, T5), constraints_matter)
    tied = _tied_scores(rng)
    T6, C6 = int(rng.integers(5, 9)), int(rng.integers(3, 6))
    T7, C7 = int(rng.integers(50, 101)), int(rng.integers(8, 13))
    return [
        case(f"one position (T = 1, C = {C1}): no transitions", _crf_scores(rng, 1, C1)),
        case(f"the emissions alone decide (T = {T2}, C = {C2}, other scores 0)", zero),
        case(f"the transitions change the best path (T = {T3}, C = {C3})", transitions_win),
        case(f"the end scores count (T = {T4}, C = {C4})", ends),
        case(f"BIO: forbidden transitions ({', '.join(bio_tags)}; T = {T5})", bio),
        case(f"a tie: any best path is accepted (T = {len(tied[0])}, C = {tied[0].shape[1]})",
             tied),
        case(f"random scores, T = {T6}, C = {C6}", _crf_scores(rng, T6, C6)),
        case(f"a long sentence (T = {T7}, C = {C7}): too many paths to list",
             _crf_scores(rng, T7, C7), time_limit=5.0, hint=_VITERBI_SLOW_HINT),
    ]


def _tied_scores(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """CRF scores whose best path has a twin: a tag of it copied as a new tag, with the same
    emission, transition, start and end scores, so that every path through it ties."""
    from book.tagging import viterbi

    T, C = int(rng.integers(3, 7)), int(rng.integers(2, 5))
    emissions, transitions, start, end = _crf_scores(rng, T, C)
    j = int(rng.choice(viterbi(emissions, transitions, start, end)[0]))
    take = [*range(C), j]  # tag C is a copy of tag j
    return (emissions[:, take], transitions[np.ix_(take, take)], start[take], end[take])


@checker(
    "viterbi",
    what="a path whose score is the best score of book.tagging.viterbi (any best path on a "
    "tie) and that path's score, T = 1 to 100, forbidden BIO transitions",
    hint=_VITERBI_HINT,
    grading=_viterbi_grading,
)
def check_viterbi() -> list[Case]:
    """Check `viterbi(emissions, transitions, start, end) -> (path, score)`.

    emissions (T, C), transitions (C, C) ([i, j]: tag j right after tag i), start (C,) and
    end (C,) are float arrays. path is a list of T ints with the highest score start + emissions
    + transitions + end (where several tie, any of them), score its score, a float.
    """
    case = functools.partial(Case, check=_viterbi_judge)
    zeros3 = np.zeros(3)
    greedy = (np.array([[2.0, 0.0], [0.0, 1.0], [2.0, 0.0]]),
              np.array([[0.0, -5.0], [-5.0, 0.0]]), np.zeros(2), np.zeros(2))
    ends = (np.array([[1.0, 0.0], [1.0, 0.5]]), np.zeros((2, 2)), np.zeros(2),
            np.array([0.0, 2.0]))
    tie = (np.array([[1.0, 1.0], [0.0, 2.0]]), np.zeros((2, 2)), np.zeros(2), np.zeros(2))
    return [
        case("one position (T = 1): no transitions",
             (np.array([[1.0, 3.0, 2.0]]), np.zeros((3, 3)), np.array([0.0, 0.0, 1.5]), zeros3),
             hint="with one position, a path's score is start + emission + end of its one tag: "
             "3.5 for tag 2."),
        case("the emissions alone decide (other scores 0)",
             (np.array([[0.5, 2.0, 1.0], [3.0, 1.0, 0.0], [0.0, 1.0, 2.5], [1.0, 2.0, 0.0]]),
              np.zeros((3, 3)), zeros3, zeros3),
             hint="with every transition, start and end score 0, the best path takes the best "
             "tag of each position: [1, 0, 2, 1], scoring 9.5."),
        case("the transitions change the best path", greedy,
             hint="the best tag of each position, [0, 1, 0], pays -5 twice to switch tags "
             "(score -5); staying in tag 0 scores 4."),
        case("the end scores count", ends,
             hint="end[1] = 2 makes [0, 1] (1 + 0.5 + 2 = 3.5) better than [0, 0] (2): add "
             "end before choosing the last tag."),
        case("BIO: forbidden transitions (O, B-PER, I-PER)", _bio_example(),
             hint="-1e4 is the score of a transition the BIO scheme forbids (I-PER after O, "
             "or at the start): the best path never takes one."),
        case("a tie: either best path is accepted", tie,
             hint="[0, 1] and [1, 1] both score 3: return either, with the score 3."),
        case("random scores, T = 6, C = 4", _crf_scores(np.random.default_rng(61), 6, 4)),
        case("a long sentence (T = 60, C = 9): too many paths to list",
             _crf_scores(np.random.default_rng(62), 60, 9), time_limit=5.0,
             hint=_VITERBI_SLOW_HINT),
    ]


def _bio_example() -> tuple[np.ndarray, ...]:
    """Tags (O, B-PER, I-PER): the emissions favour I-PER where it is forbidden."""
    from book.tagging import FORBIDDEN, bio_constraints

    allowed, allowed_start = bio_constraints(["O", "B-PER", "I-PER"])
    emissions = np.array([[0.0, 1.0, 2.0], [0.0, 0.5, 2.0], [3.0, 0.0, 0.0], [0.0, 0.5, 1.0]])
    return (emissions, np.where(allowed, 0.0, FORBIDDEN), np.where(allowed_start, 0.0, FORBIDDEN),
            np.zeros(3))


# ---------------------------------------------------------------------------------------------
# Entities from BIO tags
# ---------------------------------------------------------------------------------------------

_BIO_HINT = Hint(
    "walk through the tags keeping the open entity (its type and start): an O, a B-, or an I- "
    "of another type closes it (append (type, start, i)); a B-, or an I- that does not "
    "continue the open entity, opens a new one at i. After the last tag, close what is still "
    "open, with end = len(tags). The type is the tag after its first two characters, tag[2:].",
    MATHS_KINDS,
)
# Entity types, WNUT-17's included (one with a hyphen)
_TYPES = ("PER", "LOC", "ORG", "MISC", "person", "location", "corporation", "creative-work",
          "product", "group")


def _ref_bio_entities(tags: list[str]) -> list[tuple[str, int, int]]:
    from book.metrics import bio_entities

    return bio_entities(tags)


def _entities_judge(out: Any, tags: list[str]) -> str | None:
    """A problem with the learner's entity list, or None when it is the reference's."""
    problem = _entity_list_problem(out)
    if problem:
        return problem
    got = [(kind, int(s), int(e)) for kind, s, e in out]
    want = _ref_bio_entities(tags)
    if got == want:
        return None
    head = f"expected {_fits_one_line(want)}, got {_fits_one_line(got)}"
    if sorted(got) == sorted(want):
        return head + ": the right entities in another order; list them from left to right"
    if got == [(k, s, e - 1) for k, s, e in want]:
        return head + ": end is exclusive, one past the entity's last tag (tags[start:end] " \
                      "is the entity)"
    if any(kind[:2] in ("B-", "I-") for kind, _, _ in got):
        return head + ": the type is the tag without its B- or I- ('PER' for 'B-PER')"
    missing = [e for e in want if e not in got]
    extra = [e for e in got if e not in want]
    parts = [f"missing {_fits_one_line(missing)}" if missing else "",
             f"not entities {_fits_one_line(extra)}" if extra else ""]
    return head + " (" + "; ".join(p for p in parts if p) + ")" if any(parts) else head


def _entity_list_problem(out: Any) -> str | None:
    """What is wrong with the structure of a list of (type, start, end) tuples, or None."""
    if out is None:
        return "your function returned None: did you forget to `return` the list?"
    if not isinstance(out, list):
        return f"return a list of (type, start, end) tuples; got {describe_type(out)}"
    for i, entity in enumerate(out):
        if isinstance(entity, list) and len(entity) == 3:
            return (f"entity {i} is a list, {short_repr(entity, 60)}: make each entity a tuple "
                    "(type, start, end); tuples can go in a set, which entity_f1 needs")
        if not (isinstance(entity, tuple) and len(entity) == 3):
            return (f"entity {i} is {short_repr(entity, 60)}, {describe_type(entity)}: each "
                    "entity is a tuple of 3, (type, start, end)")
        kind, s, e = entity
        if not isinstance(kind, str):
            return f"entity {i}'s type is {short_repr(kind, 40)}: it is a string such as 'PER'"
        if not (_is_int(s) and _is_int(e)):
            return (f"entity {i}, {short_repr(entity, 60)}: start and end are ints, the "
                    "positions of its first tag and one past its last")
    return None


def _bio_tags(rng: np.random.Generator, n: int, types: tuple[str, ...] = _TYPES,
              p_entity: float = 0.35, loose: bool = False) -> list[str]:
    """n BIO tags: O, and entities of 1 to 3 tags of a random type. `loose` also makes what a
    tagger without a CRF produces: entities that start with I-, and type changes inside."""
    tags: list[str] = []
    while len(tags) < n:
        if rng.random() >= p_entity:
            tags.append("O")
            continue
        kind = str(rng.choice(types))
        first = "I-" if loose and rng.random() < 0.25 else "B-"
        span = [first + kind] + ["I-" + kind] * int(rng.integers(0, 3))
        if loose and len(span) > 1 and rng.random() < 0.25:
            span[-1] = "I-" + str(rng.choice([t for t in types if t != kind]))
        tags += span
    return tags[:n]


def _bio_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new tag sequences of the same kinds as the visible ones."""
    case = functools.partial(Case, check=_entities_judge)

    def some(n_types: int = 2) -> list[str]:
        return [str(t) for t in rng.choice(_TYPES, size=n_types, replace=False)]

    def draw(make: Callable[[], list[str]], accept: Callable[[list[str]], bool]) -> list[str]:
        for _ in range(1000):
            tags = make()
            if accept(tags):
                return tags
        raise RuntimeError("no tag sequence of the kind asked for")

    def entities(tags: list[str]) -> list[tuple[str, int, int]]:
        return _ref_bio_entities(tags)

    n, length = int(rng.integers(4, 9)), int(rng.integers(2, 4))
    s = int(rng.integers(0, n - length + 1))
    kind, other = some()
    one = ["O"] * n
    one[s:s + length] = ["B-" + kind] + ["I-" + kind] * (length - 1)
    at_end = ["O"] * int(rng.integers(2, 7)) + ["B-" + kind] + ["I-" + kind] * int(
        rng.integers(0, 3))
    b_after = (["O"] * int(rng.integers(0, 3)) + ["B-" + kind] * int(rng.integers(2, 4))
               + ["I-" + kind] + ["O"] * int(rng.integers(0, 3)))
    change = (["O"] * int(rng.integers(0, 3)) + ["B-" + kind] + ["I-" + kind] * int(
        rng.integers(0, 2)) + ["I-" + other] * int(rng.integers(1, 3)) + ["O"])
    no_b = (["O"] * int(rng.integers(1, 4)) + ["I-" + kind] * int(rng.integers(1, 4))
            + ["O"] * int(rng.integers(1, 3)))
    hyphen = ("creative-work", "person", "product")
    wnut = draw(lambda: _bio_tags(rng, int(rng.integers(6, 12)), hyphen),
                lambda t: any(k == "creative-work" for k, _, _ in entities(t)))
    loose = draw(lambda: _bio_tags(rng, int(rng.integers(15, 31)), loose=True),
                 lambda t: len(entities(t)) >= 3)
    return [
        case(f"one entity ({length} tags of {n})", (one,)),
        case("no entities", (["O"] * int(rng.integers(4, 11)),)),
        case("an entity at the very end", (at_end,)),
        case("B- right after an entity starts a new one", (b_after,)),
        case("a type change ends an entity", (change,)),
        case("I- without a B- starts an entity", (no_b,)),
        case("WNUT types with a hyphen (creative-work)", (wnut,)),
        case(f"a sentence of {len(loose)} tags", (loose,)),
    ]


@checker(
    "bio_entities",
    what="the entities of book.metrics.bio_entities, in order, end exclusive: I- without B-, "
    "type changes, B- after an entity, entities at the end, hyphenated types",
    hint=_BIO_HINT,
    grading=_bio_grading,
)
def check_bio_entities() -> list[Case]:
    """Check `bio_entities(tags) -> [(type, start, end), ...]`: the entities of one sentence of
    BIO tags, from left to right, end exclusive, as conlleval and seqeval read them (an I- that
    does not continue an entity of its type starts one)."""
    case = functools.partial(Case, check=_entities_judge)
    return [
        case("one entity", (["B-PER", "I-PER", "O"],),
             hint="the entity covers tags 0 and 1, so it is ('PER', 0, 2): end is one past "
             "its last tag."),
        case("no entities", (["O", "O", "O"],)),
        case("an entity at the very end", (["O", "B-LOC"],),
             hint="an entity still open after the last tag ends there: ('LOC', 1, 2)."),
        case("B- right after an entity starts a new one", (["B-PER", "B-PER", "I-PER"],),
             hint="the second B-PER closes the first entity: ('PER', 0, 1), ('PER', 1, 3)."),
        case("a type change ends an entity", (["B-PER", "I-LOC", "O"],),
             hint="I-LOC cannot continue a PER entity: it closes it and starts a LOC one, "
             "('PER', 0, 1), ('LOC', 1, 2)."),
        case("I- without a B- starts an entity", (["O", "I-ORG", "I-ORG", "O"],),
             hint="an I- that continues nothing starts an entity (conlleval's reading): "
             "('ORG', 1, 3)."),
        case("an empty sentence", ([],),
             hint=Hint("no tags, no entities: an empty list.", OR_RAISED)),
        case("WNUT types with a hyphen (creative-work)",
             (["B-creative-work", "I-creative-work", "O", "B-person"],),
             hint="the type is everything after 'B-' or 'I-', tag[2:]; tag.split('-') cuts "
             "'creative-work' in two."),
        case("all the rules in one sentence",
             (["B-PER", "I-PER", "O", "I-LOC", "I-ORG", "B-ORG", "I-ORG"],)),
    ]


# ---------------------------------------------------------------------------------------------
# Entity-level precision, recall and F1
# ---------------------------------------------------------------------------------------------

_F1_HINT = Hint(
    "collect the entities of every sentence (bio_entities), each with its sentence's index, "
    "(s, type, start, end), in two sets, true and predicted; the correct ones are their "
    "intersection. precision = correct / predicted, recall = correct / true, F1 = 2PR / (P + "
    "R), counted over all sentences at once (micro), each 0 when its denominator is 0.",
    MATHS_KINDS,
)
_F1_ZERO_HINT = Hint(
    "a ZeroDivisionError or a nan comes from a ratio with nothing to count (no predicted entity "
    "for precision, no true one for recall, P + R = 0 for F1): such a ratio is 0 here, as "
    "seqeval reports it, so test the denominator before dividing.",
    frozenset({"raised", "not_finite"}),
)
_F1_ORDER_HINT = Hint(
    "return a tuple of three floats in this order: (precision, recall, f1).",
    frozenset({"wrong_type"}),
)


def _ref_entity_f1(true_tags: list[list[str]], pred_tags: list[list[str]]
                   ) -> tuple[float, float, float]:
    from book.metrics import entity_scores

    micro = entity_scores(true_tags, pred_tags).micro
    return micro.precision, micro.recall, micro.f1


def _predicted(rng: np.random.Generator, true: list[str]) -> list[str]:
    """A tagger's mistakes on `true`: entities dropped, retyped, cut short or run on, and
    entities where there are none."""
    pred = list(true)
    for kind, s, e in _ref_bio_entities(true):
        r = rng.random()
        if r < 0.15:
            pred[s:e] = ["O"] * (e - s)
        elif r < 0.3:
            other = str(rng.choice([t for t in _TYPES[:4] if t != kind]))
            pred[s:e] = ["B-" + other] + ["I-" + other] * (e - s - 1)
        elif r < 0.45 and e - s > 1:
            pred[e - 1] = "O"
        elif r < 0.45 and e < len(pred) and pred[e] == "O":
            pred[e] = "I-" + kind
    for i, tag in enumerate(pred):
        if tag == "O" and rng.random() < 0.05:
            pred[i] = "B-" + str(rng.choice(_TYPES[:4]))
    return pred


def _f1_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new sentences and predictions, of the same kinds as the visible ones."""
    case = functools.partial(Case, expected=_ref_entity_f1, **TOL_F64)
    types = _TYPES[:4]

    def sentence(low: int, high: int, n_entities: int = 1) -> list[str]:
        """A sentence of low to high - 1 tags with at least n_entities entities."""
        for _ in range(1000):
            tags = _bio_tags(rng, int(rng.integers(low, high)), types)
            if len(_ref_bio_entities(tags)) >= n_entities:
                return tags
        raise RuntimeError("no sentence with that many entities")

    def macro_differs(true: list[list[str]], pred: list[list[str]]) -> bool:
        """Whether the mean of the sentences' F1 differs from the micro F1."""
        each = [_ref_entity_f1([t], [p])[2] for t, p in zip(true, pred, strict=True)]
        return abs(float(np.mean(each)) - _ref_entity_f1(true, pred)[2]) > 0.01

    one = sentence(8, 15, 2)
    for _ in range(1000):
        many = [sentence(5, 12) for _ in range(int(rng.integers(3, 7)))]
        many_pred = [_predicted(rng, t) for t in many]
        if macro_differs(many, many_pred):
            break
    else:
        raise RuntimeError("no sentences whose micro F1 differs from the mean of theirs")
    twin = sentence(4, 9)
    end_kind = str(rng.choice(types))
    first = sentence(3, 7)[:-1] + ["B-" + end_kind]
    second = ["I-" + end_kind] + sentence(3, 7)
    second_pred = ["B-" + end_kind] + second[1:]
    missed = [sentence(4, 10) for _ in range(int(rng.integers(2, 4)))]
    empty = [["O"] * int(rng.integers(3, 8)) for _ in range(int(rng.integers(2, 4)))]
    loose = [_bio_tags(rng, int(rng.integers(5, 20)), types) for _ in range(int(
        rng.integers(10, 21)))]
    loose_pred = [_predicted(rng, t) for t in loose]
    return [
        case(f"one sentence of {len(one)} tags", ([one], [_predicted(rng, one)])),
        case(f"{len(many)} sentences: counted over all of them (micro)", (many, many_pred)),
        case("the same span in two sentences is two entities",
             ([twin, list(twin)], [twin, ["O"] * len(twin)])),
        case("an I- at the start of a sentence does not continue the last one",
             ([first, second], [list(first), second_pred])),
        case("nothing predicted: precision is 0, not an error",
             (missed, [["O"] * len(t) for t in missed])),
        case("no entities anywhere", (empty, [list(t) for t in empty])),
        case(f"{len(loose)} sentences, predictions without a CRF", (loose, loose_pred)),
    ]


@checker(
    "entity_f1",
    what="(precision, recall, f1) equal to book.metrics.entity_scores(...).micro within "
    "rtol=1e-10: exact span and type, micro over sentences, 0 where undefined",
    hint=(_F1_HINT, _F1_ORDER_HINT, _F1_ZERO_HINT),
    grading=_f1_grading,
)
def check_entity_f1() -> list[Case]:
    """Check `entity_f1(true_tags, pred_tags) -> (precision, recall, f1)`: entity-level scores
    over a list of sentences of BIO tags (one list of tags per sentence); an entity is correct
    when its sentence, type, start and end all match. Floats, 0 where a ratio is 0 / 0."""
    case = functools.partial(Case, expected=_ref_entity_f1, **TOL_F64)
    return [
        case("one sentence, one of two entities right",
             ([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]]),
             hint="('LOC', 3, 4) was predicted as ('ORG', 3, 4): a wrong type is a wrong "
             "prediction and a missed entity. 1 correct of 2 predicted and 2 true: (0.5, 0.5, "
             "0.5)."),
        case("a span cut short is wrong", ([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]]),
             hint="('PER', 0, 1) is not ('PER', 0, 2): only exact spans count, so nothing is "
             "correct here."),
        case("precision and recall differ",
             ([["B-LOC", "O", "B-PER", "I-PER", "O", "B-ORG"]],
              [["B-LOC", "O", "B-PER", "I-PER", "O", "O"]]),
             hint="2 predicted, both correct (precision 1); 3 true, 2 found (recall 2/3); F1 = "
             "2PR / (P + R) = 0.8."),
        case("several sentences: counted over all of them (micro)",
             ([["B-PER", "O"], ["B-LOC", "O", "B-ORG", "O", "B-PER", "I-PER"]],
              [["B-PER", "O"], ["B-LOC", "O", "O", "O", "B-PER", "O"]]),
             hint="pool the counts of all sentences, then divide once: 2 correct, 3 predicted, "
             "4 true, so (2/3, 1/2, 4/7). A mean of the sentences' own scores is another "
             "number."),
        case("the same span in two sentences is two entities",
             ([["B-PER", "O"], ["B-PER", "O"]], [["B-PER", "O"], ["O", "O"]]),
             hint="sentence 0 and sentence 1 each have ('PER', 0, 1): two true entities, one "
             "found, (1.0, 0.5, 2/3). Keep the sentence's index with each entity."),
        case("an I- at the start of a sentence does not continue the last one",
             ([["O", "B-PER"], ["I-PER", "O"]], [["O", "B-PER"], ["B-PER", "O"]]),
             hint="each sentence is read on its own: I-PER at the start of sentence 1 starts "
             "an entity there, so the prediction is entirely right. Joining the sentences into "
             "one list would merge the two entities."),
        case("nothing predicted: precision is 0, not an error",
             ([["B-PER", "O"], ["O", "B-LOC"]], [["O", "O"], ["O", "O"]])),
        case("no entities anywhere", ([["O", "O", "O"]], [["O", "O", "O"]])),
        case("entities predicted where there are none",
             ([["O", "O", "O"]], [["B-ORG", "O", "B-PER"]])),
    ]


# ---------------------------------------------------------------------------------------------
# Recall@k
# ---------------------------------------------------------------------------------------------

_RECALL_HINT = Hint(
    "for each query q, look at its first k ids, ranked[q, :k] (a row, not ranked[:k], which "
    "is the first k queries); q is answered when one of them is relevant: its id, or any id of "
    "its set. The result is the number of answered queries / the number of queries, a float.",
    MATHS_KINDS,
)
_RECALL_SET_HINT = (
    "with a set of ids, one of them in the top k is enough: the query counts once, whatever "
    "the fraction of its set found."
)


_RECALL_NUMPY_HINT = Hint(
    "an element of a NumPy array of ids is an np.int64, not an int: isinstance(r, int) is "
    "False for it. Test whether r is a set instead, or isinstance(r, (int, np.integer)).",
    OR_RAISED,
)


def _ref_recall_at_k(ranked: np.ndarray, relevant: Any, k: int) -> float:
    from book.metrics import recall_at_k

    return recall_at_k(ranked, relevant, k)


def _recall_grading(rng: np.random.Generator) -> list[Case]:
    """Hidden cases: new rankings, relevance and k, of the same kinds as the visible ones."""
    case = functools.partial(Case, expected=_ref_recall_at_k, **TOL_F64)

    def rankings(Q: int, D: int, K: int | None = None) -> np.ndarray:
        """Q rows, each the first K ids (default: all D) of a random order of D documents."""
        return np.stack([rng.permutation(D)[:K or D] for _ in range(Q)])

    def ids(Q: int, D: int) -> list[int]:
        return [int(i) for i in rng.integers(0, D, size=Q)]

    def id_sets(Q: int, D: int) -> list[set[int]]:
        return [{int(i) for i in rng.choice(D, size=int(rng.integers(2, 4)), replace=False)}
                for _ in range(Q)]

    Q, D = int(rng.integers(4, 9)), int(rng.integers(5, 11))
    ranked, k = rankings(Q, D), int(rng.integers(2, D - 1))
    Q2, D2 = int(rng.integers(4, 9)), int(rng.integers(6, 12))
    ranked2, k2 = rankings(Q2, D2), int(rng.integers(2, 5))
    mixed = [s if rng.random() < 0.5 else int(rng.integers(0, D2)) for s in id_sets(Q2, D2)]
    Q3, D3 = int(rng.integers(30, 61)), int(rng.integers(100, 301))
    K3 = int(rng.integers(10, 21))
    return [
        case(f"one relevant id per query ({Q} queries, k = {k})", (ranked, ids(Q, D), k)),
        case("k = 1: the top result only", (rankings(Q, D), ids(Q, D), 1)),
        case(f"k = all {D}: every query finds its document", (rankings(Q, D), ids(Q, D), D)),
        case(f"several relevant ids: one of them is enough (k = {k2})",
             (ranked2, id_sets(Q2, D2), k2), hint=_RECALL_SET_HINT),
        case("ids and sets mixed", (rankings(Q2, D2), mixed, k2), hint=_RECALL_SET_HINT),
        case("relevant ids in a NumPy array",
             (rankings(Q, D), rng.integers(0, D, size=Q), k),
             hint=_RECALL_NUMPY_HINT),
        case(f"{Q3} queries, the top {K3} of {D3} documents, k = 10",
             (rankings(Q3, D3, K3), ids(Q3, D3), 10)),
    ]


@checker(
    "recall_at_k",
    what="the fraction of queries answered in the top k, equal to book.metrics.recall_at_k: "
    "k = 1 to all, ids, sets of ids, NumPy arrays of ids",
    hint=_RECALL_HINT,
    grading=_recall_grading,
)
def check_recall_at_k() -> list[Case]:
    """Check `recall_at_k(ranked, relevant, k) -> float`: ranked (Q, K) holds each query's
    document ids, best first; relevant[q] is query q's relevant id (an int) or a set of ids
    that answer it equally. The fraction of queries with a relevant id among their first k."""
    case = functools.partial(Case, expected=_ref_recall_at_k, **TOL_F64)
    ranked = np.array([[3, 1, 2, 0], [0, 2, 1, 3], [2, 3, 0, 1]])
    return [
        case("one relevant id per query, k = 2", (ranked, [1, 3, 2], 2),
             hint="query 0's top 2 are [3, 1] and hold 1; query 1's [0, 2] miss 3; query 2's "
             "[2, 3] hold 2: 2 of 3 queries, 0.667."),
        case("k = 1: the top result only", (ranked, [1, 3, 2], 1)),
        case("k = all: every query finds its document", (ranked, [1, 3, 2], 4)),
        case("several relevant ids: one of them is enough", (ranked, [{1, 0}, {3, 2}, {0}], 2),
             hint=_RECALL_SET_HINT + " Here queries 0 and 1 are answered: 2 of 3."),
        case("ids and sets mixed", (ranked, [1, {0, 2}, 2], 1), hint=_RECALL_SET_HINT),
        case("relevant ids in a NumPy array", (ranked, np.array([1, 3, 2]), 3),
             hint=_RECALL_NUMPY_HINT),
        case("one query", (np.array([[5, 7, 9]]), [9], 2)),
        case("20 queries, the top 10 of 50 documents, k = 5",
             (np.stack([np.random.default_rng(63 + q).permutation(50)[:10] for q in range(20)]),
              [int(i) for i in np.random.default_rng(64).integers(0, 50, size=20)], 5)),
    ]
