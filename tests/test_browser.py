"""The built website in headless Chromium: the widgets answer clicks with no kernel, the
navigation works on a phone and a desktop, the language switcher, printing, citations, fonts.
(That every page loads offline with a clean console, in every view, with its math typeset and its
diagrams drawn, is tests/test_site_quality.py.)

Needs Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) and `make book` first.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
from site_tools import CHROMIUM, FLAGS, RENDERED

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt")



@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)")
    with sync_api.sync_playwright() as p:
        profile = tmp_path_factory.mktemp("chromium-profile")
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield context
        context.close()


class PageLog:
    """What went wrong while a page loaded: console and page errors, failed or remote requests."""

    def __init__(self, page, base: str) -> None:
        self.problems: list[str] = []
        host = urlparse(base).netloc
        page.on("console",
                lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # net::ERR_ABORTED: the page was left (a click on a link) while a request was still
        # in flight; the browser cancelled it, nothing failed
        page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and
                self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response",
                lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

        def only_local(route):
            url = route.request.url
            if urlparse(url).netloc in (host, "") or url.startswith(("data:", "blob:")):
                route.continue_()
            else:  # the site must not need the internet
                self.problems.append(f"remote request: {route.request.url}")
                route.abort()

        page.route("**/*", only_local)


def open_page(browser, url: str, base: str):
    """Load a page and wait until scripts settle; returns (page, log)."""
    page = browser.new_page()
    log = PageLog(page, base)
    page.goto(url, wait_until="networkidle")
    page.wait_for_function(RENDERED, timeout=30_000)  # widgets, math and diagrams drawn
    return page, log


def test_softmax_widget_answers_a_click_without_a_kernel(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/01_background.html", site_url)
    view = page.wait_for_selector(".llm-softmax", timeout=20000)
    assert view.query_selector(".llm-softmax-t").inner_text() == "1.00"
    rows = view.query_selector_all(".llm-softmax-row")
    assert len(rows) == 5
    before = view.query_selector(".llm-softmax-summary").inner_text()
    view.query_selector('button[data-temperature="0.1"]').click()
    assert view.query_selector(".llm-softmax-t").inner_text() == "0.10"
    after = view.query_selector(".llm-softmax-summary").inner_text()
    assert after != before
    rows = view.query_selector_all(".llm-softmax-row")  # the view redraws its rows
    top_p = float(rows[0].query_selector(".llm-softmax-p").inner_text())
    assert top_p > 0.99, "at T = 0.1 nearly all mass should go to the top logit (3.2 vs 2.5)"
    assert not log.problems
    page.close()


def test_lstm_gate_view_steps_through_time_without_a_kernel(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/03_core_algorithms.html", site_url)
    view = page.wait_for_selector(".llm-lstm-panel", timeout=20000)
    assert view is not None and page.locator(".llm-lstm-panel").count() == 6
    step = page.locator(".llm-lstm-step").first
    before = step.inner_text()
    page.locator('[data-action="next"]').first.click()
    after = step.inner_text()
    assert after != before and after.startswith("t = ")
    assert not log.problems
    page.close()


def test_attention_view_selects_a_row_and_switches_heads_without_a_kernel(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/03_core_algorithms.html", site_url)
    page.wait_for_selector(".llm-attn-cell", timeout=20000)
    assert page.locator(".llm-attn-cell").count() == 8 * 8  # the reversal example: 8 digits
    page.locator('.llm-attn-qlabel[data-q="2"]').first.click()
    readout = page.locator(".llm-attn-row-readout").first.inner_text()
    assert "query '4' (t=2)" in readout, readout  # the example is 3 1 4 1 5 9 2 6
    cell = page.locator('.llm-attn-cell[data-q="2"][data-k="5"]').first
    page.locator('[data-layer="1"]').first.click()
    page.locator('[data-head="0"]').first.click()
    w0 = float(cell.get_attribute("data-w"))
    page.locator('[data-head="1"]').first.click()
    w1 = float(cell.get_attribute("data-w"))
    assert w0 != w1
    assert not log.problems
    page.close()


def _attention_views(notebook: str) -> list[dict]:
    """The stored state of each AttentionView a notebook shows, in the order of the page."""
    return _widget_states(notebook, "AttentionView")


def test_chapter_6_cross_attention_views_read_target_rows_over_source_columns(browser, site_url):
    """Chapter 6's two translation views (the Transformer's layers and heads, then the LSTM's one
    map): Chinese characters are the rows, English words the columns, and a click on a row reads
    the key that the stored weights of that row favour."""
    views = _attention_views("chapters/06_applications.ipynb")
    assert len(views) == 2, "chapter 6 shows the Transformer's and the LSTM's cross-attention"
    page, log = open_page(browser, f"{site_url}/chapters/06_applications.html", site_url)
    page.wait_for_selector(".llm-attn-cell", timeout=20000)
    cards = page.locator(".llm-attn")
    assert cards.count() == 2
    for i, view in enumerate(views):
        card = cards.nth(i)
        rows, cols = len(view["query_tokens"]), len(view["tokens"])
        assert rows != cols or view["query_tokens"] != view["tokens"]  # cross, not self
        assert card.locator(".llm-attn-cell").count() == rows * cols
        layers, heads = len(view["weights"]), len(view["weights"][0])
        if layers > 1:
            card.locator('[data-layer="1"]').click()
        if heads > 1:
            card.locator('[data-head="2"]').click()
        layer, head = min(1, layers - 1), min(2, heads - 1)
        q = 2
        card.locator(f'.llm-attn-qlabel[data-q="{q}"]').click()
        row = view["weights"][layer][head][q]
        best = max(range(cols), key=row.__getitem__)
        readout = card.locator(".llm-attn-row-readout").inner_text()
        assert f"query '{view['query_tokens'][q]}' (t={q})" in readout, readout
        assert f"key '{view['tokens'][best]}' (s={best}): {row[best]:.4f}" in readout, readout
        cell = card.locator(f'.llm-attn-cell[data-q="{q}"][data-k="{best}"]')
        assert float(cell.get_attribute("data-w")) == pytest.approx(row[best], abs=1e-4)
        # one layer and one head (the LSTM's map): nothing to choose
        assert card.locator(".llm-attn-controls").is_hidden() == (layers == heads == 1)
    assert not log.problems
    page.close()


def test_descent_view_redraws_the_path_for_another_learning_rate_without_a_kernel(browser,
                                                                                  site_url):
    page, log = open_page(browser, f"{site_url}/chapters/04_math.html", site_url)
    page.wait_for_selector(".llm-descent-plot", timeout=20000)
    view = page.locator(".llm-descent").first
    path = view.locator(".llm-descent-run-main polyline.llm-descent-path").first
    before = path.get_attribute("points")
    view.locator('button[data-lr="0.09"]').first.click()
    assert view.locator(".llm-descent-lr").first.inner_text() == "0.09"
    assert path.get_attribute("points") != before  # the locator finds the redrawn path
    assert "diverged" in view.locator(".llm-descent-readout").first.inner_text()
    assert not log.problems
    page.close()


def test_embedding_view_names_a_hovered_word_and_lists_its_neighbours(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/02_core_concepts.html", site_url)
    page.wait_for_selector(".llm-emb-point", timeout=20000)
    view = page.locator(".llm-emb").first
    assert view.locator(".llm-emb-point").count() > 300
    assert view.locator(".llm-emb-selected-word").inner_text() == "election"  # the opening word
    point = view.locator('.llm-emb-point[data-i="0"]')
    point.hover()
    word = view.locator(".llm-emb-hover-word").inner_text()
    assert word and view.locator(".llm-emb-tip").text_content() == word
    point.click(force=True)  # a neighbour's label may lie on top of the point
    assert view.locator(".llm-emb-selected-word").inner_text() == word
    assert view.locator(".llm-emb-nb").count() == 8
    cosines = [float(c) for c in view.locator(".llm-emb-cos").all_inner_texts()]
    assert cosines == sorted(cosines, reverse=True) and 0 < cosines[-1] <= cosines[0] < 1
    shown = view.locator(".llm-emb-point.llm-emb-neighbour").count()
    assert shown == view.locator(".llm-emb-nb:not(.llm-emb-off-map)").count()
    before = view.locator(".llm-emb-nb-word").all_inner_texts()
    view.locator('button[data-space="PPMI + SVD"]').click()
    assert view.locator(".llm-emb-selected-word").inner_text() == word
    assert view.locator(".llm-emb-nb-word").all_inner_texts() != before
    assert not log.problems
    page.close()


def test_lookup_view_recomputes_the_weights_when_the_query_moves(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/02_core_concepts.html", site_url)
    page.wait_for_selector(".llm-lookup-plane", timeout=20000)
    view = page.locator(".llm-lookup").first
    best = view.locator(".llm-lookup-best-row .llm-lookup-name")
    assert best.inner_text() == "orange"  # the query starts at (1.8, 1.2)
    view.locator('.llm-lookup-q[data-axis="0"]').fill("-2")
    view.locator('.llm-lookup-q[data-axis="1"]').fill("0.4")
    assert best.inner_text() == "lime"
    weights = [float(w) for w in view.locator(".llm-lookup-weight").all_inner_texts()]
    assert abs(sum(weights) - 1) < 5e-3 and max(weights) > 0.8
    key = view.locator('.llm-lookup-key[data-i="4"]').bounding_box()  # blueberry
    page.mouse.click(key["x"] + key["width"] / 2, key["y"] + key["height"] / 2)
    assert best.inner_text() == "blueberry"
    assert "blueberry gets the largest weight" in view.locator(".llm-lookup-readout").inner_text()
    assert not log.problems
    page.close()


def test_boundary_view_steps_through_training_without_a_kernel(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/02_core_concepts.html", site_url)
    page.wait_for_selector(".llm-boundary-plot", timeout=20000)
    view = page.locator(".llm-boundary").first
    assert view.locator(".llm-boundary-step-now").inner_text() == "1500"
    assert view.locator(".llm-boundary-test").inner_text().startswith(("9", "100"))
    end = view.locator(".llm-boundary-line").get_attribute("d")
    view.locator(".llm-boundary-step").fill("0")
    assert view.locator(".llm-boundary-step-now").inner_text() == "0"
    assert view.locator(".llm-boundary-line").get_attribute("d") != end
    view.locator('button[data-run="no hidden layer"]').click()
    assert float(view.locator(".llm-boundary-train").inner_text()[:-1]) < 80
    assert not log.problems
    page.close()


def test_next_token_view_reshapes_the_distribution_without_a_kernel(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/05_text_generation.html", site_url)
    page.wait_for_selector(".llm-next-row", timeout=20000)
    view = page.locator(".llm-next").first
    assert view.locator(".llm-next-prompts button").count() == 5
    assert view.locator(".llm-next-row[data-token]").count() == 15
    summary = view.locator(".llm-next-summary")
    assert summary.inner_text().startswith("sampling from 65 of 65 tokens")

    def probs() -> list[float]:
        return [float(p) for p in view.locator(".llm-next-row[data-token]").evaluate_all(
            "rows => rows.map(r => r.dataset.p)")]

    before = probs()
    view.locator('button[data-temperature="2"]').click()
    assert view.locator(".llm-next-t").inner_text() == "2.00"
    hot = probs()
    assert hot != before and max(hot) < max(before), "a higher temperature flattens the bars"
    view.locator('button[data-topk="5"]').click()
    assert summary.inner_text().startswith("sampling from 5 of 65 tokens")
    assert view.locator(".llm-next-row.llm-next-cut").count() == 10
    assert abs(sum(probs()) - 1) < 1e-4  # the five kept tokens share all the probability
    view.locator('button[data-prompt="1"]').click()  # "To be, or not to b"
    assert view.locator(".llm-next-row").first.get_attribute("data-token") == "e"
    assert not log.problems
    page.close()


def _widget_states(notebook: str, view: str) -> list[dict]:
    """The stored state of each `view` (a class name) a notebook shows, in the order of the page."""
    import json

    path = Path(__file__).resolve().parent.parent / notebook
    assert path.exists(), f"{notebook} is missing"
    nb = json.loads(path.read_text("utf-8"))
    widgets = nb["metadata"].get("widgets", {})  # none in a notebook not executed
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    views = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            ref = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            model = state.get(ref["model_id"], {}).get("state", {}) if ref else {}
            if model.get("_anywidget_id", "").endswith(view):
                views.append(model)
    return views


def test_chapter_8_cost_view_agrees_with_book_scale_without_a_kernel(browser, site, site_url):
    """Chapter 8's cost calculator (book.widgets.ModelCostView) on the built page: the numbers it
    shows for its first settings, for Llama 2 70B and for a grouped-query change equal
    book.scale's, a bad combination is an error, and it fits a 390 px phone. Needs the view in
    chapters/08_scale.ipynb (`ModelCostView(...)` as a cell's last line): fails without it."""
    from book.widgets.model_cost import costs

    views = _widget_states("chapters/08_scale.ipynb", "ModelCostView")
    assert views, "chapters/08_scale.ipynb must show a ModelCostView (executed, state stored)"
    state = views[0]
    page, log = open_page(browser, f"{site_url}/chapters/08_scale.html", site_url)
    page.wait_for_selector(".llm-cost .llm-cost-results", timeout=20000)
    view = page.locator(".llm-cost").first

    def check(settings: dict) -> None:
        shown = view.locator(".llm-cost-v[data-value]").evaluate_all(
            "vs => Object.fromEntries(vs.map((v) => [v.dataset.key, Number(v.dataset.value)]))")
        want = costs(settings)
        assert {"params.total", "flops.training", "training.total", "serving.total",
                "kv_cache_bytes_per_token"} <= set(shown)
        for key, value in shown.items():
            assert value == pytest.approx(want[key], rel=1e-9), key

    s = dict(state["settings"])
    check(s)
    preset = next(p for p in state["presets"] if p["name"] == "llama-2-70b")
    view.locator('button[data-preset="llama-2-70b"]').click()
    s |= {k: preset[k] for k in ("vocab_size", "embed_dim", "num_layers", "num_heads",
                                 "num_kv_heads", "mlp_hidden", "mlp", "norm", "tied",
                                 "positions", "bias")} | {"context": preset["max_len"]}
    batch = view.locator('.llm-cost-slider[data-key="batch"]')
    batch.fill(str(state["choices"]["batch"].index(8)))
    view.locator('button[data-option="train_precision"][data-value="bf16-mixed"]').click()
    view.locator('button[data-option="recompute_attention"][data-value="true"]').click()
    s |= {"batch": 8, "train_precision": "bf16-mixed", "recompute_attention": True}
    check(s)
    assert view.locator('h4 .llm-cost-v[data-key="params.total"]').inner_text() == "69.0B"
    view.locator(".llm-cost-nkv").select_option("64")  # no grouping: a KV cache 8 x larger
    s["num_kv_heads"] = 64
    check(s)
    heads = view.locator('.llm-cost-slider[data-key="num_heads"]')
    heads.fill(str(state["choices"]["num_heads"].index(60)))  # 8192 / 60 is not whole
    assert "not a multiple of the heads nh = 60" in view.locator(".llm-cost-error").inner_text()
    assert not log.problems, log.problems
    page.close()
    page, log = _phone_page(browser, site_url, "chapters/08_scale.html")
    card = page.wait_for_selector(".llm-cost", timeout=20000).bounding_box()
    assert card["x"] >= 0 and card["x"] + card["width"] <= 390
    assert not log.problems, log.problems
    page.close()


def _phone_page(browser, site_url: str, rel: str):
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log = PageLog(page, site_url)
    page.goto(f"{site_url}/{rel}", wait_until="networkidle")
    return page, log


def test_on_a_phone_the_table_of_contents_and_the_page_contents_open_and_close(browser,
                                                                              site_url):
    """Chapter 10 (16 sections) to chapter 1: light pages; the navigation is every page's."""
    page, log = _phone_page(browser, site_url, "chapters/10_further_reading.html")
    toggle = page.locator("button.primary-toggle:visible")
    assert toggle.count() == 1, "one visible button opens the site navigation"
    toggle.click()
    drawer = page.locator("dialog#pst-primary-sidebar-modal[open]")
    drawer.wait_for(timeout=5000)
    link = drawer.locator('a[href="01_background.html"]')
    assert link.is_visible(), "the open drawer lists the chapters"
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog#pst-primary-sidebar-modal[open]", state="detached",
                           timeout=5000)
    page.locator("button.secondary-toggle:visible").click()
    contents = page.locator("dialog#pst-secondary-sidebar-modal[open]")
    contents.wait_for(timeout=5000)
    assert contents.locator("a[href^='#']").count() >= 5, "the page's sections are listed"
    page.keyboard.press("Escape")
    link_in_drawer = None
    page.locator("button.primary-toggle:visible").click()
    link_in_drawer = page.locator('dialog[open] a[href="01_background.html"]')
    link_in_drawer.click()
    page.wait_for_url("**/01_background.html")
    assert not log.problems
    page.close()


def test_on_a_desktop_the_sidebar_button_hides_and_shows_the_navigation(browser, site_url):
    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{site_url}/chapters/01_background.html", wait_until="networkidle")
    sidebar = page.locator("#pst-primary-sidebar")
    assert sidebar.is_visible()
    page.locator("button.primary-toggle:visible").click()
    page.wait_for_function(
        "document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')",
        timeout=5000)
    page.locator("button.primary-toggle:visible").click()
    page.wait_for_function(
        "!document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')",
        timeout=5000)
    page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_language_switcher_leads_to_the_same_page_and_back(browser, site_url, width):
    """On a desktop and on a phone: the switcher in the page's header opens the Chinese page of
    the same chapter, whose own switcher leads back. (Chapter 10: the lightest chapter page;
    the switcher is the same on every page.)"""
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    log = PageLog(page, site_url)
    page.goto(f"{site_url}/chapters/10_further_reading.html", wait_until="networkidle")
    page.locator("a.course-language-switch:visible").click()
    page.wait_for_url("**/zh/chapters/10_further_reading.html")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "扩展阅读" in page.locator("h1").first.inner_text()
    page.locator("a.course-language-switch:visible").click()
    page.wait_for_url(f"{site_url}/chapters/10_further_reading.html")
    assert page.locator("html").get_attribute("lang") == "en"
    assert not log.problems, log.problems
    page.close()


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])

    def f(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)


def test_printing_in_dark_mode_gives_dark_text_on_white(browser, site_url):
    page = browser.new_page()
    page.emulate_media(color_scheme="dark")
    page.goto(f"{site_url}/chapters/03_core_algorithms.html", wait_until="networkidle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what window.print() fires
    page.emulate_media(media="print", color_scheme="dark")
    text = page.evaluate("getComputedStyle(document.querySelector('article p')).color")
    paper = page.evaluate("getComputedStyle(document.body).backgroundColor")
    code = page.evaluate(
        "getComputedStyle(document.querySelector('.cell_input pre span, .cell_input pre')).color")
    assert _luminance(text) < 0.1 and _luminance(code) < 0.3, (text, code)
    assert _luminance(paper) > 0.9, paper
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.close()


def test_citations_in_the_text_read_as_the_bibliography_labels_them(browser, site_url):
    """A chapter's citations link to its own reference list (the last section), and read as that
    list labels them; the labels are the whole bibliography's (references.html)."""
    labels_js = """() => Object.fromEntries([...document.querySelectorAll(
        '.citation')].map(c => [c.id, c.querySelector('.label').textContent
        .replace(/[\\[\\]]/g, '').trim()]))"""
    page, log = open_page(browser, f"{site_url}/references.html", site_url)
    whole = set(page.evaluate(labels_js).values())
    assert len(whole) > 20
    page.close()
    checked = 0
    for rel in ["chapters/02_core_concepts.html", "chapters/03_core_algorithms.html"]:
        page, log = open_page(browser, f"{site_url}/{rel}", site_url)
        labels = page.evaluate(labels_js)
        assert labels and set(labels.values()) <= whole, rel
        cites = page.evaluate("""() => [...document.querySelectorAll(
            'a.reference.internal[href^="#"][title]')].map(a =>
            [a.getAttribute('href').slice(1), a.textContent.replace(/\\s+/g, ' ').trim()])""")
        for target, text in cites:
            if target in labels:
                assert labels[target] == text, f"{rel}: {text!r} vs {labels[target]!r}"
                checked += 1
        page.close()
    assert checked > 10


def test_chinese_titles_are_drawn_with_a_chinese_font(browser, site_url):
    """Needs a CJK font installed (fonts-noto-cjk: `.ci/run` installs it); the site names such
    fonts in its font stack (assets/static/site.css)."""
    page, log = open_page(browser, f"{site_url}/chapters/03_core_algorithms.html", site_url)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    title = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "article h1"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": title})["fonts"]
    cjk = [f for f in fonts if "CJK" in f["familyName"] or "Hei" in f["familyName"]]
    assert cjk and sum(f["glyphCount"] for f in cjk) >= 4, \
        f"the title's Chinese glyphs come from {fonts}: install fonts-noto-cjk"
    page.close()


def test_diagram_labels_are_readable_and_wide_diagrams_scroll(browser, site_url):
    page, log = open_page(browser, f"{site_url}/chapters/01_background.html", site_url)
    page.wait_for_selector("pre.mermaid > svg", timeout=20000)
    scale, scrolls = page.evaluate("""() => { const s = document.querySelector('pre.mermaid > svg');
        return [s.getBoundingClientRect().width / s.viewBox.baseVal.width,
                s.parentElement.scrollWidth > s.parentElement.clientWidth]; }""")
    assert scale >= 0.74, f"the course map is drawn at {scale:.2f} of its size: labels too small"
    assert scrolls  # it is wider than the column, so its box scrolls
    assert not log.problems
    page.close()
