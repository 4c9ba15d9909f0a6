"""tools/set_repository.py: the public repository is one setting, and every copy of it (notebook
headers and install cells, pyproject.toml) is what the tool writes for _config.yml's value."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from site_tools import ROOT, load_tool

set_repository = load_tool("set_repository")

URL = "https://github.com/someone/llm-fork"


def test_every_copy_of_the_address_is_in_step_with_the_config():
    stale = set_repository.changes(set_repository.configured_url())
    assert not stale, ("out of step with _config.yml's repository.url: "
                       f"{[str(p.relative_to(ROOT)) for p in stale]}; "
                       "run `python tools/set_repository.py --unset` or with the URL")


@pytest.fixture
def copy(tmp_path, monkeypatch):
    """The tool pointed at a copy of the config, pyproject and two notebooks."""
    for rel in ["_config.yml", "pyproject.toml", "chapters/03_core_algorithms.ipynb",
                "solutions/03_core_algorithms_solutions.ipynb", "chapters/01_background.ipynb"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    monkeypatch.setattr(set_repository, "ROOT", tmp_path)
    monkeypatch.setattr(set_repository, "CONFIG", tmp_path / "_config.yml")
    monkeypatch.setattr(set_repository, "PYPROJECT", tmp_path / "pyproject.toml")
    return tmp_path


def _first_cells(path: Path) -> tuple[str, str]:
    nb = nbformat.read(path, as_version=4)
    return tuple(c.source for c in set_repository.first_cells(nb, path))


def test_setting_an_address_writes_colab_links_and_the_install_cell(copy):
    assert set_repository.main([URL]) == 0
    assert set_repository.configured_url() == URL
    header, setup = _first_cells(copy / "chapters/03_core_algorithms.ipynb")
    assert ("[Open this chapter in Colab](https://colab.research.google.com/github/someone/"
            "llm-fork/blob/main/chapters/03_core_algorithms.ipynb)\n"
            "· [solutions](../solutions/03_core_algorithms_solutions.ipynb)") in header
    assert f'%pip install -q "llm-course @ git+{URL}"' in setup
    header, _ = _first_cells(copy / "solutions/03_core_algorithms_solutions.ipynb")
    assert "[Open in Colab](https://colab.research.google.com/github/someone/llm-fork/blob/main/" \
           "solutions/03_core_algorithms_solutions.ipynb)\n· [back to the chapter]" in header
    assert f'Repository = "{URL}"' in (copy / "pyproject.toml").read_text()
    assert set_repository.main(["--check"]) == 0


def test_unsetting_leaves_no_link_that_leads_nowhere_and_round_trips(copy):
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    original = set_repository.configured_url()
    set_repository.main([URL])
    set_repository.main(["--unset"])
    header, setup = _first_cells(copy / "chapters/03_core_algorithms.ipynb")
    assert "colab.research.google.com" not in header and "github.com" not in setup
    assert header.count("[Solutions](../solutions/03_core_algorithms_solutions.ipynb)") == 1
    assert "raise RuntimeError" in setup  # a Colab user is told what to do
    assert "[project.urls]" not in (copy / "pyproject.toml").read_text()
    set_repository.main([original] if original else ["--unset"])
    after = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before  # and back: byte for byte what the repository holds now


def test_a_copy_edited_by_hand_is_reported(copy, capsys):
    path = copy / "chapters/01_background.ipynb"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "[All chapters]", "[Open this chapter in Colab](https://colab.research.google.com/github/"
        "x/y/blob/main/chapters/01_background.ipynb)\\n\",\n    \"· [all chapters]"),
        encoding="utf-8")
    assert set_repository.main(["--check"]) == 1
    assert "chapters/01_background.ipynb" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a"])
def test_a_bad_address_is_refused_with_an_example(copy, url, capsys):
    with pytest.raises(SystemExit):
        set_repository.main([url])
    assert "https://github.com/OWNER/REPO" in capsys.readouterr().err
