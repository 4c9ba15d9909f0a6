"""Time budgets for `make test`: what each notebook (nbval) and each slow test file took on two
idle cores, kept in tests/time_budgets.json, used twice by tests/conftest.py:

- **Order.** The files run longest first, so that the two xdist workers (`-n 2 --dist loadfile
  --no-loadscope-reorder`) finish together: a long notebook started last would run alone.
- **Budget.** After the run, each notebook's nbval time (all its cells) is compared with
  `BUDGET_FACTOR` times its measured time, plus `SLACK_S`; one over its budget, or one with no
  measured time, fails the run with a table that says which and what to do. The factor leaves
  room for a slower or busier machine than the one measured; a notebook that doubles its work
  still fails.

Refresh the measured times after a change that moves them, from a run with a JUnit report:

    .venv/bin/python tests/time_budgets.py --junit report.xml   # rewrites tests/time_budgets.json
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

BUDGETS = Path(__file__).with_name("time_budgets.json")
BUDGET_FACTOR = 2.0
SLACK_S = 15.0
NOTEBOOK_DIRS = ("chapters/", "solutions/")


def load(path: Path = BUDGETS) -> tuple[dict[str, float], float]:
    """({file relative to the repository: measured seconds}, the reference workload's seconds
    on the machine that measured them)."""
    data = json.loads(path.read_text("utf-8"))
    return {name: float(s) for name, s in data["seconds"].items()}, float(data["reference_s"])


def reference_seconds(repeats: int = 5) -> float:
    """Fastest of `repeats` runs of a fixed workload like the notebooks' (float32 products in
    NumPy, a small torch model trained a few steps, on one thread): how fast this machine is
    (the fastest run, since a shared machine's noise only ever adds time)."""
    import time

    import numpy as np
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((256, 256), dtype=np.float32)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.GELU(),
                                    torch.nn.Linear(256, 64))
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(256, 64)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            b = a
            for _ in range(300):
                b = np.tanh(a @ b)
            for _ in range(300):
                loss = (model(x) - x).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - start)
        return min(times)
    finally:
        torch.set_num_threads(threads)


def file_of(nodeid: str) -> str:
    """The file part of a pytest node id: `chapters/01_background.ipynb::Cell 3` -> the path."""
    return nodeid.split("::", 1)[0]


def longest_first(nodeids: Iterable[str], measured: Mapping[str, float]) -> list[str]:
    """The node ids grouped by file, the files ordered by measured time, longest first (files
    with no measurement last, in their order); within a file the order is kept."""
    groups: dict[str, list[str]] = defaultdict(list)
    for nodeid in nodeids:
        groups[file_of(nodeid)].append(nodeid)
    order = sorted(groups, key=lambda f: -measured.get(f, 0.0))  # stable: ties keep their order
    return [nodeid for f in order for nodeid in groups[f]]


def is_notebook(path: str) -> bool:
    return path.endswith(".ipynb") and path.startswith(NOTEBOOK_DIRS)


def over_budget(spent: Mapping[str, float], measured: Mapping[str, float], speed: float = 1.0,
                factor: float = BUDGET_FACTOR, slack: float = SLACK_S) -> list[str]:
    """One line per notebook that ran longer than its budget or has no measured time. `speed`:
    this machine's reference time over the measuring machine's (above 1: slower), never taken
    below 1, so that a slow laptop gets budgets in proportion."""
    scale = factor * max(speed, 1.0)
    problems = []
    for path, seconds in sorted(spent.items()):
        if path not in measured:
            problems.append(f"{path}: {seconds:.0f} s, and no measured time in {BUDGETS.name}: "
                            "add one (see tests/time_budgets.py)")
        elif seconds > scale * measured[path] + slack:
            problems.append(f"{path}: {seconds:.0f} s, over its budget of "
                            f"{scale * measured[path] + slack:.0f} s ({scale:.2g} x the "
                            f"{measured[path]:.0f} s measured, + {slack:.0f} s): make it cheaper "
                            "(fewer training steps, a smaller model or data set), or measure "
                            "again and say in the commit why it grew")
    return problems


def table(spent: Mapping[str, float], measured: Mapping[str, float]) -> list[str]:
    """Each notebook's time against its measured time, longest first."""
    lines = []
    for path, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        ref = measured.get(path)
        lines.append(f"{seconds:7.1f} s  (measured {ref:6.1f} s)  {path}" if ref is not None
                     else f"{seconds:7.1f} s  (not measured)     {path}")
    return lines


def from_junit(report: Path) -> dict[str, float]:
    """Seconds per file (notebooks and test files) from a pytest JUnit XML report."""
    per_file: dict[str, float] = defaultdict(float)
    for case in ET.parse(report).getroot().iter("testcase"):
        classname = case.get("classname", "")
        if classname.endswith(".ipynb"):  # chapters.01_background.ipynb -> chapters/01_...
            path = classname.removesuffix(".ipynb").replace(".", "/") + ".ipynb"
        else:  # tests.test_grade -> tests/test_grade.py
            path = classname.split(".")
            path = "/".join(path[: next((i + 1 for i, p in enumerate(path)
                                         if p.startswith("test_")), len(path))]) + ".py"
        per_file[path] += float(case.get("time", 0))
    return dict(per_file)


def write(measured: Mapping[str, float], reference_s: float, path: Path = BUDGETS,
          keep_over: float = 5.0) -> None:
    """Rewrite the JSON: every notebook, and the test files that took over `keep_over` s,
    longest first, with the reference workload's time on this machine."""
    rows = {f: round(s) for f, s in sorted(measured.items(), key=lambda kv: -kv[1])
            if is_notebook(f) or s > keep_over}
    data = {"about": "seconds each notebook (nbval) and each slow test file took in `make test` "
                     "on two idle cores; reference_s: reference_seconds() on that machine; "
                     "written by `tests/time_budgets.py --junit` (see its docstring)",
            "reference_s": round(reference_s, 3), "seconds": rows}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --- the pytest hooks (imported by the repository's root conftest.py, so that they see every
# item, tests and notebooks alike, with or without xdist); the check runs on the controlling
# process only, and only when nbval runs notebooks.

_spent: dict[str, float] = {}  # notebook -> seconds of all its cells' phases
_speed: list[float] = []  # this machine's reference time over the measuring machine's
_problems: list[str] = []


def _controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(config.getoption("nbval", False))


def pytest_collection_modifyitems(items) -> None:
    """Run the files longest first (with `--no-loadscope-reorder`, xdist keeps this order)."""
    measured, _ = load()
    by_id = {item.nodeid: item for item in items}
    if len(by_id) == len(items):
        items[:] = [by_id[n] for n in longest_first(list(by_id), measured)]


def pytest_sessionstart(session) -> None:
    if _controller(session.config):
        _speed.append(reference_seconds() / load()[1])


def pytest_runtest_logreport(report) -> None:
    path = file_of(report.nodeid)
    if is_notebook(path):
        _spent[path] = _spent.get(path, 0.0) + report.duration


def pytest_sessionfinish(session) -> None:
    if _controller(session.config) and _spent and _speed:
        _problems[:] = over_budget(_spent, load()[0], _speed[0])
        if _problems and session.exitstatus == 0:
            session.exitstatus = 1  # pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config) -> None:
    if not (_controller(config) and _spent and _speed):
        return
    terminalreporter.section("notebook time budgets")
    terminalreporter.write_line(f"this machine: {_speed[0]:.2f} x the measuring machine's "
                                f"reference time ({BUDGETS.name})")
    for line in table(_spent, load()[0]):
        terminalreporter.write_line(line)
    for problem in _problems:
        terminalreporter.write_line("OVER BUDGET: " + problem, red=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--junit", type=Path, required=True, help="a JUnit XML report of a run")
    args = parser.parse_args()
    write(from_junit(args.junit), reference_seconds())
    print(f"wrote {BUDGETS}")
