"""A map of word vectors, drawn in the browser (anywidget): `EmbeddingView`.

Python projects the vectors to 2-D and finds each shown word's nearest neighbours in the full
space (book.word2vec does both); the view stores those numbers, and the JavaScript beside this
file (embedding.js) draws the points, names the word under the pointer, and on a click lists
that word's neighbours and highlights them, with no kernel behind the page.
"""

from __future__ import annotations

import anywidget
import traitlets

from book.widgets._base import (
    MAX_VALUES,
    _js_module,
    _matrix,
    _rounded,
    _significant_decimals,
    _stylesheet,
    _title,
    _token_list,
)

MAX_WORDS = 2000  # points in one map: more is slow to draw and unreadable anyway
MAX_NEIGHBOURS = 20


class EmbeddingView(anywidget.AnyWidget):
    """Word vectors as points in the plane, coloured by group, in one or more spaces (e.g.
    skip-gram and a count-based SVD), with a button per space. Hover a point to see its word;
    click it (or type a word in the search box) to list its nearest neighbours, with their
    cosine similarities; the neighbours that are on the map are highlighted and labelled.

    words: the N words shown.
    points: {space name: (N, 2) coordinates}, e.g. a PCA of each space's vectors.
    neighbours: {space name: a list of N lists of (word, cosine similarity) pairs}, nearest
        first, at most 20 per word; neighbours may be words that are not on the map (they are
        listed, not highlighted).
    groups: optional, one integer per word (an index into group_names, or -1 for none), for
        the colours and the legend.
    group_names: the names of the groups.
    variance: optional {space name: (share of variance on axis 1, share on axis 2)}, shown
        under the map, to say how much of the space the picture keeps.
    title: a heading shown above the view.
    selected: the word selected at first (default: none).

    State: coordinates rounded to 4 significant digits of the largest |coordinate|,
    similarities to 3 decimals; `space` and `selected` (an index, -1 = none) are synced.
    """

    _esm = _js_module("embedding.js")
    _css = _stylesheet("embedding.css")

    words = traitlets.List(traitlets.Unicode()).tag(sync=True)
    groups = traitlets.List(traitlets.Int()).tag(sync=True)
    group_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    spaces = traitlets.List(traitlets.Unicode()).tag(sync=True)  # in the order given
    points = traitlets.Dict().tag(sync=True)  # space -> [[x, y], ...]
    neighbours = traitlets.Dict().tag(sync=True)  # space -> [[[word, cos], ...], ...]
    variance = traitlets.Dict().tag(sync=True)  # space -> [share 1, share 2]
    title = traitlets.Unicode("").tag(sync=True)
    space = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)

    def __init__(self, words, points, neighbours, groups=None, group_names=None, variance=None,
                 title=None, selected=None) -> None:
        words = _token_list(words, "words")
        N = len(words)
        if N < 2:
            raise ValueError(f"give at least 2 words, got {N}")
        if N > MAX_WORDS:
            raise ValueError(f"too many words: {N}, the limit is {MAX_WORDS}")
        if len(set(words)) != N:
            dup = sorted({w for w in words if words.count(w) > 1})[:5]
            raise ValueError(f"words must be unique, these repeat: {dup}")
        if not hasattr(points, "items") or not points:
            raise ValueError("points must be a non-empty dict {space name: (N, 2) coordinates}")
        if not hasattr(neighbours, "items") or set(neighbours) != set(points):
            got = list(neighbours) if hasattr(neighbours, "keys") else type(neighbours).__name__
            raise ValueError("neighbours must be a dict with the same space names as points, "
                             f"{list(points)}; got {got}")
        stored_points, stored_nb = {}, {}
        for name, xy in points.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"space names must be non-empty strings, got {name!r}")
            arr = _matrix(f'points["{name}"]', xy, (N, 2),
                          dims=f"(N, 2) = ({N}, 2), one [x, y] per word")
            stored_points[name] = _rounded(arr, _significant_decimals(arr))  # 4 digits
            stored_nb[name] = self._neighbour_lists(neighbours[name], N, f'neighbours["{name}"]')
        if 2 * N * len(points) + sum(len(r) for v in stored_nb.values() for r in v) > MAX_VALUES:
            raise ValueError("too much to store: show fewer words or fewer neighbours")
        groups, group_names = self._groups(groups, group_names, N)
        stored_var = {}
        for name, v in (variance or {}).items():
            if name not in points:
                raise ValueError(f"variance names a space {name!r} that points does not have")
            v = _matrix(f'variance["{name}"]', v).ravel()
            if v.shape != (2,) or v.min() < 0 or v.sum() > 1 + 1e-9:
                raise ValueError(f'variance["{name}"] must be two shares of the variance, each '
                                 f">= 0, summing to at most 1; got {v.tolist()}")
            stored_var[name] = [round(float(s), 4) for s in v]
        if selected is not None and selected not in words:
            raise ValueError(f"selected: {selected!r} is not one of the words")
        super().__init__(words=words, groups=groups, group_names=group_names,
                         spaces=list(points), points=stored_points, neighbours=stored_nb,
                         variance=stored_var, title=_title(title), space=next(iter(points)),
                         selected=-1 if selected is None else words.index(selected))

    @staticmethod
    def _neighbour_lists(lists, N: int, where: str) -> list:
        """[[[word, cos rounded to 3 decimals], ...], ...] for N words, or a ValueError."""
        if isinstance(lists, str) or len(lists) != N:
            raise ValueError(f"{where} must be a list of N = {N} lists, one per word")
        out = []
        for i, row in enumerate(lists):
            if len(row) > MAX_NEIGHBOURS:
                raise ValueError(f"{where}[{i}] has {len(row)} neighbours, at most "
                                 f"{MAX_NEIGHBOURS} are shown")
            clean = []
            for pair in row:
                try:
                    word, sim = pair
                    sim = float(sim)
                except (TypeError, ValueError):
                    raise ValueError(f"{where}[{i}] must hold (word, cosine similarity) pairs, "
                                     f"got {pair!r}") from None
                if not -1.001 <= sim <= 1.001:
                    raise ValueError(f"{where}[{i}]: a cosine similarity lies in [-1, 1], got "
                                     f"{sim} for {word!r}")
                clean.append([str(word), round(sim, 3) + 0.0])
            out.append(clean)
        return out

    @staticmethod
    def _groups(groups, group_names, N: int) -> tuple[list[int], list[str]]:
        if groups is None:
            return [-1] * N, [] if group_names is None else [str(g) for g in group_names]
        group_names = [] if group_names is None else [str(g) for g in group_names]
        try:
            groups = [int(g) for g in groups]
        except (TypeError, ValueError):
            raise ValueError("groups must be integers, one per word") from None
        if len(groups) != N:
            raise ValueError(f"got {len(groups)} groups for {N} words: give one per word")
        bad = sorted({g for g in groups if not -1 <= g < len(group_names)})
        if bad:
            raise ValueError(f"groups must be indices into group_names (0..{len(group_names) - 1})"
                             f" or -1 for none; got {bad[:5]}")
        return groups, group_names

    def __repr__(self) -> str:  # a stable text form: no object ids (outputs are compared by nbval)
        n_spaces = len(self.spaces)
        return f"EmbeddingView({len(self.words)} words, {n_spaces} space{'s' * (n_spaces != 1)})"
