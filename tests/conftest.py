"""Shared fixtures: the built website, served on 127.0.0.1 for the browser checks, and the widget
harness for tests/test_widgets_*.py.

The harness renders one widget with no site build and no kernel: `write_harness` puts the
widget's ES module, its CSS, its state and an index.html that renders it with a minimal fake model
into a folder, served on 127.0.0.1 and opened in headless Chromium (Debian's /usr/bin/chromium).
A test asks for the `load` fixture and calls `load(widget, name)` to get (page, problems), where
problems collects console and page errors.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from site_tools import CHROMIUM, FLAGS, SITE, load_tool

# tests/grading/ holds notebooks made broken on purpose for the grader (tests/test_grade.py):
# they are inputs, not notebooks for nbval to run
collect_ignore = ["grading"]


@pytest.fixture(scope="session")
def site() -> Path:
    """The built website; fails (not skips) when it is missing, so CI cannot pass without it."""
    if not (SITE / "intro.html").exists():
        pytest.fail("the website is not built: run `make book` (or `make test`, which builds it)")
    return SITE


site_server = load_tool("serve")


@pytest.fixture(scope="session")
def site_url(site: Path):
    """Base URL of the built site served over http (mermaid needs http, not file://), compressed
    as a web host serves it (tools/serve.py), so that the page weights measured are real."""
    server = site_server.make_server(site, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- the widget harness ---

COLUMN_PX = 700  # the width of the book's text column

FAKE_MODEL_JS = """
// A minimal stand-in for the widget model: get/set/on/off/save_changes over a plain object;
// set() fires "change:<name>" listeners like the real (Backbone) model does.
export function fakeModel(state) {
  const listeners = {};
  return {
    get: (name) => state[name],
    set(name, value) {
      const changed = JSON.stringify(state[name]) !== JSON.stringify(value);
      state[name] = value;
      if (changed) for (const f of listeners["change:" + name] || []) f();
    },
    on: (event, f) => { (listeners[event] = listeners[event] || []).push(f); },
    off: () => {},
    save_changes: () => { window.saved = (window.saved || 0) + 1; },
  };
}
"""

INDEX_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>widget harness</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="widget.css">
<style>
  body { margin: 0; padding: 16px; background: #fff; }
  #column { width: %(width)dpx; }
</style></head>
<body><div id="column"><div id="el"></div></div>
<script type="module">
  import widget from "./widget.js";
  import { fakeModel } from "./fake_model.js";
  const state = await (await fetch("state.json")).json();
  window.model = fakeModel(state);
  try {
    widget.render({ model: window.model, el: document.getElementById("el") });
  } finally {
    window.rendered = true; // also after an error, which open_widget reports
  }
</script></body></html>
"""


def _state(widget) -> dict:
    """The synced state the page would get, without the private and layout keys."""
    skip = {"layout", "tabbable", "tooltip"}
    return {k: v for k, v in widget.get_state().items() if not k.startswith("_") and k not in skip}


def write_harness(widget, folder: Path, width: int = COLUMN_PX) -> Path:
    """A page in `folder` that renders `widget` from its own _esm, _css and state."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "widget.js").write_text(str(widget._esm), encoding="utf-8")
    (folder / "widget.css").write_text(str(widget._css), encoding="utf-8")
    (folder / "fake_model.js").write_text(FAKE_MODEL_JS, encoding="utf-8")
    (folder / "state.json").write_text(json.dumps(_state(widget)), encoding="utf-8")
    (folder / "index.html").write_text(INDEX_HTML % {"width": width}, encoding="utf-8")
    return folder


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve `folder` on 127.0.0.1 at a free port, from a thread; returns (server, base URL)."""
    server = site_server.make_server(folder, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def open_widget(browser, url: str):
    """Load a harness page, wait for the render; returns (page, problems), where problems collects
    console errors and page errors (also those that happen later, during clicks)."""
    page = browser.new_page(viewport={"width": 800, "height": 1000})
    page.set_default_timeout(5_000)  # a missing element fails fast
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(url)
    page.wait_for_function("window.rendered === true", timeout=10_000)
    assert not problems, f"the widget did not render cleanly: {problems}"
    return page, problems


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module (tests/test_browser.py has its own)."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is in requirements.txt")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """(folder, base URL): pages are written under folder/<name>/ and loaded from base/<name>/."""
    folder = tmp_path_factory.mktemp("widget-harness")
    server, base = serve(folder)
    yield folder, base
    server.shutdown()
    server.server_close()


@pytest.fixture
def load(browser, harness) -> Callable:
    """`load(widget, name, width=COLUMN_PX)` writes the harness page for `widget` as <name>/ and
    opens it in a column `width` px wide; returns (page, problems)."""
    folder, base = harness

    def open_(widget, name: str, width: int = COLUMN_PX):
        write_harness(widget, folder / name, width)
        return open_widget(browser, f"{base}/{name}/index.html")

    return open_


@pytest.fixture
def widget_state() -> Callable[[object], dict]:
    """`widget_state(widget)`: the synced state the page would get (no private or layout keys)."""
    return _state


@pytest.fixture
def column_px() -> int:
    """The width of the harness's column: the book's text column, in CSS pixels."""
    return COLUMN_PX


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs the built site (`site`) or Chromium (`browser`), by the fixtures a test
    uses, so `make unit` can leave them out without anyone remembering to mark them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"site", "site_url", "student_site"}:
            item.add_marker(pytest.mark.site)
        if names & {"browser", "load", "audit"}:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (`pytestmark = pytest.mark.usefixtures(...)`): the
    models there are tiny, and on a busy 2-core machine two threads that wait for each other
    made a 150-step training take 100 s instead of 2 s."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
