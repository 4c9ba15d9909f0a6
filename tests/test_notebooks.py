"""The notebooks as files: executed in order from a fresh kernel, widget state stored, titles and
repository links consistent. nbval (in `make test`) re-runs them and compares the outputs."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_notebooks():
    assert any(p.parent.name == "chapters" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_executed_in_order_from_a_fresh_kernel(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; re-run it with `make notebooks`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_widget_state_is_stored_for_every_widget_shown(path):
    nb = nbformat.read(path, as_version=4)
    shown = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if WIDGET_VIEW in o.get("data", {})]
    if not shown:
        return
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [m for m in shown if m not in state]
    assert not missing, f"{path.name}: widget state not stored for {missing}; run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_title_names_the_chapter_in_english_and_chinese(path):
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source.splitlines()[0]
    number = path.name[:2].lstrip("0")
    assert re.match(rf"# (Solutions: )?{number}\. .+ \([\u4e00-\u9fff&、 ]+\)$", title), title


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_repository_links_match_the_config(path):
    text = path.read_text(encoding="utf-8")
    for repo in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+?)(?:/blob|\"|\.git|@|\s)", text):
        assert f"https://github.com/{repo}" == REPO_URL, \
            f"{path.name} mentions {repo}, _config.yml has {REPO_URL}"
    repo = REPO_URL.removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{repo}/blob/main/{path.relative_to(ROOT)}" in text


def test_pyproject_repository_matches_the_config():
    assert f'Repository = "{REPO_URL}"' in (ROOT / "pyproject.toml").read_text()


def test_every_chapter_with_exercises_has_solutions():
    for chapter in ROOT.glob("chapters/*.ipynb"):
        if "{exercise}" in chapter.read_text(encoding="utf-8"):
            solutions = ROOT / "solutions" / f"{chapter.stem}_solutions.ipynb"
            assert solutions.exists(), f"{chapter.name} has exercises but no {solutions.name}"
            labels = re.findall(r":label: (ex-[\w-]+)", chapter.read_text(encoding="utf-8"))
            solved = solutions.read_text(encoding="utf-8")
            for label in labels:
                assert f"{{solution-start}} {label}" in solved, f"no solution for {label}"


def test_every_mention_of_the_repository_in_the_code_matches_the_config():
    owner = REPO_URL.removeprefix("https://github.com/").split("/")[0]
    files = [*ROOT.glob("book/**/*.py"), *ROOT.glob("tools/*.py"), *ROOT.glob("benchmarks/*"),
             ROOT / "README.md", ROOT / "intro.md"]
    mentions = 0
    for path in files:
        for url in re.findall(rf"https://github\.com/{owner}/[\w.-]+", path.read_text("utf-8")):
            mentions += 1
            where = path.relative_to(ROOT)
            assert url == REPO_URL, f"{where} mentions {url}, _config.yml has {REPO_URL}"
    assert mentions > 0  # book.data's user agent names the repository, at least
