"""pytest hooks for every run in this repository, whatever paths it is given (tests/conftest.py
only sees the items under tests/): the notebooks' time budgets and the longest-first order of
the files, from tests/time_budgets.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

from time_budgets import (  # noqa: E402, F401  (pytest finds hooks by name)
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)
