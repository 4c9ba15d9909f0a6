"""The built website as readers meet it: every page at desktop and phone width, the chapters in
dark mode too, and every page of the Chinese edition (zh/) at desktop width, in one headless
Chromium, several pages at a time.

Each visit loads a page in a fresh browser context (an empty cache, so the bytes are a first
visit's), waits for its widgets, and runs tests/site_audit.js, which reports raw TeX, content cut
off without a way to scroll, widget text below WCAG AA contrast, duplicate ids, the bytes
transferred, math left untypeset and diagrams left undrawn. The tests below then judge each page.
Needs Debian's chromium and `make book`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from urllib.parse import urlparse

import pytest
from site_tools import CHROMIUM, FLAGS, RENDERED, SITE

async_api = pytest.importorskip("playwright.async_api", reason="playwright is in requirements.txt")

AUDIT_JS = (Path(__file__).parent / "site_audit.js").read_text(encoding="utf-8")
VIEWS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
              "is_mobile": True, "has_touch": True, "color_scheme": "light"},
}
AT_ONCE = 3  # pages loading together: more only queues on two cores
# Bytes a first visit may transfer (gzip, as web hosts serve it): the budget.
TEXT_PAGE_BUDGET = 2_000_000
WIDGET_PAGE_BUDGET = 5_000_000


THEME_PAGES = ("index.html", "search.html")  # the theme's: checked for a clean console only
ZH = "zh/"  # the Chinese edition's folder (tools/translations.py)


def pages(edition: str = "") -> list[str]:
    """The reading pages of an edition ("" English, "zh/" Chinese), not the theme's search and
    index pages."""
    root = SITE / edition
    skip = ("_static", "_sources", "_images", ZH.strip("/"))
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*.html")
                   if p.relative_to(root).parts[0] not in skip)
    return [edition + p for p in found if p not in THEME_PAGES]


PAGES = pages() if SITE.exists() else []
ZH_PAGES = pages(ZH) if (SITE / ZH).exists() else []
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
ZH_CHAPTERS = [p for p in ZH_PAGES if p.startswith(ZH + "chapters/")]
# every English page on a desktop and a phone, the chapters (the pages with widgets) in dark
# mode too, every Chinese page on a desktop (the layout is the same: what differs is the text),
# and the theme's pages of both on a desktop
VISITS = [(view, rel) for view in VIEWS for rel in (CHAPTERS if view == "dark" else PAGES)] + \
    [("desktop", rel) for rel in ZH_PAGES] + \
    [("desktop", ed + rel) for ed in ("", ZH) for rel in THEME_PAGES if (SITE / ed / rel).exists()]


async def _visit(browser, base: str, rel: str, view: str) -> dict:
    context = await browser.new_context(**VIEWS[view])
    page = await context.new_page()
    problems: list[str] = []
    host = urlparse(base).netloc
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response",
            lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))

    async def only_local(route):
        if urlparse(route.request.url).netloc in (host, "") or \
                route.request.url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            problems.append(f"remote request: {route.request.url}")
            await route.abort()

    await page.route("**/*", only_local)
    await page.goto(f"{base}/{rel}", wait_until="networkidle", timeout=60_000)
    # a page where widgets, math or diagrams never finish is still audited when the wait gives
    # up, and its tests say what is missing
    with contextlib.suppress(async_api.TimeoutError):
        await page.wait_for_function(RENDERED, timeout=30_000)
    result = await page.evaluate(AUDIT_JS)
    result["problems"] = problems
    await context.close()
    return result


async def _audit_all(base: str) -> dict[tuple[str, str], dict]:
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(rel: str, view: str):
            async with gate:
                return (view, rel), await _visit(browser, base, rel, view)

        results = await asyncio.gather(*(one(rel, view) for view, rel in VISITS))
        await browser.close()
    return dict(results)


@pytest.fixture(scope="module")
def audit(site_url) -> dict[tuple[str, str], dict]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)")
    return asyncio.run(_audit_all(site_url))


def test_there_are_pages_to_audit(site):
    assert len(CHAPTERS) >= 5 and "intro.html" in PAGES, PAGES
    assert [p.removeprefix(ZH) for p in ZH_PAGES] == PAGES, "the Chinese edition lacks pages"


@pytest.mark.parametrize(("view", "rel"), VISITS)
def test_clean_console_and_nothing_from_other_hosts(audit, rel, view):
    """No console or page error, no failed request or HTTP error, nothing from the internet."""
    assert not audit[view, rel]["problems"]


@pytest.mark.parametrize("rel", PAGES + ZH_PAGES)
def test_no_raw_tex(audit, rel):
    assert not audit["desktop", rel]["rawTex"], "TeX shown as text (a broken $...$?)"


@pytest.mark.parametrize("rel", PAGES + ZH_PAGES)
def test_math_is_typeset_and_diagrams_are_drawn(audit, rel):
    found = audit["desktop", rel]
    assert found["typeset"] >= found["math"], \
        f"{found['typeset']} MathJax containers for {found['math']} math elements"
    assert None not in found["diagrams"], f"{found['diagrams'].count(None)} diagrams not drawn"


def test_the_pages_with_math_and_diagrams_have_them(audit):
    """The checks above must have something to check: math in chapters 1-9 and the glossary
    (chapter 10 has none) in both editions, and the diagrams of chapters 1 and 2, drawn with
    their own labels."""
    with_math = [p for p in CHAPTERS if not p.startswith("chapters/10_")] + ["glossary.html"]
    for rel in with_math + [ZH + p for p in with_math]:
        assert audit["desktop", rel]["math"] > 0, rel
    overview = audit["desktop", "chapters/01_background.html"]["diagrams"][0]
    assert "Transformer" in overview
    concept_map, backprop = audit["desktop", "chapters/02_core_concepts.html"]["diagrams"][:2]
    assert "Backpropagation" in concept_map and "Transformer" in concept_map
    assert "tanh" in backprop


@pytest.mark.parametrize("view", ["phone", "desktop"])
@pytest.mark.parametrize("rel", PAGES)
def test_nothing_is_cut_off_without_a_way_to_scroll(audit, rel, view):
    found = audit[view, rel]
    assert not found["pageScrollsSideways"], "the whole page scrolls sideways"
    assert not found["cut"]


@pytest.mark.parametrize(("view", "rel"), [(view, rel) for view in ("desktop", "dark")
                                           for rel in CHAPTERS] +
                         [("desktop", rel) for rel in ZH_CHAPTERS])
def test_widget_text_is_readable(audit, rel, view):
    found = audit[view, rel]
    assert found["theme"] == ("dark" if view == "dark" else "light")
    if found["widgets"]:
        assert found["textsChecked"] > 0
    assert not found["lowContrast"], "widget text below WCAG AA contrast"


@pytest.mark.parametrize("rel", PAGES + ZH_PAGES)
def test_ids_are_unique(audit, rel):
    assert not audit["desktop", rel]["duplicateIds"]


@pytest.mark.parametrize("rel", PAGES + ZH_PAGES)
def test_page_weight_within_budget(audit, rel):
    found = audit["desktop", rel]
    budget = WIDGET_PAGE_BUDGET if found["widgets"] else TEXT_PAGE_BUDGET
    assert 0 < found["bytes"] <= budget, \
        f"{found['bytes']:,} bytes in {found['requests']} requests (budget {budget:,})"
