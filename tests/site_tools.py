"""Paths and helpers that test modules import directly (`from site_tools import ...`).

They live here, not in conftest.py: tests/ and tests/data/ each have a conftest.py, and when pytest
collects both, `import conftest` in a test module gets whichever was imported first.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# True once a page has finished drawing: the widget manager has rendered each stored view, MathJax
# has typeset each math element, and mermaid has drawn each diagram, labels and all. All three
# finish after the page's `load`, each when its own module has loaded.
RENDERED = """() => {
  const count = (selector) => document.querySelectorAll(selector).length;
  return count('.widget-subarea > *') >=
           count('script[type="application/vnd.jupyter.widget-view+json"]') &&
         count('mjx-container') >= count('.math') &&
         [...document.querySelectorAll('.mermaid')].every(
           (el) => el.querySelector('svg foreignObject, svg text'));
}"""


def load_tool(name: str):
    """A module of tools/ (not a package), imported by its path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_benchmark(name: str, *args: str, mirror: Path, timeout: float = 300
                  ) -> subprocess.CompletedProcess:
    """Run benchmarks/<name>.py with `args` on the data mirror `mirror`, this checkout's
    `book` on the path; stdout and stderr captured as text (check returncode yourself)."""
    env = {**os.environ, "LLM_BOOK_DATA": str(mirror), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *args],
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
