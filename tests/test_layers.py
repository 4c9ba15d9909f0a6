"""The package's layers: every `book` module imports only from layers below its own, and never a
private name (`_x`) of another top-level module.

The imports are read with `ast` from every book/**/*.py, at module level and inside functions
(lazy imports count too). A package (`book/np_nn/`, `book/data/`, ...) is one name: its modules
may import each other freely, and `book.np_nn.attention` counts as `np_nn`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"

# Bottom to top. A module may import from the layers below its own, not from its own or above.
LAYERS: list[set[str]] = [
    {"env"},  # where the code runs (device, seeds) and where the course's own files are
    {"data", "gradcheck", "display", "bibliography"},  # infrastructure: no course content
    {"text", "metrics"},  # tokenizer, vocabulary, batches; BLEU, entity F1, recall@k (ch. 6)
    {"np_nn"},  # NumPy layers (chapter 3), the package's one softmax, sigmoid, Adam
    {"torch_nn", "optim"},  # PyTorch layers; AdamW set-up and the learning-rate schedule
    # what each chapter builds on those
    {"word2vec", "concepts", "descent", "autograd", "symbolic", "timing"},
    {"classify", "cost"},  # chapter 4: classifiers (on word2vec), what layers cost (on timing)
    {"textgen"},  # chapter 5
    # chapter 6: tagging (BiLSTM-CRF), retrieval (TF-IDF, BM25, vectors), translate (seq2seq,
    # beam search), finetune (pretrain a GPT, then fine-tune it to classify; zero-shot)
    {"tagging", "retrieval", "translate", "finetune"},
    # chapter 7, tools of the trade: debugging (hooks, NaN hunting, causality and gradient
    # checks, loss-curve verdicts), runlog (TensorBoard event files written and read back),
    # profiling (profiling the course's own models)
    {"debugging", "runlog", "profiling"},
    # chapter 8, scale: scale (parameters, FLOPs, memory and training time from a model's shape);
    # challenges (data noise, memorisation, head ablation on chapter 5's GPT)
    {"scale", "quantize", "challenges"},
    {"scaling"},  # chapter 8: scaling laws fitted to a family of small GPTs (counts with scale)
    # chapter 9, questions readers ask: compare (language models at an equal compute budget; a
    # discriminative classifier against a generative one), datasize (learning curves, tokens
    # per parameter), ablation (the learning-rate range test, chapter 5's recipe ablated one
    # knob at a time with seeds)
    {"compare", "datasize", "ablation"},
    {"exercises", "widgets", "autograd_draw"},  # checkers and views, on top of everything
    {"grade"},  # grading a class: runs the checkers of `exercises` in submissions' kernels
]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    """'book.np_nn.attention' for book/np_nn/attention.py, 'book.np_nn' for its __init__.py."""
    parts = path.relative_to(BOOK.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level(module: str) -> str | None:
    """'np_nn' for 'book.np_nn.attention'; None for 'book' itself or a module outside book."""
    parts = module.split(".")
    return parts[1] if parts[0] == "book" and len(parts) > 1 else None


def book_imports(source: str, module: str, is_package: bool
                 ) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) for every import of a book module in `source`;
    `from book import env` becomes ('book.env', []), relative imports are resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names
                      if a.name.split(".")[0] == "book"]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative: start from this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            if target.split(".")[0] != "book":
                continue
            if target == "book":  # from book import env, data: each name is a module
                found += [(node.lineno, f"book.{a.name}", []) for a in node.names]
            else:
                found.append((node.lineno, target, [a.name for a in node.names]))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """What is wrong with the imports of `module` (whose code is `source`): an import from its
    own layer or above, or a private name or module of another top-level module."""
    own = top_level(module)
    problems = []
    for line, target, names in book_imports(source, module, is_package):
        other = top_level(target)
        if other is None or other == own:
            continue  # `import book`, or inside one package
        where = f"{module}:{line} imports {target}"
        if other not in RANK:
            problems.append(f"{where}, which has no layer in tests/test_layers.py: add it")
        elif own in RANK and RANK[other] >= RANK[own]:
            problems.append(f"{where}: layer {RANK[other]} ({other}) is not below layer "
                            f"{RANK[own]} ({own})")
        private = [n for n in names if _private(n)] + [p for p in target.split(".") if _private(p)]
        if private:
            problems.append(f"{where}: private {', '.join(private)} of another module; make it "
                            f"public or move it to a shared module")
    return problems


def test_every_top_level_module_has_a_layer():
    names = {p.stem for p in BOOK.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in BOOK.glob("*/__init__.py")}
    assert names - set(RANK) == set(), "add the new modules to LAYERS in tests/test_layers.py"
    assert set(RANK) - names == set(), "LAYERS names modules that no longer exist"


def test_imports_go_down_the_layers_and_take_no_private_names():
    problems = []
    files = sorted(BOOK.rglob("*.py"))
    assert len(files) > 20  # the scan found the package
    for path in files:
        module = module_name(path)
        if top_level(module) is None:
            continue  # book/__init__.py
        problems += violations(path.read_text(encoding="utf-8"), module,
                               is_package=path.name == "__init__.py")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("source, module, expected", [
    # chapter 2's word2vec importing chapter 4's classify: the edge this test was written for
    ("from book.classify import cooccurrence_counts, ppmi", "book.word2vec", "not below"),
    ("def f():\n    from book.textgen import GPT\n", "book.classify", "not below"),  # lazy
    ("from book import classify", "book.word2vec", "not below"),
    ("import book.widgets.views", "book.np_nn.layers", "not below"),
    ("from book.word2vec import truncated_svd", "book.concepts", "not below"),  # same layer
    ("from book.np_nn.functional import _to_numpy", "book.torch_nn", "private _to_numpy"),
    ("from book.np_nn._impl import step", "book.classify", "private _impl"),
    ("from book.newthing import x", "book.classify", "no layer"),
])
def test_the_checker_catches_bad_imports(source, module, expected):
    found = violations(source, module)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("source, module, is_package", [
    ("from book.np_nn.functional import _softmax_", "book.np_nn.attention", False),  # one package
    ("from .functional import _to_numpy", "book.np_nn.layers", False),
    ("from .layers import Linear", "book.np_nn", True),
    ("from book import env\nimport book.text\nimport numpy", "book.classify", False),
    ("from book.word2vec import svd_word_vectors", "book.classify", False),
])
def test_the_checker_accepts_good_imports(source, module, is_package):
    assert violations(source, module, is_package) == []
