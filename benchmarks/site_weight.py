"""What a first visit to each page of the built site costs: bytes, requests, first paint.

    python benchmarks/site_weight.py                 # _build/html, served plain and with gzip
    python benchmarks/site_weight.py --site _build/student/_build/html --runs 3

Each page is loaded in a fresh browser context (empty cache) from two local servers: Python's
`http.server` (no compression, as the site review measured) and tools/serve.py (gzip, as web hosts
serve). It prints one row per page: bytes and requests for each, and the median first contentful
paint over --runs visits through the gzip server. First paint is on localhost, so it measures the
page's own work (parsing, render-blocking scripts), not a network; it varies with machine load, so
it is a benchmark, never a test. Needs Debian's chromium and `make book`.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import statistics
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MEASURE_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return {bytes: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
          requests: resources.length + 1, fcp: paint ? paint.startTime : null};
}"""
WIDGETS_RENDERED = """() => document.querySelectorAll('.widget-subarea > *').length >=
  document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _start(server: ThreadingHTTPServer) -> str:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def _gzip_server(site: Path) -> ThreadingHTTPServer:
    spec = importlib.util.spec_from_file_location("serve", ROOT / "tools" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    return serve.make_server(site, quiet=True)


def visit(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.wait_for_function(WIDGETS_RENDERED, timeout=30_000)
    page.wait_for_timeout(300)
    found = page.evaluate(MEASURE_JS)
    context.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--runs", type=int, default=3, help="visits per page for first paint")
    args = parser.parse_args(argv)
    site = Path(args.site)
    if not (site / "intro.html").exists():
        print(f"error: no built site in {site}: run `make book` first", file=sys.stderr)
        return 1
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                   if p.relative_to(site).parts[0] not in ("_static", "_sources", "_images")
                   and p.name != "index.html")
    plain = _start(ThreadingHTTPServer(("127.0.0.1", 0),
                                       functools.partial(_Quiet, directory=str(site))))
    gzipped = _start(_gzip_server(site))
    print(f"{'page':44s} {'plain MB':>9s} {'req':>4s} {'gzip MB':>8s} {'req':>4s} "
          f"{'first paint ms (median of ' + str(args.runs) + ')':>30s}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        for rel in pages:
            a = visit(browser, f"{plain}/{rel}")
            runs = [visit(browser, f"{gzipped}/{rel}") for _ in range(max(1, args.runs))]
            paint = statistics.median(r["fcp"] for r in runs if r["fcp"] is not None)
            print(f"{rel:44s} {a['bytes'] / 1e6:9.2f} {a['requests']:4d} "
                  f"{runs[0]['bytes'] / 1e6:8.2f} {runs[0]['requests']:4d} {paint:30.0f}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
