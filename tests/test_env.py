"""book.env: device choice, seeding, the environment report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from book import env


def test_device_falls_back_to_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert env.device().type in (expected, "mps")


def test_asking_for_a_missing_device_says_what_is_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=r"'cuda' was requested but is not available.*cpu"):
        env.device("cuda")


def test_device_honours_the_environment_variable(monkeypatch):
    monkeypatch.setenv("LLM_BOOK_DEVICE", "cpu")
    assert env.device().type == "cpu"


def test_seed_everything_repeats_numpy_and_torch():
    env.seed_everything(123)
    a = (np.random.rand(3), torch.rand(3))
    env.seed_everything(123)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_report_is_one_line_with_versions(monkeypatch):
    monkeypatch.delenv("LLM_BOOK_DEVICE", raising=False)
    line = env.report()
    assert "\n" not in line
    assert f"torch {torch.__version__}" in line and f"NumPy {np.__version__}" in line
    assert "device" in line


def test_in_colab_is_false_here(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert env.in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-test")
    assert env.in_colab() is True


def test_progress_bar_redraws_a_fixed_number_of_times_however_slow_the_machine():
    import io

    for seconds_per_step in (0.0, 5.0):  # a fast machine, and one 5 s a step
        out = io.StringIO()
        bar = env.progress_bar(1000, "t", updates=20, file=out)
        clock = [bar.start_t]
        bar._time = lambda: clock[0]  # tqdm's clock, faked: the test cannot depend on speed
        for _ in range(1000):
            clock[0] += seconds_per_step
            bar.update()
        bar.close()
        redraws = out.getvalue().count("\r")
        assert 20 <= redraws <= 24, (seconds_per_step, redraws)
    assert env.progress_bar(10, "t", enabled=False) is None


def test_with_settings_changes_a_copy_by_dotted_paths_and_literal_values():
    from book.env import with_settings

    base = {"model": {"crf": True, "sizes": (1, 2)}, "train": {"steps": 10}}
    out = with_settings(base, ["model.crf=False", "train.steps=900", "model.sizes=(50, None)"])
    assert out == {"model": {"crf": False, "sizes": (50, None)}, "train": {"steps": 900}}
    assert base["model"]["crf"] is True  # the original is untouched


@pytest.mark.parametrize("change, error, words", [
    ("model.crff=False", KeyError, "known here: ['crf']"),
    ("modle.crf=False", KeyError, "no setting 'modle'"),
    ("model.crf", ValueError, "a.b=value"),
    ("model.crf=maybe", ValueError, "Python literal"),
])
def test_with_settings_refuses_a_misspelt_path_or_value_and_says_why(change, error, words):
    from book.env import with_settings

    with pytest.raises(error) as info:
        with_settings({"model": {"crf": True}}, [change])
    assert words in str(info.value)


def test_repository_file_finds_the_course_files_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a grader's kernel runs in a temporary folder
    path = env.repository_file("benchmarks", "results", "scaling.csv")
    assert path.is_absolute() and path.is_file()
    assert path == env.REPOSITORY / "benchmarks" / "results" / "scaling.csv"


def test_repository_file_says_what_to_do_when_the_file_is_missing():
    with pytest.raises(FileNotFoundError, match=r"benchmarks/results/nothing\.csv.*pip install -e"):
        env.repository_file("benchmarks", "results", "nothing.csv")
    with pytest.raises(FileNotFoundError):  # a folder is not a file
        env.repository_file("benchmarks")
